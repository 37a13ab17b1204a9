"""LTI 1.3 endpoints: the platform's login and launch, deep linking, the tool's public keys and its
configuration."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, jsonify, make_response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import db
from app.accounts.services import start_session
from app.authz import choose_institution, principal, roles_required
from app.extensions import csrf
from app.lti.deeplinking import picked, placeable, read_request, request_token, response_jwt
from app.lti.embed import EmbedLink, EmbedRefused, make_link
from app.lti.embed import open_link as open_embed_link
from app.lti.grades import audit, resend
from app.lti.launch import accept_launch, start_login
from app.lti.roster import courses, request_roster
from app.lti.tool import RegistrationError, jwks, register_platform, tool_configuration, tool_urls
from app.models import Institution, LtiPlatform, Role, User
from app.web.htmx import render
from app.web.security import content_security_policy

bp = Blueprint("lti", __name__, url_prefix="/lti", template_folder="templates")


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt  # the platform starts it (OIDC third-party initiated login); it signs nobody in
def login() -> ResponseReturnValue:
    """Keep a login for the platform's request and send the browser to the platform to authenticate."""
    target = start_login(db.session(), request.values, host=request.host,
                         redirect_uri=f"{_site()}{url_for('lti.launch')}")
    return redirect(target, code=302)


@bp.route("/launch", methods=["POST"])
@csrf.exempt  # the platform posts it; its id_token, bound to a login kept here, is what is checked
def launch() -> ResponseReturnValue:
    """Check the platform's id_token, sign its user in to the platform's institution, and go where it says."""
    session = db.session()
    accepted = accept_launch(session, request.form, host=request.host)
    _sign_in(session, accepted.user, accepted.institution_id)  # with the login used and the account
    if accepted.deep_linking is not None:
        return redirect(url_for("lti.deep_link", t=request_token(accepted)), code=303)
    return redirect(accepted.path, code=303)


def _sign_in(session: Session, user: User, institution_id: int) -> None:
    """Sign ``user`` in (one commit, with what the caller flushed) to act in ``institution_id``."""
    login_user(start_session(session, user))
    choose_institution(institution_id)


def _site() -> str:
    return str(current_app.config.get("BASE_URL") or request.url_root.rstrip("/"))


@bp.route("/deep-link", methods=["GET", "POST"])
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def deep_link() -> ResponseReturnValue:
    """The instructor picks modules to place in the course; the answer goes back to the platform."""
    session, who = db.session(), principal()
    token = request.values.get("t", "")
    deep_linking = read_request(session, token, who)
    settings = deep_linking.get("s") or {}
    if request.method == "GET":
        return render("lti/deep_link.html", versions=placeable(session, who), token=token,
                      multiple=settings.get("accept_multiple", True))
    modules = picked(session, who, request.form.getlist("module"), deep_linking)
    if not modules:
        flash("Pick at least one module to place.", "warning")
        return redirect(url_for("lti.deep_link", t=token), code=303)
    signed = response_jwt(session, deep_linking, modules, _site())
    session.commit()  # the tool's key, if this was its first use
    return_url = str(settings["deep_link_return_url"])
    page = render("lti/deep_link_return.html", return_url=return_url, jwt=signed, count=len(modules))
    response = make_response(page)
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(return_url))
    response.headers["Content-Security-Policy"] = content_security_policy(form_action=origin)
    return response


@bp.route("/jwks")
def keyset() -> ResponseReturnValue:
    """The tool's public keys (JWKS), for platforms to check what it signs."""
    return jsonify(jwks(db.session()))


@bp.route("/config.json")
def configuration() -> ResponseReturnValue:
    """The tool's configuration, for platforms that import one."""
    return jsonify(tool_configuration())


# ------------------------------------------------------------------------------------------------- admin
admin = Blueprint("lti_admin", __name__, template_folder="templates")


@admin.route("/admin/lti")
@roles_required(Role.ADMIN)
def settings() -> ResponseReturnValue:
    """The institution's platforms, the tool's URLs to give them, the scores sent to them, and embed
    links for sites without LTI."""
    return _settings(None)


def _settings(link: EmbedLink | None) -> ResponseReturnValue:
    session, who = db.session(), principal()
    platforms = list(session.scalars(select(LtiPlatform).where(
        LtiPlatform.institution_id == who.institution_id).order_by(LtiPlatform.id)))
    try:
        urls: dict[str, str] | None = tool_urls()
    except RegistrationError:
        urls = None
    return render("lti/admin.html", platforms=platforms, urls=urls, scores=audit(session, who.institution_id),
                  modules=[m for _v, modules in placeable(session, who) for m in modules], link=link,
                  courses=courses(session, who.institution_id))


@admin.route("/admin/lti/platforms", methods=["POST"])
@roles_required(Role.ADMIN)
def register() -> ResponseReturnValue:
    """Register a platform (or add deployments to its registration) for the admin's institution."""
    session, who = db.session(), principal()
    institution = session.get(Institution, who.institution_id)
    assert institution is not None  # the principal's own
    form = request.form
    try:
        platform = register_platform(
            session, institution, issuer=form.get("issuer", ""), client_id=form.get("client_id", ""),
            deployment_ids=form.get("deployment_ids", "").replace(",", " ").split(),
            auth_login_url=form.get("auth_login_url", ""), auth_token_url=form.get("auth_token_url", ""),
            keyset_url=form.get("keyset_url", ""))
    except RegistrationError as err:
        session.rollback()
        flash(str(err), "warning")
    else:
        flash(f"{platform.issuer} is registered: its launches now sign people in here.", "success")
    return redirect(url_for("lti_admin.settings"), code=303)


@admin.route("/admin/lti/courses/<int:context_id>/sync", methods=["POST"])
@roles_required(Role.ADMIN)
def sync_roster(context_id: int) -> ResponseReturnValue:
    """Read a course's roster from its platform again."""
    request_roster(db.session(), principal(), context_id)
    flash("The course's roster is being read from its platform.", "success")
    return redirect(url_for("lti_admin.settings"), code=303)


@admin.route("/admin/lti/scores/<int:job_id>/resend", methods=["POST"])
@roles_required(Role.ADMIN)
def resend_score(job_id: int) -> ResponseReturnValue:
    """Send a score to its platform again."""
    resend(db.session(), principal(), job_id)
    flash("The score will be sent again; its new record is at the top.", "success")
    return redirect(url_for("lti_admin.settings"), code=303)


# ------------------------------------------------------------------------------------------- embed links
embed = Blueprint("lti_embed", __name__)


@embed.route("/embed/<token>")
def open_link(token: str) -> ResponseReturnValue:
    """A signed embed link: sign its learner in to the institution and open the module."""
    session = db.session()
    user, institution_id, path = open_embed_link(session, token)
    _sign_in(session, user, institution_id)  # with the account, if it is new
    return redirect(path, code=303)


@admin.route("/admin/lti/embed", methods=["POST"])
@roles_required(Role.ADMIN)
def make_embed_link() -> ResponseReturnValue:
    """Make a signed embed link to a module for one learner, and show it with its iframe snippet."""
    session, who = db.session(), principal()
    form = request.form
    try:
        link = make_link(session, who, int(form.get("module_id", "0") or 0), form.get("learner_ref", ""),
                         int(form.get("days", "0") or 0), _site())
    except ValueError:
        flash("Pick a module and give the number of days the link is valid.", "warning")
        return redirect(url_for("lti_admin.settings"), code=303)
    except EmbedRefused as err:
        flash(str(err), "warning")
        return redirect(url_for("lti_admin.settings"), code=303)
    return _settings(link)
