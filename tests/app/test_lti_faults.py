"""Grade passback when a worker dies mid-send: a real ``thetapath worker`` process, on a database of its
own (SQLite, or PostgreSQL under ``make test``), kills itself with SIGKILL right after the platform
accepted the score, before the job could record it. The retry, once the lease runs out, must find the
score on the platform and not send it again: the platform holds exactly one."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from sqlalchemy import select

from app import db
from app.accounts.services import create_institution
from app.authz import Principal
from app.demo import GRADUATE_ABILITY, take_assessment
from app.jobs import services as jobs
from app.jobs.workers import sessions
from app.lti.tool import register_platform
from app.models import Job, JobStatus, LtiGradeLink, ModuleRow, Role
from app.packstore import import_pack
from tests.app.lti_platform import LoopbackPlatform
from tests.app.test_credentials import DEMO
from tests.conftest import worker_app

# a worker that dies (SIGKILL: no handler, no clean-up) as soon as a platform has accepted a score
DIES_AFTER_SENDING = """
import os, signal
from app.lti import grades
sent = grades.call_platform
def call_platform(method, url, **kwargs):
    answer = sent(method, url, **kwargs)
    if method == "POST" and url.endswith("/scores"):
        os.kill(os.getpid(), signal.SIGKILL)
    return answer
grades.call_platform = call_platform
from app.cli import main
main(["worker"])
"""


def test_a_worker_killed_after_the_platform_got_the_score_never_makes_it_arrive_twice(
        tmp_path: Path) -> None:
    app, env = worker_app("thetapath_lti_faults", tmp_path)
    client = app.test_client()
    platform = LoopbackPlatform()
    platform.grades = True
    try:
        with app.app_context():
            session = db.session()
            inst = create_institution(session, slug="faults-u", name="Faults University", open_signup=False)
            version = import_pack(session, inst, DEMO, None).version
            module = session.scalars(select(ModuleRow).where(ModuleRow.pack_version_id == version.id)
                                     .order_by(ModuleRow.position)).first()
            assert module is not None
            register_platform(session, inst, **platform.register_args())
            module_id, inst_id = module.id, inst.id
        platform.user.target = f"https://localhost/learn/modules/{module_id}"
        platform.tool_jwks = client.get("/lti/jwks").json or {}
        login = client.get("/lti/login", query_string=platform.login_params())
        posted = json.loads(requests.get(login.headers["Location"], timeout=10).text)
        assert client.post("/lti/launch", data={"state": posted["state"],
                                                "id_token": posted["id_token"]}).status_code == 303
        with app.app_context():
            session = db.session()
            link = session.scalars(select(LtiGradeLink)).one()
            row = session.get(ModuleRow, module_id)
            assert row is not None
            with app.test_request_context():
                take_assessment(session, Principal(link.user_id, inst_id, Role.LEARNER), row,
                                GRADUATE_ABILITY, random.Random(9))
                session.commit()
            [job_id] = session.scalars(select(Job.id).where(Job.kind == "lti-score")).all()

        worker = subprocess.run([sys.executable, "-c", DIES_AFTER_SENDING], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=180, check=False)
        assert worker.returncode == -signal.SIGKILL, worker.stdout + worker.stderr
        assert len(platform.scores) == 1  # the platform has it; the job does not know
        with app.app_context():
            session = db.session()
            job = session.get(Job, job_id)
            assert job is not None and (job.status, job.attempts) == (JobStatus.RUNNING, 1)
            session.rollback()
            time.sleep(2.5)  # the dead worker's lease runs out
            while jobs.run_due(sessions(app)):
                pass
            done = db.session().get(Job, job_id)
            assert done is not None, job_id
            assert (done.status, done.attempts) == (JobStatus.DONE, 2), done.error
            assert done.result is not None and "already delivered" in done.result["answer"]
        assert len(platform.scores) == 1  # exactly once
    finally:
        platform.close()
        app.extensions["thetapath.engine"].dispose()
