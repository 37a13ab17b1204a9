"""The job mechanism: enqueued with the caller's commit, claimed once, done with its work or not at all,
retried with backoff, taken over when its worker dies, shown with a self-polling progress fragment;
run by the app's own thread on a real database, and by a real ``thetapath worker`` process on Redis.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app import create_app, db
from app.analytics.services import request_item_statistics
from app.db import make_engine, utcnow
from app.demo import ensure_demo
from app.jobs import services as jobs
from app.jobs.workers import sessions, stop_in_process
from app.migrate import upgrade
from app.models import Attempt, Institution, Job, JobStatus, PackVersion, ParameterVersion, Response, Role
from app.packstore import content_of, import_pack
from tests.app import factories
from tests.app.test_recalibration import TRUE_B, seed_pilot_answers
from tests.conftest import fresh_database

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"
HX = {"HX-Request": "true"}
calls: list[str] = []


@jobs.job_kind("test.note", "A note")
def _note(ctx: jobs.JobContext) -> dict[str, Any]:
    """Writes an institution named in the payload, reports progress, returns what it did."""
    calls.append(ctx.payload["slug"])
    ctx.progress(50, "halfway")
    ctx.then(lambda s: s.add(Institution(slug=ctx.payload["slug"], name="Made by a job")))
    if ctx.payload.get("fail") == "write-early":
        ctx.session.add(Institution(slug=ctx.payload["slug"], name="Written too early"))
        ctx.session.flush()
    if ctx.payload.get("fail") == "user":
        msg = "There are too few responses: item X has 12; 200 are needed."
        raise jobs.JobError(msg)
    if ctx.payload.get("fail") == "bug":
        msg = "secret internals: SELECT * FROM user_account"
        raise RuntimeError(msg)
    return {"made": ctx.payload["slug"], "attempt": ctx.attempt}


@pytest.fixture(autouse=True)
def _quiet_calls() -> None:
    calls.clear()


def _factory(app: Flask) -> Callable[[], Session]:
    return sessions(app)


def _job(app: Flask, job_id: int) -> Job:
    with _factory(app)() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def test_a_job_is_asked_for_with_the_callers_commit_and_a_key_asks_once(app: Flask) -> None:
    factory = _factory(app)
    with app.app_context():
        with factory() as s:
            jobs.enqueue(s, "test.note", {"slug": "rolled-back"}, key="k-rolled-back")
            s.rollback()
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(Job)) == 0
            first = jobs.enqueue(s, "test.note", {"slug": "once"}, key="k-once")
            again = jobs.enqueue(s, "test.note", {"slug": "twice"}, key="k-once")
            s.commit()
            assert again.id == first.id and first.status is JobStatus.QUEUED
        with pytest.raises(ValueError, match="unknown job kind 'nope'"):
            jobs.enqueue(factory(), "nope")
        assert jobs.run_due(factory) == 1
    done = _job(app, first.id)
    assert calls == ["once"]
    assert (done.status, done.progress, done.result, done.error) == (
        JobStatus.DONE, 100, {"made": "once", "attempt": 1}, None)
    with factory() as s:
        assert s.scalar(select(Institution).where(Institution.slug == "once")) is not None


def test_a_failing_job_leaves_nothing_and_says_why(app: Flask) -> None:
    factory = _factory(app)
    with app.app_context():
        with factory() as s:
            user_error = jobs.enqueue(s, "test.note", {"slug": "u", "fail": "user"}, key="k-u").id
            bug = jobs.enqueue(s, "test.note", {"slug": "b", "fail": "bug"}).id
            s.commit()
        assert jobs.run_due(factory) == 2
        failed, retrying = _job(app, user_error), _job(app, bug)
        # a problem the user can act on: failed at once, with its message
        assert failed.status is JobStatus.FAILED and failed.attempts == 1
        assert failed.error == "There are too few responses: item X has 12; 200 are needed."
        with factory() as s:  # a failed job gives up its key: asking again tries anew
            again = jobs.enqueue(s, "test.note", {"slug": "u2"}, key="k-u")
            s.commit()
            assert again.id != user_error and again.status is JobStatus.QUEUED
            s.delete(again)  # (not to be run here)
            s.commit()
        assert _job(app, user_error).key is None
        # anything else: retried later, and the internals stay in the log
        assert retrying.status is JobStatus.QUEUED and retrying.attempts == 1
        assert retrying.run_after > utcnow() + timedelta(seconds=1)
        assert "secret" not in (retrying.error or "") and "Try 1 of 5" in (retrying.error or "")
        with factory() as s:  # neither job's work was kept
            assert s.scalar(select(func.count()).select_from(Institution)
                            .where(Institution.slug.in_(["u", "b"]))) == 0
        assert jobs.run_due(factory) == 0  # not due yet
        for attempt in range(2, 6):
            with factory() as s:
                s.execute(update(Job).where(Job.id == bug).values(run_after=utcnow()))
                s.commit()
            assert jobs.run_due(factory) == 1
            assert _job(app, bug).attempts == attempt
        gave_up = _job(app, bug)
        assert gave_up.status is JobStatus.FAILED and gave_up.finished
        assert "stopped for good" in (gave_up.error or "") and "secret" not in (gave_up.error or "")
        assert calls == ["u", "b", "b", "b", "b", "b"]


def test_a_handler_cannot_write_in_its_read_phase(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    factory = _factory(app)
    with app.app_context():
        with factory() as s:
            job_id = jobs.enqueue(s, "test.note", {"slug": "early", "fail": "write-early"}).id
            s.commit()
        assert jobs.run_due(factory) == 1
    assert _job(app, job_id).status is JobStatus.QUEUED  # a bug: retried, and logged
    assert "writes only through JobContext.then" in caplog.text
    with factory() as s:
        assert s.scalar(select(Institution).where(Institution.slug == "early")) is None


def test_a_commit_stands_when_redis_cannot_be_told(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    app.config["REDIS_URL"] = "redis://127.0.0.1:9/0"  # nothing listens there
    factory = _factory(app)
    with app.app_context():
        with factory() as s:
            job_id = jobs.enqueue(s, "test.note", {"slug": "unannounced"}).id
            s.commit()  # no exception: the state change is kept
        assert "no worker could be told" in caplog.text
        assert _job(app, job_id).status is JobStatus.QUEUED
        assert jobs.run_due(factory) == 1  # a worker's sweep finds it
    assert _job(app, job_id).status is JobStatus.DONE


def test_a_job_is_claimed_once_and_taken_over_when_its_worker_dies(app: Flask) -> None:
    factory = _factory(app)
    with app.app_context():
        with factory() as s:
            job_id = jobs.enqueue(s, "test.note", {"slug": "orphan"}).id
            s.commit()
        assert jobs.claim(factory, job_id, "worker-a") == 1
        assert jobs.claim(factory, job_id, "worker-b") is None  # it is running under a live lease
        assert jobs.run_due(factory) == 0
        # worker-a dies: nobody renews the lease, which runs out
        with factory() as s:
            s.execute(update(Job).where(Job.id == job_id).values(lease_until=utcnow() - timedelta(seconds=1)))
            s.commit()
        assert jobs.run(factory, job_id, "worker-b")
        done = _job(app, job_id)
        assert (done.status, done.worker, done.attempts) == (JobStatus.DONE, "worker-b", 2)
        assert done.result == {"made": "orphan", "attempt": 2}
        # the dead worker's late result would be refused: the job is no longer its own
        assert jobs.claim(factory, job_id, "worker-a") is None
        with factory() as s:
            assert s.scalar(select(func.count()).select_from(Institution)
                            .where(Institution.slug == "orphan")) == 1


def test_a_dead_worker_on_the_last_try_fails_the_job_instead_of_looping(app: Flask) -> None:
    factory = _factory(app)
    with app.app_context():
        with factory() as s:
            job_id = jobs.enqueue(s, "test.note", {"slug": "last"}).id
            s.execute(update(Job).where(Job.id == job_id).values(
                status=JobStatus.RUNNING, attempts=5, worker="gone",
                lease_until=utcnow() - timedelta(seconds=1)))
            s.commit()
        assert jobs.run_due(factory) == 0
        job = _job(app, job_id)
        assert job.status is JobStatus.FAILED and "its worker stopped" in (job.error or "")
        assert calls == []


def test_the_progress_page_polls_until_done_and_is_scoped(app: Flask, client: FlaskClient,
                                                         db_session: Session) -> None:
    inst = factories.institution(db_session)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    learner = factories.user(db_session, inst, Role.LEARNER)
    stranger = factories.user(db_session, factories.institution(db_session), Role.INSTRUCTOR)
    with app.app_context():
        job = jobs.enqueue(db_session, "test.note", {"slug": "page"}, institution_id=inst.id,
                           created_by_id=instructor.id)
        db_session.commit()

    factories.sign_in(client, instructor.email)
    page = client.get(f"/jobs/{job.id}").data.decode()
    assert "<h1>A note</h1>" in page and "Waiting for a worker to start it." in page
    fragment = client.get(f"/jobs/{job.id}", headers=HX).data.decode()
    assert "<h1>" not in fragment and 'hx-trigger="every 1s"' in fragment
    assert f'href="/jobs/{job.id}"' in fragment  # the same without JavaScript: a refresh link
    with app.app_context():
        assert jobs.run_due(_factory(app)) == 1
    fragment = client.get(f"/jobs/{job.id}", headers=HX).data.decode()
    assert "Finished." in fragment and "hx-trigger" not in fragment

    factories.sign_in(client, learner.email)  # a learner sees only their own jobs
    assert client.get(f"/jobs/{job.id}").status_code == 404
    factories.sign_in(client, stranger.email)  # another institution's job does not exist for them
    r = client.get(f"/jobs/{job.id}")
    assert r.status_code == 404 and b"not yours to see" in r.data


def test_item_statistics_of_a_version_come_from_its_responses(app: Flask, db_session: Session) -> None:
    inst = factories.institution(db_session)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    version = import_pack(db_session, inst, DEMO, instructor.id).version
    items = [it for it in content_of(db_session, version).items if it.max_score == 1][:3]
    learners = [factories.user(db_session, inst) for _ in range(4)]
    # learner k answers item j right when j < k; the retake's answer to the same item is ignored
    for k, learner in enumerate(learners):
        for attempt_no in range(2):
            attempt = Attempt(user_id=learner.id, institution_id=inst.id, pack_version_id=version.id,
                              competency=items[0].competency, policy={}, seed=k, state={})
            db_session.add(attempt)
            db_session.flush()
            for j, item in enumerate(items):
                score = int(j < k) if attempt_no == 0 else 1
                db_session.add(Response(attempt_id=attempt.id, position=j, item=item.id, answer=None,
                                        score=score, max_score=1, theta=0.0, se=1.0,
                                        token=f"{k}-{attempt_no}-{j}"))
    # one learner alone answered an item of another competency: its reliability has no spread to use
    lone = next(it for it in content_of(db_session, version).items
                if it.max_score == 1 and it.competency != items[0].competency)
    attempt = Attempt(user_id=learners[0].id, institution_id=inst.id, pack_version_id=version.id,
                      competency=lone.competency, policy={}, seed=9, state={})
    db_session.add(attempt)
    db_session.flush()
    db_session.add(Response(attempt_id=attempt.id, position=0, item=lone.id, answer=None, score=1,
                            max_score=1, theta=0.0, se=1.0, token="lone"))
    db_session.commit()
    with app.app_context():
        job = request_item_statistics(db_session, version, instructor.id)
        assert request_item_statistics(db_session, version, instructor.id).id == job.id
        db_session.commit()
        assert jobs.run_due(_factory(app)) == 1
    done = _job(app, job.id)
    assert done.status is JobStatus.DONE, done.error
    assert done.result is not None
    assert (done.result["responses"], done.result["learners"]) == (13, 4)
    stats = done.result["statistics"]
    assert stats["items"] == [*(it.id for it in items), lone.id]
    assert stats["n_responses"] == [4, 4, 4, 1]
    assert stats["proportion_correct"] == [0.75, 0.5, 0.25, 1.0]
    assert done.result["competencies"][lone.competency] == {
        "learners": 1, "empirical_reliability": None,
        "marginal_reliability": done.result["competencies"][lone.competency]["marginal_reliability"]}
    assert 0 < done.result["competencies"][items[0].competency]["marginal_reliability"] < 1
    assert set(done.result["fit"]) == {*(it.id for it in items), lone.id}
    assert done.institution_id == inst.id


# --- real workers, on a database of their own ---------------------------------------------------------


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[str]:
    """A migrated database that the workers and the test share through real commits."""
    url = fresh_database("thetapath_jobs", tmp_path)
    engine = make_engine(url)
    with engine.begin() as conn:
        upgrade(conn)
    engine.dispose()
    yield url


def _wait_finished(app: Flask, job_id: int, seconds: float = 60) -> Job:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = _job(app, job_id)
        if job.finished:
            return job
        time.sleep(0.1)
    msg = f"job {job_id} did not finish in {seconds} s: {job.status} {job.error}"
    raise AssertionError(msg)


def test_the_apps_own_thread_runs_jobs_on_a_real_database(own_database: str, tmp_path: Path) -> None:
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": own_database,
                      "JOB_POLL_SECONDS": 1, "RECALIBRATION_MIN_RESPONSES": 100})
    app.instance_path = str(tmp_path)
    try:
        with app.app_context():
            s = db.session()
            first = jobs.enqueue(s, "test.note", {"slug": "threaded"}).id
            s.commit()  # this commit wakes the thread
        done = _wait_finished(app, first)
        assert done.status is JobStatus.DONE and done.result == {"made": "threaded", "attempt": 1}
        assert done.worker is not None
        with app.app_context():  # a retry comes due and the thread's poll picks it up
            s = db.session()
            retried = jobs.enqueue(s, "test.note", {"slug": "retried"})
            retried.attempts, retried.run_after = 1, utcnow() + timedelta(seconds=1)
            s.info.pop(jobs.PENDING)  # nobody is told: only the poll can find it
            s.commit()
        done = _wait_finished(app, retried.id)
        assert done.status is JobStatus.DONE and done.attempts == 2
        _recalibrates(app)
    finally:
        stop_in_process(app)  # or it would go on polling a database of the same name in a later test
        app.extensions["thetapath.engine"].dispose()


def _recalibrates(app: Flask) -> None:
    """A recalibration report end to end on whichever worker the app has: learners' answers to a
    pilot item in, its parameters out (near the truth they were drawn from), and no parameter version
    until someone approves."""
    with app.app_context():
        s = db.session()
        inst, _accounts = ensure_demo(s)
        version = s.scalar(select(PackVersion).where(PackVersion.institution_id == inst.id))
        assert version is not None
        _module, pilot, _waiting = seed_pilot_answers(s, inst, version, learners=300)
        job_id = jobs.enqueue(s, "recalibration", {"pack_version_id": version.id},
                              institution_id=inst.id).id
        s.commit()
    done = _wait_finished(app, job_id)
    assert done.status is JobStatus.DONE, done.error
    assert done.result is not None
    [estimated] = [e for e in done.result["items"] if e["item"] == pilot.id]
    assert abs(estimated["b"] - TRUE_B) < 3 * estimated["se_b"] + 0.05
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(ParameterVersion)) == 0


REDIS = os.environ.get("THETAPATH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_or_skip() -> Any:
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    client = Redis.from_url(REDIS)
    try:
        client.ping()
    except RedisDown:
        pytest.skip(f"Redis is not reachable at {REDIS} (set THETAPATH_TEST_REDIS_URL)")
    client.flushdb()
    return client


def test_a_thetapath_worker_process_runs_jobs_from_redis(own_database: str, tmp_path: Path) -> None:
    _redis_or_skip()
    config = {"SECRET_KEY": "test-secret", "DATABASE_URL": own_database, "REDIS_URL": REDIS,
              "JOB_POLL_SECONDS": 1, "RECALIBRATION_MIN_RESPONSES": 100}
    app = create_app({"TESTING": True, **config})
    app.instance_path = str(tmp_path)
    env = {**os.environ, **{f"THETAPATH_{k}": str(v) for k, v in config.items()}}
    command = [str(Path(sys.executable).with_name("thetapath")), "worker"]
    worker = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        with app.app_context():
            s = db.session()
            inst, _accounts = ensure_demo(s)
            version = s.scalar(select(PackVersion).where(PackVersion.institution_id == inst.id))
            assert version is not None
            job_id = request_item_statistics(s, version, None).id
            s.commit()  # on the RQ queue now
        done = _wait_finished(app, job_id)
        assert done.status is JobStatus.DONE, done.error
        assert done.result == {"responses": 0, "learners": 0, "last_response_id": 0, "statistics": None}
        assert done.worker is not None and done.worker.endswith(f":{worker.pid}")  # that process ran it
        # a job Redis never heard of (the queue was flushed, say) is found by the worker's sweep
        with app.app_context():
            s = db.session()
            swept = Job(kind="item-statistics", payload={"pack_version_id": version.id},
                        institution_id=inst.id, max_attempts=5, run_after=utcnow())
            s.add(swept)
            s.commit()
        assert _wait_finished(app, swept.id).status is JobStatus.DONE
        _recalibrates(app)
    finally:
        worker.terminate()  # a warm shutdown: an idle worker stops at once
        try:
            output = worker.communicate(timeout=30)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            worker.send_signal(signal.SIGUSR2)  # the worker prints every thread's stack
            time.sleep(1)
            worker.kill()
            output = worker.communicate()[0].decode(errors="replace")
            pytest.fail(f"thetapath worker did not stop within 30 s of SIGTERM:\n{output}")
        finally:
            app.extensions["thetapath.engine"].dispose()
    assert "Traceback" not in output, output
