"""A person's whole journey in a real browser, with JavaScript and without, plus accessibility checks."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import text

from app.assess.services import OptionCodes, option_codes
from content import ContentPack, Item, load_pack
from tests.e2e.conftest import LiveServer, axe_violations, shot

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"
PACK: ContentPack = load_pack(DEMO)
ITEMS = {item.id: item for item in PACK.items}


def sign_in(page: Page, live: LiveServer, email: str, password: str) -> None:
    page.goto(f"{live.url}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")


def pending(live: LiveServer, email: str) -> tuple[Item, OptionCodes]:
    """The item on screen and its option ids in this attempt, read from the database (the page itself
    never says which item it is, and its option ids are opaque)."""
    with live.app.extensions["thetapath.engine"].connect() as conn:
        row = conn.execute(text(
            "select a.id, a.seed, a.option_salt, a.state from attempt a join user_account u "
            "on u.id = a.user_id where u.email = :email and a.status = 'active' order by a.id desc limit 1"),
            {"email": email}).one()
    state = json.loads(row.state) if isinstance(row.state, str) else row.state
    item = ITEMS[state["pending"]]
    salt = row.option_salt or f"attempt-{row.id}-{row.seed}"
    return item, option_codes(salt, item)


def answer(page: Page, item: Item, codes: OptionCodes, right: bool) -> None:
    """Fill the form on screen as a learner would (the test knows the key; the page does not)."""
    key = item.key
    o = codes.option
    if item.type == "single_choice":
        choice = str(key) if right else next(opt.id for opt in item.options if opt.id != key)
        page.locator(f'input[name="answer"][value="{o(choice)}"]').check()
    elif item.type == "multiple_choice":
        assert isinstance(key, tuple)
        chosen = list(key) if right else [opt.id for opt in item.options if opt.id not in key][:1] or [key[0]]
        for option_id in chosen:
            page.locator(f'input[name="answer"][value="{o(option_id)}"]').check()
    elif item.type in ("numeric", "short_text"):
        text = (str(key) if item.type == "numeric" else item.accepted[0]) if right else "12345"
        page.locator('input[name="answer"]').fill(text)
    elif item.type == "ordering":
        assert isinstance(key, tuple)
        order = list(key) if right else list(reversed(key))
        for option_id in key:
            page.locator(f'select[name="rank-{o(option_id)}"]').select_option(str(order.index(option_id) + 1))
    elif item.type == "matching":
        assert isinstance(key, tuple)
        targets = [t.id for t in item.targets]
        for source, target in key:
            page.locator(f'select[name="match-{codes.source(source)}"]').select_option(
                codes.target(target if right else next(t for t in targets if t != target)))
    page.get_by_role("button", name="Submit my answer").click()


def knows(item: Item) -> bool:
    """A consistent learner a little above average: right exactly on the items easier than 0.4."""
    p = item.parameters()
    return (sum(p.thresholds) / len(p.thresholds) if p.thresholds else p.b) < 0.4


def blind(page: Page, item: Item) -> None:
    """Answer without reading the question: the first option on screen (the first k of a multiple-choice
    item with k keys), the order shown, each source to the target in its own position, "0" typed."""
    form = page.locator("form.item")
    if item.type == "single_choice":
        form.locator('input[type="radio"]').first.check()
    elif item.type == "multiple_choice":
        k = len(item.key) if isinstance(item.key, tuple) else 1
        for n in range(k):
            form.locator('input[type="checkbox"]').nth(n).check()
    elif item.type in ("ordering", "matching"):
        selects = form.locator("select")
        for n in range(selects.count()):
            if item.type == "ordering":
                selects.nth(n).select_option(str(n + 1))
            else:
                selects.nth(n).select_option(index=1 + n % len(item.targets))
    else:
        form.locator('input[name="answer"]').fill("0")
    page.get_by_role("button", name="Submit my answer").click()


def take_until_done(page: Page, live: LiveServer, email: str, limit: int, *, stop_after: int = 0,
                    right: Callable[[Item], bool] = knows, question_blind: bool = False) -> int:
    """Answer questions (by default as a consistent learner, :func:`knows`; with ``question_blind``, by
    :func:`blind`) until the result shows, or until ``stop_after`` answers; returns how many were
    answered."""
    for n in range(limit):
        if page.get_by_role("heading", name="Your result").count():
            return n
        expect(page.get_by_role("button", name="Submit my answer")).to_be_visible()
        token = page.locator('input[name="token"]').get_attribute("value")
        item, codes = pending(live, email)
        if question_blind:
            blind(page, item)
        else:
            answer(page, item, codes, right=right(item))
        # the panel is replaced: a new question (new token) or the result
        page.wait_for_function(
            "t => { const e = document.querySelector('input[name=token]'); return !e || e.value !== t; }",
            arg=token)
        expect(page.locator(".feedback")).to_be_visible()
        if stop_after and n + 1 >= stop_after:
            return n + 1
    pytest.fail("the assessment never stopped")


def test_sign_up_import_study_assess_resume(browser: Browser, live: LiveServer, tmp_path: Path) -> None:
    # an instructor imports the demo pack through the upload form
    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(page, live, "instructor@example.org", "teach-with-evidence")
    page.get_by_role("link", name="Content packs").click()
    archive = shutil.make_archive(str(tmp_path / "data-literacy"), "zip", DEMO)
    page.get_by_label("Content pack (.zip)").set_input_files(archive)
    page.get_by_role("button", name="Check and import").click()
    expect(page.locator(".flash")).to_contain_text("Imported Data literacy version 1.0.0")
    shot(page, "author-packs")
    assert axe_violations(page) == []
    # stored, not live: the instructor previews it as a learner would see it, then publishes it
    page.get_by_role("link", name="Preview Data literacy 1.0.0").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Content packs").click()
    page.get_by_role("button", name="Publish Data literacy 1.0.0").click()
    expect(page.locator(".flash")).to_contain_text("is live: learners see it in the catalogue")
    ctx.close()

    # a visitor signs up
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(live.url)
    assert axe_violations(page) == []
    shot(page, "welcome")
    page.get_by_role("link", name="Create an account").first.click()
    page.get_by_label("Your name").fill("Sam Student")
    page.get_by_label("E-mail address").fill("sam@example.org")
    page.get_by_label("Institution").select_option(label="Demo University")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your e-mail")
    # the link in the mail opens the page that sets the password and creates the account
    link = next(u for u in live.mailbox.last("sam@example.org").links if "/signup/confirm/" in u)
    page.goto(link)
    page.get_by_label("New password", exact=True).fill("a good long password")
    page.get_by_label("Repeat the new password").fill("a good long password")
    assert axe_violations(page) == []
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hello, Sam Student")

    # reads a lesson
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Catalogue").click()
    expect(page.get_by_role("heading", name="What you can study")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "catalogue")
    first_module = PACK.modules[0]
    page.get_by_role("link", name=first_module.title).click()
    assert axe_violations(page) == []
    shot(page, "module")
    page.get_by_role("link", name=first_module.lessons[0].title).click()
    expect(page.locator("article")).to_contain_text(first_module.lessons[0].title)
    images = page.locator("article img")
    for i in range(images.count()):
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0")
    assert axe_violations(page) == []
    shot(page, "lesson")
    # math is typeset by KaTeX (served from npm, no inline script): a lesson with formulas
    maths = next(m for m in PACK.modules for lesson in m.lessons if "$" in lesson.markdown)
    position = next(i for i, lesson in enumerate(maths.lessons) if "$" in lesson.markdown)
    page.goto(f"{live.url}/learn/")
    page.get_by_role("link", name=maths.title).click()
    page.get_by_role("link", name=maths.lessons[position].title).click()
    expect(page.locator("article .katex").first).to_be_visible()
    assert page.locator("article .math").count() == page.locator("article .math[data-typeset]").count()
    assert axe_violations(page) == []
    shot(page, "lesson-with-math")

    # starts the adaptive assessment, answers three questions (htmx swaps the panel in place)
    page.goto(f"{live.url}/learn/")
    page.get_by_role("link", name=first_module.title).click()
    page.get_by_role("button", name="Start the assessment").click()
    url = page.url
    assert axe_violations(page) == []
    shot(page, "question")
    take_until_done(page, live, "sam@example.org", 40, stop_after=3)
    assert page.url == url  # no page load: the item panel was swapped in place
    shot(page, "feedback")
    ctx.close()  # closes the browser window mid-assessment

    # comes back later, signs in, resumes exactly where they were
    ctx = browser.new_context()
    page = ctx.new_page()
    sign_in(page, live, "sam@example.org", "a good long password")
    page.goto(f"{live.url}/learn/")
    page.get_by_role("link", name=first_module.title).click()
    page.get_by_role("link", name="Resume the assessment").click()
    expect(page.locator("form.item .progress")).to_contain_text("Question 4")
    take_until_done(page, live, "sam@example.org", 40)
    expect(page.locator("svg.band")).to_be_visible()
    expect(page.locator(".result")).to_contain_text("Most likely it lies between")
    assert axe_violations(page) == []
    shot(page, "result")
    ctx.close()


@pytest.mark.usefixtures("demo_pack")
def test_the_whole_assessment_works_without_javascript(browser: Browser, live: LiveServer) -> None:
    ctx = browser.new_context(java_script_enabled=False)
    page = ctx.new_page()
    sign_in(page, live, "learner@example.org", "learn-at-your-pace")
    page.goto(f"{live.url}/learn/")
    module = PACK.modules[1]
    page.get_by_role("link", name=module.title).click()
    page.get_by_role("button", name="Start the assessment").click()
    answered = take_until_done(page, live, "learner@example.org", 40)
    assert answered >= 1
    expect(page.locator(".result")).to_contain_text("on a 0–100 scale")
    assert re.search(r"/assess/attempts/\d+/responses$", page.url)  # plain form posts
    shot(page, "result-without-javascript")
    ctx.close()
