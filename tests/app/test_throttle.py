"""Sign-in and mail throttling, through the real app and database: limits hold before any password is
hashed, and no attacker can use them to lock a learner out of their own browser."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import create_app
from app.accounts import services, throttle
from app.accounts.throttle import Limit
from app.models import ThrottleEvent
from tests.app import factories
from tests.mailbox import Mailbox


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts every Argon2 verification (the real one still runs)."""
    calls: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            calls.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(services, "_hasher", CountingHasher(time_cost=1, memory_cost=8, parallelism=1))
    return calls


def _login(client: FlaskClient, email: str, password: str, address: str) -> Any:
    return client.post("/login", data={"email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_many_failures_from_one_address_are_refused_before_any_password_is_hashed(
    app: Flask, client: FlaskClient, db_session: Session, hashes: list[str]
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="victim@example.org")
    limit = services.SIGNIN_ADDRESS
    for n in range(limit.count):  # a different account each time: only the address adds up
        assert _login(client, f"guess{n}@example.org", "wrong password", "203.0.113.9").status_code == 422
    assert len(hashes) == limit.count
    r = _login(client, "victim@example.org", factories.PASSWORD, "203.0.113.9")
    assert r.status_code == 429
    assert b"Too many failed sign-ins from your network. Please try again in 15 minutes." in r.data
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    assert b'name="email"' in r.data  # the form stays, with the message above it
    assert len(hashes) == limit.count  # refused before hashing
    # another address is not affected
    other = app.test_client()
    assert _login(other, "victim@example.org", factories.PASSWORD, "198.51.100.7").status_code == 302
    # and the window passes
    app.config["CLOCK_OFFSET_SECONDS"] = limit.window.total_seconds() + 1
    assert _login(client, "victim@example.org", factories.PASSWORD, "203.0.113.9").status_code == 302


def test_an_attacked_account_still_opens_from_its_owners_browser_and_after_a_reset(
    app: Flask, db_session: Session, hashes: list[str], mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="learner@example.org")
    owners = app.test_client()
    assert _login(owners, "learner@example.org", factories.PASSWORD, "192.0.2.1").status_code == 302
    assert owners.get_cookie(services.DEVICE_COOKIE) is not None
    owners.post("/logout")
    # a botnet: one wrong guess from each of many addresses
    attacker = app.test_client()
    limit = services.SIGNIN_ACCOUNT
    for n in range(limit.count):
        assert _login(attacker, "learner@example.org", "guess", f"198.51.100.{n}").status_code == 422
    hashed = len(hashes)
    r = _login(attacker, "learner@example.org", factories.PASSWORD, "198.51.100.200")
    assert r.status_code == 429 and b"Too many failed sign-ins to this account" in r.data
    assert b"a browser you have used before, or reset your password" in r.data
    assert len(hashes) == hashed  # not even the right password is checked
    # the owner's recognised browser is not locked out (and its own typo is an ordinary error)
    assert _login(owners, "learner@example.org", "typo", "192.0.2.1").status_code == 422
    assert _login(owners, "learner@example.org", factories.PASSWORD, "192.0.2.1").status_code == 302
    # a new browser gets in after a password reset, which always works
    fresh = app.test_client()
    fresh.post("/password/forgot", data={"email": "learner@example.org"},
               environ_base={"REMOTE_ADDR": "192.0.2.50"})
    link = next(u for u in mailbox.last("learner@example.org").links if "/password/reset/" in u)
    path = link.split("://", 1)[1].split("/", 1)[1]
    new = "a fresh long password"
    assert fresh.post(f"/{path}", data={"password": new, "confirm": new}).status_code == 302
    assert _login(app.test_client(), "learner@example.org", new, "192.0.2.51").status_code == 302


def test_the_account_limit_says_nothing_about_whether_the_account_exists(
    app: Flask, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "SIGNIN_ACCOUNT", Limit("signin-account", 3, timedelta(minutes=15)))
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="exists@example.org")
    answers = {}
    for email in ("exists@example.org", "nobody@example.org"):
        client = app.test_client()
        for n in range(services.SIGNIN_ACCOUNT.count):
            _login(client, email, "guess", f"198.51.100.{n}")
        r = _login(client, email, "guess", "198.51.100.99")
        answers[email] = (r.status_code, r.data.replace(email.encode(), b"EMAIL"))
    assert answers["exists@example.org"] == answers["nobody@example.org"]
    assert answers["nobody@example.org"][0] == 429


def test_a_recognised_browser_has_its_own_limit_and_only_for_its_account(
    app: Flask, db_session: Session, monkeypatch: pytest.MonkeyPatch, hashes: list[str]
) -> None:
    monkeypatch.setattr(services, "SIGNIN_DEVICE", Limit("signin-device", 2, timedelta(minutes=15)))
    monkeypatch.setattr(services, "SIGNIN_ACCOUNT", Limit("signin-account", 2, timedelta(minutes=15)))
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="mine@example.org")
    factories.user(db_session, inst, email="theirs@example.org")
    browser = app.test_client()
    assert _login(browser, "mine@example.org", factories.PASSWORD, "192.0.2.1").status_code == 302
    browser.post("/logout")
    # its cookie names one account: guesses at another account count against that account
    for _ in range(2):
        assert _login(browser, "theirs@example.org", "guess", "192.0.2.1").status_code == 422
    assert _login(browser, "theirs@example.org", factories.PASSWORD, "192.0.2.1").status_code == 429
    # a stolen cookie buys a few guesses, then the ordinary limits apply
    for _ in range(2 + 2):  # the device's own limit, then the account's
        assert _login(browser, "mine@example.org", "guess", "192.0.2.1").status_code == 422
    hashed = len(hashes)
    assert _login(browser, "mine@example.org", factories.PASSWORD, "192.0.2.1").status_code == 429
    assert len(hashes) == hashed


def test_a_signed_in_session_cannot_be_used_to_guess_the_current_password(
    app: Flask, db_session: Session, monkeypatch: pytest.MonkeyPatch, hashes: list[str]
) -> None:
    monkeypatch.setattr(services, "SIGNIN_DEVICE", Limit("signin-device", 2, timedelta(minutes=15)))
    monkeypatch.setattr(services, "SIGNIN_ACCOUNT", Limit("signin-account", 2, timedelta(minutes=15)))
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="borrowed@example.org")
    client = app.test_client()
    _login(client, "borrowed@example.org", factories.PASSWORD, "192.0.2.1")
    new = {"password": "a long enough password", "confirm": "a long enough password"}
    for _ in range(4):
        r = client.post("/account/password", data={**new, "current": "guess"})
        assert r.status_code == 422
    hashed = len(hashes)
    r = client.post("/account/password", data={**new, "current": factories.PASSWORD})
    assert r.status_code == 429 and b"Too many failed sign-ins to this account" in r.data
    assert len(hashes) == hashed


def test_reset_and_sign_up_mails_are_limited_per_recipient_and_per_address(
    client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="flooded@example.org")
    per_recipient = services.MAIL_RECIPIENT.count
    for n in range(per_recipient):
        r = client.post("/password/forgot", data={"email": "flooded@example.org"},
                        environ_base={"REMOTE_ADDR": f"198.51.100.{n}"})
        assert r.status_code == 200
    r = client.post("/password/forgot", data={"email": "flooded@example.org"},
                    environ_base={"REMOTE_ADDR": "198.51.100.77"})
    assert r.status_code == 429 and b"Several e-mails were sent to this address" in r.data
    r = client.post("/signup", data={"name": "F", "email": "flooded@example.org", "institution": inst.id},
                    environ_base={"REMOTE_ADDR": "198.51.100.78"})
    assert r.status_code == 429 and b"Several e-mails were sent to this address" in r.data
    assert len(mailbox.all("flooded@example.org")) == per_recipient
    # one address asking for mail to many recipients
    per_address = services.MAIL_ADDRESS.count
    for n in range(per_address):
        r = client.post("/password/forgot", data={"email": f"someone{n}@example.org"},
                        environ_base={"REMOTE_ADDR": "203.0.113.5"})
        assert r.status_code == 200
    r = client.post("/signup", data={"name": "F", "email": "another@example.org", "institution": inst.id},
                    environ_base={"REMOTE_ADDR": "203.0.113.5"})
    assert r.status_code == 429 and b"Too many e-mails were asked for from your network" in r.data
    assert mailbox.all("another@example.org") == []


def test_counts_store_no_address_and_old_ones_are_deleted(app: Flask, db_session: Session) -> None:
    limit = Limit("test-scope", 1, timedelta(minutes=1))
    with app.app_context():
        throttle.record(db_session, (limit, "203.0.113.1"), (limit, "someone@example.org"))
        keys = db_session.scalars(
            select(ThrottleEvent.key_hash).where(ThrottleEvent.scope == "test-scope")).all()
        assert len(keys) == 2 and not {"203.0.113.1", "someone@example.org"} & set(keys)
        assert throttle.wait_seconds(db_session, limit, "203.0.113.1") > 0
        app.config["CLOCK_OFFSET_SECONDS"] = (throttle.RETENTION + timedelta(minutes=1)).total_seconds()
        assert throttle.wait_seconds(db_session, limit, "203.0.113.1") == 0
        throttle.record(db_session, (limit, "203.0.113.2"))
    assert db_session.scalar(select(func.count()).select_from(ThrottleEvent)
                             .where(ThrottleEvent.scope == "test-scope")) == 1


def test_behind_a_proxy_the_forwarded_client_address_is_counted_and_otherwise_ignored(
    app: Flask, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "SIGNIN_ADDRESS", Limit("signin-address", 2, timedelta(minutes=15)))
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="proxied@example.org")

    def guesses(client: FlaskClient, forwarded_for: str) -> list[int]:
        return [client.post("/login", data={"email": f"g{n}@example.org", "password": "guess"},
                            headers={"X-Forwarded-For": forwarded_for}).status_code for n in range(3)]

    # no proxy configured: a forged header does not give an attacker fresh addresses
    assert guesses(app.test_client(), "192.0.2.1")[-1] == 429
    assert guesses(app.test_client(), "192.0.2.2")[-1] == 429
    behind = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
                         "DATABASE_URL": "sqlite://", "SESSION_COOKIE_SECURE": False, "PROXY_COUNT": 1,
                         "JOBS_IN_PROCESS": False})
    behind.extensions["thetapath.sessions"] = app.extensions["thetapath.sessions"]
    assert guesses(behind.test_client(), "198.51.100.1") == [422, 422, 429]
    assert guesses(behind.test_client(), "198.51.100.2") == [422, 422, 429]  # each client its own count
