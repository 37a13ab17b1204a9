"""Trustworthy evidence over HTTP (issue 9): answering without reading never earns credit, aberrant
patterns are flagged for the instructor, forged answers are refused, one retake rule for every kind.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import AbilityRecord, Attempt, AttemptStatus, ModuleRow, Response, Role
from app.packstore import content_of, import_pack
from content import ContentPack, Item
from tests.app import factories
from tests.app.test_learning_flow import (  # noqa: F401
    DEMO,
    HX,
    answer_for,
    finish,
    knows,
    page_token,
    pending_item,
    sign_in,
    started,
    world,
)


def blind_answer(page: str, item: Item) -> dict[str, object]:
    """What an answerer who never reads the question sends: the first option on screen, the first
    k options, the order shown, source i to target i, "0" for typed answers."""
    options = re.findall(r'<input type="(?:radio|checkbox)" name="answer" value="([^"]+)"', page)
    if item.type == "single_choice":
        return {"answer": options[0]}
    if item.type == "multiple_choice":
        k = len(item.key) if isinstance(item.key, tuple) else 1
        return {"answer": options[:k]}
    if item.type == "ordering":
        ranks = re.findall(r'<select id="[^"]+" name="(rank-[^"]+)"', page)
        return {name: str(n + 1) for n, name in enumerate(ranks)}
    if item.type == "matching":
        sources = re.findall(r'<select id="[^"]+" name="(match-[^"]+)"', page)
        targets = list(dict.fromkeys(re.findall(r'<option value="([a-z2-7]{16})">', page)))
        return {name: targets[n % len(targets)] for n, name in enumerate(sources)}
    return {"answer": "0"}


def test_a_constant_position_test_out_is_refused_for_every_demo_module(
    client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    assert isinstance(pack, ContentPack)
    sign_in(client, "flow-learner@example.org")
    modules = db_session.scalars(select(ModuleRow).where(
        ModuleRow.pack_version_id == world["version"].id)).all()  # type: ignore[attr-defined]
    assert len(modules) == len(pack.modules)
    for module in modules:
        attempt_id = started(client, f"/assess/modules/{module.id}/testout")
        attempt = finish(client, db_session, attempt_id, pack,
                         lambda page, item, codes: blind_answer(page, item))
        assert attempt.mastery != "mastered" and not (attempt.credit or {}).get("credited"), module.key
        result = client.get(f"/assess/attempts/{attempt_id}").data.decode()
        assert "You tested out." not in result
        # the waiting period now holds for every kind of attempt on this module
        for kind in ("testout", "attempts"):
            again = client.post(f"/assess/modules/{module.id}/{kind}")
            assert again.status_code == 429 and b"Not yet" in again.data
    assert db_session.scalar(select(func.count()).select_from(AbilityRecord).where(
        AbilityRecord.mastery == "mastered")) == 0
    standing = client.get(f"/learn/packs/{world['version'].id}/standing").data.decode()  # type: ignore[attr-defined]
    assert "Earned" not in standing


def test_an_aberrant_pattern_is_flagged_never_credited_and_shown_to_instructors(
    client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    """Right on the hard questions and wrong on the easy ones: no ability explains it."""
    pack = world["pack"]
    module = world["module"]
    assert isinstance(pack, ContentPack) and isinstance(module, ModuleRow)
    sign_in(client, "flow-learner@example.org")
    attempt_id = started(client, f"/assess/modules/{module.id}/testout")
    attempt = finish(client, db_session, attempt_id, pack,
                     lambda page, item, codes: answer_for(item, not knows(item, 0.0), codes))
    assert attempt.flagged and attempt.person_fit is not None and attempt.person_fit < -1.645
    assert attempt.mastery != "mastered" and attempt.credit is not None and not attempt.credit["credited"]
    result = client.get(f"/assess/attempts/{attempt_id}").data.decode()
    assert "could not be scored reliably" in result and "Your instructor can see" in result
    assert client.get("/author/attempts").status_code == 403  # learners do not see the list
    client.post("/logout")

    inst = world["inst"]
    factories.user(db_session, inst, Role.INSTRUCTOR, email="teacher@example.org")  # type: ignore[arg-type]
    sign_in(client, "teacher@example.org")
    listing = client.get("/author/attempts").data.decode()
    assert module.title in listing and "test-out" in listing and f"{attempt.person_fit:.2f}" in listing
    client.post("/logout")
    other = factories.institution(db_session)
    factories.user(db_session, other, Role.INSTRUCTOR, email="elsewhere@example.org")
    sign_in(client, "elsewhere@example.org")
    listing = client.get("/author/attempts").data.decode()
    assert module.title not in listing and "No attempt has been flagged" in listing


def test_forged_unknown_and_repeated_option_ids_are_refused_and_nothing_is_recorded(
    client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    module = world["module"]
    assert isinstance(pack, ContentPack) and isinstance(module, ModuleRow)
    sign_in(client, "flow-learner@example.org")
    attempt_id = started(client, f"/assess/modules/{module.id}/attempts")
    url = f"/assess/attempts/{attempt_id}/responses"
    refused = 0
    for _ in range(40):
        item, codes = pending_item(db_session, attempt_id, pack)
        page = client.get(f"/assess/attempts/{attempt_id}").data.decode()
        token = page_token(page)
        real = [o.id for o in item.options]
        forged: list[dict[str, object]] = []
        if item.type in ("single_choice", "multiple_choice"):
            # the authored ids, an id of another attempt's making, the same option twice
            forged = [{"answer": real[0]}, {"answer": "aaaaaaaaaaaaaaaa"},
                      {"answer": [codes.option(real[0]), codes.option(real[0])]}]
        elif item.type == "ordering":
            good = answer_for(item, True, codes)
            forged = [{**good, "rank-aaaaaaaaaaaaaaaa": "1"},
                      {f"rank-{o}": "1" for o in real}]
        elif item.type == "matching":
            good = answer_for(item, True, codes)
            forged = [{k: "aaaaaaaaaaaaaaaa" for k in good}, {**good, "match-zzzz": good[next(iter(good))]}]
        for data in forged:
            r = client.post(url, data={"token": token, **data}, headers=HX)
            assert r.status_code == 422, (item.type, data)
            refused += 1
        assert db_session.scalar(select(func.count()).select_from(Response).where(
            Response.attempt_id == attempt_id)) == len(seen_positions(db_session, attempt_id))
        r = client.post(url, data={"token": token, **answer_for(item, True, codes)}, headers=HX)
        assert r.status_code == 200
        db_session.expire_all()
        attempt = db_session.get(Attempt, attempt_id)
        assert attempt is not None
        if attempt.status is AttemptStatus.COMPLETED or refused >= 12:
            break
    assert refused >= 6
    # only the genuine answers were recorded, each once
    positions = seen_positions(db_session, attempt_id)
    assert positions == list(range(len(positions)))


def seen_positions(db_session: Session, attempt_id: int) -> list[int]:
    return list(db_session.scalars(select(Response.position).where(
        Response.attempt_id == attempt_id).order_by(Response.position)))


def test_options_are_shown_in_a_per_attempt_order_with_ids_that_say_nothing(
    client: FlaskClient, db_session: Session, world: dict[str, object]  # noqa: F811
) -> None:
    pack = world["pack"]
    module = world["module"]
    assert isinstance(pack, ContentPack) and isinstance(module, ModuleRow)
    sign_in(client, "flow-learner@example.org")
    attempt_id = started(client, f"/assess/modules/{module.id}/attempts")
    for _ in range(40):
        item, codes = pending_item(db_session, attempt_id, pack)
        page = client.get(f"/assess/attempts/{attempt_id}").data.decode()
        if item.type == "single_choice":
            shown = re.findall(r'name="answer" value="([^"]+)"', page)
            assert sorted(shown) == sorted(codes.option(o.id) for o in item.options)
            assert not set(shown) & {o.id for o in item.options}  # never the authored ids
            assert all(re.fullmatch(r"[a-z2-7]{16}", s) for s in shown)
            return
        client.post(f"/assess/attempts/{attempt_id}/responses",
                    data={"token": page_token(page), **answer_for(item, True, codes)}, headers=HX)
    msg = "no single-choice item came up"
    raise AssertionError(msg)


def test_practice_modules_show_right_answers_at_once_and_credit_bearing_ones_do_not(
    client: FlaskClient, db_session: Session, tmp_path: Path
) -> None:
    """A pack without credentials may make a module formative practice (``feedback: immediate``)."""
    practice = tmp_path / "practice"
    shutil.copytree(DEMO, practice)
    text = (practice / "pack.yaml").read_text(encoding="utf-8")
    text = text[:text.index("\ncredentials:")] + "\n"
    text = text.replace("    competencies: [describing-data]\n",
                        "    competencies: [describing-data]\n    feedback: immediate\n", 1)
    (practice / "pack.yaml").write_text(text, encoding="utf-8")
    inst = factories.institution(db_session)
    factories.user(db_session, inst, Role.LEARNER, email="practice@example.org")
    version = import_pack(db_session, inst, practice, None).version
    pack = content_of(db_session, version)
    rows = {m.key: m for m in db_session.scalars(select(ModuleRow).where(
        ModuleRow.pack_version_id == version.id))}
    sign_in(client, "practice@example.org")
    assert "see after each answer whether it was right" in client.get(
        f"/learn/modules/{rows['data-sets'].id}").data.decode()
    for key, immediate in (("data-sets", True), ("typical-and-spread", False)):
        attempt_id = started(client, f"/assess/modules/{rows[key].id}/attempts")
        item, codes = pending_item(db_session, attempt_id, pack)
        page = client.get(f"/assess/attempts/{attempt_id}").data.decode()
        body = client.post(f"/assess/attempts/{attempt_id}/responses", headers=HX, data={
            "token": page_token(page), **answer_for(item, True, codes)}).data.decode()
        if immediate:
            assert "Your answer is right" in body or "does not count" in body
        else:
            assert "Your answer is recorded" in body and "Your answer is right" not in body


def test_images_in_questions_point_at_the_served_assets(
    client: FlaskClient, db_session: Session, tmp_path: Path
) -> None:
    """A stem and an option may show a pack image (relative to the item file, as in a lesson)."""
    pictured = tmp_path / "pictured"
    shutil.copytree(DEMO, pictured)
    items = pictured / "items" / "data-sets.yaml"
    text = items.read_text(encoding="utf-8")
    first_stem = text.index("    stem: |\n") + len("    stem: |\n")
    picture = "      ![Bars of commuting modes](../images/commute-bars.svg)\n\n"
    text = text[:first_stem] + picture + text[first_stem:]
    items.write_text(text, encoding="utf-8")
    (pictured / "pack.yaml").write_text((pictured / "pack.yaml").read_text(encoding="utf-8").replace(
        "version: 1.0.0", "version: 1.0.1", 1), encoding="utf-8")
    inst = factories.institution(db_session)
    factories.user(db_session, inst, Role.LEARNER, email="pictures@example.org")
    version = import_pack(db_session, inst, pictured, None).version
    pack = content_of(db_session, version)
    first = next(i for i in pack.items if i.file == "items/data-sets.yaml")
    assert "commute-bars.svg" in first.stem
    module = db_session.scalar(select(ModuleRow).where(ModuleRow.pack_version_id == version.id,
                                                       ModuleRow.key == "data-sets"))
    assert module is not None
    sign_in(client, "pictures@example.org")
    attempt_id = started(client, f"/assess/modules/{module.id}/attempts")
    attempt = db_session.get(Attempt, attempt_id)
    assert attempt is not None
    attempt.state = {**attempt.state, "pending": first.id}  # put the pictured item on screen
    db_session.commit()
    page = client.get(f"/assess/attempts/{attempt_id}").data.decode()
    src = re.search(r'<img[^>]+src="([^"]+commute-bars\.svg)"', page)
    assert src is not None and src.group(1) == f"/learn/assets/{version.id}/images/commute-bars.svg"
    image = client.get(src.group(1))
    assert image.status_code == 200 and image.mimetype == "image/svg+xml"
