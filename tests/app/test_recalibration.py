"""Recalibration of pilot items from live responses, as a job: parameters recovered on a seeded
simulation (the truth is known), linked to the anchors' scale, with the items that still need answers
named and counted; then approved into a parameter version that new attempts use, rolled back, and
approved once when two people approve at once."""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive import CatState, ItemBank, ItemParameters, PolicySettings, replay
from adaptive.integrity import credit_decision
from adaptive.simulate import draw_score
from app import create_app
from app.analytics import recalibration
from app.authz import Principal
from app.db import make_engine
from app.errors import ServiceError
from app.jobs import services as jobs
from app.jobs.workers import sessions
from app.migrate import upgrade
from app.models import (
    Attempt,
    AttemptStatus,
    Institution,
    Job,
    JobStatus,
    Membership,
    ModuleRow,
    PackVersion,
    ParameterVersion,
    Response,
    Role,
    User,
)
from app.packstore import ARCHIVE, Parameters, content_of, import_pack, module_bank, parameters_of
from content import Item
from content.policy import assessment_policy
from tests.app import factories
from tests.conftest import fresh_database

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"
COMPETENCY = "centre-and-spread"
TRUE_A, TRUE_B, SHIFT = 1.3, 0.4, 0.3  # the pilot item's truth; these learners are 0.3 above the anchors'


@dataclass
class World:
    inst: Institution
    instructor: User
    version: PackVersion
    module: ModuleRow
    pilot: Item
    waiting: Item
    job: Job
    url: str


@pytest.fixture
def world(app: Flask, client: FlaskClient, db_session: Session) -> World:
    """400 learners who finished the module's assessment with the anchors and the pilot item (20 of
    them with a second pilot item too), and an instructor who asked for a report and got it."""
    return _world(app, client, db_session, DEMO)


def seed_pilot_answers(session: Session, inst: Institution, version: PackVersion, *, learners: int = 400,
                       ) -> tuple[ModuleRow, Item, Item]:
    """``learners`` learners who finished a module's assessment: its competency's calibrated 2PL items
    and one pilot item, answered as the true parameters say (20 of them had a second pilot item too).
    Returns the module and the two pilot items. Committed."""
    pack = content_of(session, version)
    items = [it for it in pack.items if it.competency == COMPETENCY]
    anchors = [it for it in items if it.irt is not None and it.irt.model == "2pl" and not it.pilot]
    pilot, waiting, *_rest = [it for it in items if it.pilot and it.max_score == 1]
    module_key = next(m.id for m in pack.modules if pilot.file in m.item_files)
    module = session.scalar(select(ModuleRow).where(ModuleRow.pack_version_id == version.id,
                                                    ModuleRow.key == module_key))
    assert module is not None
    settings = assessment_policy(pack.competency(COMPETENCY).assessment, len(anchors), pack.evidence)
    truth = ItemBank.from_items([*(it.parameters() for it in anchors),
                                 ItemParameters(id=pilot.id, model="2pl", a=TRUE_A, b=TRUE_B),
                                 ItemParameters(id=waiting.id, model="2pl", a=1.0, b=0.0)])
    rng = np.random.default_rng(20261207)
    users = [User(name=f"Learner {n}", email=f"l{n}@recalibration.example.org", password_hash="!")
             for n in range(learners)]  # no password: these never sign in, and hashing 400 is slow
    session.add_all(users)
    session.flush()
    session.add_all(Membership(user_id=u.id, institution_id=inst.id, role=Role.LEARNER) for u in users)
    for n, learner in enumerate(users):
        theta = float(rng.normal(SHIFT, 1.0))
        given = [*anchors, pilot, *([waiting] if n < 20 else [])]
        scores = [draw_score(truth, theta, item.id, float(rng.random())) for item in given]
        state = CatState(seed=n, items=tuple(it.id for it in given), scores=tuple(scores),
                         pilot=tuple(it.pilot for it in given))
        attempt = Attempt(user_id=learner.id, institution_id=inst.id, pack_version_id=version.id,
                          module_id=module.id, competency=COMPETENCY, policy=settings.to_json(), seed=n,
                          state=state.to_json(), status=AttemptStatus.COMPLETED)
        session.add(attempt)
        session.flush()
        for position, (item, score) in enumerate(zip(given, scores, strict=True)):
            session.add(Response(attempt_id=attempt.id, position=position, item=item.id, answer=None,
                                 score=score, max_score=1, theta=0.0, se=1.0, token=f"{n}-{position}"))
    session.commit()
    return module, pilot, waiting


def _world(app: Flask, client: FlaskClient, db_session: Session, source: Path) -> World:
    inst = factories.institution(db_session)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    version = import_pack(db_session, inst, source, instructor.id).version
    module, pilot, waiting = seed_pilot_answers(db_session, inst, version)
    app.config["RECALIBRATION_MIN_RESPONSES"] = 100

    factories.sign_in(client, instructor.email)
    url = f"/author/versions/{version.id}/recalibration"
    assert "Recalibrate from the responses so far" in client.get(url).data.decode()
    assert client.post(url).status_code == 303
    job = db_session.scalar(select(Job).where(Job.kind == "recalibration"))
    assert job is not None
    assert f'hx-get="/jobs/{job.id}"' in client.get(url).data.decode()  # its progress, while it waits
    with app.app_context():
        assert jobs.run_due(sessions(app)) == 1
    db_session.expire_all()
    assert job.status is JobStatus.DONE, job.error
    return World(inst, instructor, version, module, pilot, waiting, job, url)


def test_a_pilot_item_gets_its_parameters_back_and_the_others_wait(
        client: FlaskClient, db_session: Session, world: World) -> None:
    report = world.job.result
    assert report is not None
    [estimated] = [r for r in report["items"] if r["item"] == world.pilot.id]
    assert estimated["responses"] == 400
    assert abs(estimated["b"] - TRUE_B) < 3 * estimated["se_b"] + 0.05
    assert abs(estimated["a"] - TRUE_A) < 3 * estimated["se_a"] + 0.05
    assert 0 < estimated["se_b"] < 0.3
    # the answers were drawn from the true parameters: they fit the new ones well
    assert 0.8 < estimated["infit"] < 1.2 and 0.7 < estimated["outfit"] < 1.3 and not estimated["misfit"]
    assert not estimated["unstable"]  # 400 answers pin it down: it is proposed
    line = next(c for c in report["competencies"] if c["estimated"] == 1)
    assert abs(line["population_mean"] - SHIFT) < 0.25  # the anchors fix the scale; the learners move
    assert {"item": world.waiting.id, "competency": line["competency"], "responses": 20} in report["waiting"]
    assert report["based_on"] == {"id": None, "number": 0}
    # the demo's tests ask up to 20 of 27-29 questions: a 30% exposure target cannot be met
    assert report["exposure"] == {}
    [note] = report["exposure_notes"]
    assert re.match(rf"{world.module.title}: its assessment asks up to 20 of 2\d questions", note)
    assert "above the exposure target of 30%" in note

    page = client.get(world.url).data.decode()
    assert (f"Item <code>{world.waiting.id}</code> ({line['competency']}) has 20 answers; "
            "100 are needed.") in page
    assert f"<code>{world.pilot.id}</code>" in page and "± " in page
    assert "Approve: use these parameters for new attempts" in page
    # asking again with no new answer gives the same report
    page = client.post(world.url, follow_redirects=True).data.decode()
    assert "This report already includes every response" in page
    assert db_session.scalar(select(func.count()).select_from(Job)) == 1
    learner = factories.user(db_session, world.inst, Role.LEARNER)
    factories.sign_in(client, learner.email)
    assert client.get(world.url).status_code == 403
    assert client.post(f"{world.url}/{world.job.id}/approve").status_code == 403
    assert db_session.scalar(select(func.count()).select_from(ParameterVersion)) == 0


def _decision(bank: ItemBank, attempt: Attempt, rules: Any) -> str:
    """One attempt's credited decision with ``bank``, one test at a time, as the CAT itself decides:
    its EAP estimate, its rule's classification, then the evidence rules (person fit included)."""
    settings = PolicySettings.from_json(attempt.policy)
    policy = settings.build()
    state = CatState.from_json(attempt.state)
    given = [(bank.index(i), x) for i, x in zip(state.items, state.scores, strict=True)
             if not bank.pilot[bank.index(i)]]
    positions, scores = [j for j, _x in given], [x for _j, x in given]
    estimate = policy.estimator.estimate(bank, positions, scores)
    assert policy.mastery is not None
    mastery = policy.mastery.classify(bank, positions, scores, estimate).value
    return credit_decision(bank, [bank.ids[j] for j in positions], scores, estimate, mastery, rules,
                           cut=settings.cut or 0.0, prior_sd=settings.prior_sd).mastery


def _start(client: FlaskClient, module_id: int) -> int:
    r = client.post(f"/assess/modules/{module_id}/attempts")
    assert r.status_code in (302, 303), r.data
    return int(r.headers["Location"].rsplit("/", 1)[1])


def test_approve_then_roll_back(client: FlaskClient, db_session: Session, world: World) -> None:
    report = world.job.result
    assert report is not None
    learner = factories.user(db_session, world.inst, Role.LEARNER)
    factories.sign_in(client, learner.email)
    before_id = _start(client, world.module.id)  # started on the pack's own parameters
    factories.sign_in(client, world.instructor.email)
    waiting = "proposes parameters for 1 pilot item: read what would change"
    assert waiting in client.get("/").data.decode()  # the instructor's home points at the report
    assert client.post(f"{world.url}/{world.job.id}/approve").status_code == 303
    page = client.get(world.url).data.decode()
    assert "Parameter version 1 is in use" in page and "Approved as <strong>parameter version 1" in page
    assert waiting not in client.get("/").data.decode()
    assert "Roll back to version 0" in page
    rows = list(db_session.scalars(select(ParameterVersion).order_by(ParameterVersion.number)))
    assert [r.number for r in rows] == [0, 1]
    [estimated] = [r for r in report["items"] if r["item"] == world.pilot.id]
    assert rows[1].parameters[world.pilot.id] == {"model": "2pl", "a": estimated["a"], "b": estimated["b"]}
    assert rows[1].job_id == world.job.id and rows[1].created_by_id == world.instructor.id
    # approving the same report again makes no second version
    assert client.post(f"{world.url}/{world.job.id}/approve").status_code == 303
    assert db_session.scalar(select(func.count()).select_from(ParameterVersion)) == 2

    # the decisions the report counted are those the approved parameters really change
    old, _ = module_bank(db_session, world.version, world.module.key, ARCHIVE)
    new, _ = module_bank(db_session, world.version, world.module.key, Parameters(rows[1].id, rows[1].digest))
    assert bool(old.pilot[old.index(world.pilot.id)]) and not new.pilot[new.index(world.pilot.id)]
    assert new.a[new.index(world.pilot.id)] == estimated["a"]
    rules = content_of(db_session, world.version).evidence
    finished = db_session.scalars(select(Attempt).where(Attempt.status == AttemptStatus.COMPLETED))
    changed = [a for a in finished if _decision(old, a, rules) != _decision(new, a, rules)]
    # the job scores all attempts at once (quadrature EAP, stored fit flags): within a few of these
    assert len(changed) > 20
    assert abs(report["decisions"]["attempts"] - len(changed)) <= 0.05 * len(changed) + 2
    assert report["decisions"]["learners"] == report["decisions"]["attempts"]  # one attempt each

    # new attempts run on version 1; the one started before keeps the pack's parameters and replays
    factories.sign_in(client, learner.email)
    before = db_session.get(Attempt, before_id)
    assert before is not None and before.parameter_version_id is None
    assert parameters_of(db_session, before) == ARCHIVE
    page = client.get(f"/assess/attempts/{before_id}").data.decode()
    token = re.search(r'name="token" value="([^"]+)"', page)
    assert token is not None
    other = factories.user(db_session, world.inst, Role.LEARNER)
    factories.sign_in(client, other.email)
    after_id = _start(client, world.module.id)
    after = db_session.get(Attempt, after_id)
    assert after is not None and after.parameter_version_id == rows[1].id
    state = CatState.from_json(after.state)
    assert state.pending is not None
    bank, _ = module_bank(db_session, world.version, world.module.key, parameters_of(db_session, after))
    replayed, _ = replay(bank, PolicySettings.from_json(after.policy).build(), after.seed,
                         [*state.items, state.pending], [*state.scores, 0])
    assert replayed.items[-1] == state.pending  # the engine, on version 1, chose the same question

    # roll back: new attempts use the pack's parameters again
    factories.sign_in(client, world.instructor.email)
    assert client.post(f"/author/versions/{world.version.id}/parameters/0/use").status_code == 303
    page = client.get(world.url).data.decode()
    assert "Parameter version 0 is in use again" in page and "Use version 1" in page
    third = factories.user(db_session, world.inst, Role.LEARNER)
    factories.sign_in(client, third.email)
    rolled = db_session.get(Attempt, _start(client, world.module.id))
    assert rolled is not None and rolled.parameter_version_id == rows[0].id
    db_session.expire_all()
    assert after.parameter_version_id == rows[1].id  # the attempt on version 1 keeps it
    # the report was computed on version 0, which is in use again, and approved already: still one
    factories.sign_in(client, world.instructor.email)
    assert client.post(f"{world.url}/{world.job.id}/approve").status_code == 303
    assert db_session.scalar(select(func.count()).select_from(ParameterVersion)) == 2


def test_new_attempts_use_the_exposure_control_an_approved_report_simulated(
        app: Flask, client: FlaskClient, db_session: Session, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With tests of up to 6 of 28 questions, a 30% exposure target can be met: the report simulates
    Sympson–Hetter parameters on the new bank, and once approved, new attempts of the module give
    each question with its probability (and the attempt stores them, so it replays)."""
    short = tmp_path / "data-literacy"
    shutil.copytree(DEMO, short)
    pack_yaml = short / "pack.yaml"
    pack_yaml.write_text(pack_yaml.read_text(encoding="utf-8").replace("max_items: 20", "max_items: 6"),
                         encoding="utf-8")
    monkeypatch.setattr(recalibration, "SH_EXAMINEES", 150)
    monkeypatch.setattr(recalibration, "SH_ROUNDS", 4)
    world = _world(app, client, db_session, short)
    report = world.job.result
    assert report is not None and report["exposure_notes"] == []
    control = report["exposure"][world.module.key]
    assert control and all(0 < k <= 1 for k in control.values())
    assert min(control.values()) < 1  # the most informative questions are held back
    assert client.post(f"{world.url}/{world.job.id}/approve").status_code == 303
    learner = factories.user(db_session, world.inst, Role.LEARNER)
    factories.sign_in(client, learner.email)
    attempt = db_session.get(Attempt, _start(client, world.module.id))
    assert attempt is not None
    assert attempt.policy["selection"] == "sympson-hetter"
    assert attempt.policy["exposure_control"] == control


def test_two_approvals_at_once_make_one_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two approvals of one report at the same moment, on a real database with real commits.

    On PostgreSQL both check before either writes (a barrier holds each after its check) and the
    unique job id lets one version through; on SQLite the second waits for the first's write lock
    (the barrier times out first) and then finds the version made.
    """
    url = fresh_database("thetapath_approvals", tmp_path)
    engine = make_engine(url)
    with engine.begin() as conn:
        upgrade(conn)
    engine.dispose()
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": url,
                      "JOBS_IN_PROCESS": False})
    app.instance_path = str(tmp_path)
    try:
        with app.app_context(), sessions(app)() as session:
            inst = factories.institution(session)
            instructor = factories.user(session, inst, Role.INSTRUCTOR)
            version = import_pack(session, inst, DEMO, instructor.id).version
            pilot = next(it for it in content_of(session, version).items if it.pilot and it.max_score == 1)
            job = Job(kind="recalibration", status=JobStatus.DONE, institution_id=inst.id,
                      payload={"pack_version_id": version.id},
                      result={"items": [{"item": pilot.id, "a": 1.1, "b": 0.2}], "exposure": {},
                              "based_on": {"id": None, "number": 0},
                              "decisions": {"attempts": 0, "learners": 0, "changes": {}}})
            session.add(job)
            session.commit()
            who = Principal(instructor.id, inst.id, Role.INSTRUCTOR)
            version_id, job_id = version.id, job.id

        # on SQLite the second approval cannot check before the first commits: its barrier wait
        # times out (2 s); on PostgreSQL both reach it, however loaded the machine is (20 s)
        both_checked = threading.Barrier(2, timeout=2 if url.startswith("sqlite") else 20)
        looked_up = recalibration.approved_version
        calls = threading.local()

        def approved_version(session: Session, job: Job) -> ParameterVersion | None:
            found = looked_up(session, job)
            if not getattr(calls, "waited", False):  # the first check: wait until the other made it too
                calls.waited = True
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_checked.wait()
            return found

        monkeypatch.setattr(recalibration, "approved_version", approved_version)
        results: list[int | str] = []

        def approve() -> None:
            with app.app_context(), sessions(app)() as session:
                try:
                    results.append(recalibration.approve(session, who, version_id, job_id).number)
                except ServiceError as err:
                    results.append(str(err))

        threads = [threading.Thread(target=approve) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == [1, 1]
        with app.app_context(), sessions(app)() as session:
            rows = list(session.scalars(select(ParameterVersion).order_by(ParameterVersion.number)))
            assert [r.number for r in rows] == [0, 1]
            assert rows[1].parameters == {pilot.id: {"model": "2pl", "a": 1.1, "b": 0.2}}
    finally:  # a failed assertion must not leave the engine's connections to be collected later
        app.extensions["thetapath.engine"].dispose()
