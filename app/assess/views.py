"""Assessment views: the item panel swaps in place with htmx; every form also works without JavaScript."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from app import db
from app.assess import services
from app.authz import principal
from app.web.htmx import render

bp = Blueprint("assess", __name__, url_prefix="/assess", template_folder="templates")


@bp.route("/modules/<int:module_id>/attempts", methods=["POST"])
@login_required
def start(module_id: int) -> ResponseReturnValue:
    """Start (or resume) the module's adaptive assessment."""
    attempt_id = services.start(db.session(), principal(), module_id)
    return redirect(url_for("assess.attempt", attempt_id=attempt_id), code=303)


@bp.route("/modules/<int:module_id>/testout", methods=["POST"])
@login_required
def testout(module_id: int) -> ResponseReturnValue:
    """Start (or resume) a test-out of the module: prove prior learning and skip it."""
    attempt_id = services.start(db.session(), principal(), module_id, kind="testout")
    return redirect(url_for("assess.attempt", attempt_id=attempt_id), code=303)


@bp.route("/modules/<int:module_id>/review", methods=["POST"])
@login_required
def review(module_id: int) -> ResponseReturnValue:
    """Start (or resume) a short review of the module's competency."""
    attempt_id = services.start(db.session(), principal(), module_id, kind="review")
    return redirect(url_for("assess.attempt", attempt_id=attempt_id), code=303)


@bp.route("/packs/<int:version_id>/placement", methods=["POST"])
@login_required
def placement(version_id: int) -> ResponseReturnValue:
    """Start (or resume) the placement test of a pack: find out what you can skip."""
    attempt_id = services.start_placement(db.session(), principal(), version_id)
    return redirect(url_for("assess.attempt", attempt_id=attempt_id), code=303)


@bp.route("/attempts/<int:attempt_id>")
@login_required
def attempt(attempt_id: int) -> ResponseReturnValue:
    """Show the question on screen, or the result."""
    view = services.view(db.session(), principal(), attempt_id)
    return render("assess/attempt.html", block="item_panel", view=view)


@bp.route("/attempts/<int:attempt_id>/responses", methods=["POST"])
@login_required
def respond(attempt_id: int) -> ResponseReturnValue:
    """Record the answer to the question on screen and show feedback with the next question."""
    who = principal()
    session = db.session()
    form = {key: request.form.getlist(key) for key in request.form if key not in ("csrf_token", "token")}
    try:
        view = services.submit(session, who, attempt_id, request.form.get("token", ""), form)
    except services.AlreadyAnswered as err:
        current = services.view(session, who, attempt_id, notice=str(err))
        return render("assess/attempt.html", block="item_panel", view=current), 409
    except services.AssessError as err:
        current = replace(services.view(session, who, attempt_id), errors=(str(err),))
        return render("assess/attempt.html", block="item_panel", view=current), 422
    return render("assess/attempt.html", block="item_panel", view=view)
