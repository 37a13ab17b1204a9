"""Learner views: thin; one service call each."""

from __future__ import annotations

from flask import Blueprint, Response, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from app import db
from app.authz import principal, scoped
from app.learn import services
from app.learn.standing import standing_page
from app.models import PackVersion
from app.web.htmx import render

bp = Blueprint("learn", __name__, url_prefix="/learn", template_folder="templates")


@bp.route("/")
@login_required
def catalogue() -> ResponseReturnValue:
    """List the packs and modules a learner can study."""
    return render("learn/catalogue.html", packs=services.catalogue(db.session(), principal()))


@bp.route("/modules/<int:module_id>")
@login_required
def module(module_id: int) -> ResponseReturnValue:
    """Show a module: outcomes, lessons, assessment."""
    return render("learn/module.html", page=services.module_page(db.session(), principal(), module_id))


@bp.route("/modules/<int:module_id>/lessons/<int:position>")
@login_required
def lesson(module_id: int, position: int) -> ResponseReturnValue:
    """Show a lesson and remember it was read."""
    page = services.lesson_page(db.session(), principal(), module_id, position,
                                asset_prefix=url_for("learn.catalogue") + "assets/")
    return render("learn/lesson.html", page=page)


@bp.route("/packs/<int:version_id>/standing")
@login_required
def standing(version_id: int) -> ResponseReturnValue:
    """The learner's competency dashboard for a pack: map, estimates, history, path, reviews, credentials."""
    who = principal()
    session = db.session()
    version = scoped(session, PackVersion, version_id, who)
    return render("learn/standing.html", s=standing_page(session, who, version))


@bp.route("/assets/<int:version_id>/<path:path>")
@login_required
def asset(version_id: int, path: str) -> ResponseReturnValue:
    """Serve a pack's image; SVG is sandboxed so nothing in it can run."""
    item = services.asset(db.session(), principal(), version_id, path)
    response = Response(item.data, mimetype=item.media_type)
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
