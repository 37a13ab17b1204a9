"""The account page in a real browser: name, e-mail change by mail, both downloads, deleting the account.

At desktop width and at 390 px (a phone). The file name sorts after ``test_learner_journey``, which
imports the demo pack through the upload form (see ``tests/e2e/conftest.py``).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from app import db
from app.accounts.services import create_user
from app.demo import DEMO_INSTITUTION
from app.models import Institution, Role
from tests.e2e.conftest import LiveServer, axe_violations, shot
from tests.e2e.test_learner_journey import PACK, sign_in, take_until_done

EMAIL = "leaving@example.org"
NEW_EMAIL = "moved@example.org"
PASSWORD = "a password for leaving"


def _account(live: LiveServer) -> None:
    with live.app.app_context():
        session = db.session()
        inst = session.query(Institution).filter_by(slug=DEMO_INSTITUTION[0]).one()
        create_user(session, name="Lee Leaving", email=EMAIL, password=PASSWORD, institution=inst,
                    role=Role.LEARNER)
        session.commit()


def _download(page: Page, link: str, folder: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role("link", name=link).click()
    download = info.value
    target = folder / download.suggested_filename
    download.save_as(target)
    return target


def _fits(page: Page) -> None:
    """Nothing sticks out sideways (no horizontal scrolling)."""
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.usefixtures("demo_pack")
def test_profile_name_email_export_and_delete(browser: Browser, live: LiveServer, tmp_path: Path) -> None:
    _account(live)
    other = browser.new_context()  # signed in on a second device, which deleting signs out
    sign_in(other.new_page(), live, EMAIL, PASSWORD)

    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    sign_in(page, live, EMAIL, PASSWORD)
    # something to export: a lesson read and three answers of an assessment still running
    module = PACK.modules[0]
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Catalogue").click()
    page.get_by_role("link", name=module.title).click()
    page.get_by_role("link", name=module.lessons[0].title).click()
    page.goto(f"{live.url}/learn/")
    page.get_by_role("link", name=module.title).click()
    page.get_by_role("button", name="Start the assessment").click()
    take_until_done(page, live, EMAIL, 10, stop_after=3)

    # the dashboard leads to the account page
    page.goto(live.url)
    page.get_by_role("link", name="go to your account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.get_by_text("signed in on 2 devices")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "profile")

    # the name
    page.get_by_label("Your name").fill("Lee Renamed")
    page.get_by_role("button", name="Save my name").click()
    expect(page.locator(".flash")).to_contain_text("Your name is saved.")
    expect(page.get_by_label("Your name")).to_have_value("Lee Renamed")
    page.get_by_label("Your name").fill("")
    page.get_by_role("button", name="Save my name").click()
    expect(page.locator("ul.errors")).to_contain_text("Please enter your name.")
    assert axe_violations(page) == []  # the error is tied to its field

    # the e-mail address: a link to the new address, a notice to the old one
    page.goto(f"{live.url}/account")
    page.get_by_label("New e-mail address").fill(NEW_EMAIL)
    page.get_by_label("Your current password").fill(PASSWORD)
    page.get_by_role("button", name="Send the confirmation link").click()
    expect(page.locator(".flash")).to_contain_text(f"We sent a link to {NEW_EMAIL}")
    assert "about to change" in live.mailbox.last(EMAIL).subject
    link = next(u for u in live.mailbox.last(NEW_EMAIL).links if "/account/email/confirm" in u)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your new e-mail address")
    assert axe_violations(page) == []
    shot(page, "profile-email-confirm")
    page.get_by_role("button", name=f"Use {NEW_EMAIL}").click()
    expect(page.locator(".flash")).to_contain_text(f"Your e-mail address is now {NEW_EMAIL}")

    # both downloads
    data = json.loads(_download(page, "Download as JSON", tmp_path).read_text(encoding="utf-8"))
    assert data["profile"] == {**data["profile"], "name": "Lee Renamed", "email": NEW_EMAIL}
    [attempt] = data["attempts"]
    assert attempt["module"] == module.title and len(attempt["responses"]) == 3
    assert len(data["lesson_visits"]) == 1 and data["credentials"] == []
    archive = _download(page, "Download as CSV files (zip)", tmp_path)
    assert archive.name.startswith("thetapath-my-data-") and archive.suffix == ".zip"
    with zipfile.ZipFile(archive) as z:
        responses = list(csv.DictReader(io.StringIO(z.read("responses.csv").decode("utf-8"))))
    assert len(responses) == 3

    # at a phone's width
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live.url}/account")
    _fits(page)
    assert axe_violations(page) == []
    shot(page, "profile-390")

    # deleting the account
    page.get_by_role("link", name="Delete my account…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your account")
    _fits(page)
    assert axe_violations(page) == []
    shot(page, "profile-delete-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_label("Your password").fill("not the password")
    page.get_by_role("button", name="Delete my account").click()
    expect(page.locator("ul.errors")).to_contain_text("That is not your current password.")
    assert axe_violations(page) == []
    shot(page, "profile-delete")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    expect(page.locator(".flash")).to_contain_text("Your account is deleted and you are signed out.")
    expect(page.get_by_role("link", name="Sign in", exact=True)).to_be_visible()
    shot(page, "profile-deleted")

    # signed out on the other device too, and the old sign-in works nowhere
    other_page = other.pages[0]
    other_page.goto(f"{live.url}/account")
    expect(other_page.get_by_role("heading", level=1)).to_have_text("Sign in")
    other_page.get_by_label("E-mail address").fill(NEW_EMAIL)
    other_page.get_by_label("Password").fill(PASSWORD)
    other_page.get_by_role("button", name="Sign in").click()
    expect(other_page.locator("ul.errors")).to_contain_text("do not match an account")
    other.close()
    ctx.close()
