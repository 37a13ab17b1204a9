"""Account views: thin; validate the form, call one service, render.

Client addresses come from ``request.remote_addr``: behind a reverse proxy, set ``PROXY_COUNT`` so it
is the client's and not the proxy's (see ``app.config``), or every visitor shares one sign-in limit.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, make_response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app import db
from app.accounts import services
from app.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    SignupForm,
)
from app.accounts.throttle import Throttled
from app.accounts.tokens import TokenError
from app.authz import choose_institution
from app.errors import ServiceError
from app.web.htmx import render

bp = Blueprint("accounts", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after sign-in."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not urlsplit(target).netloc):
        return target
    return url_for("home.index")


def _address() -> str:
    return request.remote_addr or "unknown"


def _device() -> str | None:
    return request.cookies.get(services.DEVICE_COOKIE)


def _recognise_browser(response: Response, device: str) -> Response:
    """Set the device cookie: this browser signed in (or reset the password) for the account."""
    response.set_cookie(services.DEVICE_COOKIE, device, max_age=services.DEVICE_MAX_AGE,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True,
                        samesite="Lax")
    return response


def _form_page(template: str, status: int, err: Throttled | None = None, **context: Any) -> Response:
    """A form page; a ``Throttled`` error shows as an alert above it, with status 429 and Retry-After."""
    response = make_response(render(template, alert=str(err) if err else None, **context),
                             429 if err else status)
    if err is not None:
        response.headers["Retry-After"] = str(err.retry_after)
    return response


def _link_problem(err: ServiceError, again_endpoint: str, again_label: str) -> ResponseReturnValue:
    """An e-mailed link that cannot be used: say why and offer a new one."""
    return render("accounts/link_problem.html", message=str(err), again_url=url_for(again_endpoint),
                  again_label=again_label), err.status


# ------------------------------------------------------------------------------ sign-up
@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    """Ask for a learner account; the answer is always "check your e-mail"."""
    form = SignupForm()
    form.institution.choices = [(i.id, i.name) for i in services.open_institutions(db.session())]
    if form.validate_on_submit():
        try:
            services.request_sign_up(db.session(), name=form.name.data or "", email=form.email.data or "",
                                     institution_id=form.institution.data, address=_address())
        except Throttled as err:
            return _form_page("accounts/signup.html", 429, err, form=form)
        except services.AccountError as err:
            form.institution.errors = [*form.institution.errors, str(err)]
        else:
            return render("accounts/check_email.html", email=form.email.data, reason="signup")
    return _form_page("accounts/signup.html", 422 if request.method == "POST" else 200, form=form)


@bp.route("/signup/confirm/<token>", methods=["GET", "POST"])
def confirm_signup(token: str) -> ResponseReturnValue:
    """The page a sign-up e-mail links to: choose a password, and the account exists."""
    try:
        pending = services.pending_sign_up(db.session(), token)
    except services.AccountExists as err:
        return _link_problem(err, "accounts.login", "Sign in")
    except (TokenError, services.AccountError) as err:
        return _link_problem(err, "accounts.signup", "Start again")
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            signed_in = services.confirm_sign_up(db.session(), token, form.password.data or "")
        except TokenError as err:
            return _link_problem(err, "accounts.login", "Sign in")
        login_user(signed_in.user)
        flash("Welcome to Thetapath! Your account is ready.", "success")
        return _recognise_browser(redirect(url_for("home.index")), signed_in.device)
    return render("accounts/confirm_signup.html", form=form, pending=pending, token=token), \
        422 if request.method == "POST" else 200


# ------------------------------------------------------------------------------ sign-in
@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Sign in; too many failures answer 429 before any password is checked."""
    form = LoginForm()
    if form.validate_on_submit():
        try:
            signed_in = services.sign_in(db.session(), form.email.data or "", form.password.data or "",
                                         address=_address(), device=_device())
        except Throttled as err:
            return _form_page("accounts/login.html", 429, err, form=form)
        except services.AccountError as err:
            form.password.errors = [str(err)]
        else:
            login_user(signed_in.user)
            return _recognise_browser(redirect(_safe_next(request.args.get("next"))), signed_in.device)
    return _form_page("accounts/login.html", 422 if request.method == "POST" else 200, form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    """Sign out (POST only, with CSRF, so a link elsewhere cannot sign you out).

    The sign-in itself ends, so a copy of the cookie taken before stops working too.
    """
    services.end_session(db.session(), current_user)
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/logout/everywhere", methods=["POST"])
@login_required
def logout_everywhere() -> ResponseReturnValue:
    """Sign out on every device and browser (a lost phone, a shared computer)."""
    ended = services.end_all_sessions(db.session(), current_user)
    logout_user()
    flash(f"You are signed out everywhere ({ended} sign-in{'s' if ended != 1 else ''} ended).", "info")
    return redirect(url_for("accounts.login"))


# ------------------------------------------------------------------------------ passwords
@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """Change the password (the current one first); every other sign-in ends, this one stays."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            ended = services.change_password(db.session(), current_user, current=form.current.data or "",
                                             new=form.password.data or "", address=_address(),
                                             device=_device())
        except Throttled as err:
            return _form_page("accounts/change_password.html", 429, err, form=form)
        except services.AccountError as err:
            form.current.errors = [str(err)]
        else:
            others = f"{ended} other sign-in{'s' if ended != 1 else ''} ended" if ended else \
                "you were signed in nowhere else"
            flash(f"Your password is changed ({others}).", "success")
            return redirect(url_for("accounts.change_password"))
    return _form_page("accounts/change_password.html", 422 if request.method == "POST" else 200,
                      form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            services.request_password_reset(db.session(), form.email.data or "", address=_address())
        except Throttled as err:
            return _form_page("accounts/forgot_password.html", 429, err, form=form)
        return render("accounts/check_email.html", email=form.email.data, reason="reset",
                      minutes=services.RESET_MAX_AGE // 60)
    return _form_page("accounts/forgot_password.html", 422 if request.method == "POST" else 200, form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    """The page a reset e-mail links to: choose a new password; every sign-in of the account ends."""
    try:
        user = services.reset_target(db.session(), token)
    except TokenError as err:
        return _link_problem(err, "accounts.forgot_password", "Ask for a new link")
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            device = services.reset_password(db.session(), token, form.password.data or "")
        except TokenError as err:
            return _link_problem(err, "accounts.forgot_password", "Ask for a new link")
        logout_user()
        flash("Your password is changed and you are signed out everywhere. Sign in with the new "
              "password.", "success")
        return _recognise_browser(redirect(url_for("accounts.login")), device)
    return render("accounts/reset_password.html", form=form, email=user.email, token=token), \
        422 if request.method == "POST" else 200


__all__ = ["bp", "current_user"]


# ------------------------------------------------------------------------------ institutions
@bp.route("/institution", methods=["POST"])
@login_required
def switch_institution() -> ResponseReturnValue:
    """Act in another of one's institutions (in this browser) from now on."""
    try:
        institution_id = int(request.form.get("institution", ""))
    except ValueError:
        institution_id = -1
    membership = choose_institution(institution_id)
    flash(f"You are now working in {membership.institution.name}.", "success")
    return redirect(url_for("home.index"), code=303)
