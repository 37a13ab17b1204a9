"""Who runs the jobs: a thread in the app's own process (the embedded default) or RQ workers on Redis.

* Without ``REDIS_URL``, each app process with ``JOBS_IN_PROCESS`` on (the default) starts one
  daemon thread when it first has a job to run. It runs whatever is due, then sleeps until a commit
  that enqueued a job wakes it, or ``JOB_POLL_SECONDS`` pass (retries come due, a dead worker's lease
  runs out). Several processes may do this at once: claims are atomic.
* With ``REDIS_URL``, a commit that enqueued jobs puts their ids on the RQ queue ``thetapath``, and
  ``thetapath worker`` (an RQ worker inside the app) runs them. Each worker also sweeps the database
  every ``JOB_POLL_SECONDS`` for jobs that are due but not on the queue (a retry after a backoff, a
  job whose worker was killed, a Redis that lost its data) and puts them back. The database stays the
  truth; Redis only carries the news.
* ``thetapath worker`` without Redis runs the same loop as the thread, in the foreground: a deployment
  with several web processes and no Redis turns ``JOBS_IN_PROCESS`` off and runs one or more of these.
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.jobs import services

log = logging.getLogger(__name__)

QUEUE = "thetapath"
EXTENSION = "thetapath.jobs"


def init_app(app: Flask) -> None:
    """Tell a worker about the jobs a session enqueued, once (and only if) that session commits."""
    app.extensions[EXTENSION] = _Dispatcher(app)
    if not event.contains(Session, "after_commit", _after_commit):
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_rollback)


def _after_commit(session: Session) -> None:
    ids = session.info.pop(services.PENDING, None)
    if ids and has_app_context():  # outside the app (a script), a worker's sweep finds them
        try:
            current_app.extensions[EXTENSION].dispatch(ids)
        except Exception:  # Redis is down: the work is committed, and a worker's sweep will find it
            log.exception("jobs %s are stored but no worker could be told; the next sweep finds them", ids)


def _after_rollback(session: Session, _previous: Any) -> None:
    if not session.in_transaction():
        session.info.pop(services.PENDING, None)


class _Dispatcher:
    """Hands committed job ids to the configured workers."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._thread: _LoopThread | None = None
        self._queue: Any = None
        self._lock = threading.Lock()

    def dispatch(self, ids: list[int]) -> None:
        config = self.app.config
        if config.get("REDIS_URL"):
            if self._queue is None:
                self._queue = rq_queue(str(config["REDIS_URL"]))
            announce(self._queue, ids)
        elif config.get("JOBS_IN_PROCESS"):
            self.thread().wake()

    def stop(self, timeout: float = 10) -> None:
        """Stop the in-process thread after the job it is running (if any)."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.stopping.set()
            thread.wake()
            thread.join(timeout)

    def thread(self) -> _LoopThread:
        """The in-process worker thread, started on first use."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = _LoopThread(self.app)
                self._thread.start()
            return self._thread


def start_in_process(app: Flask) -> None:
    """Start this process's job thread now (not at the first job), so earlier jobs go on at once."""
    if not app.config.get("REDIS_URL") and app.config.get("JOBS_IN_PROCESS"):
        app.extensions[EXTENSION].thread().wake()


def stop_in_process(app: Flask) -> None:
    """Stop this process's job thread (at shutdown, or when a test is done with its app)."""
    app.extensions[EXTENSION].stop()


def sessions(app: Flask) -> Callable[[], Session]:
    """The app's session factory (each job and each progress report gets a fresh session)."""
    factory: Callable[[], Session] = app.extensions["thetapath.sessions"]
    return factory


class _LoopThread(threading.Thread):
    """Runs due jobs, then waits to be woken or for the next poll."""

    def __init__(self, app: Flask) -> None:
        super().__init__(name="thetapath-jobs", daemon=True)
        self.app = app
        self._wake = threading.Event()
        self.stopping = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def run(self) -> None:
        loop(self.app, self._wake, self.stopping)


def loop(app: Flask, wake: threading.Event | None = None, stopping: threading.Event | None = None,
         on_due: Callable[[list[int]], None] | None = None) -> None:
    """Run (or, with ``on_due``, hand on) the due jobs until ``stopping`` is set; never raises."""
    wake = wake or threading.Event()
    stopping = stopping or threading.Event()
    poll = float(app.config["JOB_POLL_SECONDS"])
    while not stopping.is_set():
        wake.clear()
        try:
            with app.app_context():
                factory = sessions(app)
                if on_due is None:
                    while services.run_due(factory) and not stopping.is_set():
                        pass
                else:
                    with factory() as s:
                        due = services.due_jobs(s, limit=100)
                    if due:
                        on_due(due)
        except Exception:  # the database is down or restarting: try again at the next poll
            log.exception("the job loop could not reach the database; trying again in %s s", poll)
        wake.wait(poll)


# --- Redis (RQ) --------------------------------------------------------------------------------------


def rq_queue(url: str) -> Any:
    """The RQ queue jobs travel on (imported only when Redis is configured)."""
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE, connection=Redis.from_url(url))


def announce(queue: Any, ids: list[int]) -> None:
    """Put jobs on the RQ queue (a worker that takes one runs it if it is still due)."""
    for job_id in ids:
        queue.enqueue_call(perform, args=(job_id,), result_ttl=0, failure_ttl=3600)


def perform(job_id: int) -> None:
    """What an RQ worker runs: claim and run job ``job_id`` (a no-op when it is not due any more)."""
    services.run(sessions(current_app._get_current_object()), job_id)  # type: ignore[attr-defined]


def work(app: Flask, *, burst: bool = False) -> None:
    """``thetapath worker``: run jobs until stopped (``burst``: until none is due).

    SIGTERM or Ctrl+C stop it after the job it is running; SIGUSR2 prints every thread's stack to
    stderr (to see what a worker that seems stuck is doing).
    """
    faulthandler.register(signal.SIGUSR2, all_threads=True)
    url = app.config.get("REDIS_URL")
    if not url:
        if burst:
            with app.app_context():
                while services.run_due(sessions(app)):
                    pass
            return
        log.warning("thetapath worker: running jobs from the database (no REDIS_URL)")
        loop(app)
        return
    from rq import SimpleWorker

    class Worker(SimpleWorker):
        """RQ's worker without its command channel (a Redis pub/sub thread): nothing here sends it
        commands, and with redis-py 8 stopping that thread can wait up to a minute after SIGTERM."""

        def subscribe(self) -> None:
            pass

        def unsubscribe(self) -> None:
            pass

    queue = rq_queue(str(url))

    def requeue(ids: list[int]) -> None:
        announce(queue, ids)

    stopping = threading.Event()
    sweeper = threading.Thread(target=loop, args=(app, None, stopping, requeue),
                               name="thetapath-sweep", daemon=True)
    sweeper.start()
    try:
        with app.app_context():
            if burst:  # the sweeper may not have looked yet
                requeue_due(app, requeue)
            Worker([queue], connection=queue.connection).work(burst=burst, logging_level="WARNING")
    finally:
        stopping.set()


def requeue_due(app: Flask, requeue: Callable[[list[int]], None]) -> None:
    """Put every due job on the queue once."""
    with app.app_context(), sessions(app)() as s:
        due = services.due_jobs(s, limit=1000)
    if due:
        requeue(due)
