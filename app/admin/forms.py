"""Admin forms (CSRF-protected by Flask-WTF)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length

from app.models import Role

ROLE_CHOICES = [SelectChoice(Role.LEARNER.value, "Learner"),
                SelectChoice(Role.INSTRUCTOR.value, "Instructor"),
                SelectChoice(Role.ADMIN.value, "Administrator")]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class AddMemberForm(FlaskForm):
    """Add someone by e-mail address (or invite the address when it has no account)."""

    email = EmailField("E-mail address", filters=[_strip],
                       validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.LEARNER.value)


class InviteForm(FlaskForm):
    """Make an invitation link for a role."""

    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.LEARNER.value)


class JoinSignupForm(FlaskForm):
    """Create an account through an invitation (the password is chosen from the e-mailed link)."""

    name = StringField("Your name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("E-mail address", filters=[_strip],
                       validators=[DataRequired(), Email(), Length(max=254)])
