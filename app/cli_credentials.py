"""``thetapath credentials verify``: check a credential offline, as anyone can.

Exit status: 0 valid, 1 not valid (each failed check on its own line), 2 unreadable input. The
verifier calls nobody: ``did:key`` issuers resolve from the credential itself, and this instance's
database (when it has one) gives its own issuers' keys and revocation lists.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext


@click.group("credentials")
def credentials() -> None:
    """Open Badges 3.0 credentials."""


@credentials.command("verify")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print {valid, checks, credential} as JSON.")
@with_appcontext
def verify_command(path: Path, as_json: bool) -> None:
    """Check the credential in PATH (- for standard input): format, signature, validity, status."""
    from sqlalchemy.exc import SQLAlchemyError

    from app import db
    from app.credentials.keys import known_keys
    from app.credentials.status import revoked_here
    from app.credentials.verify import MAX_BYTES, Unreadable, read, unreadable, verify_credential

    session = db.session()
    try:
        known = known_keys(session)
        lookups = True
    except SQLAlchemyError:  # no database here (or not set up): did:key issuers only
        session.rollback()
        known, lookups = {}, False

    def status(document: dict[str, Any]) -> bool | None:
        return revoked_here(session, document) if lookups else None

    try:
        raw = sys.stdin.buffer.read(MAX_BYTES + 1) if str(path) == "-" else _head(path, MAX_BYTES + 1)
        verdict = verify_credential(read(raw), known, status=status)
    except Unreadable as err:
        if as_json:
            click.echo(json.dumps(unreadable(err)))
        else:
            click.echo(f"{path}: not a credential: {err}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(verdict.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"{path}: {'VALID' if verdict.valid else 'NOT VALID'}")
        for check in verdict.checks:
            click.echo(f"  {'ok  ' if check.ok else 'FAIL'} {check.check}: {check.message}")
    sys.exit(0 if verdict.valid else 1)


def _head(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(limit)
    except OSError as err:
        click.echo(f"{path}: cannot be read ({err.strerror})", err=True)
        sys.exit(2)


@credentials.command("export")
@click.option("--email", required=True, help="The learner's e-mail address.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="A folder (made if missing) for <id>.json and <id>.jwt of each credential, and "
                   "clr-<institution>.json and .jwt of each transcript.")
@with_appcontext
def export_command(email: str, out: Path) -> None:
    """Write each of a learner's credentials as <id>.json (JSON-LD) and <id>.jwt (VC-JWT), and their
    CLR 2.0 transcript from each institution as clr-<slug>.json and clr-<slug>.jwt."""
    from sqlalchemy import select

    from app import db
    from app.accounts.services import normalise_email
    from app.credentials.clr import transcript
    from app.credentials.issuance import credentials_of
    from app.models import Institution, User

    session = db.session()
    user = session.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None:
        click.echo(f"no account with the e-mail address {email}", err=True)
        sys.exit(2)
    issued = credentials_of(session, user.id)
    transcripts = {}
    for institution_id in sorted({c.institution_id for c in issued}):
        institution = session.get(Institution, institution_id)
        assert institution is not None  # the credential's foreign key
        made = transcript(session, user, institution)
        if made is not None:
            transcripts[institution.slug] = made
    session.commit()  # nothing is written, unless an issuer without a key got one
    try:
        out.mkdir(parents=True, exist_ok=True)
        for credential in issued:
            (out / f"{credential.id}.json").write_text(
                json.dumps(credential.document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            if credential.jwt:
                (out / f"{credential.id}.jwt").write_text(credential.jwt + "\n", encoding="utf-8")
        for slug, (document, token) in transcripts.items():
            (out / f"clr-{slug}.json").write_text(
                json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
            (out / f"clr-{slug}.jwt").write_text(token + "\n", encoding="utf-8")
    except OSError as err:
        click.echo(f"{out}: cannot be written ({err.strerror})", err=True)
        sys.exit(2)
    for credential in issued:
        state = f"revoked {credential.revoked_at:%Y-%m-%d}" if credential.revoked_at else "valid"
        click.echo(f"{credential.id}  {credential.document.get('name', credential.rule)}  ({state})")
    for slug in transcripts:
        click.echo(f"clr-{slug}  transcript (CLR 2.0) from {slug}")
    click.echo(f"{len(issued)} credential{'' if len(issued) == 1 else 's'} of {user.email}, and "
               f"{len(transcripts)} transcript{'' if len(transcripts) == 1 else 's'}, written to {out}",
               err=True)


@credentials.command("rotate-key")
@click.option("--institution", "slug", required=True, help="The institution (by slug).")
@with_appcontext
def rotate_key_command(slug: str) -> None:
    """Retire an institution's signing key and make a new one; the old public key stays, so what it
    signed still verifies."""
    from sqlalchemy import select

    from app import db
    from app.credentials.keys import rotate
    from app.models import Institution

    session = db.session()
    institution = session.scalar(select(Institution).where(Institution.slug == slug))
    if institution is None:
        click.echo(f"no institution {slug!r}", err=True)
        sys.exit(2)
    key = rotate(session, institution.id)
    click.echo(f"{slug} now signs with {key.verification_method}")
