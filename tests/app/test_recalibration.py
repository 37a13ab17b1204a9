"""Recalibration of pilot items from live responses, as a job: parameters recovered on a seeded
simulation (the truth is known), linked to the anchors' scale, with the items that still need answers
named and counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive import ItemBank, ItemParameters
from adaptive.simulate import draw_score
from app.jobs import services as jobs
from app.jobs.workers import sessions
from app.models import Attempt, Job, JobStatus, Membership, Response, Role, User
from app.packstore import content_of, import_pack
from tests.app import factories

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"
COMPETENCY = "centre-and-spread"
TRUE_A, TRUE_B, SHIFT = 1.3, 0.4, 0.3  # the pilot item's truth; these learners are 0.3 above the anchors'


def test_a_pilot_item_gets_its_parameters_back_and_the_others_wait(
        app: Flask, client: FlaskClient, db_session: Session) -> None:
    inst = factories.institution(db_session)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    version = import_pack(db_session, inst, DEMO, instructor.id).version
    items = [it for it in content_of(db_session, version).items if it.competency == COMPETENCY]
    anchors = [it for it in items if it.irt is not None and it.irt.model == "2pl"]
    pilot, waiting, *_rest = [it for it in items if it.pilot and it.max_score == 1]
    truth = ItemBank.from_items([*(it.parameters() for it in anchors),
                                 ItemParameters(id=pilot.id, model="2pl", a=TRUE_A, b=TRUE_B),
                                 ItemParameters(id=waiting.id, model="2pl", a=1.0, b=0.0)])
    rng = np.random.default_rng(20261207)
    learners = [User(name=f"Learner {n}", email=f"l{n}@recalibration.example.org", password_hash="!")
                for n in range(400)]  # no password: these never sign in, and hashing 400 is slow
    db_session.add_all(learners)
    db_session.flush()
    db_session.add_all(Membership(user_id=u.id, institution_id=inst.id, role=Role.LEARNER) for u in learners)
    for n, learner in enumerate(learners):
        theta = float(rng.normal(SHIFT, 1.0))
        attempt = Attempt(user_id=learner.id, institution_id=inst.id, pack_version_id=version.id,
                          competency=COMPETENCY, policy={}, seed=n, state={})
        db_session.add(attempt)
        db_session.flush()
        given = [*anchors, pilot, *([waiting] if n < 20 else [])]
        for position, item in enumerate(given):
            db_session.add(Response(attempt_id=attempt.id, position=position, item=item.id, answer=None,
                                    score=draw_score(truth, theta, item.id, float(rng.random())),
                                    max_score=1, theta=0.0, se=1.0, token=f"{n}-{position}"))
    db_session.commit()
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
    report = job.result
    assert report is not None
    [estimated] = [r for r in report["items"] if r["item"] == pilot.id]
    assert estimated["responses"] == 400
    assert abs(estimated["b"] - TRUE_B) < 3 * estimated["se_b"] + 0.05
    assert abs(estimated["a"] - TRUE_A) < 3 * estimated["se_a"] + 0.05
    assert 0 < estimated["se_b"] < 0.3
    line = next(c for c in report["competencies"] if c["estimated"] == 1)
    assert abs(line["population_mean"] - SHIFT) < 0.25  # the anchors fix the scale; the learners move
    assert {"item": waiting.id, "competency": line["competency"], "responses": 20} in report["waiting"]

    page = client.get(url).data.decode()
    assert f"Item <code>{waiting.id}</code> ({line['competency']}) has 20 answers; 100 are needed." in page
    assert f"<code>{pilot.id}</code>" in page and "± " in page
    learner = factories.user(db_session, inst, Role.LEARNER)
    factories.sign_in(client, learner.email)
    assert client.get(url).status_code == 403
