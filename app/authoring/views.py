"""Instructor views: list and import content packs; attempts whose evidence was set aside."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app import db
from app.authoring import services
from app.authoring.forms import PackUploadForm
from app.authz import principal, roles_required
from app.models import Attempt, ModuleRow, PackVersion, Role, User
from app.packstore import PackConflict
from app.web.htmx import render
from content import PackInvalid, PackUnreadable

bp = Blueprint("authoring", __name__, url_prefix="/author", template_folder="templates")


@bp.route("/packs", methods=["GET", "POST"])
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def packs() -> ResponseReturnValue:
    """List the institution's pack versions; import a new one from an upload."""
    who = principal()
    session = db.session()
    form = PackUploadForm()
    issues: list[str] = []
    status = 200
    if form.validate_on_submit():
        try:
            done = services.upload(session, who, form.archive.data.stream)
        except PackInvalid as err:
            issues = [str(issue) for issue in err.issues]
            status = 422
        except (PackUnreadable, PackConflict) as err:
            issues = [str(err)]
            status = 422
        else:
            if done.pending is not None:  # a new version of a known pack: show what changes first
                return redirect(url_for("authoring.pending", pending_id=done.pending), code=303)
            assert done.outcome is not None
            v = done.outcome.version
            flash(f"Imported {v.title} version {v.version}. It is not live yet: preview it, then publish it "
                  "below." if done.outcome.created else
                  f"{v.title} version {v.version} was already imported; nothing changed.", "success")
            _flash_warnings(done.warnings)
            return redirect(url_for("authoring.packs"), code=303)
    elif form.is_submitted():
        status = 422
    versions = list(session.scalars(select(PackVersion).where(
        PackVersion.institution_id == who.institution_id).order_by(PackVersion.id.desc())))
    return render("authoring/packs.html", form=form, versions=versions, issues=issues), status


@bp.route("/attempts")
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def attempts() -> ResponseReturnValue:
    """Finished attempts of the institution's learners whose response pattern was flagged (person fit).

    A flagged attempt is never credited; this is where an instructor sees who, where and why.
    """
    who = principal()
    rows = db.session().execute(
        select(Attempt, User.name, User.email, ModuleRow.title)
        .join(User, User.id == Attempt.user_id)
        .outerjoin(ModuleRow, ModuleRow.id == Attempt.module_id)
        .where(Attempt.institution_id == who.institution_id, Attempt.flagged.is_(True))
        .order_by(Attempt.finished_at.desc()).limit(500)).all()
    return render("authoring/attempts.html", rows=rows)


def _flash_warnings(warnings: tuple[str, ...], shown: int = 20) -> None:
    for warning in warnings[:shown]:
        flash(f"Warning: {warning}", "warning")
    if len(warnings) > shown:
        flash(f"… and {len(warnings) - shown} more warnings: 'thetapath pack validate' lists them all.",
              "warning")


@bp.route("/imports/<int:pending_id>")
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def pending(pending_id: int) -> ResponseReturnValue:
    """A new version of a known pack, before it is stored: what changed and what the checks found."""
    try:
        preview = services.preview(db.session(), principal(), pending_id)
    except PackConflict as err:
        flash(str(err), "warning")
        return redirect(url_for("authoring.packs"), code=303)
    return render("authoring/pending.html", preview=preview)


@bp.route("/imports/<int:pending_id>/confirm", methods=["POST"])
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def confirm(pending_id: int) -> ResponseReturnValue:
    """Store the waiting version."""
    try:
        outcome = services.confirm(db.session(), principal(), pending_id)
    except PackConflict as err:  # the same version was stored meanwhile, with other content
        db.session().rollback()
        flash(str(err), "warning")
        return redirect(url_for("authoring.pending", pending_id=pending_id), code=303)
    flash(f"Imported {outcome.version.title} version {outcome.version.version}. It is not live yet: "
          "preview it, then publish it below.", "success")
    return redirect(url_for("authoring.packs"), code=303)


@bp.route("/imports/<int:pending_id>/discard", methods=["POST"])
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def discard(pending_id: int) -> ResponseReturnValue:
    """Drop the waiting version; nothing was stored."""
    services.discard(db.session(), principal(), pending_id)
    flash("The upload was discarded; nothing was stored.", "info")
    return redirect(url_for("authoring.packs"), code=303)


@bp.route("/versions/<int:version_id>/publish", methods=["POST"])
@roles_required(Role.INSTRUCTOR, Role.ADMIN)
def publish(version_id: int) -> ResponseReturnValue:
    """Put a version live for learners (or take it off, with ``live=0``)."""
    live = request.form.get("live", "1") == "1"
    version = services.set_published(db.session(), principal(), version_id, live)
    flash(f"{version.title} {version.version} is live: learners see it in the catalogue." if live else
          f"{version.title} {version.version} is no longer live; attempts already begun on it go on.",
          "success")
    return redirect(url_for("authoring.packs"), code=303)
