"""Thetapath's web app and command line: wire HTTP and the database to ``adaptive`` and ``content``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

__all__ = ["create_app"]


def create_app(overrides: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, error handlers."""
    from app import config, db
    from app.extensions import csrf, htmx, login_manager
    from app.jobs import workers
    from app.web import errors, security

    app = Flask(__name__, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config.load(app.instance_path, overrides))
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("app").setLevel(logging.INFO)
    if app.config["PROXY_COUNT"]:  # behind reverse proxies: the client's address, scheme and host
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]

    db.init_app(app)
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    workers.init_app(app)

    from app.accounts import bp as accounts_bp
    from app.accounts.profile import bp as profile_bp
    from app.admin import bp as admin_bp
    from app.analytics import bp as analytics_bp
    from app.assess import bp as assess_bp
    from app.authoring import bp as authoring_bp
    from app.credentials.views import bp as credentials_bp
    from app.credentials.views import issuer as issuer_bp
    from app.home import bp as home_bp
    from app.jobs import bp as jobs_bp
    from app.learn import bp as learn_bp
    from app.lti.views import admin as lti_admin_bp
    from app.lti.views import bp as lti_bp
    from app.lti.views import embed as lti_embed_bp

    for blueprint in (accounts_bp, admin_bp, analytics_bp, assess_bp, authoring_bp, credentials_bp, home_bp,
                      issuer_bp, jobs_bp, learn_bp, lti_admin_bp, lti_bp, lti_embed_bp, profile_bp):
        app.register_blueprint(blueprint)

    from app.authz import template_context

    app.context_processor(template_context)

    @login_manager.user_loader
    def _load_user(ident: str) -> Any:
        from app.accounts.services import session_user

        return session_user(db.session(), ident)

    return app
