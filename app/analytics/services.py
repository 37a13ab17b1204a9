"""Item statistics of a pack version from its learners' responses, computed as a background job.

The job reads every learner's first answer to each item of the version (pilot items included; see
``exports.first_responses``) and keeps the classical statistics of
``adaptive.statistics.item_statistics`` in its result. The page reads the newest finished job, so it
never waits for a computation; asking again while nothing new was answered returns the same job.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive import ResponseData
from adaptive.statistics import item_statistics
from app.analytics.exports import first_responses
from app.authz import Principal, scoped
from app.jobs.services import JobContext, JobError, enqueue, job_kind
from app.models import Attempt, Job, JobStatus, PackVersion, Response
from app.packstore import content_of, pack_bank

ITEM_STATISTICS = "item-statistics"

# Flags need this many responses to an item before they mean anything.
FLAG_MIN_RESPONSES = 30
TOO_EASY = 0.95  # proportion correct above this: the item tells almost nobody apart
TOO_HARD = 0.05
LOW_DISCRIMINATION = 0.10  # item-rest correlation below this: the item barely follows ability


def _statistics_url(job: Job) -> str:
    return url_for("analytics.items", version_id=job.payload["pack_version_id"])


def _key_prefix(version_id: int) -> str:
    return f"{ITEM_STATISTICS}:{version_id}:"


def _last_response_id(session: Session, version_id: int) -> int:
    return session.scalar(select(func.max(Response.id)).join(Attempt)
                          .where(Attempt.pack_version_id == version_id)) or 0


def request_item_statistics(session: Session, version: PackVersion, user_id: int | None) -> Job:
    """Ask for a version's item statistics; asking again before new responses arrive reuses the job."""
    return enqueue(session, ITEM_STATISTICS, {"pack_version_id": version.id},
                   key=f"{_key_prefix(version.id)}{_last_response_id(session, version.id)}",
                   institution_id=version.institution_id, created_by_id=user_id)


def ask_item_statistics(session: Session, who: Principal, version_id: int) -> Job:
    """An instructor asks for a version's item statistics from every response so far."""
    version = scoped(session, PackVersion, version_id, who)
    job = request_item_statistics(session, version, who.user_id)
    session.commit()
    return job


@job_kind(ITEM_STATISTICS, "Item statistics", result_url=_statistics_url)
def _item_statistics(ctx: JobContext) -> Mapping[str, Any]:
    version = ctx.session.get(PackVersion, ctx.payload["pack_version_id"])
    if version is None:
        msg = "This pack version was deleted before its statistics could be computed."
        raise JobError(msg)
    ctx.progress(5, "reading the responses")
    first = first_responses(ctx.session, version)
    bank, _items = pack_bank(ctx.session, version)
    last = _last_response_id(ctx.session, version.id)
    ctx.progress(40, "computing the statistics")
    if not first:
        return {"responses": 0, "learners": 0, "last_response_id": last, "statistics": None}
    data = ResponseData.from_records((str(r.user_id), r.item, r.score) for r in first)
    stats = item_statistics(data, bank).to_json()
    return {"responses": len(first), "learners": len(data.learners), "last_response_id": last,
            "statistics": stats}


@dataclass(frozen=True)
class ItemRow:
    """One item of a version as the statistics page shows it."""

    id: str
    competency: str
    type: str
    pilot: bool
    a: float | None
    b: float | None
    responses: int
    proportion_correct: float | None
    point_biserial: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class ItemReport:
    """The newest statistics of a version, the job computing newer ones, and the items' rows."""

    finished: Job | None
    running: Job | None
    rows: tuple[ItemRow, ...]
    competencies: tuple[tuple[str, str], ...]  # (id, title) in pack order
    responses: int
    learners: int
    new_responses: int  # answered since the statistics were computed


SORT_KEYS = ("id", "competency", "responses", "proportion_correct", "point_biserial", "a", "b")


def _flags(n: int, p: float | None, pbis: float | None) -> tuple[str, ...]:
    if n < FLAG_MIN_RESPONSES:
        return ()
    out = []
    if p is not None and p > TOO_EASY:
        out.append("too easy for these learners")
    if p is not None and p < TOO_HARD:
        out.append("too hard for these learners")
    if pbis is not None and pbis < LOW_DISCRIMINATION:
        out.append("barely follows ability")
    return tuple(out)


def item_report(session: Session, who: Principal, version: PackVersion, *, sort: str = "id",
                descending: bool = False, competency: str | None = None,
                flagged_only: bool = False) -> ItemReport:
    """The statistics page's data for ``version`` (already loaded within ``who``'s institution)."""
    jobs = list(session.scalars(
        select(Job).where(Job.key.like(f"{_key_prefix(version.id)}%"),
                          Job.institution_id == who.institution_id)
        .order_by(Job.id.desc()).limit(20)))
    finished = next((j for j in jobs if j.status is JobStatus.DONE), None)
    running = next((j for j in jobs if not j.finished), None)
    if running is not None and finished is not None and running.id < finished.id:
        running = None
    pack = content_of(session, version)
    titles = {c.id: c.title for c in pack.competencies}
    result = finished.result if finished is not None and finished.result else {}
    stats = result.get("statistics") or {}
    index = {item_id: n for n, item_id in enumerate(stats.get("items", []))}
    rows = []
    for item in pack.items:
        if item.max_score == 0 or (competency and item.competency != competency):
            continue
        n = index.get(item.id)
        count = stats["n_responses"][n] if n is not None else 0
        p = stats["proportion_correct"][n] if n is not None else None
        pbis = stats["point_biserial"][n] if n is not None else None
        params = item.parameters()
        row = ItemRow(item.id, titles.get(item.competency, item.competency), item.type, item.pilot,
                      None if item.pilot else params.a, None if item.pilot else params.b, count, p,
                      pbis, _flags(count, p, pbis))
        if flagged_only and not row.flags:
            continue
        rows.append(row)
    key = sort if sort in SORT_KEYS else "id"
    present = [r for r in rows if getattr(r, key) is not None]
    missing = [r for r in rows if getattr(r, key) is None]  # always last, whatever the direction
    present.sort(key=lambda r: getattr(r, key), reverse=descending)
    last = int(result.get("last_response_id", 0))
    new = session.scalar(select(func.count(Response.id)).join(Attempt).where(
        Attempt.pack_version_id == version.id, Response.id > last)) or 0
    return ItemReport(finished, running, tuple(present + missing),
                      tuple((c.id, c.title) for c in pack.competencies),
                      int(result.get("responses", 0)), int(result.get("learners", 0)), new)
