"""Pages as a reader sees them: lesson tables keep their alignment under the CSP.

(The file name sorts after ``test_learner_journey``, which imports the demo pack through the form.)
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import LiveServer
from tests.e2e.test_learner_journey import PACK, sign_in


@pytest.mark.usefixtures("demo_pack")
def test_number_columns_of_lesson_tables_are_right_aligned_without_csp_errors(
    browser: Browser, live: LiveServer,
) -> None:
    ctx = browser.new_context()
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live, "learner@example.org", "learn-at-your-pace")
    module = next(m for m in PACK.modules if m.id == "margins-of-error")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Catalogue").click()
    page.get_by_role("link", name=module.title).click()
    page.get_by_role("link", name=module.lessons[0].title).click()
    cell = page.locator("article td.align-right").first
    expect(cell).to_be_visible()
    assert cell.evaluate("td => getComputedStyle(td).textAlign") == "right"
    assert not [e for e in errors if "Content Security Policy" in e], errors
    ctx.close()
