"""The account page through the real app and database: name, e-mail change by link, export, deletion."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts import privacy
from app.accounts.services import DEVICE_COOKIE
from app.models import (
    AbilityRecord,
    Attempt,
    AttemptStatus,
    LessonVisit,
    LoginSession,
    ModuleRow,
    PathDecisionRecord,
    Response,
    Role,
    User,
)
from content import ContentPack
from tests.app import factories
from tests.app.test_learning_flow import (  # noqa: F401
    answer_for,
    finish,
    knows,
    page_token,
    pending_item,
    secrets_of,
    sign_in,
    started,
    world,
)
from tests.mailbox import Mail, Mailbox

LEARNER = "flow-learner@example.org"


def user_by_email(db_session: Session, email: str) -> User | None:
    db_session.expire_all()
    return db_session.scalar(select(User).where(User.email == email))


def link_path(mail: Mail) -> str:
    """The path of the confirmation link in a mail."""
    [link] = [x for x in mail.links if "/account/email/confirm?token=" in x]
    return "/" + link.split("/", 3)[3]


# ------------------------------------------------------------------------------------ the page
def test_the_account_page_is_for_signed_in_users_and_the_dashboard_links_to_it(
    client: FlaskClient, db_session: Session
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="page@example.org")
    assert client.get("/account").status_code == 302  # sent to sign in
    sign_in(client, "page@example.org")
    assert 'href="/account"' in client.get("/").data.decode()
    # the name in the header of every page leads there too
    assert '<a class="who" href="/account"' in client.get("/learn/").data.decode()
    page = client.get("/account").data.decode()
    for text in ("Your name", "page@example.org", "Sign out everywhere", "signed in on 1 device",
                 'href="/account/export.json"', 'href="/account/export.zip"', 'href="/account/delete"'):
        assert text in page, text
    assert client.get("/account").headers["Cache-Control"] == "no-store"


def test_changing_the_name(client: FlaskClient, db_session: Session) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="name@example.org")
    sign_in(client, "name@example.org")
    r = client.post("/account/name", data={"name": "  Ada   Lovelace "}, follow_redirects=True)
    assert r.status_code == 200 and b"Your name is saved" in r.data
    user = user_by_email(db_session, "name@example.org")
    assert user is not None and user.name == "Ada Lovelace"
    assert b"Hello, Ada Lovelace" in client.get("/").data
    for bad, message in (("   ", b"Please enter your name"), ("x" * 201, b"at most 200 characters")):
        r = client.post("/account/name", data={"name": bad})
        assert r.status_code == 422 and message in r.data
    assert user_by_email(db_session, "name@example.org").name == "Ada Lovelace"  # type: ignore[union-attr]


def test_every_account_form_needs_a_csrf_token(app: Flask, db_session: Session) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="csrf@example.org")
    client = app.test_client()
    sign_in(client, "csrf@example.org")  # CSRF is off while signing in here
    app.config["WTF_CSRF_ENABLED"] = True
    for url, data in (("/account/name", {"name": "Mallory"}),
                      ("/account/email", {"email": "m@example.org", "password": factories.PASSWORD}),
                      ("/account/email/confirm", {"token": "x"}),
                      ("/account/delete", {"password": factories.PASSWORD})):
        r = client.post(url, data=data)
        assert r.status_code == 400 and b"The form expired" in r.data, url
    user = user_by_email(db_session, "csrf@example.org")
    assert user is not None and user.name != "Mallory"


# ------------------------------------------------------------------------------ e-mail address
def test_the_address_changes_only_when_the_link_is_followed_and_the_link_works_once(
    client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="old@example.org")
    factories.user(db_session, inst, email="taken@example.org")
    sign_in(client, "old@example.org")

    r = client.post("/account/email", data={"email": "new@example.org", "password": "not my password"})
    assert r.status_code == 422 and b"not your current password" in r.data
    r = client.post("/account/email", data={"email": "Taken@Example.org", "password": factories.PASSWORD})
    assert r.status_code == 422 and b"cannot be used for this account" in r.data
    r = client.post("/account/email", data={"email": "not an address", "password": factories.PASSWORD})
    assert r.status_code == 422 and b"does not look like an e-mail address" in r.data
    assert mailbox.all() == []

    r = client.post("/account/email", data={"email": " New@Example.org ", "password": factories.PASSWORD},
                    follow_redirects=True)
    assert r.status_code == 200 and b"We sent a link to new@example.org" in r.data
    assert user_by_email(db_session, "old@example.org") is not None  # nothing changed yet
    [mail] = mailbox.all("new@example.org")
    assert "Confirm your new e-mail address" in mail.subject
    [notice] = mailbox.all("old@example.org")
    assert "about to change" in notice.subject and "new@example.org" in notice.body
    assert "/account/email/confirm" not in notice.body  # the old address cannot confirm the change
    link = link_path(mail)

    page = client.get(link)  # opening the link shows a button and changes nothing
    assert page.status_code == 200 and b"Use new@example.org" in page.data
    assert user_by_email(db_session, "old@example.org") is not None
    token = link.split("token=", 1)[1]
    r = client.post("/account/email/confirm", data={"token": token}, follow_redirects=True)
    assert r.status_code == 200 and b"Your e-mail address is now new@example.org" in r.data
    assert user_by_email(db_session, "old@example.org") is None
    assert user_by_email(db_session, "new@example.org") is not None

    # single use: the link is bound to the address it changes
    again = client.post("/account/email/confirm", data={"token": token})
    assert again.status_code == 400 and b"already been used" in again.data
    assert client.get(link).status_code == 400
    # a tampered link is refused too
    assert client.get(link[:-3] + "abc").status_code == 400
    # the new address signs in; the old one no longer does
    client.post("/logout")
    r = client.post("/login", data={"email": "old@example.org", "password": factories.PASSWORD})
    assert r.status_code == 422
    sign_in(client, "new@example.org")


def test_a_change_link_expires_and_belongs_to_its_own_account(
    app: Flask, client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="slow@example.org")
    factories.user(db_session, inst, email="other@example.org")
    sign_in(client, "slow@example.org")
    client.post("/account/email", data={"email": "later@example.org", "password": factories.PASSWORD})
    link = link_path(mailbox.last("later@example.org"))

    someone = app.test_client()
    sign_in(someone, "other@example.org")
    r = someone.get(link)
    assert r.status_code == 422 and b"made for another account" in r.data
    r = someone.post("/account/email/confirm", data={"token": link.split("token=", 1)[1]})
    assert r.status_code == 422
    assert user_by_email(db_session, "other@example.org") is not None

    # a new password (the notice to the old address says so) cancels a pending change
    client.post("/account/email", data={"email": "cancel@example.org", "password": factories.PASSWORD})
    cancelled = link_path(mailbox.last("cancel@example.org"))
    r = client.post("/account/password", data={"current": factories.PASSWORD, "password": "a brand new one",
                                               "confirm": "a brand new one"})
    assert r.status_code == 302
    r = client.get(cancelled)
    assert r.status_code == 400 and b"already been used, or something changed" in r.data

    app.config["CLOCK_OFFSET_SECONDS"] = privacy.EMAIL_CHANGE_MAX_AGE + 60
    r = client.get(link)
    assert r.status_code == 400 and b"expired" in r.data
    r = client.post("/account/email/confirm", data={"token": link.split("token=", 1)[1]})
    assert r.status_code == 400
    assert user_by_email(db_session, "slow@example.org") is not None


def test_an_address_taken_after_the_link_was_sent_is_not_used(
    client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="first@example.org")
    sign_in(client, "first@example.org")
    client.post("/account/email", data={"email": "race@example.org", "password": factories.PASSWORD})
    token = link_path(mailbox.last("race@example.org")).split("token=", 1)[1]
    factories.user(db_session, inst, email="race@example.org")  # someone else signs up with it
    r = client.post("/account/email/confirm", data={"token": token})
    assert r.status_code == 422 and b"cannot be used for this account" in r.data
    assert user_by_email(db_session, "first@example.org") is not None


# ---------------------------------------------------------------------------------------- export
@pytest.fixture
def history(client: FlaskClient, db_session: Session, world: dict[str, object]) -> dict[str, Any]:  # noqa: F811
    """The learner read a lesson, finished one assessment and left another running; another learner
    of the same institution finished one too."""
    pack, module = world["pack"], world["module"]
    assert isinstance(pack, ContentPack) and isinstance(module, ModuleRow)
    other_module = db_session.scalar(select(ModuleRow).where(
        ModuleRow.pack_version_id == module.pack_version_id, ModuleRow.id != module.id)
        .order_by(ModuleRow.position))
    assert other_module is not None

    def consistent(_page: str, item: Any, codes: Any) -> dict[str, object]:
        return answer_for(item, knows(item, 0.4), codes)

    factories.user(db_session, world["inst"], email="bystander@example.org")  # type: ignore[arg-type]
    sign_in(client, "bystander@example.org")
    theirs = finish(client, db_session, started(client, f"/assess/modules/{module.id}/attempts"), pack,
                    consistent)
    client.post("/logout")

    sign_in(client, LEARNER)
    client.get(f"/learn/modules/{module.id}/lessons/0")
    client.get("/learn/")  # the catalogue records a path decision
    done = finish(client, db_session, started(client, f"/assess/modules/{module.id}/attempts"), pack,
                  consistent)
    running = started(client, f"/assess/modules/{other_module.id}/attempts")
    page = client.get(f"/assess/attempts/{running}").data.decode()
    item, codes = pending_item(db_session, running, pack)
    r = client.post(f"/assess/attempts/{running}/responses",
                    data={"token": page_token(page), **answer_for(item, True, codes)})
    assert r.status_code == 200
    return {"done": done.id, "running": running, "theirs": theirs.id, "pack": pack}


def test_the_json_export_holds_the_callers_own_records_and_no_answer_keys(
    client: FlaskClient, db_session: Session, history: dict[str, Any]
) -> None:
    r = client.get("/account/export.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert re.fullmatch(r'attachment; filename="thetapath-my-data-\d{4}-\d\d-\d\d\.json"',
                        r.headers["Content-Disposition"])
    assert r.headers["Cache-Control"] == "no-store"
    data = json.loads(r.data)
    assert data["format"] == "thetapath-personal-data" and data["credentials"] == []
    assert data["profile"]["email"] == LEARNER
    assert [m["role"] for m in data["memberships"]] == ["learner"]
    assert len(data["sign_ins"]) == 1 and len(data["lesson_visits"]) == 1
    assert data["lesson_visits"][0]["lesson"] == 1 and data["lesson_visits"][0]["lesson_title"]
    assert len(data["path_decisions"]) >= 1

    # exactly the caller's attempts, with every response recorded for them
    assert [a["id"] for a in data["attempts"]] == [history["done"], history["running"]]
    for attempt in data["attempts"]:
        stored = db_session.scalars(select(Response).where(Response.attempt_id == attempt["id"])
                                    .order_by(Response.position)).all()
        assert [(x["item"], x["position"]) for x in attempt["responses"]] == \
            [(s.item, s.position + 1) for s in stored]
    done, running = data["attempts"]
    assert done["status"] == "completed" and done["result"]["theta"] is not None
    assert all("score" in x and x["question"] for x in done["responses"])
    # a running attempt says nothing yet about which answers were right
    assert running["result"] is None and len(running["responses"]) == 1
    assert not {"score", "theta_after", "trial"} & set(running["responses"][0])
    # answers read in the words of the options, never as the author's option ids
    items = {i.id: i for i in history["pack"].items}
    for x in done["responses"]:
        item = items[x["item"]]
        if item.type == "single_choice":
            assert x["answer"] in [o.text for o in item.options]
    assert [e["id"] for e in data["evidence"]] == list(db_session.scalars(
        select(AbilityRecord.id).join(User).where(User.email == LEARNER).order_by(AbilityRecord.id)))
    assert [d["id"] for d in data["path_decisions"]] == list(db_session.scalars(
        select(PathDecisionRecord.id).join(User).where(User.email == LEARNER)
        .order_by(PathDecisionRecord.id)))

    text = r.data.decode()
    assert "bystander@example.org" not in text
    assert not any(s in text for s in secrets_of(history["pack"]))
    for word in ('"key"', '"irt"', '"seed"', '"option_salt"', '"pending_token"', '"token_hash"',
                 '"password', '"accepted"', '"policy"', '"state"'):
        assert word not in text, word
    # no parameter reaches anyone else's data
    for query in (f"?user_id={history['theirs']}", "?email=bystander@example.org", "?user=2"):
        assert json.loads(client.get("/account/export.json" + query).data)["profile"]["email"] == LEARNER


def test_the_csv_export_is_a_zip_of_parseable_tables_that_agree_with_the_json(
    client: FlaskClient, db_session: Session, history: dict[str, Any]
) -> None:
    client.post("/account/name", data={"name": "=HYPERLINK(\"http://evil.example\")"})
    r = client.get("/account/export.zip?user_id=1")
    assert r.status_code == 200 and r.mimetype == "application/zip"
    assert re.fullmatch(r'attachment; filename="thetapath-my-data-\d{4}-\d\d-\d\d\.zip"',
                        r.headers["Content-Disposition"])
    archive = zipfile.ZipFile(io.BytesIO(r.data))
    names = set(archive.namelist())
    assert {"README.txt", "profile.csv", "memberships.csv", "attempts.csv", "responses.csv",
            "evidence.csv", "lesson_visits.csv", "path_decisions.csv", "credentials.csv"} <= names

    def table(name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))

    data = json.loads(client.get("/account/export.json").data)
    [profile] = table("profile.csv")
    assert profile["email"] == LEARNER
    assert profile["name"].startswith("'=")  # a spreadsheet shows it as text, never runs it
    attempts = table("attempts.csv")
    assert [int(a["id"]) for a in attempts] == [history["done"], history["running"]]
    assert attempts[0]["status"] == "completed" and float(attempts[0]["theta"]) == \
        data["attempts"][0]["result"]["theta"]
    responses = table("responses.csv")
    assert len(responses) == sum(len(a["responses"]) for a in data["attempts"])
    assert {int(x["attempt_id"]) for x in responses} == {history["done"], history["running"]}
    assert all(x["score"] == "" for x in responses if int(x["attempt_id"]) == history["running"])
    assert len(table("evidence.csv")) == len(data["evidence"])
    assert table("credentials.csv") == [] and archive.read("credentials.csv").startswith(b"id,")
    everything = b"".join(archive.read(n) for n in names).decode()
    assert "bystander@example.org" not in everything
    assert not any(s in everything for s in secrets_of(history["pack"]))


# -------------------------------------------------------------------------------------- deletion
def item_counts(db_session: Session) -> dict[str, tuple[int, int]]:
    """Per item, how many responses and points the institution has: what item statistics use."""
    db_session.expire_all()
    return {item: (n, points) for item, n, points in db_session.execute(
        select(Response.item, func.count(), func.sum(Response.score)).group_by(Response.item))}


def test_deleting_the_account_removes_the_person_and_keeps_the_statistics(
    app: Flask, client: FlaskClient, db_session: Session, history: dict[str, Any]
) -> None:
    learner = user_by_email(db_session, LEARNER)
    assert learner is not None
    uid = learner.id
    # a free-text answer with personal words in it (the adaptive test may or may not have picked one
    # of the module's two text questions, so one is added to the finished attempt)
    n = db_session.scalar(select(func.count()).select_from(Response).where(
        Response.attempt_id == history["done"]))
    db_session.add(Response(attempt_id=history["done"], position=n, item="dd-020",
                            answer="Ada Lovelace, 12 St James's Square", score=0, max_score=1,
                            theta=0.0, se=1.0, token="free-text"))
    db_session.commit()
    phone = app.test_client()
    sign_in(phone, LEARNER)
    before = item_counts(db_session)
    evidence = db_session.scalar(select(func.count()).select_from(AbilityRecord)
                                 .where(AbilityRecord.user_id == uid))
    assert evidence and db_session.scalar(select(func.count()).select_from(PathDecisionRecord)
                                          .where(PathDecisionRecord.user_id == uid))

    page = client.get("/account/delete").data.decode()
    assert "cannot be undone" in page and "without your name" in page
    r = client.post("/account/delete", data={"password": "not my password"})
    assert r.status_code == 422 and b"not your current password" in r.data
    assert user_by_email(db_session, LEARNER) is not None

    assert client.get_cookie(DEVICE_COOKIE) is not None  # a recognised browser
    r = client.post("/account/delete", data={"password": factories.PASSWORD}, follow_redirects=True)
    assert r.status_code == 200 and b"Your account is deleted and you are signed out" in r.data
    assert client.get_cookie(DEVICE_COOKIE) is None  # it no longer keeps a trace of the account
    assert b"Learn at your own pace" in r.data  # the visitors' page

    db_session.expire_all()
    gone = db_session.get(User, uid)
    assert gone is not None and gone.name == privacy.DELETED_NAME and gone.daily_goal is None
    assert gone.email == f"deleted-{uid}@deleted.invalid" and LEARNER not in gone.password_hash
    assert db_session.scalar(select(func.count()).select_from(LoginSession)
                             .where(LoginSession.user_id == uid)) == 0
    assert phone.get("/learn/").status_code == 302  # every device is signed out
    for model in (LessonVisit, PathDecisionRecord):
        assert db_session.scalar(select(func.count()).select_from(model).where(model.user_id == uid)) == 0
    # the institution's item statistics and the learner's estimates are unchanged
    assert item_counts(db_session) == before
    assert db_session.scalar(select(func.count()).select_from(AbilityRecord)
                             .where(AbilityRecord.user_id == uid)) == evidence
    assert {a.id for a in db_session.scalars(select(Attempt).where(Attempt.user_id == uid))} == \
        {history["done"], history["running"]}
    answers = {r.item: r.answer for r in db_session.scalars(
        select(Response).where(Response.attempt_id == history["done"]))}
    assert answers["dd-020"] == ""  # typed text is erased; its score stays
    assert any(a for i, a in answers.items() if i != "dd-020")  # chosen options stay for statistics
    # the old credentials sign in nowhere, and the address is free for a new account
    r = client.post("/login", data={"email": LEARNER, "password": factories.PASSWORD})
    assert r.status_code == 422
    # (create_user is what every sign-up path ends in; it refuses an address that is taken)
    factories.user(db_session, gone.memberships[0].institution, email=LEARNER)
    sign_in(client, LEARNER)
    assert user_by_email(db_session, LEARNER).id != uid  # type: ignore[union-attr]


def test_a_failed_deletion_changes_nothing(
    client: FlaskClient, db_session: Session, history: dict[str, Any]
) -> None:
    learner = user_by_email(db_session, LEARNER)
    assert learner is not None
    uid, name, password_hash = learner.id, learner.name, learner.password_hash
    # the pseudonymous address is already taken, so the last step of the deletion fails
    factories.user(db_session, learner.memberships[0].institution, email=f"deleted-{uid}@deleted.invalid")
    before = item_counts(db_session)
    counts = {m.__name__: db_session.scalar(select(func.count()).select_from(m).where(m.user_id == uid))
              for m in (LoginSession, LessonVisit, PathDecisionRecord, AbilityRecord)}
    answers = [r.answer for r in db_session.scalars(select(Response).join(Attempt)
                                                    .where(Attempt.user_id == uid))]
    r = client.post("/account/delete", data={"password": factories.PASSWORD})
    assert r.status_code == 500 and b"Nothing was saved" in r.data
    db_session.expire_all()
    again = db_session.get(User, uid)
    assert again is not None and (again.name, again.email, again.password_hash) == \
        (name, LEARNER, password_hash)
    assert counts == {m.__name__: db_session.scalar(select(func.count()).select_from(m)
                                                    .where(m.user_id == uid))
                      for m in (LoginSession, LessonVisit, PathDecisionRecord, AbilityRecord)}
    assert counts["LoginSession"] == 1 and counts["LessonVisit"] == 1
    assert answers == [r.answer for r in db_session.scalars(select(Response).join(Attempt)
                                                            .where(Attempt.user_id == uid))]
    assert item_counts(db_session) == before
    assert client.get("/account").status_code == 200  # still signed in


def test_the_only_administrator_cannot_leave_the_institution_without_one(
    client: FlaskClient, db_session: Session
) -> None:
    inst = factories.institution(db_session, name="Lonely College")
    factories.user(db_session, inst, Role.ADMIN, email="boss@example.org")
    sign_in(client, "boss@example.org")
    r = client.post("/account/delete", data={"password": factories.PASSWORD})
    assert r.status_code == 422 and b"the only administrator of Lonely College" in r.data
    assert user_by_email(db_session, "boss@example.org") is not None
    factories.user(db_session, inst, Role.ADMIN, email="deputy@example.org")
    r = client.post("/account/delete", data={"password": factories.PASSWORD})
    assert r.status_code == 303 and user_by_email(db_session, "boss@example.org") is None


def test_attempts_of_a_deleted_account_stay_with_its_institution(
    client: FlaskClient, db_session: Session, history: dict[str, Any]
) -> None:
    """An instructor still sees the attempt in the institution's records, without the person."""
    client.post("/account/delete", data={"password": factories.PASSWORD})
    db_session.expire_all()
    done = db_session.get(Attempt, history["done"])
    assert done is not None and done.status is AttemptStatus.COMPLETED
    owner = db_session.get(User, done.user_id)
    assert owner is not None and privacy.is_deleted(owner) and owner.memberships


def test_password_guesses_on_the_account_forms_are_limited_like_sign_ins(
    client: FlaskClient, db_session: Session
) -> None:
    """A browser left signed in cannot be used to guess the password through the delete form.

    (It is a recognised browser, so it has 10 tries of its own before the account's 10 apply.)
    """
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="guessed@example.org")
    sign_in(client, "guessed@example.org")
    for n in range(20):
        r = client.post("/account/delete", data={"password": f"guess number {n}"})
        assert r.status_code == 422
    r = client.post("/account/delete", data={"password": factories.PASSWORD})
    assert r.status_code == 429 and b"Too many failed sign-ins" in r.data
    r = client.post("/account/email", data={"email": "elsewhere@example.org", "password": factories.PASSWORD})
    assert r.status_code == 429
    assert user_by_email(db_session, "guessed@example.org") is not None
