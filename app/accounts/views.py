"""Account views: thin; validate the form, call one service, render."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from app import db
from app.accounts import services
from app.accounts.forms import LoginForm, SignupForm
from app.web.htmx import render

bp = Blueprint("accounts", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after sign-in."""
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and not urlsplit(target).netloc):
        return target
    return url_for("home.index")


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    """Create a learner account."""
    form = SignupForm()
    form.institution.choices = [(i.id, i.name) for i in services.open_institutions(db.session())]
    if form.validate_on_submit():
        try:
            user = services.sign_up(db.session(), name=form.name.data or "", email=form.email.data or "",
                                    password=form.password.data or "",
                                    institution_id=form.institution.data)
        except services.AccountError as err:
            form.email.errors = [*form.email.errors, str(err)]
        else:
            login_user(services.start_session(db.session(), user))
            flash("Welcome to Thetapath! Your account is ready.", "success")
            return redirect(url_for("home.index"))
    status = 422 if request.method == "POST" else 200
    return render("accounts/signup.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Sign in."""
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(db.session(), form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(services.start_session(db.session(), user))
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors = ["That e-mail address and password do not match an account."]
    status = 422 if request.method == "POST" else 200
    return render("accounts/login.html", form=form), status


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


__all__ = ["bp", "current_user"]
