"""Trustworthy evidence in a real browser (issue 9): a test-out answered without reading the questions
is refused and the waiting period holds; a pattern no ability explains is flagged, and the
institution's instructor sees the flag.

The file name sorts after ``test_learner_journey``, whose instructor imports the demo pack through the
upload form before any test imports it through the ``demo_pack`` fixture.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from app import db
from app.accounts.services import create_user
from app.demo import DEMO_INSTITUTION
from app.models import Institution, Role
from content import Item
from tests.e2e.conftest import LiveServer, axe_violations, shot
from tests.e2e.test_learner_journey import PACK, sign_in, take_until_done


def _account(live: LiveServer, email: str, name: str) -> None:
    with live.app.app_context():
        session = db.session()
        inst = session.query(Institution).filter_by(slug=DEMO_INSTITUTION[0]).one()
        create_user(session, name=name, email=email, password="a good long password",
                    institution=inst, role=Role.LEARNER)
        session.commit()


def _inverted(item: Item) -> bool:
    """Right on the questions harder than average, wrong on the easier ones."""
    p = item.parameters()
    return (sum(p.thresholds) / len(p.thresholds) if p.thresholds else p.b) >= 0.0


@pytest.mark.usefixtures("demo_pack")
def test_a_question_blind_test_out_is_refused_and_an_aberrant_one_is_flagged(
    browser: Browser, live: LiveServer,
) -> None:
    module, first = PACK.modules[1], PACK.modules[0]
    _account(live, "bot@example.org", "Constant Clicker")
    _account(live, "odd@example.org", "Odd Pattern")

    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(page, live, "bot@example.org", "a good long password")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Catalogue").click()
    page.get_by_role("link", name=module.title).click()
    expect(page.get_by_role("heading", name="How attempts count")).to_be_visible()
    expect(page.locator("ul.policy")).to_contain_text("at least 10 scored questions")
    page.get_by_role("button", name="Test out of this module").click()
    take_until_done(page, live, "bot@example.org", 25, question_blind=True)
    expect(page.locator(".result")).not_to_contain_text("You tested out.")
    expect(page.locator(".review")).to_contain_text("The right answer:")  # only now, for these items
    assert axe_violations(page) == []
    shot(page, "testout-refused")
    page.get_by_role("link", name="Back to the module").click()
    expect(page.get_by_text("You can start a new attempt from").first).to_be_visible()
    expect(page.get_by_role("button", name="Test out of this module")).to_have_count(0)
    expect(page.get_by_role("button", name="Start the assessment")).to_have_count(0)
    ctx.close()

    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(page, live, "odd@example.org", "a good long password")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Catalogue").click()
    page.get_by_role("link", name=first.title).click()
    page.get_by_role("button", name="Test out of this module").click()
    take_until_done(page, live, "odd@example.org", 25, right=_inverted)
    expect(page.locator(".result")).to_contain_text("could not be scored reliably")
    shot(page, "attempt-flagged")
    ctx.close()

    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(page, live, "instructor@example.org", "teach-with-evidence")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Flagged attempts").click()
    row = page.locator("tr", has_text="Odd Pattern")
    expect(row).to_contain_text(first.title)
    expect(row).to_contain_text("test-out")
    assert axe_violations(page) == []
    shot(page, "flagged-attempts")
    ctx.close()
