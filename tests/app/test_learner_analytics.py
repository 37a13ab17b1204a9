"""Learner analytics of a version: the funnel per module, estimates and mastery per competency, time
on task and test-out/placement outcomes, in aggregate, for the institution's own learners only."""

from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.assess.services import start
from app.authz import Principal
from app.demo import seed_simulated_learners
from app.models import AbilityRecord, Attempt, AttemptStatus, LessonVisit, ModuleRow, Role, User
from app.packstore import content_of, import_pack
from tests.app import factories
from tests.app.test_learning_flow import answer_for, finish

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"


def test_the_learners_of_a_version_in_aggregate(app: Flask, client: FlaskClient, db_session: Session) -> None:
    inst = factories.institution(db_session)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    learner = factories.user(db_session, inst, Role.LEARNER)
    version = import_pack(db_session, inst, DEMO, instructor.id).version
    with app.app_context():
        assert seed_simulated_learners(db_session, inst, 15) == 15
    url = f"/author/versions/{version.id}/learners"

    factories.sign_in(client, learner.email)
    assert client.get(url).status_code == 403
    factories.sign_in(client, instructor.email)
    assert f'href="{url}"' in client.get("/author/packs").data.decode()
    r = client.get(url)
    assert r.status_code == 200
    page = r.data.decode()
    # nobody is named
    for user in db_session.scalars(select(User).where(User.simulated.is_(True))):
        assert user.email not in page and user.name not in page

    # the first module's funnel, counted from the stored rows
    first = db_session.scalar(select(ModuleRow).where(ModuleRow.pack_version_id == version.id)
                              .order_by(ModuleRow.position))
    assert first is not None
    read = db_session.scalar(select(func.count(func.distinct(LessonVisit.user_id)))
                             .where(LessonVisit.module_id == first.id))
    started = db_session.scalar(select(func.count(func.distinct(Attempt.user_id))).where(
        Attempt.module_id == first.id, Attempt.kind == "assessment"))
    finished = db_session.scalar(select(func.count(func.distinct(Attempt.user_id))).where(
        Attempt.module_id == first.id, Attempt.kind == "assessment",
        Attempt.status == AttemptStatus.COMPLETED))
    assert read == 15 and started and finished  # every simulated learner opens the first lesson
    row = page.split(f"<tr><td>{first.title}</td>")[1].split("</tr>")[0]
    cells = re.findall(r'<td class="align-right">([^<]*)</td>', row)
    assert cells[0] == "15" and cells[1] == "15 (100%)"
    assert cells[2].startswith(f"{started} (") and cells[3].startswith(f"{finished} (")
    assert cells[5] == cells[6] == "—"  # time on task: simulated learners answer in no time

    # a real learner's time on task counts
    with app.test_request_context():
        attempt_id = start(db_session, Principal(learner.id, inst.id, Role.LEARNER), first.id)
    factories.sign_in(client, learner.email)
    finish(client, db_session, attempt_id, content_of(db_session, version),
           lambda _page, item, codes: answer_for(item, True, codes))
    factories.sign_in(client, instructor.email)
    page = client.get(url).data.decode()
    row = page.split(f"<tr><td>{first.title}</td>")[1].split("</tr>")[0]
    cells = re.findall(r'<td class="align-right">([^<]*)</td>', row)
    assert re.fullmatch(r"\d+", cells[5]) and re.fullmatch(r"\d+\.\d", cells[6])

    # each competency: learners with an estimate, and a histogram of them
    latest = db_session.execute(select(AbilityRecord.user_id, AbilityRecord.competency)
                                .where(AbilityRecord.pack_version_id == version.id).distinct()).all()
    estimated = {c for _u, c in latest}
    assert page.count('<svg class="chart"') == len(estimated)
    assert "Test-outs" in page and "Placement tests" in page

    # another institution's instructor reaches nothing of it
    stranger = factories.user(db_session, factories.institution(db_session), Role.INSTRUCTOR)
    factories.sign_in(client, stranger.email)
    assert client.get(url).status_code == 404
