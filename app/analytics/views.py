"""Instructor analytics pages: a pack version's item statistics, computed by a background job."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from app import db
from app.analytics.exports import EXPORTS, export_name
from app.analytics.services import FLAG_MIN_RESPONSES, SORT_KEYS, ask_item_statistics, item_report
from app.authz import principal, roles_required, scoped
from app.models import PackVersion, Role
from app.web.htmx import render

bp = Blueprint("analytics", __name__, url_prefix="/author", template_folder="templates")


@bp.route("/versions/<int:version_id>/items")
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def items(version_id: int) -> ResponseReturnValue:
    """The items of a version with their statistics; sorted and filtered by the query string."""
    who = principal()
    session = db.session()
    version = scoped(session, PackVersion, version_id, who)
    sort = request.args.get("sort", "id")
    sort = sort if sort in SORT_KEYS else "id"
    descending = request.args.get("order") == "desc"
    competency = request.args.get("competency") or None
    flagged = request.args.get("flagged") == "1"
    report = item_report(session, who, version, sort=sort, descending=descending,
                         competency=competency, flagged_only=flagged)
    return render("analytics/items.html", version=version, report=report, sort=sort,
                  descending=descending, competency=competency, flagged=flagged,
                  flag_min=FLAG_MIN_RESPONSES)


@bp.route("/versions/<int:version_id>/items/compute", methods=["POST"])
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def compute(version_id: int) -> ResponseReturnValue:
    """Ask for the version's item statistics from every response so far."""
    job = ask_item_statistics(db.session(), principal(), version_id)
    if job.finished:
        flash("These statistics already include every response; nothing new was answered since.", "info")
    return redirect(url_for("analytics.items", version_id=version_id), code=303)


@bp.route("/versions/<int:version_id>/export/<any(responses, bank, results):what>")
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def export(version_id: int, what: str) -> ResponseReturnValue:
    """Download the version's responses, item bank or results (learners pseudonymised)."""
    version = scoped(db.session(), PackVersion, version_id, principal())
    _name, media_type, make = EXPORTS[what]
    return Response(make(db.session(), version), mimetype=media_type, headers={
        "Content-Disposition": f'attachment; filename="{export_name(version, what)}"'})
