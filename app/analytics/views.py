"""Instructor analytics pages: a pack version's item statistics, computed by a background job."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from app import db
from app.analytics.exports import EXPORTS, export_name
from app.analytics.learners import band_names, learner_report
from app.analytics.plots import Series, bar_chart, line_chart
from app.analytics.recalibration import (
    approve,
    approved_version,
    ask_recalibration,
    decision_words,
    latest_report,
    parameter_versions,
    proposed_parameters,
    use_version,
)
from app.analytics.services import (
    FLAG_MIN_RESPONSES,
    SORT_KEYS,
    ask_item_statistics,
    item_detail,
    item_report,
)
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


@bp.route("/versions/<int:version_id>/export/<any(responses, bank, results, xapi):what>")
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def export(version_id: int, what: str) -> ResponseReturnValue:
    """Download the version's responses, item bank or results (learners pseudonymised)."""
    version = scoped(db.session(), PackVersion, version_id, principal())
    _name, media_type, make = EXPORTS[what]
    return Response(make(db.session(), version), mimetype=media_type, headers={
        "Content-Disposition": f'attachment; filename="{export_name(version, what)}"'})


@bp.route("/versions/<int:version_id>/items/<item_id>")
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def item(version_id: int, item_id: str) -> ResponseReturnValue:
    """One item: its question and key, parameters, statistics, fit and curves."""
    detail = item_detail(db.session(), principal(), version_id, item_id)
    curve = line_chart(
        title=f"Expected score of {item_id} by ability",
        description="The share of the maximum score the item's parameters expect at each ability, "
                    "and the share learners of each ability group really scored.",
        x_label="Ability (theta)", y_label="Share of the maximum score", x_range=(-4, 4),
        y_range=(0, 1), series=[
            Series("Expected from the parameters", detail.expected),
            Series("Observed, by ability group", [(x, y) for x, y, _n in detail.observed],
                   markers=True, line=False,
                   notes=[f"{n} learner{'' if n == 1 else 's'}" for _x, _y, n in detail.observed])])
    top = max((y for _x, y in detail.information), default=1.0)
    information = line_chart(
        title=f"Information of {item_id}", description="How precisely the item measures at each ability.",
        x_label="Ability (theta)", y_label="Information", x_range=(-4, 4),
        y_range=(0, max(top * 1.1, 0.1)), series=[Series("Item information", detail.information)])
    return render("analytics/item.html", version=detail.version, detail=detail, curve=curve,
                  information=information, flag_min=FLAG_MIN_RESPONSES)


@bp.route("/versions/<int:version_id>/learners")
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def learners(version_id: int) -> ResponseReturnValue:
    """How the version's learners are doing, in aggregate."""
    report = learner_report(db.session(), principal(), version_id)
    bands = band_names()
    charts = [bar_chart(title=f"Estimates in {c.title}",
                        description=f"How many learners' latest estimate of {c.title} falls in each "
                                    "half-logit band of the ability scale.",
                        x_label="Ability (theta): bands of half a unit", y_label="Learners",
                        bars=[(short, n) for (short, _name), n in zip(bands, c.histogram, strict=True)],
                        tips=[name for _short, name in bands], label_every=2)
              for c in report.competencies]
    return render("analytics/learners.html", report=report, version=report.version, charts=charts)


@bp.route("/versions/<int:version_id>/recalibration")
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def recalibration(version_id: int) -> ResponseReturnValue:
    """The newest recalibration report of a version, or its progress."""
    session = db.session()
    version, job = latest_report(session, principal(), version_id)
    report = job.result if job is not None and job.finished and job.result else None
    versions, in_use = parameter_versions(session, version)
    approved = approved_version(session, job) if job is not None and report else None
    in_use_number = next((v.number for v in versions if v.id == in_use), 0)
    return render("analytics/recalibration.html", version=version, job=job, report=report,
                  versions=versions, in_use=in_use, in_use_number=in_use_number, approved=approved,
                  changes=decision_words(report.get("decisions", {}).get("changes", {})) if report else [],
                  current=report is not None and report.get("based_on", {}).get("id") == in_use,
                  proposed=proposed_parameters(report.get("items", [])) if report else {})


@bp.route("/versions/<int:version_id>/recalibration", methods=["POST"])
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def recalibrate(version_id: int) -> ResponseReturnValue:
    """Ask for a new recalibration report from every response so far."""
    job = ask_recalibration(db.session(), principal(), version_id)
    if job.finished:
        flash("This report already includes every response, with the parameters in use; nothing new "
              "was answered since.", "info")
    return redirect(url_for("analytics.recalibration", version_id=version_id), code=303)


@bp.route("/versions/<int:version_id>/recalibration/<int:job_id>/approve", methods=["POST"])
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def approve_report(version_id: int, job_id: int) -> ResponseReturnValue:
    """Approve a report: its parameters become a new parameter version, used by new attempts."""
    row = approve(db.session(), principal(), version_id, job_id)
    flash(f"Parameter version {row.number} is in use: new attempts use it; attempts already made keep "
          "the parameters they ran on.", "info")
    return redirect(url_for("analytics.recalibration", version_id=version_id), code=303)


@bp.route("/versions/<int:version_id>/parameters/<int:number>/use", methods=["POST"])
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def use_parameters(version_id: int, number: int) -> ResponseReturnValue:
    """Put a parameter version back in use (roll back, or forward again)."""
    row = use_version(db.session(), principal(), version_id, number)
    flash(f"Parameter version {row.number} is in use again for new attempts.", "info")
    return redirect(url_for("analytics.recalibration", version_id=version_id), code=303)
