"""Outgoing mail and the tokens its links carry: SMTP to a real local server, the log without one,
failures told plainly, links from the configured address."""

from __future__ import annotations

import logging
import socket
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import config
from app.accounts import tokens
from app.mail import MailError, external_url, send_mail
from app.models import User
from tests.app import factories
from tests.mailbox import LINK, Mailbox


def test_mail_goes_through_smtp_as_plain_text(app: Flask, mailbox: Mailbox) -> None:
    with app.test_request_context():
        send_mail("learner@example.org", "Grüße", "Line one\nhttps://example.org/x\n")
    mail = mailbox.last("learner@example.org")
    assert mail.subject == "Grüße" and mail.body == "Line one\nhttps://example.org/x\n"
    assert mail.message.get_content_type() == "text/plain"
    assert mail.message["Message-ID"].endswith("@thetapath.test>") and mail.message["Date"]


def test_without_an_smtp_server_mail_goes_to_the_log_and_its_link_works(
    client: FlaskClient, db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    inst = factories.institution(db_session)
    with caplog.at_level(logging.INFO, logger="app.mail"):
        r = client.post("/signup", data={"name": "Logged", "email": "logged@example.org",
                                         "institution": inst.id})
    assert r.status_code == 200
    record = next(r for r in caplog.records if r.name == "app.mail")
    assert record.levelno == logging.WARNING and "THETAPATH_SMTP_HOST" in record.getMessage()
    text = record.getMessage()
    assert "To: logged@example.org" in text and "Subject: Finish creating your Thetapath account" in text
    link = urlsplit(next(u for u in LINK.findall(text) if "/signup/confirm/" in u)).path
    r = client.post(link, data={"password": "a long enough password", "confirm": "a long enough password"})
    assert r.status_code == 302
    assert db_session.scalar(select(User.id).where(User.email == "logged@example.org")) is not None


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_mail_server_that_cannot_be_reached_is_told_plainly_without_revealing_accounts(
    app: Flask, client: FlaskClient, db_session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_closed_port(), SMTP_STARTTLS=False, SMTP_TIMEOUT=2)
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="known@example.org")
    # sign-up mails every address, so the failure is the same for all: say so (503)
    for email in ("known@example.org", "new@example.org"):
        r = client.post("/signup", data={"name": "N", "email": email, "institution": inst.id})
        assert r.status_code == 503 and b"The e-mail could not be sent just now" in r.data
    # a reset mails only accounts: the answer stays the same, the failure goes to the log
    with caplog.at_level(logging.ERROR):
        answers = {email: client.post("/password/forgot", data={"email": email}).data.replace(
            email.encode(), b"EMAIL") for email in ("known@example.org", "unknown@example.org")}
    assert answers["known@example.org"] == answers["unknown@example.org"]
    assert any("Could not send mail to known@example.org" in r.getMessage() for r in caplog.records)


def test_starttls_is_required_unless_switched_off(app: Flask, mailbox: Mailbox) -> None:
    app.config["SMTP_STARTTLS"] = True  # the local server offers no TLS: nothing goes out in clear
    with app.test_request_context(), pytest.raises(MailError):
        send_mail("x@example.org", "Secret link", "body")
    assert mailbox.all() == []


def test_a_header_cannot_be_injected(app: Flask, mailbox: Mailbox) -> None:
    with app.test_request_context(), pytest.raises(ValueError, match="line break"):
        send_mail("x@example.org\nBcc: all@example.org", "Hi", "body")
    with app.test_request_context(), pytest.raises(ValueError, match="line break"):
        send_mail("x@example.org", "Hi\r\nBcc: all@example.org", "body")
    assert mailbox.all() == []


def test_links_use_base_url_so_a_forged_host_cannot_redirect_them(
    app: Flask, client: FlaskClient, db_session: Session, mailbox: Mailbox
) -> None:
    inst = factories.institution(db_session)
    factories.user(db_session, inst, email="target@example.org")
    client.post("/password/forgot", data={"email": "target@example.org"},
                headers={"Host": "evil.example"})
    # without BASE_URL the request's host is trusted (the web server must pass on only the site's own)
    assert urlsplit(mailbox.last("target@example.org").links[0]).netloc == "evil.example"
    app.config["BASE_URL"] = "https://learn.example.edu"
    client.post("/password/forgot", data={"email": "target@example.org"},
                headers={"Host": "evil.example"})
    assert mailbox.last("target@example.org").links[0].startswith("https://learn.example.edu/password/reset/")
    with app.test_request_context(base_url="http://evil.example"):
        assert external_url("accounts.login") == "https://learn.example.edu/login"


# ------------------------------------------------------------------------------ tokens
def test_tokens_are_bound_to_their_purpose_their_age_and_their_state(app: Flask) -> None:
    with app.app_context():
        token = tokens.make_token("email-change", {"uid": 7, "fp": tokens.fingerprint("old@example.org")})
        data = tokens.read_token("email-change", token, max_age=60)
        assert data["uid"] == 7
        tokens.require_fingerprint(data, "old@example.org")
        with pytest.raises(tokens.TokenInvalid):
            tokens.require_fingerprint(data, "new@example.org")  # the state changed: used
        with pytest.raises(tokens.TokenInvalid):
            tokens.read_token("password-reset", token, max_age=60)  # another purpose
        with pytest.raises(tokens.TokenInvalid):
            tokens.read_token("email-change", token[:-2] + ("xy" if not token.endswith("xy") else "zz"), 60)
        with pytest.raises(tokens.TokenInvalid):
            tokens.read_token("email-change", "not a token", max_age=60)
        assert tokens.fingerprint("old@example.org") not in ("old@example.org", "")
        app.config["CLOCK_OFFSET_SECONDS"] = 61
        with pytest.raises(tokens.TokenExpired, match="expired"):
            tokens.read_token("email-change", token, max_age=60)
        app.config["SECRET_KEY"] = "another-secret"
        app.config["CLOCK_OFFSET_SECONDS"] = 0
        with pytest.raises(tokens.TokenInvalid):
            tokens.read_token("email-change", token, max_age=60)  # signed with the app's key


# ------------------------------------------------------------------------------ settings
def test_mail_settings_come_from_the_environment_and_bad_ones_are_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = {"THETAPATH_SMTP_HOST": "smtp.example.edu", "THETAPATH_SMTP_PORT": "2525",
           "THETAPATH_SMTP_STARTTLS": "false", "THETAPATH_MAIL_FROM": "Learning <learn@example.edu>",
           "THETAPATH_BASE_URL": "https://learn.example.edu/", "THETAPATH_PROXY_COUNT": "1"}
    loaded = config.load(str(tmp_path), environ=env)
    assert (loaded["SMTP_HOST"], loaded["SMTP_PORT"], loaded["SMTP_STARTTLS"]) == \
        ("smtp.example.edu", 2525, False)
    assert loaded["BASE_URL"] == "https://learn.example.edu" and loaded["PROXY_COUNT"] == 1
    for key, value, message in (("SMTP_PORT", "smtp", "whole number"), ("SMTP_SSL", "maybe", "true or false"),
                                ("BASE_URL", "learn.example.edu", "public address"),
                                ("PROXY_COUNT", "-1", "number of proxies")):
        with pytest.raises(config.ConfigError, match=message):
            config.load(str(tmp_path), environ={f"THETAPATH_{key}": value})
