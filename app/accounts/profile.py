"""The account page: name, e-mail address, password and sign-ins, a copy of one's data, deletion.

Thin views over ``app.accounts.privacy``: validate the form, call one service, render. Every route
acts on the signed-in user only and reads no user id from the request.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, Length

from app import db
from app.accounts import privacy
from app.accounts.services import DEVICE_COOKIE
from app.web.htmx import render

bp = Blueprint("profile", __name__, url_prefix="/account", template_folder="templates")


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class NameForm(FlaskForm):
    """The name shown to the learner and to their instructors."""

    name = StringField("Your name", filters=[_strip], validators=[
        DataRequired(message="Please enter your name."),
        Length(max=200, message="Please use at most 200 characters.")])


class EmailForm(FlaskForm):
    """A new e-mail address, confirmed with the current password and then by a link sent to it."""

    email = EmailField("New e-mail address", filters=[_strip], validators=[
        DataRequired(message="Please enter the new address."),
        Email(message="That does not look like an e-mail address."), Length(max=254)])
    password = PasswordField("Your current password", validators=[
        DataRequired(message="Please enter your current password.")])


class ConfirmEmailForm(FlaskForm):
    """The button on the page a confirmation link opens (a link alone changes nothing)."""

    token = HiddenField(validators=[DataRequired()])


class DeleteForm(FlaskForm):
    """Deleting the account needs the password, so a borrowed signed-in browser cannot do it."""

    password = PasswordField("Your password", validators=[
        DataRequired(message="Please enter your password to confirm.")])


def _client() -> privacy.Client:
    """The client, for the sign-in limits that re-asked passwords count against (see app.config
    PROXY_COUNT for the address behind a proxy)."""
    return privacy.Client(request.remote_addr or "unknown", request.cookies.get(DEVICE_COOKIE))


def _page(**forms: Any) -> ResponseReturnValue:
    """The account page with its forms (those given carry the submitted values and errors)."""
    user = current_user
    name = forms.get("name_form") or NameForm(formdata=None, name=user.name)
    email = forms.get("email_form") or EmailForm(formdata=None)
    status = 422 if forms else 200
    return render("accounts/profile.html", name_form=name, email_form=email,
                  sign_ins=privacy.sign_in_count(db.session(), user)), status


@bp.route("")
@login_required
def index() -> ResponseReturnValue:
    """Show the account page."""
    return _page()


@bp.route("/name", methods=["POST"])
@login_required
def name() -> ResponseReturnValue:
    """Change the display name."""
    form = NameForm()
    if form.validate_on_submit():
        try:
            privacy.rename(db.session(), current_user, form.name.data or "")
        except privacy.ProfileError as err:
            form.name.errors = [str(err)]
        else:
            flash("Your name is saved.", "success")
            return redirect(url_for("profile.index"), code=303)
    return _page(name_form=form)


@bp.route("/email", methods=["POST"])
@login_required
def email() -> ResponseReturnValue:
    """Send a confirmation link to a new address (the address changes only when it is followed)."""
    form = EmailForm()
    if form.validate_on_submit():
        try:
            new = privacy.request_email_change(db.session(), current_user, form.email.data or "",
                                               form.password.data or "", _client())
        except privacy.ProfileError as err:
            (form.password if err.field == "password" else form.email).errors = [str(err)]
        else:
            flash(f"We sent a link to {new}. Your address changes when you open it; until then it "
                  f"stays {current_user.email}.", "success")
            return redirect(url_for("profile.index"), code=303)
    return _page(email_form=form)


@bp.route("/email/confirm", methods=["GET", "POST"])
@login_required
def confirm_email() -> ResponseReturnValue:
    """Show the address a link would set, with a button; the button (POST, CSRF) sets it.

    Opening the link changes nothing by itself, so a mail scanner that follows links cannot.
    """
    form = ConfirmEmailForm()
    if form.validate_on_submit():
        new = privacy.confirm_email_change(db.session(), current_user, form.token.data or "")
        flash(f"Your e-mail address is now {new}.", "success")
        return redirect(url_for("profile.index"), code=303)
    token = request.args.get("token", "") if request.method == "GET" else form.token.data or ""
    change = privacy.read_email_change(current_user, token)
    form.token.data = token
    return render("accounts/profile_email_confirm.html", form=form, email=change.email)


def _download(body: bytes, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/export.json")
@login_required
def export_json() -> ResponseReturnValue:
    """Download one's own data as one JSON document."""
    data = privacy.personal_data(db.session(), current_user)
    body = json.dumps(data, ensure_ascii=False, indent=2).encode()
    return _download(body, "application/json", privacy.export_filename("json"))


@bp.route("/export.zip")
@login_required
def export_csv() -> ResponseReturnValue:
    """Download one's own data as a zip of CSV files (one per kind of record)."""
    return _download(privacy.personal_data_zip(db.session(), current_user), "application/zip",
                     privacy.export_filename("zip"))


@bp.route("/delete", methods=["GET", "POST"])
@login_required
def delete() -> ResponseReturnValue:
    """Explain what deleting keeps and removes; delete on the password, then sign out."""
    form = DeleteForm()
    if form.validate_on_submit():
        try:
            privacy.delete_account(db.session(), current_user, form.password.data or "", _client())
        except privacy.ProfileError as err:
            form.password.errors = [str(err)]
        else:
            logout_user()
            flash("Your account is deleted and you are signed out. Your name and e-mail address are "
                  "gone; you can sign up again with the same address at any time.", "success")
            response = redirect(url_for("home.index"), code=303)
            response.delete_cookie(DEVICE_COOKIE)  # this browser no longer recognises the account
            return response
    status = 422 if form.is_submitted() else 200
    return render("accounts/profile_delete.html", form=form), status
