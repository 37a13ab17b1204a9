"""Learning paths in a real browser: recommendation, a test-out that skips a module, the competency
dashboard, and a review coming due as the (controllable) clock moves on."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import LiveServer, axe_violations, shot
from tests.e2e.test_learner_journey import PACK, sign_in, take_until_done


@pytest.mark.usefixtures("demo_pack")
def test_placement_sets_a_starting_point(browser: Browser, live: LiveServer) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(page, live, "instructor@example.org", "teach-with-evidence")
    expect(page.get_by_role("heading", name="Needs your attention")).to_be_visible()  # their home
    page.get_by_role("link", name="Your own learning dashboard").click()  # instructors study too
    expect(page.get_by_role("heading", name="Your pace")).to_be_visible()
    assert axe_violations(page) == []  # the dashboard
    shot(page, "dashboard")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Catalogue").click()
    page.get_by_role("button", name="Take the placement test").click()
    assert axe_violations(page) == []
    # progress without a promised length: a bar and "about N more", from the stopping rule
    expect(page.locator(".progress progress")).to_be_visible()
    expect(page.locator(".progress label")).to_contain_text("more after this one")
    shot(page, "placement-question")
    take_until_done(page, live, "instructor@example.org", 40, right=lambda _: True)
    expect(page.locator(".result")).to_contain_text("Placement done.")
    # a few questions per competency set a starting point; a test-out is what confirms mastery
    expect(page.locator(".result")).to_contain_text("a test-out confirms it")
    # what it found, per competency, in words
    found = page.locator("table.placement")
    expect(found.locator("tbody tr")).to_have_count(len(PACK.competencies))
    for c in PACK.competencies:
        expect(found).to_contain_text(c.title)
    assert axe_violations(page) == []
    shot(page, "placement-result")
    page.get_by_role("link", name="See where you stand and what to study next").click()
    expect(page.locator("svg.map")).to_be_visible()
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Catalogue").click()
    expect(page.locator(".status.mastered")).to_have_count(0)
    expect(page.get_by_role("button", name="Take the placement test")).to_have_count(0)
    expect(page.get_by_role("link", name="see what it found")).to_be_visible()
    shot(page, "catalogue-after-placement")
    ctx.close()


@pytest.mark.usefixtures("demo_pack")
def test_test_out_dashboard_and_review(browser: Browser, live: LiveServer) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(page, live, "admin@example.org", "run-the-institution")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Catalogue").click()
    recommended = page.locator(".recommend", has_text="Recommended next:")
    expect(recommended).to_contain_text("Recommended next:")
    first = PACK.modules[0]
    expect(recommended).to_contain_text(first.title)

    # test out of the recommended module, answering as someone who knows it
    page.get_by_role("link", name=first.title).click()
    page.get_by_role("button", name="Test out of this module").click()
    take_until_done(page, live, "admin@example.org", 25, right=lambda _: True)
    expect(page.locator(".result")).to_contain_text("You tested out.")
    shot(page, "testout-result")

    # the module is skipped and the path moves on
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Catalogue").click()
    expect(page.locator(".recommend", has_text="Recommended next:")).not_to_contain_text(first.title)
    card = page.locator("ul.modules li", has_text=first.title)
    expect(card.locator(".status.mastered")).to_be_visible()

    # where you stand: the map, the estimate plot and its explanation
    page.get_by_role("link", name="Where you stand in this pack").click()
    expect(page.locator("svg.map")).to_be_visible()
    expect(page.locator("svg.band").first).to_be_visible()
    competency = PACK.competency(first.competencies[0]).title
    expect(page.locator(".competency", has_text=competency)).to_contain_text("you have mastered it")
    assert axe_violations(page) == []
    shot(page, "standing")

    # half a year later a review is due; a short review confirms the mastery
    live.app.config["CLOCK_OFFSET_SECONDS"] = 200 * 86400
    try:
        page.reload()
        expect(page.get_by_role("heading", name="Reviews due")).to_be_visible()
        shot(page, "review-due")
        page.get_by_role("button", name=f"Review {competency}").click()
        take_until_done(page, live, "admin@example.org", 10, right=lambda _: True)
        expect(page.locator(".result")).to_be_visible()
        page.goto(page.url.split("/assess/")[0] + "/learn/")
        page.get_by_role("link", name="Where you stand in this pack").click()
        expect(page.get_by_role("heading", name="Reviews due")).to_have_count(0)
    finally:
        live.app.config["CLOCK_OFFSET_SECONDS"] = 0
    ctx.close()
