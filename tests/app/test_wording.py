"""Every page a learner reads speaks in titles and plain words: no raw ids, no engine vocabulary."""

from __future__ import annotations

import html
import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ModuleRow
from content import ContentPack
from tests.app.test_learning_flow import sign_in, started, world  # noqa: F401
from tests.app.test_paths import take

# the demo pack teaches statistics, so "standard error" or "prior" can be its own words; these cannot
ENGINE_WORDS = re.compile(r"\b(theta|θ̂|logits?|EAP|MAP|WLE|stop_reason|not_mastered|undecided|"
                          r"posterior|item parameters?|IRT|nan|inf)\b")


def visible_text(page: str) -> str:
    """What a reader sees: the page without markup, scripts, styles and SVG internals."""
    body = page[page.index("<main"):page.index("</main>")]
    body = re.sub(r"<(script|style|title|desc)\b.*?</\1>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_learner_pages_name_things_by_title_and_in_plain_words(
    client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    version = world["version"]
    assert isinstance(pack, ContentPack)
    sign_in(client, "flow-learner@example.org")
    rows = {m.key: m for m in db_session.scalars(select(ModuleRow).where(
        ModuleRow.pack_version_id == version.id))}  # type: ignore[attr-defined]
    placement = started(client, f"/assess/packs/{version.id}/placement")  # type: ignore[attr-defined]
    take(client, db_session, placement, pack, right=True)
    first, last = pack.modules[0], pack.modules[-1]
    testout = started(client, f"/assess/modules/{rows[last.id].id}/testout")
    take(client, db_session, testout, pack, right=True)
    assessment = started(client, f"/assess/modules/{rows[first.id].id}/attempts")
    question = client.get(f"/assess/attempts/{assessment}").data.decode()
    take(client, db_session, assessment, pack, right=False)
    pages = {
        "home": "/", "catalogue": "/learn/", "standing": f"/learn/packs/{version.id}/standing",  # type: ignore[attr-defined]
        "module": f"/learn/modules/{rows[first.id].id}", "later module": f"/learn/modules/{rows[last.id].id}",
        "lesson": f"/learn/modules/{rows[first.id].id}/lessons/0",
        "placement result": f"/assess/attempts/{placement}", "test-out result": f"/assess/attempts/{testout}",
        "assessment result": f"/assess/attempts/{assessment}",
    }
    ids = {c.id for c in pack.competencies if "-" in c.id} | {m.id for m in pack.modules if "-" in m.id}
    assert ids  # the demo pack's ids are hyphenated words, which titles never are
    texts = {name: visible_text(client.get(url).data.decode()) for name, url in pages.items()}
    texts["question"] = visible_text(question)
    for name, text in texts.items():
        raw = sorted(i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", text))
        assert not raw, f"{name} shows raw ids {raw}"
        engine = sorted({m.group(0) for m in ENGINE_WORDS.finditer(text)})
        assert not engine, f"{name} uses engine words {engine}"
