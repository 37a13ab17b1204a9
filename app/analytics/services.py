"""Item statistics of a pack version from its learners' responses, computed as a background job."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive import ResponseData
from adaptive.statistics import item_statistics
from app.jobs.services import JobContext, JobError, enqueue, job_kind
from app.models import Attempt, Job, PackVersion, Response
from app.packstore import pack_bank

ITEM_STATISTICS = "item-statistics"


def request_item_statistics(session: Session, version: PackVersion, user_id: int | None) -> Job:
    """Ask for a version's item statistics; asking again before new responses arrive reuses the job."""
    answered = session.scalar(
        select(Response.id).join(Attempt).where(Attempt.pack_version_id == version.id)
        .order_by(Response.id.desc()).limit(1)) or 0
    return enqueue(session, ITEM_STATISTICS, {"pack_version_id": version.id},
                   key=f"{ITEM_STATISTICS}:{version.id}:{answered}",
                   institution_id=version.institution_id, created_by_id=user_id)


@job_kind(ITEM_STATISTICS, "Item statistics")
def _item_statistics(ctx: JobContext) -> Mapping[str, Any]:
    version = ctx.session.get(PackVersion, ctx.payload["pack_version_id"])
    if version is None:
        msg = "This pack version was deleted before its statistics could be computed."
        raise JobError(msg)
    ctx.progress(5, "reading the responses")
    rows = ctx.session.execute(
        select(Attempt.user_id, Response.item, Response.score).join(Attempt)
        .where(Attempt.pack_version_id == version.id, Response.pilot.is_(False))
        .order_by(Response.id)).all()
    bank, _items = pack_bank(ctx.session, version)
    first: dict[tuple[str, str], int] = {}
    for user_id, item, score in rows:  # a retake's answer to the same item counts once: the first
        first.setdefault((str(user_id), item), score)
    ctx.progress(40, "computing the statistics")
    if not first:
        return {"responses": 0, "learners": 0, "statistics": None}
    data = ResponseData.from_records((learner, item, score) for (learner, item), score in first.items())
    stats = item_statistics(data, bank).to_json()
    return {"responses": len(first), "learners": len(data.learners), "statistics": stats}
