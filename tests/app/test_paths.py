"""Learning paths in the app: recommendations with reasons, test-out as recognition of prior learning."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.pathing import PathDecision, replay_decision
from app.models import AbilityRecord, Attempt, ModuleRow, PathDecisionRecord
from content import ContentPack
from tests.app.test_learning_flow import (  # noqa: F401
    answer_for,
    finish,
    page_token,
    pending_item,
    sign_in,
    started,
    world,
)

HX = {"HX-Request": "true"}


def submit(client: FlaskClient, db_session: Session, attempt_id: int, pack: ContentPack, right: bool) -> None:
    """Answer the question on screen, right or wrong, as the page's form would."""
    item, codes = pending_item(db_session, attempt_id, pack)
    page = client.get(f"/assess/attempts/{attempt_id}").data.decode()
    r = client.post(f"/assess/attempts/{attempt_id}/responses",
                    data={"token": page_token(page), **answer_for(item, right, codes)}, headers=HX)
    assert r.status_code == 200


def take(
    client: FlaskClient, db_session: Session, attempt_id: int, pack: ContentPack, right: bool
) -> Attempt:
    """Answer every question right (or wrong) until the attempt stops."""
    return finish(client, db_session, attempt_id, pack,
                  lambda _page, item, codes: answer_for(item, right, codes))


def test_the_catalogue_recommends_a_module_in_plain_words_with_one_calm_note(
    client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    assert isinstance(pack, ContentPack)
    sign_in(client, "flow-learner@example.org")
    page = client.get("/learn/").data.decode()
    roots = [c.id for c in pack.competencies if not c.prerequisites]
    first = next(m for m in pack.modules if m.competencies[0] in roots)
    assert f"Recommended next: {first.title}." in page
    # a tutor's words, not the engine's: no "recommended because", no warning sign per module
    assert "A good place to start:" in page and "recommended because" not in page
    assert "⚠" not in page and page.count("You can open any module.") == 1
    later = [m for m in pack.modules if m.competencies[0] not in roots]
    assert later and page.count('<span class="status later">later</span>') == len(later) + 1  # + the note
    stored = db_session.scalars(select(PathDecisionRecord)).all()
    assert len(stored) == 1
    # the stored decision replays exactly from its stored inputs
    decision = PathDecision.from_json(stored[0].decision)
    assert replay_decision(stored[0].decision).to_json() == decision.to_json() == stored[0].decision
    client.get("/learn/")  # nothing changed: no new decision row
    assert len(db_session.scalars(select(PathDecisionRecord)).all()) == 1


def test_testing_out_recognises_prior_learning_and_moves_the_path_on(
    client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    module = world["module"]
    assert isinstance(pack, ContentPack) and isinstance(module, ModuleRow)
    sign_in(client, "flow-learner@example.org")
    assert "Test out of this module" in client.get(f"/learn/modules/{module.id}").data.decode()
    attempt_id = started(client, f"/assess/modules/{module.id}/testout")
    attempt = take(client, db_session, attempt_id, pack, right=True)
    assert attempt.kind == "testout" and attempt.mastery == "mastered"
    scored = [r for r in attempt.responses if not r.pilot]
    assert len(scored) >= pack.evidence.min_items  # never credited on a handful of answers
    assert attempt.credit is not None and attempt.credit["credited"] and not attempt.flagged
    result = client.get(f"/assess/attempts/{attempt_id}").data.decode()
    assert "You tested out." in result
    record = db_session.scalar(select(AbilityRecord).where(AbilityRecord.attempt_id == attempt_id))
    assert record is not None and record.source == "testout" and record.mastery == "mastered"
    assert len(record.items) == len([r for r in attempt.responses if not r.pilot])
    catalogue = client.get("/learn/").data.decode()
    assert re.search(rf"{re.escape(module.title)}</strong></a>\s*<span class=\"status mastered\">", catalogue)
    assert f"Recommended next: {module.title}." not in catalogue
    assert "there is no need to test out" in client.get(f"/learn/modules/{module.id}").data.decode()


def test_failed_test_outs_must_wait_before_the_next_try(
    client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    module = world["module"]
    assert isinstance(pack, ContentPack) and isinstance(module, ModuleRow)
    sign_in(client, "flow-learner@example.org")
    attempt_id = started(client, f"/assess/modules/{module.id}/testout")
    attempt = take(client, db_session, attempt_id, pack, right=False)
    assert attempt.mastery == "not_mastered"
    assert "Not this time" in client.get(f"/assess/attempts/{attempt_id}").data.decode()
    again = client.post(f"/assess/modules/{module.id}/testout")
    assert again.status_code == 429 and b"Not yet" in again.data
    page = client.get(f"/learn/modules/{module.id}").data.decode()
    assert "You can start a new attempt from" in page and "Test out of this module" not in page
    # one policy for every kind: the module assessment waits too
    assert client.post(f"/assess/modules/{module.id}/attempts").status_code == 429
    assert "Start the assessment" not in page and "How attempts count" in page


def test_where_you_stand_and_a_review_coming_due(
    app: Flask, client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    module = world["module"]
    version = world["version"]
    assert isinstance(pack, ContentPack) and isinstance(module, ModuleRow)
    sign_in(client, "flow-learner@example.org")
    url = f"/learn/packs/{version.id}/standing"  # type: ignore[attr-defined]
    page = client.get(url).data.decode()
    assert "Your competency map" in page and "<svg" in page and "no evidence yet" in page
    assert "Reviews due" not in page
    credential = pack.credentials[0].title
    assert credential in page and "Still to go" in page
    attempt_id = started(client, f"/assess/modules/{module.id}/testout")
    take(client, db_session, attempt_id, pack, right=True)
    competency = pack.module(module.key).competencies[0]
    title = pack.competency(competency).title
    page = client.get(url).data.decode()
    assert f"Your estimate for {title} is" in page and "you have mastered it" in page
    assert "test-out (prior learning)" in page and "Next review around" in page
    assert "Reviews due" not in page

    app.config["CLOCK_OFFSET_SECONDS"] = 200 * 86400  # half a year later
    page = client.get(url).data.decode()
    assert "Reviews due" in page and f"Review {title}" in page and "review due" in page
    review_id = started(client, f"/assess/modules/{module.id}/review")
    review = take(client, db_session, review_id, pack, right=True)
    assert review.kind == "review" and 4 <= len(review.responses) <= 8
    record = db_session.scalar(select(AbilityRecord).where(AbilityRecord.attempt_id == review_id))
    assert record is not None and record.source == "review" and record.mastery == "mastered"
    page = client.get(url).data.decode()
    assert "Reviews due" not in page and page.count("<tr><td>") >= 2  # history: test-out, review
    # each history is folded away, so the page stays short
    assert '<details class="history"><summary>History (2 estimates)</summary>' in page
    assert page.count("<table class=\"history\">") == page.count('<details class="history">')


def test_placement_sets_a_starting_point_and_skips_what_is_known(
    client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    version = world["version"]
    assert isinstance(pack, ContentPack)
    sign_in(client, "flow-learner@example.org")
    catalogue = client.get("/learn/").data.decode()
    assert "Take the placement test" in catalogue
    n = len(pack.competencies)
    assert f"({2 * n} to {4 * n} questions, a few per competency)" in catalogue  # the promise...
    attempt_id = started(client, f"/assess/packs/{version.id}/placement")  # type: ignore[attr-defined]
    assert "Resume your placement test" in client.get("/learn/").data.decode()
    attempt = take(client, db_session, attempt_id, pack, right=True)
    assert attempt.kind == "placement" and attempt.module_id is None
    assert 2 * n <= len(attempt.responses) <= 4 * n  # ...is kept
    # the items were balanced over the competencies
    by_competency = {c.id: 0 for c in pack.competencies}
    items = {i.id: i for i in pack.items}
    for response in attempt.responses:
        by_competency[items[response.item].competency] += 1
    assert min(by_competency.values()) >= 2
    records = db_session.scalars(select(AbilityRecord).where(AbilityRecord.attempt_id == attempt_id)).all()
    assert {r.competency for r in records} == set(by_competency)
    assert {r.source for r in records} == {"placement"}
    # a few questions per competency set a starting point; they are too few to credit mastery
    assert all(r.mastery != "mastered" and r.theta > 0 for r in records)
    assert max(by_competency.values()) < pack.evidence.min_items
    result = client.get(f"/assess/attempts/{attempt_id}").data.decode()
    assert "Placement done." in result and "a test-out confirms it" in result
    # what it found, per competency in words, with the module to go to
    found = result[result.index("What we found"):result.index("</table>")]
    for c in pack.competencies:
        assert f'<th scope="row">{c.title}</th>' in found
    assert found.count("<tr class=") == n and "Go to " in found
    assert "Not clear yet" in found or "Start here" in found or "You already know this" in found
    catalogue = client.get("/learn/").data.decode()
    assert "Take the placement test" not in catalogue and "status mastered" not in catalogue
    assert f'href="/assess/attempts/{attempt_id}">see what it found</a>' in catalogue
    # a retake follows the one retake policy: not at once after an attempt without credit...
    assert "You can start a new attempt from" in result and "Take the placement test again" not in result
    refused = client.post(f"/assess/packs/{version.id}/placement", follow_redirects=True)  # type: ignore[attr-defined]
    assert b"Not yet:" in refused.data
    # ...but once the wait is over
    client.application.config["CLOCK_OFFSET_SECONDS"] = 2 * 86400
    result = client.get(f"/assess/attempts/{attempt_id}").data.decode()
    assert "Take the placement test again" in result
    again = started(client, f"/assess/packs/{version.id}/placement")  # type: ignore[attr-defined]
    assert again != attempt_id


def test_a_daily_goal_the_learner_sets_and_nothing_punishes_a_break(
    app: Flask, client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    module = world["module"]
    assert isinstance(pack, ContentPack) and isinstance(module, ModuleRow)
    sign_in(client, "flow-learner@example.org")
    page = client.get("/").data.decode()
    assert "Today: <strong>0</strong> questions answered" in page and "on 0 of the last 7 days" in page
    refused = client.post("/goal", data={"goal": "0"}, follow_redirects=True).data.decode()
    assert "Choose between 1 and 200" in refused and "of your goal" not in refused
    client.post("/goal", data={"goal": "3"})
    attempt_id = started(client, f"/assess/modules/{module.id}/attempts")
    for _ in range(3):
        submit(client, db_session, attempt_id, pack, right=True)
    page = client.get("/").data.decode()
    assert "Today: <strong>3</strong> of your goal of 3 questions — goal reached" in page
    assert "on 1 of the last 7 days" in page
    app.config["CLOCK_OFFSET_SECONDS"] = 10 * 86400  # ten days away
    page = client.get("/").data.decode()
    assert "Today: <strong>0</strong> of your goal of 3" in page and "on 0 of the last 7 days" in page
    assert "nothing resets" in page and "assessment in progress" in page  # the attempt waits
    client.post("/goal", data={"goal": ""})
    assert "questions answered" in client.get("/").data.decode()


def test_the_home_page_names_competencies_by_title_in_path_order(
    client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    assert isinstance(pack, ContentPack)
    sign_in(client, "flow-learner@example.org")
    rows = {m.key: m for m in db_session.scalars(select(ModuleRow).where(
        ModuleRow.pack_version_id == world["version"].id))}  # type: ignore[attr-defined]
    # evidence for a later competency first, then for the first one
    for module in (pack.modules[-1], pack.modules[0]):
        take(client, db_session, started(client, f"/assess/modules/{rows[module.id].id}/testout"), pack,
             right=True)
    page = client.get("/").data.decode()
    table = page[page.index("Where you stand"):]
    titles = [pack.competency(m.competencies[0]).title for m in (pack.modules[0], pack.modules[-1])]
    assert titles[0] in table and titles[1] in table
    assert table.index(titles[0]) < table.index(titles[1])  # prerequisites first, not by date or id
    assert f"<td>{pack.modules[0].competencies[0]}</td>" not in table  # no raw ids


def test_a_prerequisite_not_yet_shown_below_a_mastered_competency_is_explained_in_words(
    client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    version = world["version"]
    assert isinstance(pack, ContentPack)
    sign_in(client, "flow-learner@example.org")
    rows = {m.key: m for m in db_session.scalars(select(ModuleRow).where(
        ModuleRow.pack_version_id == version.id))}  # type: ignore[attr-defined]
    later = next(m for m in reversed(pack.modules) if pack.competency(m.competencies[0]).prerequisites)
    top = pack.competency(later.competencies[0])
    take(client, db_session, started(client, f"/assess/modules/{rows[later.id].id}/testout"), pack,
         right=True)
    page = client.get(f"/learn/packs/{version.id}/standing").data.decode()  # type: ignore[attr-defined]
    below = pack.competency(top.prerequisites[0])
    section = page[page.index(f"<h3>{below.title} "):]
    section = section[:section.index("</article>")]
    assert "no evidence yet" in section
    assert f"You have mastered {top.title}, which builds on {below.title}" in section
    assert "A test-out of its module would settle it." in section
    mine = page[page.index(f"<h3>{top.title} "):]
    assert "which builds on" not in mine[:mine.index("</article>")]  # only below, never on the mastered one
