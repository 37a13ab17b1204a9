"""Forgot password → mail → reset → sign in, in a real browser, through the real local SMTP server.

The file name sorts after ``test_learner_journey`` (see ``tests/e2e/conftest.py``).
"""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from app import db
from app.accounts.services import create_user
from app.demo import DEMO_INSTITUTION
from app.models import Institution, Role
from tests.e2e.conftest import LiveServer, axe_violations, shot
from tests.e2e.test_learner_journey import sign_in

EMAIL = "forgetful@example.org"


def _account(live: LiveServer) -> None:
    with live.app.app_context():
        session = db.session()
        inst = session.query(Institution).filter_by(slug=DEMO_INSTITUTION[0]).one()
        create_user(session, name="Fran Forgetful", email=EMAIL, password="the password I forgot",
                    institution=inst, role=Role.LEARNER)
        session.commit()


def test_forgot_password_mail_reset_and_sign_in(browser: Browser, live: LiveServer) -> None:
    _account(live)
    # signed in on another device, which the reset will sign out
    other = browser.new_context()
    other_page = other.new_page()
    sign_in(other_page, live, EMAIL, "the password I forgot")

    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{live.url}/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Forgot your password?")
    assert axe_violations(page) == []
    shot(page, "password-forgot")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    assert axe_violations(page) == []
    shot(page, "password-check-email")

    mail = live.mailbox.last(EMAIL)
    assert mail.subject == "Choose a new Thetapath password"
    link = next(u for u in mail.links if "/password/reset/" in u)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat the new password").fill("short")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.locator("ul.errors")).to_contain_text("Use at least 10 characters.")
    assert axe_violations(page) == []
    page.get_by_label("New password", exact=True).fill("a password I will remember")
    page.get_by_label("Repeat the new password").fill("a password I will remember")
    shot(page, "password-reset")
    page.get_by_role("button", name="Save the new password").click()
    expect(page.locator(".flash")).to_contain_text("signed out everywhere")
    assert axe_violations(page) == []
    shot(page, "password-reset-done")

    # the other device is signed out; the used link says so and offers a new one
    other_page.reload()
    expect(other_page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign in")) \
        .to_be_visible()
    other.close()
    page.goto(link)
    expect(page.get_by_role("alert")).to_contain_text("already been used")
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "password-link-used")

    # the old password no longer works; the new one does
    page.goto(f"{live.url}/login")
    page.get_by_label("E-mail address").fill(EMAIL)
    page.get_by_label("Password").fill("the password I forgot")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("ul.errors")).to_contain_text("do not match an account")
    sign_in(page, live, EMAIL, "a password I will remember")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello, Fran Forgetful")
    ctx.close()
