"""Home: a welcome for visitors, the dashboard for signed-in users."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.validators import NumberRange, Optional

from app import db
from app.authz import principal
from app.home.services import competency_lines, progress, resume_cards, set_daily_goal, staff_home
from app.web.htmx import render

bp = Blueprint("home", __name__, template_folder="templates")


@bp.route("/")
def index() -> ResponseReturnValue:
    """The home of one's role: an instructor's or admin's overview, a learner's dashboard; a welcome
    page for visitors."""
    if current_user.is_authenticated:
        who = principal() if current_user.memberships else None
        if who is not None and who.can_author:
            return render("home/staff.html", home=staff_home(db.session(), who), who=who)
    return dashboard()


@bp.route("/dashboard")
def dashboard() -> ResponseReturnValue:
    """The learner's dashboard (instructors and admins study too), or the welcome page to visitors."""
    if current_user.is_authenticated:
        memberships = [(m.institution.name, m.role.value) for m in current_user.memberships]
        who = principal() if memberships else None
        cards = resume_cards(db.session(), who) if who else []
        competencies = competency_lines(db.session(), who) if who else []
        cues = progress(db.session(), who, current_user.daily_goal) if who else None
        form = GoalForm(goal=current_user.daily_goal)
        return render("home/dashboard.html", memberships=memberships, cards=cards,
                      competencies=competencies, cues=cues, form=form)
    return render("home/welcome.html")


class GoalForm(FlaskForm):
    """The learner's own daily goal (blank for none)."""

    goal = IntegerField("Questions a day (leave blank for no goal)", validators=[
        Optional(), NumberRange(min=1, max=200, message="Choose between 1 and 200, or leave it blank.")])


@bp.route("/goal", methods=["POST"])
@login_required
def goal() -> ResponseReturnValue:
    """Set or clear the daily goal."""
    form = GoalForm()
    if form.validate_on_submit():
        set_daily_goal(db.session(), principal(), form.goal.data)
        flash("Your daily goal is saved." if form.goal.data else "No daily goal: study whenever suits you.",
              "success")
        return redirect(url_for("home.index"), code=303)
    flash(" ".join(form.goal.errors) or "That goal could not be saved.", "info")
    return redirect(url_for("home.index"), code=303)
