"""Background jobs: one row per piece of work, the single source of truth about it (see ``app.jobs``)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class JobStatus(enum.StrEnum):
    """Where a job stands. ``queued`` covers a job waiting to be retried after a failure."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(Base):
    """A piece of work done outside the request: what to do, for whom, and how it went.

    A worker claims a due job by one conditional UPDATE, holds it under a lease it renews while it
    works, and writes the result in the same transaction as the work's own rows, so a job that dies
    midway left nothing and can simply run again. ``key`` makes enqueueing idempotent: asking twice
    for the same piece of work returns the first job.
    """

    __tablename__ = "job"
    __table_args__ = (Index("ix_job_due", "status", "run_after"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    institution_id: Mapped[int | None] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=JobStatus.QUEUED)
    progress: Mapped[int] = mapped_column(default=0)  # 0-100
    step: Mapped[str] = mapped_column(String(200), default="")  # what it is doing now, in words
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    worker: Mapped[str | None] = mapped_column(String(200))  # who holds the lease
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def finished(self) -> bool:
        """Done or failed for good: nothing more will happen to it."""
        return self.status in (JobStatus.DONE, JobStatus.FAILED)
