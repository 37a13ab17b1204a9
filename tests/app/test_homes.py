"""Each role lands on its own home: a learner on their dashboard, an instructor on their packs and what
needs attention, an admin on that and their institution (members, sign-up)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.analytics.services import request_item_statistics
from app.demo import seed_simulated_learners
from app.jobs import services as jobs
from app.jobs.workers import sessions
from app.models import Attempt, Institution, Role
from app.packstore import import_pack
from tests.app import factories

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"


def test_each_role_lands_on_its_own_home(app: Flask, client: FlaskClient, db_session: Session) -> None:
    inst = factories.institution(db_session, open_signup=False)
    admin = factories.user(db_session, inst, Role.ADMIN)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    learner = factories.user(db_session, inst, Role.LEARNER)
    version = import_pack(db_session, inst, DEMO, instructor.id).version
    with app.app_context():
        seed_simulated_learners(db_session, inst, 6)
        while jobs.run_due(sessions(app)):  # the credentials some of them earned
            pass
    attempt_id = db_session.scalar(select(Attempt.id).where(Attempt.pack_version_id == version.id))
    db_session.execute(update(Attempt).where(Attempt.id == attempt_id).values(flagged=True))
    db_session.commit()

    factories.sign_in(client, learner.email)
    assert "Continue where you left off" in client.get("/").data.decode()

    factories.sign_in(client, instructor.email)
    home = client.get("/").data.decode()
    assert "Needs your attention" in home and "Continue where you left off" not in home
    flagged = db_session.scalar(select(func.count()).select_from(Attempt).where(Attempt.flagged.is_(True)))
    assert f'href="/author/attempts">{flagged} attempt' in home
    assert "Data literacy 1.0.0" in home and "not computed yet" in home
    assert "1 learner, and 6 simulated ones" in home
    assert "Your institution" not in home  # an admin's part
    assert "Continue where you left off" in client.get("/dashboard").data.decode()
    assert client.post("/admin/settings/signup", data={"open": "1"}).status_code == 403

    with app.app_context():
        request_item_statistics(db_session, version, instructor.id)
        db_session.commit()
        assert jobs.run_due(sessions(app)) == 1
    home = client.get("/").data.decode()
    assert "not computed yet" not in home and " flagged</a>" in home

    factories.sign_in(client, admin.email)
    home = client.get("/").data.decode()
    assert "Your institution" in home and "1 administrator, 1 instructor, 1 learner." in home
    assert "Sign-up is <strong>closed</strong>" in home
    r = client.post("/admin/settings/signup", data={"open": "1"}, follow_redirects=True)
    assert b"Sign-up is open" in r.data
    db_session.expire_all()
    assert db_session.get(Institution, inst.id).open_signup is True  # type: ignore[union-attr]
