"""The job mechanism's core: kinds, enqueueing, claiming a due job, running it, retrying it.

A job's truth is its row. ``enqueue`` adds the row in the caller's transaction, so work is asked for
exactly when the state change that needs it commits; only after that commit is a worker told (see
``app.jobs.workers``). Running a job is the same code wherever it happens:

1. **claim**: one conditional UPDATE turns a due job (queued and past ``run_after``, or running under
   an expired lease: its worker died) into ``running`` under a new lease. Two workers racing for a job
   cannot both win, on SQLite or PostgreSQL.
2. **work**: the kind's handler reads and computes in a fresh session, and hands what it wants
   written to ``JobContext.then``; it reports progress, which renews the lease, through
   ``JobContext.progress`` on a separate connection.
3. **finish**: one transaction makes the job ``done`` with its result, but only if this worker still
   holds it, and runs the handler's writes. The work and the "done" commit together or not at all,
   so a worker killed midway leaves no half-written rows, and a retry never writes twice.

A handler's failure rolls its work back. ``JobError`` is a problem the user can act on: the job fails
at once with that message. Anything else is retried after 2, 4, 8, … seconds (at most 10 minutes),
``max_attempts`` times in all, then the job fails with a plain message; the traceback goes to the log.
``RetryLater`` is a fault on the other side (a platform or service that is down or refused): retried
the same way, its message (what the other side answered) kept on the job for whoever reads its record.
Effects outside the database (mail, a score sent to an LMS) happen at least once: their handlers send
an idempotency key with them.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, event, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from app.authz import Principal, scoped
from app.db import utcnow
from app.errors import ServiceError
from app.models import Job, JobStatus

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 600


class JobError(ServiceError):
    """A job cannot be done as asked (bad input, too little data): it fails at once with this message."""


class RetryLater(RuntimeError):
    """A service outside the app is down or refused (the message says what it answered): the job is
    retried with backoff, and the message is kept on the job."""


Handler = Callable[["JobContext"], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Kind:
    """A kind of job: its handler, a title for people, and where its finished result is shown."""

    name: str
    handler: Handler
    title: str
    max_attempts: int = 5
    result_url: Callable[[Job], str] | None = None


KINDS: dict[str, Kind] = {}


def job_kind(name: str, title: str, *, max_attempts: int = 5,
             result_url: Callable[[Job], str] | None = None) -> Callable[[Handler], Handler]:
    """Register ``handler`` for jobs of kind ``name``; the module defining it must be imported by the app.

    ``result_url(job)`` is the page that shows a finished job's result (linked from its progress).
    """

    def register(handler: Handler) -> Handler:
        if name in KINDS and KINDS[name].handler is not handler:
            msg = f"job kind {name!r} is registered twice"
            raise RuntimeError(msg)
        KINDS[name] = Kind(name, handler, title, max_attempts, result_url)
        return handler

    return register


PENDING = "thetapath.jobs.pending"
"""``Session.info`` key: ids of jobs added in this session, told to a worker once it commits."""


def enqueue(session: Session, kind: str, payload: Mapping[str, Any] | None = None, *,
            key: str | None = None, institution_id: int | None = None,
            created_by_id: int | None = None) -> Job:
    """Ask for a job, in the caller's transaction; with ``key``, asking again returns the same job,
    unless that one failed for good: a failed job gives up its key, and asking again tries anew.

    The row is flushed (it has an id) but nobody runs it before the caller commits.
    """
    if kind not in KINDS:
        msg = f"unknown job kind {kind!r}; known: {', '.join(sorted(KINDS)) or 'none'}"
        raise ValueError(msg)
    if key is not None:
        existing = session.scalar(select(Job).where(Job.key == key))
        if existing is not None and existing.status is not JobStatus.FAILED:
            return existing
        if existing is not None:
            existing.key = None
            session.flush()
    job = Job(kind=kind, key=key, payload=dict(payload or {}), institution_id=institution_id,
              created_by_id=created_by_id, max_attempts=KINDS[kind].max_attempts, run_after=utcnow())
    try:
        with session.begin_nested():
            session.add(job)
    except IntegrityError:  # the same key, enqueued by someone else in the meantime
        existing = session.scalar(select(Job).where(Job.key == key))
        if existing is None:
            raise
        return existing
    session.info.setdefault(PENDING, []).append(job.id)
    return job


def lease_seconds() -> float:
    """How long a claim lasts without a sign of life (``JOB_LEASE_SECONDS``)."""
    return float(current_app.config["JOB_LEASE_SECONDS"])


def worker_name() -> str:
    """This process and thread, as the lease records it."""
    return f"{socket.gethostname()}:{threading.get_native_id()}"


@event.listens_for(Session, "before_flush")
def _no_writes_while_reading(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(READING) and (session.new or session.dirty or session.deleted):
        msg = "a job handler writes only through JobContext.then(...), not in its read phase"
        raise RuntimeError(msg)


def due_jobs(session: Session, limit: int = 20) -> list[int]:
    """Ids of jobs a worker may claim now, oldest first."""
    now = utcnow()
    return list(session.scalars(
        select(Job.id).where(_claimable(now)).order_by(Job.run_after, Job.id).limit(limit)))


def _claimable(now: Any) -> Any:
    return or_(and_(Job.status == JobStatus.QUEUED, Job.run_after <= now),
               and_(Job.status == JobStatus.RUNNING, Job.lease_until < now))


READING = "thetapath.jobs.reading"
"""``Session.info`` flag: the handler's session is in its read phase, where nothing may be written."""


@dataclass
class JobContext:
    """What a handler gets: a session to read with, the job, progress reports, and ``then`` to write.

    A handler works in two phases. It reads and computes with ``session``; anything it wants stored it
    hands to ``then``, as a function of a session that runs in the finishing transaction, together
    with the job's own "done". Objects read earlier may be used there (they are read again, fresh).
    Writing in the read phase is refused: on SQLite a long read that then writes fails as soon as
    anyone else committed in between, and elsewhere it would hold locks for the whole job.
    """

    session: Session
    job: Job
    sessions: Callable[[], Session]
    worker: str
    attempt: int
    writes: list[Callable[[Session], None]] = field(default_factory=list)

    def then(self, write: Callable[[Session], None]) -> None:
        """Run ``write(session)`` in the transaction that marks the job done (in the order given)."""
        self.writes.append(write)

    @property
    def payload(self) -> dict[str, Any]:
        """What the job was asked to do."""
        return self.job.payload

    def progress(self, percent: float, step: str = "") -> None:
        """Say how far the work is (0-100) and what it is doing; this also renews the lease.

        Written at once on a connection of its own, so a page polling the job sees it. On SQLite a
        handler that already holds the write lock cannot do this; handlers compute first and write
        last, and a progress report that cannot be written is skipped, never an error.
        """
        percent = max(0.0, min(100.0, float(percent)))
        with self.sessions() as s:
            try:
                s.execute(update(Job).where(Job.id == self.job.id, Job.worker == self.worker,
                                            Job.attempts == self.attempt)
                          .values(progress=round(percent), step=step[:200],
                                  lease_until=utcnow() + timedelta(seconds=lease_seconds())))
                s.commit()
            except OperationalError:
                s.rollback()
                log.info("job %s: progress %.0f%% not recorded (database busy)", self.job.id, percent)


def claim(sessions: Callable[[], Session], job_id: int, worker: str) -> int | None:
    """Take ``job_id`` if it is due; returns the attempt number this worker now runs, or None.

    A job whose worker died after its last allowed try is marked failed instead.
    """
    now = utcnow()
    with sessions() as s:
        claimed = s.execute(
            update(Job).where(Job.id == job_id, _claimable(now), Job.attempts < Job.max_attempts)
            .values(status=JobStatus.RUNNING, attempts=Job.attempts + 1, worker=worker,
                    lease_until=now + timedelta(seconds=lease_seconds()), started_at=now,
                    progress=0, step="")
            .returning(Job.attempts)).scalar()
        if claimed is None:
            s.execute(update(Job).where(Job.id == job_id, _claimable(now),
                                        Job.attempts >= Job.max_attempts)
                      .values(status=JobStatus.FAILED, finished_at=now, lease_until=None,
                              error=_gave_up(job_id, "its worker stopped while running it")))
        s.commit()
        return claimed


def _gave_up(job_id: int, why: str) -> str:
    return (f"This job stopped for good: {why}, on its last allowed try. Nothing it was doing was "
            f"saved. Start it again, or ask your administrator to look at the log for job {job_id}.")


def run(sessions: Callable[[], Session], job_id: int, worker: str | None = None) -> bool:
    """Claim and run one job; True when this call ran it (whatever the outcome)."""
    worker = worker or worker_name()
    attempt = claim(sessions, job_id, worker)
    if attempt is None:
        return False
    with sessions() as s:
        job = s.get(Job, job_id)
        assert job is not None  # claimed just now; jobs are never deleted while running
        kind = KINDS.get(job.kind)
        ctx = JobContext(s, job, sessions, worker, attempt)
        try:
            if kind is None:
                msg = (f"No worker knows jobs of kind {job.kind!r}: this worker runs an older "
                       "version of Thetapath than the one that asked for it.")
                raise JobError(msg)
            s.info[READING] = True
            try:
                result = dict(kind.handler(ctx) or {})
            finally:
                s.info.pop(READING, None)
            s.rollback()  # end the read phase; the finishing transaction starts with a write
            mine = s.execute(update(Job).where(Job.id == job_id, Job.worker == worker,
                                               Job.attempts == attempt, Job.status == JobStatus.RUNNING)
                             .values(status=JobStatus.DONE, progress=100, result=result, error=None,
                                     finished_at=utcnow(), lease_until=None, step="")
                             .returning(Job.id)).scalar()
            if mine is None:  # the lease ran out and another worker took the job over
                s.rollback()
                log.warning("job %s: lease lost by %s; its work was rolled back", job_id, worker)
                return True
            for write in ctx.writes:
                write(s)
            s.commit()
        except Exception as exc:  # the handler's work is rolled back; the job is told why
            s.rollback()
            _failed(sessions, job_id, worker, attempt, exc)
    return True


def _failed(sessions: Callable[[], Session], job_id: int, worker: str, attempt: int,
            exc: BaseException) -> None:
    now = utcnow()
    with sessions() as s:
        job = s.get(Job, job_id)
        if job is None or job.worker != worker or job.attempts != attempt:
            return
        job.lease_until = None
        if isinstance(exc, JobError):
            job.status, job.error, job.finished_at = JobStatus.FAILED, str(exc), now
            log.info("job %s (%s) failed: %s", job_id, job.kind, exc)
        elif attempt >= job.max_attempts:
            log.error("job %s (%s) failed on try %s of %s", job_id, job.kind, attempt,
                      job.max_attempts, exc_info=exc)
            job.status, job.finished_at = JobStatus.FAILED, now
            job.error = _gave_up(job_id, str(exc) if isinstance(exc, RetryLater)
                                 else "something went wrong on our side")
        else:
            wait = min(MAX_BACKOFF_SECONDS, 2 ** attempt)
            outside = isinstance(exc, RetryLater)
            log.warning("job %s (%s) failed on try %s of %s; retrying in %s s: %s", job_id, job.kind, attempt,
                        job.max_attempts, wait, exc if outside else "", exc_info=None if outside else exc)
            job.status, job.run_after = JobStatus.QUEUED, now + timedelta(seconds=wait)
            job.error = (f"Try {attempt} of {job.max_attempts} failed: {exc}. The next one starts within "
                         f"{wait} seconds." if outside else
                         f"Try {attempt} of {job.max_attempts} went wrong on our side; the next one "
                         f"starts within {wait} seconds.")
        s.commit()


def run_due(sessions: Callable[[], Session], limit: int = 20) -> int:
    """Run every job that is due now, one after another; returns how many ran."""
    with sessions() as s:
        ids = due_jobs(s, limit)
    return sum(run(sessions, job_id) for job_id in ids)


def visible_job(session: Session, who: Principal, job_id: int) -> Job:
    """A job of the caller's institution that they asked for, or any of it for instructors and admins."""
    return scoped(session, Job, job_id, who, own=not who.can_author, owner="created_by_id")
