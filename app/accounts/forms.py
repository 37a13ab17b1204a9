"""Account forms (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class SignupForm(FlaskForm):
    """Create a learner account in an institution that allows open sign-up."""

    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("E-mail address", filters=[_strip],
                       validators=[DataRequired(), Email(), Length(max=254)])
    institution = SelectField("Institution", coerce=int, validators=[DataRequired()])
    password = PasswordField("Password", validators=[
        DataRequired(), Length(min=10, max=200, message="Use at least 10 characters.")])
    confirm = PasswordField("Repeat the password", validators=[
        DataRequired(), EqualTo("password", message="The two passwords differ.")])


class LoginForm(FlaskForm):
    """Sign in with e-mail and password."""

    email = EmailField("E-mail address", filters=[_strip], validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])
