"""Sign-up, sign-in, sign-out through the real app and database."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import LoginSession, Membership, Role, User
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


def test_a_cookie_copied_before_sign_out_stops_working(app: Flask, db_session: Session) -> None:
    inst = factories.institution(db_session, name="Revocation College")
    factories.user(db_session, inst, email="rev@example.org")
    laptop = app.test_client()
    laptop.post("/login", data={"email": "rev@example.org", "password": factories.PASSWORD})
    copied = laptop.get_cookie("session")
    assert copied is not None
    thief = app.test_client()
    thief.set_cookie(copied.key, copied.value)
    assert b"Revocation College" in thief.get("/").data  # the copy works while the sign-in lasts
    laptop.post("/logout")
    assert b"Revocation College" not in thief.get("/").data
    assert thief.get("/learn/").status_code == 302  # sent to sign in
    assert db_session.scalar(select(func.count()).select_from(LoginSession)) == 0


def test_sign_out_everywhere_ends_every_sign_in_of_that_user_only(
    app: Flask, db_session: Session
) -> None:
    inst = factories.institution(db_session, name="Everywhere College")
    factories.user(db_session, inst, email="many@example.org")
    factories.user(db_session, inst, email="other@example.org")
    phone, laptop, someone = app.test_client(), app.test_client(), app.test_client()
    for client, email in ((phone, "many@example.org"), (laptop, "many@example.org"),
                          (someone, "other@example.org")):
        client.post("/login", data={"email": email, "password": factories.PASSWORD})
    page = laptop.get("/").data.decode()
    assert "Sign out everywhere" in page
    r = laptop.post("/logout/everywhere", follow_redirects=True)
    assert b"signed out everywhere (2 sign-ins ended)" in r.data
    assert phone.get("/learn/").status_code == 302 and laptop.get("/learn/").status_code == 302
    assert someone.get("/learn/").status_code == 200  # another person's sign-in is untouched
    # only a hash of each token is stored
    stored = db_session.scalars(select(LoginSession.token_hash)).all()
    cookie = someone.get_cookie("session")
    assert len(stored) == 1 and cookie is not None and stored[0] not in cookie.value


def test_signed_in_pages_are_not_cached_and_the_server_does_not_name_its_software(
    client: FlaskClient, db_session: Session
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="cache@example.org")
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    client.post("/login", data={"email": "cache@example.org", "password": factories.PASSWORD})
    for url in ("/", "/learn/"):
        assert client.get(url).headers["Cache-Control"] == "no-store"

    import threading
    import urllib.request

    from werkzeug.serving import make_server

    from app.web.server import QuietRequestHandler

    server = make_server("127.0.0.1", 0, client.application, request_handler=QuietRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/login", timeout=10) as r:
            assert r.headers["Server"] == "Thetapath"
    finally:
        server.shutdown()
        thread.join(5)
