"""Instructor views: list and import content packs; attempts whose evidence was set aside."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app import db
from app.authoring.forms import PackUploadForm
from app.authz import principal, roles_required
from app.models import Attempt, Institution, ModuleRow, PackVersion, Role, User
from app.packstore import PackConflict, import_pack
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
        institution = session.get(Institution, who.institution_id)
        assert institution is not None
        try:
            outcome = import_pack(session, institution, form.archive.data.stream, who.user_id)
        except PackInvalid as err:
            issues = [str(issue) for issue in err.issues]
            status = 422
        except (PackUnreadable, PackConflict) as err:
            issues = [str(err)]
            status = 422
        else:
            v = outcome.version
            flash(f"Imported {v.title} version {v.version}." if outcome.created else
                  f"{v.title} version {v.version} was already imported; nothing changed.", "success")
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
