"""A credential in a real browser: the demo graduate (who earned *Data reader* by answering through the
engine; the live app's job thread issued it) opens the wallet, downloads the credential and verifies
it on the public verifier; the admin revokes it, and the share page and the verifier say so. Axe-clean
pages and a screenshot of each step. (The file name sorts after the journeys that import the demo pack
through the form.)"""

from __future__ import annotations

import json
import time
from pathlib import Path

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from app import db
from app.demo import DEMO_ACCOUNTS, DEMO_INSTITUTION, GRADUATE, seed_graduate
from app.models import Credential, Institution, User
from tests.e2e.conftest import LiveServer, axe_violations, shot
from tests.e2e.test_learner_journey import sign_in

ADMIN = DEMO_ACCOUNTS[2]


def _issued(live: LiveServer) -> Credential:
    """The graduate's Data reader credential, once the job thread has issued it."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with live.app.app_context():
            session = db.session()
            found = session.scalar(select(Credential).join(User, User.id == Credential.user_id)
                                   .where(User.email == GRADUATE.email, Credential.rule == "data-reader"))
            if found is not None:
                session.expunge(found)
                return found
        time.sleep(0.2)
    msg = "the graduate's credential was not issued within 60 s"
    raise AssertionError(msg)


def _checked(page: Page, name: str) -> None:
    assert axe_violations(page) == []
    shot(page, name)


def test_a_graduate_downloads_and_verifies_a_badge_and_sees_it_revoked(
        browser: Browser, live: LiveServer, demo_pack: None, tmp_path: Path) -> None:
    with live.app.app_context():
        session = db.session()
        inst = session.scalar(select(Institution).where(Institution.slug == DEMO_INSTITUTION[0]))
        assert inst is not None
        seed_graduate(session, inst)
    credential = _issued(live)

    page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    sign_in(page, live, GRADUATE.email, GRADUATE.password)
    page.goto(f"{live.url}/wallet/")
    expect(page.get_by_role("heading", name="Data reader")).to_be_visible()
    expect(page.get_by_text("an estimate of").first).to_be_visible()
    _checked(page, "wallet")
    card = page.get_by_role("article").filter(has=page.get_by_role("heading", name="Data reader"))
    with page.expect_download() as download:
        card.get_by_role("link", name="Download (Open Badges 3.0, JSON)").click()
    saved = tmp_path / "badge.json"
    download.value.save_as(saved)
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert document["id"].endswith(credential.id) and document["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"

    page.goto(f"{live.url}/verify")
    page.get_by_label("The credential (JSON or JWT)").fill(saved.read_text(encoding="utf-8"))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Valid: Data reader")).to_be_visible()
    _checked(page, "verify-valid")

    # the whole transcript (CLR 2.0), downloaded from the wallet and verified with each credential in it
    page.goto(f"{live.url}/wallet/")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download (signed VC-JWT)").click()
    transcript = tmp_path / "transcript.jwt"
    download.value.save_as(transcript)
    page.goto(f"{live.url}/verify")
    page.get_by_label("Or its file").set_input_files(str(transcript))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Valid: Comprehensive Learner Record from")).to_be_visible()
    expect(page.get_by_text("Data reader: valid (signature, validity and status hold).")).to_be_visible()
    _checked(page, "verify-transcript")

    page.context.clear_cookies()
    sign_in(page, live, ADMIN.email, ADMIN.password)
    page.goto(f"{live.url}/admin/credentials")
    row = page.get_by_role("row").filter(has_text="Data reader").filter(has_text="Demo graduate")
    row.get_by_label("Reason").fill("Issued in error during a demonstration.")
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Data reader is revoked: verifiers now say so.")).to_be_visible()
    _checked(page, "credentials-revoked")

    page.goto(f"{live.url}/credentials/{credential.id}")
    expect(page.get_by_role("heading", name="Not valid")).to_be_visible()
    expect(page.get_by_text("Its issuer has revoked it.")).to_be_visible()
    _checked(page, "credential-page-revoked")
    page.goto(f"{live.url}/verify")
    page.get_by_label("Or its file").set_input_files(str(saved))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Not valid: Data reader")).to_be_visible()
