"""``thetapath lti``: register an LTI 1.3 platform for an institution, and rotate the tool's key."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext


@click.group("lti")
def lti() -> None:
    """LTI 1.3: learning platforms that launch Thetapath."""


@lti.command("register")
@click.option("--institution", "slug", required=True, help="The institution (by slug) whose platform it is.")
@click.option("--issuer", required=True, help="The platform's issuer (iss), e.g. https://canvas.instructure.com.")
@click.option("--client-id", required=True, help="The client id the platform gave this tool.")
@click.option("--deployment-id", "deployment_ids", required=True, multiple=True,
              help="A deployment id the platform gave (repeat for several).")
@click.option("--auth-login-url", required=True, help="The platform's OIDC authentication URL.")
@click.option("--auth-token-url", required=True, help="The platform's OAuth 2 access-token URL.")
@click.option("--keyset-url", required=True, help="The platform's public keys (JWKS) URL.")
@with_appcontext
def register_command(slug: str, issuer: str, client_id: str, deployment_ids: tuple[str, ...],
                     auth_login_url: str, auth_token_url: str, keyset_url: str) -> None:
    """Register a platform (or add deployments to its registration), and print the tool's URLs as JSON
    for the platform: {login_url, launch_url, jwks_url, deep_link_url, config_url}."""
    from sqlalchemy import select

    from app import db
    from app.lti.tool import RegistrationError, register_platform, tool_urls
    from app.models import Institution

    session = db.session()
    institution = session.scalar(select(Institution).where(Institution.slug == slug))
    if institution is None:
        click.echo(f"thetapath lti register: no institution {slug!r}", err=True)
        sys.exit(2)
    try:
        urls = tool_urls()
        platform = register_platform(session, institution, issuer=issuer, client_id=client_id,
                                     deployment_ids=list(deployment_ids), auth_login_url=auth_login_url,
                                     auth_token_url=auth_token_url, keyset_url=keyset_url)
    except RegistrationError as err:
        click.echo(f"thetapath lti register: {err}", err=True)
        sys.exit(2)
    deployments = ", ".join(d.deployment_id for d in platform.deployments)
    click.echo(f"registered {platform.issuer} (client id {platform.client_id}; deployments {deployments}) "
               f"for {institution.slug}", err=True)
    click.echo(json.dumps(urls, indent=2))


@lti.command("rotate-key")
@with_appcontext
def rotate_key_command() -> None:
    """Make a new tool key; the old one stays in the JWKS for LTI_KEY_OVERLAP_DAYS."""
    from app import db
    from app.lti.tool import rotate_tool_key

    click.echo(f"the tool now signs with key {rotate_tool_key(db.session())}")
