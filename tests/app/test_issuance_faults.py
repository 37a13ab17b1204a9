"""A worker process killed between signing a credential and storing it: the retry stores it once.

The worker is a real ``thetapath worker`` process on a database of its own (SQLite, or PostgreSQL
under ``make test``), which kills itself with SIGKILL right after the credential's VC-JWT is signed:
the last step before the job's finishing transaction commits. Nothing it signed may survive, and the
job's retry, once the dead worker's lease runs out, must issue each credential exactly once.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from app import db
from app.authz import Principal
from app.credentials.keys import known_keys
from app.credentials.verify import verify_credential
from app.demo import GRADUATE_ABILITY, take_assessment
from app.jobs import services as jobs
from app.jobs.workers import sessions
from app.models import Credential, Job, JobStatus, ModuleRow, Role
from app.packstore import content_of, import_pack
from tests.app import factories
from tests.app.test_credentials import DEMO, FIRST
from tests.conftest import worker_app

# a worker that dies (SIGKILL: no handler, no rollback, no clean-up) as soon as it has signed a VC-JWT
DIES_AFTER_SIGNING = """
import os, signal
from app.credentials import vcjwt
signed = vcjwt.encode
def encode(*args, **kwargs):
    signed(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)
vcjwt.encode = encode
from app.cli import main
main(["worker"])
"""


def test_a_worker_killed_between_signing_and_storing_leaves_nothing_and_the_retry_issues_once(
        tmp_path: Path) -> None:
    app, env = worker_app("thetapath_issuance_faults", tmp_path)
    try:
        with app.app_context():
            session = db.session()
            inst = factories.institution(session)
            learner = factories.user(session, inst, Role.LEARNER)
            version = import_pack(session, inst, DEMO, None).version
            pack = content_of(session, version)
            rule = next(r for r in pack.credentials if r.id == FIRST)
            rng = random.Random(8)
            with app.test_request_context():
                for row in session.scalars(select(ModuleRow).where(ModuleRow.pack_version_id == version.id)):
                    if pack.module(row.key).competencies[0] in rule.competencies:
                        take_assessment(session, Principal(learner.id, inst.id, Role.LEARNER), row,
                                        GRADUATE_ABILITY, rng)
                session.commit()
            learner_id = learner.id
            waiting = [j.id for j in session.scalars(select(Job).where(Job.kind == "credentials"))]
            assert waiting  # asked for by the credited mastery decisions, waiting for a worker

        worker = subprocess.run([sys.executable, "-c", DIES_AFTER_SIGNING], env=env, cwd=tmp_path,
                                capture_output=True, text=True, timeout=120, check=False)
        assert worker.returncode == -signal.SIGKILL, worker.stdout + worker.stderr

        with app.app_context():
            session = db.session()
            assert session.scalar(select(func.count()).select_from(Credential)) == 0  # nothing half-stored
            running = session.scalars(select(Job).where(Job.status == JobStatus.RUNNING)).all()
            assert [(j.kind, j.attempts) for j in running] == [("credentials", 1)]  # died holding it
            session.rollback()
            time.sleep(2.5)  # the dead worker's lease runs out
            while jobs.run_due(sessions(app)):
                pass
            session = db.session()
            issued = session.scalars(select(Credential).where(Credential.user_id == learner_id)).all()
            assert sorted(c.rule for c in issued) == sorted({FIRST, "chart-spotter"})  # each exactly once
            retried = session.get(Job, running[0].id)
            assert retried is not None and (retried.status, retried.attempts) == (JobStatus.DONE, 2)
            known = known_keys(session)
            for credential in issued:
                assert verify_credential(credential.document, known, status=lambda d: False).valid
    finally:
        app.extensions["thetapath.engine"].dispose()
