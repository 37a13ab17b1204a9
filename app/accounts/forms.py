"""Account forms (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class SignupForm(FlaskForm):
    """Ask for a learner account in an institution that allows open sign-up (the password is chosen
    on the page the e-mailed link opens)."""

    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("E-mail address", filters=[_strip],
                       validators=[DataRequired(), Email(), Length(max=254)])
    institution = SelectField("Institution", coerce=int, validators=[DataRequired()])


class LoginForm(FlaskForm):
    """Sign in with e-mail and password."""

    email = EmailField("E-mail address", filters=[_strip], validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])


class NewPasswordForm(FlaskForm):
    """Choose a password (finishing a sign-up, or from a reset link): the one set of password rules."""

    password = PasswordField("New password", validators=[
        DataRequired(), Length(min=10, max=200, message="Use at least 10 characters.")])
    confirm = PasswordField("Repeat the new password", validators=[
        DataRequired(), EqualTo("password", message="The two passwords differ.")])


class ChangePasswordForm(NewPasswordForm):
    """Change the password while signed in: the current one first."""

    current = PasswordField("Current password", validators=[DataRequired()])


class ForgotPasswordForm(FlaskForm):
    """Ask for a password reset link."""

    email = EmailField("E-mail address", filters=[_strip],
                       validators=[DataRequired(), Email(), Length(max=254)])
