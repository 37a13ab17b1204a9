"""An LTI launch in a real browser, inside the platform's iframe, with third-party cookies blocked.

The platform (``tests/app/lti_platform.py``, built on ``lti1p3platform``) serves a course page on
``localhost``; the tool is served on ``127.0.0.1``, another site, so everything in the iframe is
third-party. Chromium runs with ``--test-third-party-cookie-phaseout`` (third-party cookies blocked, as
browsers now do by default). The login keeps its state on the server, and with ``FRAME_ANCESTORS`` set
the session cookie is partitioned (CHIPS), so the learner is launched into the module, signed in, and
can start its assessment (a form with its CSRF token) without leaving the iframe.
"""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Playwright, expect
from sqlalchemy import select

from app import create_app, db
from app.accounts.services import create_institution
from app.lti.tool import register_platform
from app.migrate import upgrade
from app.models import ModuleRow
from app.packstore import import_pack
from tests.app.lti_platform import LoopbackPlatform
from tests.app.test_credentials import DEMO
from tests.conftest import fresh_database
from tests.e2e.conftest import CHROMIUM, FLAGS, LiveServer, axe_violations, shot
from tests.mailbox import SMTPServer


def test_a_launch_inside_the_platforms_iframe_works_with_third_party_cookies_blocked(
        playwright: Playwright, smtp_server: SMTPServer, tmp_path: Path) -> None:
    url = fresh_database("thetapath_lti_iframe", tmp_path)
    app = create_app({"SECRET_KEY": "e2e-secret", "DATABASE_URL": url, "JOBS_IN_PROCESS": False,
                      "FRAME_ANCESTORS": "http://localhost:*", **smtp_server.config})
    assert app.config["SESSION_COOKIE_PARTITIONED"] and app.config["SESSION_COOKIE_SAMESITE"] == "None"
    with app.extensions["thetapath.engine"].begin() as conn:
        upgrade(conn)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=[*FLAGS, "--test-third-party-cookie-phaseout"])
    try:
        with LiveServer(app, smtp_server.mailbox) as tool:
            platform = LoopbackPlatform(tool=tool.url, host_name="localhost")
            platform.browser = True
            with app.app_context():
                session = db.session()
                inst = create_institution(session, slug="lms-u", name="LMS University", open_signup=False)
                version = import_pack(session, inst, DEMO, None).version
                module = session.scalars(select(ModuleRow).where(ModuleRow.pack_version_id == version.id)
                                         .order_by(ModuleRow.position)).first()
                assert module is not None
                title, module_id = module.title, module.id
                register_platform(session, inst, **platform.register_args())
            platform.user.target = f"{tool.url}/learn/modules/{module_id}"
            try:
                page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
                page.goto(f"{platform.url}/course")
                frame = page.frame_locator("#tool")
                expect(frame.get_by_role("heading", name=title, exact=True)).to_be_visible()
                expect(frame.get_by_text("LMS University")).to_be_visible()  # signed in, in the iframe
                frame.get_by_role("button", name="Start the assessment").click()  # a form with its CSRF token
                expect(frame.get_by_role("button", name="Submit my answer")).to_be_visible()
                shot(page, "lti-iframe-assessment")
                inner = next(f for f in page.frames if f.url.startswith(tool.url))
                assert "/assess/attempts/" in inner.url
                cookies = [c for c in page.context.cookies(tool.url) if c["name"] == "session"]
                assert cookies and cookies[0]["sameSite"] == "None" and cookies[0]["secure"]
                assert axe_violations(inner) == []  # the tool's page, in the frame
                # the browser does block third-party cookies: in the tool's frame an unpartitioned
                # cookie is not kept, a partitioned one is
                kept = inner.evaluate("""() => {
                    document.cookie = "plain=1; SameSite=None; Secure; Path=/";
                    document.cookie = "chips=1; SameSite=None; Secure; Partitioned; Path=/";
                    return document.cookie; }""")
                assert "chips=1" in kept and "plain=1" not in kept
            finally:
                platform.close()
    finally:
        browser.close()
        app.extensions["thetapath.engine"].dispose()
