"""An instructor recalibrates in a real browser: asks for a report, watches its progress bar (the live
app's own job thread runs it), reads what would change, approves it, and rolls it back. The pages
are axe-clean, and a screenshot of each step is kept."""

from __future__ import annotations

from playwright.sync_api import Browser, expect
from sqlalchemy import select

from app import db
from app.demo import DEMO_INSTITUTION
from app.models import Attempt, Institution, PackVersion, ParameterVersion
from tests.app.test_recalibration import seed_pilot_answers
from tests.e2e.conftest import LiveServer, axe_violations, shot
from tests.e2e.test_learner_journey import sign_in


def test_an_instructor_approves_a_recalibration_and_rolls_it_back(
        browser: Browser, live: LiveServer, demo_pack: None) -> None:
    app = live.app
    with app.app_context():
        session = db.session()
        inst = session.scalar(select(Institution).where(Institution.slug == DEMO_INSTITUTION[0]))
        assert inst is not None
        version = session.scalar(select(PackVersion).where(PackVersion.institution_id == inst.id))
        assert version is not None
        _module, pilot, _waiting = seed_pilot_answers(session, inst, version, learners=300)
        version_id = version.id
    app.config["RECALIBRATION_MIN_RESPONSES"] = 100
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live, "instructor@example.org", "teach-with-evidence")
    page.goto(f"{live.url}/author/versions/{version_id}/recalibration")
    ask = page.get_by_role("button", name="Recalibrate from the responses so far")
    ask.or_(page.get_by_role("button", name="Recalibrate again from every response")).first.click()
    # the progress fragment polls until the job is done, then links to the report
    results = page.get_by_role("link", name="See the results")
    approve = page.get_by_role("button", name="Approve: use these parameters for new attempts")
    expect(results.or_(approve).first).to_be_visible(timeout=60_000)
    if results.count():
        results.click()
    expect(page.get_by_role("heading", name="What would change")).to_be_visible()
    expect(page.get_by_text("would get another decision on")).to_be_visible()
    expect(page.locator("td code", has_text=pilot.id).first).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "recalibration-report")

    approve.click()
    expect(page.get_by_text("Parameter version 1 is in use")).to_be_visible()
    expect(page.get_by_role("heading", name="Parameter versions")).to_be_visible()
    assert axe_violations(page) == []
    shot(page, "recalibration-approved")
    with app.app_context():
        numbers = db.session().scalars(select(ParameterVersion.number)
                                       .where(ParameterVersion.pack_version_id == version_id))
        assert sorted(numbers) == [0, 1]

    page.get_by_role("button", name="Roll back to version 0").click()
    expect(page.get_by_text("Parameter version 0 is in use again for new attempts.")).to_be_visible()
    expect(page.get_by_role("button", name="Use version 1")).to_be_visible()
    shot(page, "recalibration-rolled-back")
    with app.app_context():  # the attempts made before keep the parameters they ran on: none
        assert db.session().scalar(select(Attempt.id).where(
            Attempt.pack_version_id == version_id, Attempt.parameter_version_id.is_not(None))) is None
