"""LTI 1.3 endpoints: the platform's login and launch, the tool's public keys and its configuration."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user

from app import db
from app.accounts.services import start_session
from app.authz import choose_institution
from app.extensions import csrf
from app.lti.launch import accept_launch, start_login
from app.lti.tool import jwks, tool_configuration

bp = Blueprint("lti", __name__, url_prefix="/lti")


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt  # the platform starts it (OIDC third-party initiated login); it signs nobody in
def login() -> ResponseReturnValue:
    """Keep a login for the platform's request and send the browser to the platform to authenticate."""
    site = current_app.config.get("BASE_URL") or request.url_root.rstrip("/")
    target = start_login(db.session(), request.values, host=request.host,
                         redirect_uri=f"{site}{url_for('lti.launch')}")
    return redirect(target, code=302)


@bp.route("/launch", methods=["POST"])
@csrf.exempt  # the platform posts it; its id_token, bound to a login kept here, is what is checked
def launch() -> ResponseReturnValue:
    """Check the platform's id_token, sign its user in to the platform's institution, and go where it says."""
    session = db.session()
    user, institution_id, path = accept_launch(session, request.form, host=request.host)
    login_user(start_session(session, user))  # one commit: the login used, the account, the sign-in
    choose_institution(institution_id)
    return redirect(path, code=303)


@bp.route("/jwks")
def keyset() -> ResponseReturnValue:
    """The tool's public keys (JWKS), for platforms to check what it signs."""
    return jsonify(jwks(db.session()))


@bp.route("/config.json")
def configuration() -> ResponseReturnValue:
    """The tool's configuration, for platforms that import one."""
    return jsonify(tool_configuration())
