"""Every page a visitor, a learner and an instructor can reach, at phone width (390 px, and 320 px as a
sanity check) and at desktop width (1280 px): nothing scrolls sideways and each header item stays on
one line; at 390 and 1280 px axe finds nothing serious, and a screenshot ``<page>-<width>.png`` is kept.

To check another page, add a :class:`Screen` to ``SCREENS``: a name, who looks at it and where it is
(a path, formatted with the ids of :class:`World`, or a function that brings the page there).

The window is a narrow desktop window, not an emulated phone: an emulated phone zooms out to fit a page
that is too wide, which would hide the very overflow these tests look for.

(The file name sorts after ``test_learner_journey``, which imports the demo pack through the form.)
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import select, text

from app import db
from app.accounts.invitations import new_invitation
from app.accounts.services import create_user
from app.demo import DEMO_INSTITUTION, GRADUATE, ensure_demo, seed_graduate
from app.models import Institution, PackVersion, Role
from tests.app.test_pack_versions import _changed_copy, _zipped
from tests.e2e.conftest import LiveServer, axe_violations, shot
from tests.e2e.test_learner_journey import PACK, answer, pending, sign_in, take_until_done
from tests.e2e.test_wallet_journey import _issued

WIDTHS = (320, 390, 1280)
SHOTS = (390, 1280)  # widths with a screenshot and an accessibility check
HEIGHTS = {320: 640, 390: 844, 1280: 900}
PASSWORD = "a good long password"
LEARNER = "phone@example.org"  # a long name and every kind of attempt
FLAGGED = "phone-flagged@example.org"  # a finished attempt the instructor sees flagged
INSTRUCTOR = "instructor@example.org"
ADMIN = "admin@example.org"
PASSWORDS = {LEARNER: PASSWORD, FLAGGED: PASSWORD, INSTRUCTOR: "teach-with-evidence",
             ADMIN: "run-the-institution", GRADUATE.email: GRADUATE.password}

FIGURE_MODULE = "margins-of-error"  # its first lesson has a table, its second the confidence-interval figure


@dataclass
class World:
    """The live server with the accounts and attempts the screens show; ``ids`` fill path templates."""

    live: LiveServer
    ids: dict[str, int | str] = field(default_factory=dict)
    sessions: dict[str, Any] = field(default_factory=dict)  # e-mail -> Playwright storage state

    def url(self, path: str) -> str:
        return self.live.url + path.format(**self.ids)


Go = str | Callable[[Page, World], object]


@dataclass(frozen=True)
class Screen:
    """One page to check: ``who`` is an e-mail address of :data:`PASSWORDS`, or None for a visitor."""

    name: str
    who: str | None
    go: Go


def _failed_sign_in(page: Page, world: World) -> None:
    page.goto(world.url("/login"))
    page.get_by_label("E-mail address").fill("nobody-with-a-rather-long-address@example.org")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".errors, .flash").first).to_be_visible()


def _failed_sign_up(page: Page, world: World) -> None:
    page.goto(world.url("/signup"))
    page.get_by_label("E-mail address").fill("not an address")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("ul.errors").first).to_be_visible()


def _feedback(page: Page, world: World) -> None:
    """Answer one question of an attempt kept for this: the feedback shows above the next question."""
    page.goto(world.url("/assess/attempts/{feedback}"))
    token = page.locator('input[name="token"]').get_attribute("value")
    item, codes = pending(world.live, LEARNER)  # the learner's newest active attempt: this one
    answer(page, item, codes, right=False)
    page.wait_for_function(
        "t => { const e = document.querySelector('input[name=token]'); return !e || e.value !== t; }",
        arg=token)
    expect(page.locator(".feedback")).to_be_visible()


def _rejected_upload(page: Page, world: World) -> None:
    """A pack with faults: the problems are listed, each with its (long) file name and line."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("pack.yaml", "id: a-pack-whose-identifier-is-quite-long-indeed\ntitle: 3\n")
        archive.writestr("items/an-item-file-with-a-very-long-name-that-does-not-break.yaml", "- [\n")
    page.goto(world.url("/author/packs"))
    page.get_by_label("Content pack (.zip)").set_input_files(
        {"name": "broken.zip", "mimeType": "application/zip", "buffer": buffer.getvalue()})
    page.get_by_role("button", name="Check and import").click()
    expect(page.locator(".problems")).to_be_visible()


def _results_of_job(page: Page, finished: Locator) -> None:
    """After asking for a job: follow its progress fragment's link to the results, unless the job was
    done before the page came back (then ``finished``, what the page shows only then, is there)."""
    results = page.get_by_role("link", name="See the results")
    expect(results.or_(finished).first).to_be_visible()
    if results.count():
        results.click()


def _item_statistics(page: Page, world: World) -> None:
    """Ask for the item statistics; the live app's own job thread computes them while the progress
    fragment polls, and its link leads to the table (computed once, then shown at every width)."""
    page.goto(world.url("/author/versions/{version}/items"))
    compute = page.get_by_role("button", name="Compute the statistics")
    if compute.count():
        compute.click()
        _results_of_job(page, page.get_by_role("button", name="Compute again from every response"))
    expect(page.locator("table.items")).to_be_visible()
    expect(page.get_by_text("From ", exact=False).first).to_be_visible()


def _item_detail(page: Page, world: World) -> None:
    """An item's page from the statistics table, with its charts."""
    page.goto(world.url("/author/versions/{version}/items?sort=responses&order=desc"))
    page.locator("table.items a code").first.click()
    expect(page.locator("svg.chart").first).to_be_visible()


def _version_preview(page: Page, world: World) -> None:
    """A new version of the demo pack uploaded: what changed, before anything is stored."""
    with tempfile.TemporaryDirectory() as folder:
        archive = _zipped(_changed_copy(Path(folder))).getvalue()
    page.goto(world.url("/author/packs"))
    page.get_by_label("Content pack (.zip)").set_input_files(
        {"name": "data-literacy-1.1.0.zip", "mimeType": "application/zip", "buffer": archive})
    page.get_by_role("button", name="Check and import").click()
    expect(page.get_by_role("heading", name="Data literacy 1.1.0: what changes")).to_be_visible()


def _recalibration(page: Page, world: World) -> None:
    """A recalibration asked for: the live app's job thread runs it while the page shows progress."""
    page.goto(world.url("/author/versions/{version}/recalibration"))
    ask = page.get_by_role("button", name="Recalibrate from the responses so far")
    if ask.count():
        ask.click()
        _results_of_job(page, page.get_by_role("button", name="Recalibrate again from every response"))
    expect(page.get_by_role("heading", name="New parameters")).to_be_visible()


def _join(page: Page, world: World) -> None:
    """A visitor opens an invitation link an admin made."""
    app = world.live.app
    with app.app_context():
        session = db.session()
        inst = session.scalar(select(Institution).where(Institution.slug == DEMO_INSTITUTION[0]))
        assert inst is not None
        secret = new_invitation(session, institution_id=inst.id, role=Role.INSTRUCTOR, email=None,
                                created_by_id=None)
        session.commit()
    page.goto(world.url(f"/join/{secret}"))
    expect(page.get_by_role("heading", name="Join Demo University")).to_be_visible()


SCREENS: list[Screen] = [
    Screen("welcome", None, "/"),
    Screen("sign-in", None, "/login"),
    Screen("sign-in-failed", None, _failed_sign_in),
    Screen("sign-up", None, "/signup"),
    Screen("sign-up-invalid", None, _failed_sign_up),
    Screen("forgot-password", None, "/password/forgot"),
    Screen("join-by-invitation", None, _join),
    Screen("not-found", None, "/no-such-page"),
    Screen("dashboard", LEARNER, "/"),
    Screen("catalogue", LEARNER, "/learn/"),
    Screen("module", LEARNER, "/learn/modules/{module}"),
    Screen("lesson-table", LEARNER, "/learn/modules/{figure_module}/lessons/0"),
    Screen("lesson-figure", LEARNER, "/learn/modules/{figure_module}/lessons/1"),
    Screen("lesson-math", LEARNER, "/learn/modules/{math_module}/lessons/{math_lesson}"),
    Screen("question", LEARNER, "/assess/attempts/{question}"),
    Screen("feedback", LEARNER, _feedback),
    Screen("result-review", LEARNER, "/assess/attempts/{result}"),
    Screen("placement", LEARNER, "/assess/attempts/{placement}"),
    Screen("standing", LEARNER, "/learn/packs/{version}/standing"),
    Screen("account", LEARNER, "/account"),
    Screen("change-password", LEARNER, "/account/password"),
    Screen("delete-account", LEARNER, "/account/delete"),
    Screen("forbidden", LEARNER, "/author/packs"),
    Screen("result-flagged", FLAGGED, "/assess/attempts/{flagged}"),
    Screen("instructor-home", INSTRUCTOR, "/"),
    Screen("admin-home", ADMIN, "/"),
    Screen("author-packs", INSTRUCTOR, "/author/packs"),
    Screen("author-upload-rejected", INSTRUCTOR, _rejected_upload),
    Screen("flagged-attempts", INSTRUCTOR, "/author/attempts"),
    Screen("item-statistics", INSTRUCTOR, _item_statistics),
    Screen("item-detail", INSTRUCTOR, _item_detail),
    Screen("version-preview", INSTRUCTOR, _version_preview),
    Screen("learner-analytics", INSTRUCTOR, "/author/versions/{version}/learners"),
    Screen("recalibration", INSTRUCTOR, _recalibration),
    Screen("members", ADMIN, "/admin/members"),
    Screen("wallet", GRADUATE.email, "/wallet/"),
    Screen("credential-page", None, "/credentials/{credential}"),
    Screen("verify", None, "/verify"),
    Screen("issued-credentials", ADMIN, "/admin/credentials"),
]


def _account(live: LiveServer, email: str, name: str) -> None:
    with live.app.app_context():
        session = db.session()
        inst = session.query(Institution).filter_by(slug=DEMO_INSTITUTION[0]).one()
        create_user(session, name=name, email=email, password=PASSWORD, institution=inst, role=Role.LEARNER)
        session.commit()


def _attempt_id(page: Page) -> int:
    return int(page.url.rstrip("/").rsplit("/", 1)[1])


def _start(page: Page, world: World, module_id: int, button: str) -> int:
    page.goto(world.url(f"/learn/modules/{module_id}"))
    page.get_by_role("button", name=button).click()
    expect(page.get_by_role("button", name="Submit my answer")).to_be_visible()
    return _attempt_id(page)


@pytest.fixture(scope="module")
def world(live: LiveServer, browser: Browser) -> Iterator[World]:
    """Accounts and attempts for every screen, made once: a placement test and an assessment waiting
    at a question, one waiting for the feedback screen, a finished assessment and a flagged one."""
    with live.app.app_context():
        ensure_demo(db.session())
    _account(live, LEARNER, "Alexandra Montgomery-Fitzwilliam")
    _account(live, FLAGGED, "Sam Flagged")
    w = World(live)
    with live.app.app_context():
        session = db.session()
        version = session.scalars(select(PackVersion).join(Institution).where(
            Institution.slug == DEMO_INSTITUTION[0]).order_by(PackVersion.id.desc())).first()
        assert version is not None
        modules = {m.key: m.id for m in version.modules}
        w.ids["version"] = version.id
    maths = next(m for m in PACK.modules for lesson in m.lessons if "$" in lesson.markdown)
    w.ids |= {
        "module": modules[PACK.modules[0].id],
        "figure_module": modules[FIGURE_MODULE],
        "math_module": modules[maths.id],
        "math_lesson": next(i for i, lesson in enumerate(maths.lessons) if "$" in lesson.markdown),
    }

    with live.app.app_context():  # the graduate's credentials, issued by the live app's job thread
        session = db.session()
        seed_graduate(session, session.query(Institution).filter_by(slug=DEMO_INSTITUTION[0]).one())
    w.ids["credential"] = _issued(live).id
    for email in (LEARNER, FLAGGED, INSTRUCTOR, ADMIN, GRADUATE.email):
        ctx = browser.new_context()
        page = ctx.new_page()
        sign_in(page, live, email, PASSWORDS[email])
        if email == LEARNER:
            page.goto(w.url("/learn/"))
            page.get_by_role("button", name="Take the placement test").click()
            expect(page.get_by_role("button", name="Submit my answer")).to_be_visible()
            w.ids["placement"] = _attempt_id(page)
            w.ids["question"] = _start(page, w, modules[PACK.modules[2].id], "Start the assessment")
            w.ids["feedback"] = _start(page, w, modules[PACK.modules[3].id], "Start the assessment")
            w.ids["result"] = _start(page, w, w.ids["module"], "Start the assessment")
            take_until_done(page, live, LEARNER, 40)
        elif email == FLAGGED:
            w.ids["flagged"] = _start(page, w, w.ids["module"], "Test out of this module")
            take_until_done(page, live, FLAGGED, 40)
        w.sessions[email] = ctx.storage_state()
        ctx.close()
    # the layout of a flagged attempt is under test here, not person fit (test_trust_journey tests that)
    with live.app.extensions["thetapath.engine"].begin() as conn:
        conn.execute(text("update attempt set flagged = :yes, person_fit = -2.41 where id = :id"),
                     {"yes": True, "id": w.ids["flagged"]})
    yield w


# A page is too wide when the document scrolls sideways, or when an element reaches past the window's
# right edge, unless it sits in a box within the window that scrolls it or clips it (as KaTeX clips its
# stretchy glyphs and hides its MathML).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  if (document.scrollingElement.scrollWidth > window.innerWidth)
    out.push(`document ${document.scrollingElement.scrollWidth} px wide in a ${window.innerWidth} px window`);
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || box.right <= width + 0.5) continue;
    let inside = false;  // a box that scrolls, or clips what it holds on purpose (KaTeX's MathML)
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (style.overflowX !== 'visible' && p.getBoundingClientRect().right <= width + 0.5
          || style.clip !== 'auto' && style.position === 'absolute') { inside = true; break; }
    }
    if (!inside && getComputedStyle(el).visibility !== 'hidden')
      out.push(`<${el.tagName.toLowerCase()} class="${el.className}"> ends at ${Math.round(box.right)} px: `
               + el.textContent.trim().slice(0, 60));
  }
  return out;
}"""

# Each header item (brand, links, name, buttons) is on one line: its text's line boxes share one top;
# it lies inside the window, and a link or button is at least 24 px high.
SPLIT_IN_HEADER = """() => {
  const out = [];
  const items = 'header.site .brand, header.site nav a, header.site nav button, header.site nav .who';
  for (const el of document.querySelectorAll(items)) {
    if (!el.getClientRects().length) continue;
    const range = document.createRange();
    range.selectNodeContents(el);
    const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
    const box = el.getBoundingClientRect();
    if (tops.size > 1) out.push(`"${el.textContent.trim()}" spans ${tops.size} lines`);
    if (box.left < 0 || box.right > document.documentElement.clientWidth)
      out.push(`"${el.textContent.trim()}" is outside the window`);
    if (el.matches('a, button') && box.height < 24)  // a target a finger can hit (WCAG 2.5.8)
      out.push(`"${el.textContent.trim()}" is ${box.height} px high`);
  }
  return out;
}"""


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
@pytest.mark.parametrize("screen", SCREENS, ids=[s.name for s in SCREENS])
def test_page_fits_the_window(browser: Browser, world: World, screen: Screen, width: int) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": HEIGHTS[width]},
                              storage_state=world.sessions[screen.who] if screen.who else None)
    page = ctx.new_page()
    if isinstance(screen.go, str):
        page.goto(world.url(screen.go))
    else:
        screen.go(page, world)
    page.wait_for_load_state("load")
    if width in SHOTS:
        shot(page, f"{screen.name}-{width}")
    assert page.evaluate(OVERFLOW) == []
    assert page.evaluate(SPLIT_IN_HEADER) == []
    if width in SHOTS:  # 320 px is the sanity check of the layout alone
        assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in axe_violations(page)] == []
    ctx.close()
