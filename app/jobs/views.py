"""A job's progress: a page, and the fragment it polls (htmx) or reloads (a plain link)."""

from __future__ import annotations

from flask import Blueprint
from flask.typing import ResponseReturnValue
from flask_login import login_required

from app import db
from app.authz import principal
from app.jobs.services import KINDS, visible_job
from app.web.htmx import render

bp = Blueprint("jobs", __name__, template_folder="templates")


@bp.route("/jobs/<int:job_id>")
@login_required
def show(job_id: int) -> ResponseReturnValue:
    """Where a job stands; while it runs, the fragment asks again every second."""
    job = visible_job(db.session(), principal(), job_id)
    kind = KINDS.get(job.kind)
    return render("jobs/job.html", "job_progress", job=job, title=kind.title if kind else job.kind,
                  result_url=kind.result_url(job) if kind and kind.result_url and job.finished else None)
