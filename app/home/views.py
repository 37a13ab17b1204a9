"""Home: a welcome for visitors, the dashboard for signed-in users."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app import db
from app.authz import principal
from app.home.services import competency_lines, resume_cards
from app.web.htmx import render

bp = Blueprint("home", __name__, template_folder="templates")


@bp.route("/")
def index() -> ResponseReturnValue:
    """Show the dashboard, or the welcome page to visitors."""
    if current_user.is_authenticated:
        memberships = [(m.institution.name, m.role.value) for m in current_user.memberships]
        who = principal() if memberships else None
        cards = resume_cards(db.session(), who) if who else []
        competencies = competency_lines(db.session(), who) if who else []
        return render("home/dashboard.html", memberships=memberships, cards=cards,
                      competencies=competencies)
    return render("home/welcome.html")
