"""Sign-up, sign-in, sign-out through the real app and database."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Membership, Role, User
from tests.app import factories


def test_a_visitor_signs_up_as_a_learner_and_lands_on_the_dashboard(
    client: FlaskClient, db_session: Session
) -> None:
    inst = factories.institution(db_session, name="Open University of Tests")
    db_session.commit()
    page = client.get("/signup")
    assert page.status_code == 200 and b"Open University of Tests" in page.data
    response = client.post("/signup", data={
        "name": "Ada", "email": " Ada@Example.org ", "institution": inst.id,
        "password": "a long enough password", "confirm": "a long enough password"},
        follow_redirects=True)
    assert response.status_code == 200
    assert b"Hello, Ada" in response.data
    user = db_session.scalar(select(User).where(User.email == "ada@example.org"))
    assert user is not None and user.password_hash.startswith("$argon2id$")
    membership = db_session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership is not None and membership.role is Role.LEARNER


def test_sign_up_problems_are_explained_and_write_nothing(client: FlaskClient, db_session: Session) -> None:
    inst = factories.institution(db_session)
    closed = factories.institution(db_session, open_signup=False)
    factories.user(db_session, inst, email="taken@example.org")
    base = {"name": "B", "institution": inst.id, "password": "a long enough password",
            "confirm": "a long enough password"}
    r = client.post("/signup", data={**base, "email": "taken@example.org"})
    assert r.status_code == 422 and b"already exists" in r.data
    r = client.post("/signup", data={**base, "email": "new@example.org", "confirm": "different!!!"})
    assert r.status_code == 422 and b"The two passwords differ" in r.data
    r = client.post("/signup", data={**base, "email": "new@example.org", "password": "short",
                                     "confirm": "short"})
    assert r.status_code == 422 and b"at least 10 characters" in r.data
    r = client.post("/signup", data={**base, "email": "new@example.org", "institution": closed.id})
    assert r.status_code == 422
    assert db_session.scalar(select(User).where(User.email == "new@example.org")) is None


def test_sign_in_and_out(client: FlaskClient, db_session: Session) -> None:
    inst = factories.institution(db_session, name="Sign-in College")
    factories.user(db_session, inst, email="lea@example.org")
    r = client.post("/login", data={"email": "lea@example.org", "password": "wrong password"})
    assert r.status_code == 422 and b"do not match an account" in r.data
    r = client.post("/login", data={"email": "LEA@example.org", "password": factories.PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert b"Sign-in College" in client.get("/").data
    assert client.get("/logout").status_code == 405  # a link cannot sign you out
    r = client.post("/logout", follow_redirects=True)
    assert b"You are signed out" in r.data
    assert b"Learn at your own pace" in client.get("/").data


def test_sign_in_never_redirects_off_site(client: FlaskClient, db_session: Session) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="x@example.org")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil"):
        r = client.post(f"/login?next={target}",
                        data={"email": "x@example.org", "password": factories.PASSWORD})
        assert r.headers["Location"] == "/"
        client.post("/logout")


def test_forms_need_a_csrf_token(app: Flask, db_session: Session) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="c@example.org")
    client = app.test_client()
    r = client.post("/login", data={"email": "c@example.org", "password": factories.PASSWORD})
    assert r.status_code == 400
    assert b"The form expired or was sent from elsewhere" in r.data
