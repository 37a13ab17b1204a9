"""xAPI statements: one per answer, finished assessment and mastered competency, written with the
event, valid under an independent model (ralph-malph's generic xAPI statement), pseudonymous, with
ids that do not change, and exported as JSON lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import ValidationError
from ralph.models.xapi.base.statements import BaseXapiStatement
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.demo import seed_simulated_learners
from app.jobs import services as jobs
from app.jobs.workers import sessions
from app.models import (
    AbilityRecord,
    Attempt,
    AttemptStatus,
    Job,
    JobStatus,
    Response,
    Role,
    User,
    XapiStatement,
)
from app.packstore import import_pack
from tests.app import factories
from tests.lrs import Lrs

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"
SPEC_EXAMPLES = Path(__file__).parents[3] / "shared" / "fixtures" / "xapi" / \
    "xapi-spec-appendixA-example-statements.json"
ANSWERED = "http://adlnet.gov/expapi/verbs/answered"


def test_statements_are_made_with_what_they_report(app: Flask, client: FlaskClient,
                                                     db_session: Session) -> None:
    inst = factories.institution(db_session)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    version = import_pack(db_session, inst, DEMO, instructor.id).version
    with app.app_context():
        seed_simulated_learners(db_session, inst, 8)
    rows = list(db_session.scalars(select(XapiStatement)))
    statements = [row.statement for row in rows]
    by_verb: dict[str, int] = {}
    for s in statements:
        by_verb[s["verb"]["id"].rsplit("/", 1)[1]] = by_verb.get(s["verb"]["id"].rsplit("/", 1)[1], 0) + 1
    assert by_verb["answered"] == db_session.scalar(select(func.count()).select_from(Response))
    assert by_verb["completed"] == db_session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.status == AttemptStatus.COMPLETED))
    assert by_verb.get("mastered", 0) == db_session.scalar(
        select(func.count()).select_from(AbilityRecord).where(AbilityRecord.mastery == "mastered"))

    # each is valid xAPI under an independent model, and names nobody
    emails = [u.email for u in db_session.scalars(select(User))]
    for s in statements:
        BaseXapiStatement(**s)
        text = json.dumps(s)
        assert not any(email in text for email in emails)
        assert s["id"] == next(r.id for r in rows if r.statement is s)
    # an answer's statement: the item, the score and the estimate after it, inside its assessment
    answer = next(s for s in statements if s["verb"]["id"] == ANSWERED)
    first = db_session.scalar(select(Response).order_by(Response.id))
    assert first is not None
    assert answer["object"]["id"].endswith(f"/xapi/activities/data-literacy/1.0.0/items/{first.item}")
    assert answer["result"]["score"] == {"raw": first.score, "min": 0, "max": first.max_score,
                                         "scaled": round(first.score / first.max_score, 4)}
    extensions = answer["result"]["extensions"]
    assert extensions["https://thetapath.invalid/xapi/extensions/theta"] == round(first.theta, 4)
    assert answer["context"]["contextActivities"]["parent"][0]["id"].startswith(
        "https://thetapath.invalid/xapi/activities/data-literacy/1.0.0/modules/")
    # one actor per learner: the same pseudonym on all their statements, a different one per learner
    actors = {s["actor"]["account"]["name"] for s in statements}
    assert len(actors) == db_session.scalar(select(func.count(func.distinct(Attempt.user_id))))
    assert len({s["id"] for s in statements}) == len(statements)

    # exported as JSON lines, for instructors
    factories.sign_in(client, instructor.email)
    r = client.get(f"/author/versions/{version.id}/export/xapi")
    assert r.status_code == 200 and r.mimetype == "application/x-ndjson"
    lines = r.data.decode().splitlines()
    assert len(lines) == len(statements)
    assert {json.loads(line)["id"] for line in lines} == {s["id"] for s in statements}


def test_a_statement_the_model_refuses_is_told_apart() -> None:
    """The independent model does check: a verb that is not an IRI and a score above 1 are refused."""
    good = {"actor": {"account": {"homePage": "https://thetapath.invalid", "name": "x"}},
            "verb": {"id": ANSWERED}, "object": {"id": "https://thetapath.invalid/xapi/activities/a"},
            "result": {"score": {"scaled": 0.5}}}
    BaseXapiStatement(**good)
    with pytest.raises(ValidationError):
        BaseXapiStatement(**{**good, "verb": {"id": "answered"}})
    with pytest.raises(ValidationError):
        BaseXapiStatement(**{**good, "result": {"score": {"scaled": 1.7}}})


@pytest.mark.skipif(not SPEC_EXAMPLES.exists(), reason="the xAPI spec examples are in ../shared only")
def test_the_model_accepts_the_specs_own_examples() -> None:
    text = SPEC_EXAMPLES.read_text(encoding="utf-8")
    examples = json.loads(text, strict=False)  # the first example holds a literal tab
    for example in examples if isinstance(examples, list) else [examples]:
        BaseXapiStatement(**example)


def test_statements_reach_an_lrs_through_the_job_queue_even_when_it_was_down(
        app: Flask, db_session: Session) -> None:
    inst = factories.institution(db_session)
    import_pack(db_session, inst, DEMO, None)
    with Lrs() as lrs:
        app.config.update(lrs.config)
        lrs.fail_next = 1  # the first delivery finds the LRS down
        with app.app_context():
            seed_simulated_learners(db_session, inst, 2)
            while jobs.run_due(sessions(app)):
                pass
            db_session.expire_all()
            # the one that found it down waits for its retry; later deliveries took everything
            assert db_session.scalar(select(func.count()).select_from(Job).where(
                Job.status == JobStatus.QUEUED)) == 1
        rows = list(db_session.scalars(select(XapiStatement)))
        assert rows and all(row.sent_at is not None for row in rows)
        assert set(lrs.statements) == {row.id for row in rows}  # each once, validated by the LRS
        assert lrs.requests > 1  # the refused delivery, then the one that went through
        # the retry comes due: it finds nothing left to send and succeeds
        with app.app_context():
            db_session.execute(update(Job).where(Job.status == JobStatus.QUEUED).values(run_after=utcnow()))
            db_session.commit()
            assert jobs.run_due(sessions(app)) == 1
        assert db_session.scalar(select(func.count()).select_from(Job).where(
            Job.status != JobStatus.DONE)) == 0
        assert len(lrs.statements) == len(rows)
