"""Sign-up, sign-in, sign-out through the real app and database."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts import services
from app.models import LoginSession, Membership, Role, User
from tests.app import factories
from tests.mailbox import Mail, Mailbox


def _link(mail: Mail, fragment: str) -> str:
    """The path of the one link in ``mail`` that contains ``fragment`` (the test client wants paths)."""
    found = [link for link in mail.links if fragment in link]
    assert len(found) == 1, mail.body
    parts = urlsplit(found[0])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def sign_up(client: FlaskClient, mailbox: Mailbox, email: str, institution_id: int,
            password: str = "a long enough password", name: str = "Ada") -> FlaskClient:
    """Sign up through the form and the e-mailed link, as a person would."""
    r = client.post("/signup", data={"name": name, "email": email, "institution": institution_id})
    assert r.status_code == 200 and b"Check your e-mail" in r.data
    link = _link(mailbox.last(email.strip().lower()), "/signup/confirm/")
    r = client.post(link, data={"password": password, "confirm": password})
    assert r.status_code == 302, r.data
    return client


def test_a_visitor_signs_up_through_the_mailed_link_and_lands_on_the_dashboard(
    client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session, name="Open University of Tests")
    db_session.commit()
    page = client.get("/signup")
    assert page.status_code == 200 and b"Open University of Tests" in page.data
    assert b'type="password"' not in page.data  # the password is chosen on the mailed link's page
    r = client.post("/signup", data={"name": "Ada", "email": " Ada@Example.org ", "institution": inst.id})
    assert r.status_code == 200 and b"Check your e-mail" in r.data
    # nothing exists until the link is opened
    assert db_session.scalar(select(User).where(User.email == "ada@example.org")) is None
    mail = mailbox.last("ada@example.org")
    assert mail.subject == "Finish creating your Thetapath account"
    assert mail.message["From"] == "Thetapath tests <tests@thetapath.test>"
    assert "Open University of Tests" in mail.body and "password" not in _link(mail, "/signup/")
    assert "Ada" not in mail.body  # a stranger cannot put words of their own into someone's inbox
    link = _link(mail, "/signup/confirm/")
    page = client.get(link)
    assert page.status_code == 200 and b"ada@example.org" in page.data
    r = client.post(link, data={"password": "short", "confirm": "short"})
    assert r.status_code == 422 and b"at least 10 characters" in r.data
    r = client.post(link, data={"password": "a long enough password", "confirm": "different!!!!"})
    assert r.status_code == 422 and b"The two passwords differ" in r.data
    r = client.post(link, data={"password": "a long enough password", "confirm": "a long enough password"},
                    follow_redirects=True)
    assert r.status_code == 200 and b"Hello, Ada" in r.data
    user = db_session.scalar(select(User).where(User.email == "ada@example.org"))
    assert user is not None and user.password_hash.startswith("$argon2id$")
    membership = db_session.scalar(select(Membership).where(Membership.user_id == user.id))
    assert membership is not None and membership.role is Role.LEARNER and membership.institution_id == inst.id
    # the link worked once: now it says the account exists
    client.post("/logout")
    r = client.get(link)
    assert r.status_code == 400 and b"already used" in r.data
    assert b'<a class="button" href="/login">Sign in</a>' in r.data
    r = client.post(link, data={"password": "another long password", "confirm": "another long password"})
    assert r.status_code == 400
    assert db_session.scalar(select(func.count()).select_from(User).where(
        User.email == "ada@example.org")) == 1


def test_sign_up_answers_the_same_whether_or_not_the_address_has_an_account(
    client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="taken@example.org")
    answers = {}
    for email in ("taken@example.org", "fresh@example.org"):
        r = client.post("/signup", data={"name": "B", "email": email, "institution": inst.id})
        answers[email] = (r.status_code, r.data.replace(email.encode(), b"EMAIL"))
    assert answers["taken@example.org"] == answers["fresh@example.org"]
    assert answers["fresh@example.org"][0] == 200
    # only the owner of the address learns that it has an account, with ways back in
    owner = mailbox.last("taken@example.org")
    assert "already have an account" in owner.body
    assert _link(owner, "/login") == "/login" and _link(owner, "/password/forgot") == "/password/forgot"
    assert "/signup/confirm/" not in owner.body
    assert db_session.scalar(select(func.count()).select_from(User).where(
        User.email == "taken@example.org")) == 1


def test_sign_up_problems_are_explained_and_write_or_send_nothing(
    client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    closed = factories.institution(db_session, open_signup=False)
    base = {"name": "B", "institution": inst.id}
    r = client.post("/signup", data={**base, "email": "not an address"})
    assert r.status_code == 422 and b"Invalid email address" in r.data
    r = client.post("/signup", data={**base, "email": "new@example.org", "institution": closed.id})
    assert r.status_code == 422 and b"Not a valid choice" in r.data  # not offered, not accepted
    r = client.post("/signup", data={**base, "email": "new@example.org", "name": ""})
    assert r.status_code == 422
    assert db_session.scalar(select(User).where(User.email == "new@example.org")) is None
    assert mailbox.all() == []


def test_a_sign_up_link_that_expired_or_was_altered_says_so(
    app: Flask, client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    client.post("/signup", data={"name": "Late", "email": "late@example.org", "institution": inst.id})
    link = _link(mailbox.last("late@example.org"), "/signup/confirm/")
    r = client.get(link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb"))
    assert r.status_code == 400 and b"not valid" in r.data and b'href="/signup"' in r.data
    app.config["CLOCK_OFFSET_SECONDS"] = services.SIGNUP_MAX_AGE + 60
    r = client.get(link)
    assert r.status_code == 400 and b"This link has expired" in r.data and b"Start again" in r.data
    r = client.post(link, data={"password": "a long enough password", "confirm": "a long enough password"})
    assert r.status_code == 400
    assert db_session.scalar(select(User).where(User.email == "late@example.org")) is None


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
    page = laptop.get("/account").data.decode()
    assert '<button type="submit"' in page and "Sign out everywhere</button>" in page
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


# ------------------------------------------------------------------------------ passwords
def _signed_in(app: Flask, email: str, password: str = factories.PASSWORD) -> FlaskClient:
    client = app.test_client()
    r = client.post("/login", data={"email": email, "password": password})
    assert r.status_code == 302, r.data
    return client


def test_a_password_change_asks_the_current_one_and_ends_every_other_sign_in(
    app: Flask, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session, name="Change College")
    user = factories.user(db_session, inst, email="change@example.org")
    factories.user(db_session, inst, email="bystander@example.org")
    laptop, phone = _signed_in(app, "change@example.org"), _signed_in(app, "change@example.org")
    bystander = _signed_in(app, "bystander@example.org")
    assert laptop.get("/account/password").status_code == 200
    new = "a brand new passphrase"
    r = laptop.post("/account/password", data={"current": "not my password", "password": new, "confirm": new})
    assert r.status_code == 422 and b"That is not your current password" in r.data
    r = laptop.post("/account/password", data={"current": factories.PASSWORD, "password": "short",
                                                "confirm": "short"})
    assert r.status_code == 422 and b"at least 10 characters" in r.data
    before = user.password_hash
    r = laptop.post("/account/password", data={"current": factories.PASSWORD, "password": new,
                                                "confirm": new}, follow_redirects=True)
    assert r.status_code == 200 and b"Your password is changed (1 other sign-in ended)" in r.data
    db_session.refresh(user)
    assert user.password_hash != before
    assert laptop.get("/learn/").status_code == 200  # this sign-in stays
    assert phone.get("/learn/").status_code == 302  # the other one ended
    assert bystander.get("/learn/").status_code == 200  # someone else's is untouched
    assert app.test_client().post("/login", data={"email": "change@example.org",
                                                  "password": factories.PASSWORD}).status_code == 422
    _signed_in(app, "change@example.org", new)
    notice = mailbox.last("change@example.org")  # the owner hears of it, with the way back
    assert notice.subject == "Your Thetapath password was changed"
    assert _link(notice, "/password/forgot") == "/password/forgot" and new not in notice.body


def test_the_password_page_needs_a_sign_in(client: FlaskClient) -> None:
    r = client.get("/account/password")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login")


def test_a_password_reset_by_mail_ends_every_sign_in_and_works_once(
    app: Flask, client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    user = factories.user(db_session, inst, email="forgetful@example.org")
    laptop, phone = _signed_in(app, user.email), _signed_in(app, user.email)
    page = client.get("/login")
    assert b'href="/password/forgot"' in page.data
    r = client.post("/password/forgot", data={"email": "Forgetful@Example.org"})
    assert r.status_code == 200 and b"Check your e-mail" in r.data
    mail = mailbox.last("forgetful@example.org")
    assert mail.subject == "Choose a new Thetapath password"
    link = _link(mail, "/password/reset/")
    page = client.get(link)
    assert page.status_code == 200 and b"forgetful@example.org" in page.data
    r = client.post(link, data={"password": "short", "confirm": "short"})
    assert r.status_code == 422 and b"at least 10 characters" in r.data
    new = "remembered at last, surely"
    r = client.post(link, data={"password": new, "confirm": new}, follow_redirects=True)
    assert r.status_code == 200 and b"signed out everywhere" in r.data
    assert laptop.get("/learn/").status_code == 302 and phone.get("/learn/").status_code == 302
    assert db_session.scalar(select(func.count()).select_from(LoginSession).where(
        LoginSession.user_id == user.id)) == 0
    # single use: the same link no longer works, and offers a new one
    r = client.get(link)
    assert r.status_code == 400 and b"already been used" in r.data
    assert b'href="/password/forgot">Ask for a new link' in r.data
    r = client.post(link, data={"password": "yet another password", "confirm": "yet another password"})
    assert r.status_code == 400
    # the new password signs in, the old one does not
    assert app.test_client().post("/login", data={"email": user.email,
                                                  "password": factories.PASSWORD}).status_code == 422
    _signed_in(app, user.email, new)


def test_a_reset_request_answers_the_same_for_an_unknown_address_and_mails_no_link(
    client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="known@example.org")
    answers = {}
    for email in ("known@example.org", "unknown@example.org"):
        r = client.post("/password/forgot", data={"email": email})
        answers[email] = (r.status_code, r.data.replace(email.encode(), b"EMAIL"))
    assert answers["known@example.org"] == answers["unknown@example.org"]
    # both get a mail (so the request takes as long either way); only the account holder's has a link
    assert sorted(m.to for m in mailbox.all()) == ["known@example.org", "unknown@example.org"]
    assert "/password/reset/" in mailbox.last("known@example.org").body
    notice = mailbox.last("unknown@example.org").body
    assert "/password/reset/" not in notice and "no Thetapath account uses it" in notice


def test_a_reset_link_expires_and_cannot_be_altered_or_used_for_something_else(
    app: Flask, client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="slow@example.org")
    client.post("/password/forgot", data={"email": "slow@example.org"})
    link = _link(mailbox.last("slow@example.org"), "/password/reset/")
    token = link.rsplit("/", 1)[1]
    # a reset token is no sign-up token
    r = client.get(f"/signup/confirm/{token}")
    assert r.status_code == 400 and b"not valid" in r.data
    r = client.get(link[:-4] + "AAAA")
    assert r.status_code == 400 and b"not valid" in r.data
    app.config["CLOCK_OFFSET_SECONDS"] = services.RESET_MAX_AGE + 1
    r = client.get(link)
    assert r.status_code == 400 and b"This link has expired" in r.data
    assert b"Ask for a new link" in r.data
    r = client.post(link, data={"password": "a long enough password", "confirm": "a long enough password"})
    assert r.status_code == 400
    assert app.test_client().post("/login", data={"email": "slow@example.org",
                                                  "password": factories.PASSWORD}).status_code == 302


def test_a_password_change_also_voids_an_earlier_reset_link(
    app: Flask, client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="both@example.org")
    client.post("/password/forgot", data={"email": "both@example.org"})
    link = _link(mailbox.last("both@example.org"), "/password/reset/")
    signed_in = _signed_in(app, "both@example.org")
    new = "changed while signed in"
    assert signed_in.post("/account/password", data={"current": factories.PASSWORD, "password": new,
                                                      "confirm": new}).status_code == 302
    assert client.get(link).status_code == 400


def test_the_new_forms_need_a_csrf_token(app: Flask, db_session: Session, mailbox: Mailbox) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="csrf@example.org")
    signed_in = _signed_in(app, "csrf@example.org")
    app.config["WTF_CSRF_ENABLED"] = True
    password = {"password": "a long enough password", "confirm": "a long enough password"}
    for client, url, data in (
        (app.test_client(), "/signup", {"name": "C", "email": "c2@example.org", "institution": inst.id}),
        (app.test_client(), "/password/forgot", {"email": "csrf@example.org"}),
        (app.test_client(), "/password/reset/whatever", password),
        (app.test_client(), "/signup/confirm/whatever", password),
        (signed_in, "/account/password", {**password, "current": factories.PASSWORD}),
    ):
        r = client.post(url, data=data)
        assert r.status_code == 400 and b"The form expired or was sent from elsewhere" in r.data, url
    assert mailbox.all() == []
