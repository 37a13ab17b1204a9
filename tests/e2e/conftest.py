"""Real-browser tests: the app served on 127.0.0.1 from a fresh SQLite database, Debian's Chromium.

Screenshots go to ``THETAPATH_ARTIFACTS`` (default ``build/e2e``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Frame, Page, Playwright, sync_playwright
from werkzeug.serving import make_server

from app import create_app, db
from app.demo import ensure_demo
from app.jobs.workers import stop_in_process
from app.migrate import upgrade
from tests.conftest import fresh_database
from tests.mailbox import Mailbox, SMTPServer

CHROMIUM = os.environ.get("THETAPATH_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).parents[2]
ARTIFACTS = Path(os.environ.get("THETAPATH_ARTIFACTS", ROOT / "build" / "e2e"))
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage"]

if not Path(CHROMIUM).exists():  # pragma: no cover - .ci/run installs it
    pytest.fail(f"Chromium not found at {CHROMIUM}; install Debian's chromium package", pytrace=False)


class LiveServer:
    """The app in a background thread; ``url`` is its base address, ``mailbox`` the mail it sent."""

    def __init__(self, app: Flask, mailbox: Mailbox) -> None:
        self.app = app
        self.mailbox = mailbox
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._thread.join(5)


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, smtp_server: SMTPServer) -> Iterator[LiveServer]:
    """A demo institution with its accounts (no content yet: the instructor imports it in a test)."""
    url = fresh_database("thetapath_e2e", tmp_path_factory.mktemp("e2e"))
    app = create_app({"SECRET_KEY": "e2e-secret", "DATABASE_URL": url,
                      "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
                      **smtp_server.config})
    with app.extensions["thetapath.engine"].begin() as conn:
        upgrade(conn)
    with app.app_context():
        ensure_demo(db.session(), with_pack=False)
    with LiveServer(app, smtp_server.mailbox) as server:
        yield server
    stop_in_process(app)  # its job thread, if a test gave it work
    app.extensions["thetapath.engine"].dispose()


@pytest.fixture
def demo_pack(live: LiveServer) -> None:
    """The demo pack, imported unless the journey test already did (importing is idempotent)."""
    with live.app.app_context():
        ensure_demo(db.session())


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    yield browser
    browser.close()


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot as a test artefact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Page | Frame) -> list[dict[str, Any]]:
    """Serious or critical axe-core violations on the current page (or in a frame of it)."""
    # evaluated through the DevTools protocol, which the page's CSP (no inline scripts) rightly
    # does not allow from within the page
    page.evaluate(f"() => {{ {AXE.read_text(encoding='utf-8')}\n window.axe = axe; }}")
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
