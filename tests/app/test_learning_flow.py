"""The learner's loop through the real app and database: catalogue, lesson, a full adaptive attempt.

Every learner-facing page and fragment of the attempt is checked for leaks: no answer key, no item
parameter, no item other than the one on screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive import PolicySettings, replay
from app.assess.services import OptionCodes, attempt_salt, option_codes
from app.demo import answer_form
from app.models import AbilityRecord, Attempt, AttemptStatus, Institution, ModuleRow, Response, Role
from app.packstore import PackConflict, content_of, import_pack, module_bank
from content import ContentPack, Item, PackInvalid, load_pack
from tests.app import factories

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"
HX = {"HX-Request": "true"}


@pytest.fixture
def world(db_session: Session) -> dict[str, object]:
    inst = factories.institution(db_session, name="Flow University")
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    learner = factories.user(db_session, inst, Role.LEARNER, email="flow-learner@example.org")
    outcome = import_pack(db_session, inst, DEMO, instructor.id)
    module = db_session.scalar(select(ModuleRow).where(
        ModuleRow.pack_version_id == outcome.version.id).order_by(ModuleRow.position))
    assert module is not None
    return {"inst": inst, "learner": learner, "version": outcome.version, "module": module,
            "pack": content_of(db_session, outcome.version)}


def sign_in(client: FlaskClient, email: str) -> None:
    r = client.post("/login", data={"email": email, "password": factories.PASSWORD})
    assert r.status_code == 302


def secrets_of(pack: ContentPack) -> list[str]:
    """Strings that must never reach a learner: keys and parameters, as they would be rendered."""
    out = []
    for item in pack.items:
        if item.irt is not None:
            out += [f'"a": {item.irt.a}', f"a={item.irt.a}", f'"b": {item.irt.b}', f"b={item.irt.b}"]
    return out


def answer_for(item: Item, right: bool, codes: OptionCodes) -> dict[str, object]:
    """Form fields answering ``item`` right or wrong, as the demo's simulated learners send them
    (the test knows the key; the page never does). Option fields carry the attempt's opaque ids."""
    return dict(answer_form(item, right, codes))


def knows(item: Item, theta: float) -> bool:
    """A consistent learner of ability ``theta``: right exactly on the items easier than that.

    (A pattern that ignores difficulty, such as "two right, one wrong", is what person fit flags.)
    """
    p = item.parameters()
    return (sum(p.thresholds) / len(p.thresholds) if p.thresholds else p.b) < theta


def pending_item(db_session: Session, attempt_id: int, pack: ContentPack) -> tuple[Item, OptionCodes]:
    """The item on screen and its option ids in this attempt (read from the database)."""
    db_session.expire_all()
    attempt = db_session.get(Attempt, attempt_id)
    assert attempt is not None
    pending = attempt.state["pending"]
    item = next(i for i in pack.items if i.id == pending)
    return item, option_codes(attempt_salt(attempt), item)


def started(client: FlaskClient, url: str) -> int:
    """POST to an attempt-starting URL; the id of the attempt it redirects to."""
    r = client.post(url)
    assert r.status_code == 303, r.data[:300]
    return int(r.headers["Location"].rsplit("/", 1)[1])


def page_token(page: str) -> str:
    """The submission token of the item on screen."""
    found = re.search(r'name="token" value="([^"]+)"', page)
    assert found is not None
    return found.group(1)


Respond = Callable[[str, Item, OptionCodes], dict[str, object]]


def finish(client: FlaskClient, db_session: Session, attempt_id: int, pack: ContentPack,
           respond: Respond) -> Attempt:
    """Answer with ``respond(page, item, codes)`` (form fields) until the attempt ends."""
    for _ in range(60):
        db_session.expire_all()
        attempt = db_session.get(Attempt, attempt_id)
        assert attempt is not None
        if attempt.status is AttemptStatus.COMPLETED:
            return attempt
        item, codes = pending_item(db_session, attempt_id, pack)
        page = client.get(f"/assess/attempts/{attempt_id}").data.decode()
        data = {"token": page_token(page), **respond(page, item, codes)}
        r = client.post(f"/assess/attempts/{attempt_id}/responses", data=data, headers=HX)
        assert r.status_code == 200, r.data[:400]
    msg = "the attempt never stopped"
    raise AssertionError(msg)


def test_a_learner_studies_and_completes_an_adaptive_assessment_without_leaks(
    client: FlaskClient, db_session: Session, world: dict[str, object]
) -> None:
    pack = world["pack"]
    module = world["module"]
    assert isinstance(pack, ContentPack) and isinstance(module, ModuleRow)
    sign_in(client, "flow-learner@example.org")
    catalogue = client.get("/learn/").data.decode()
    assert "Data literacy" in catalogue and module.title in catalogue
    module_page = page = client.get(f"/learn/modules/{module.id}").data.decode()
    assert "Start the assessment" in page
    lesson = client.get(f"/learn/modules/{module.id}/lessons/0")
    assert lesson.status_code == 200
    first = pack.module(module.key).lessons[0]
    assert first.title in lesson.data.decode()
    for src in re.findall(r'<img[^>]+src="([^"]+)"', lesson.data.decode()):
        image = client.get(src)
        assert image.status_code == 200 and "sandbox" in image.headers["Content-Security-Policy"]
    assert "1 of 3 lessons read" in client.get("/learn/").data.decode()

    r = client.post(f"/assess/modules/{module.id}/attempts")
    assert r.status_code == 303
    attempt_id = int(r.headers["Location"].rsplit("/", 1)[1])
    # starting again resumes the same attempt
    assert client.post(f"/assess/modules/{module.id}/attempts").headers["Location"].endswith(
        f"/{attempt_id}")
    forbidden = secrets_of(pack)
    seen: list[str] = []
    to_go: list[int] = []  # the questions left, the one on screen included, as the page forecast them
    for n in range(60):
        item, codes = pending_item(db_session, attempt_id, pack)
        seen.append(item.id)
        page = client.get(f"/assess/attempts/{attempt_id}").data.decode()
        progress = re.search(
            r"Question (\d+) ·\s*(?:about (\d+) more after this one|this may be the last one)", page)
        assert progress is not None and int(progress.group(1)) == n + 1
        to_go.append(1 + int(progress.group(2) or 0))
        fragment = client.get(f"/assess/attempts/{attempt_id}", headers=HX).data.decode()
        assert "<html" not in fragment and 'id="item-panel"' in fragment
        for text in (page, fragment):
            assert not any(s in text for s in forbidden)
            others = [i.id for i in pack.items if i.id != item.id]
            assert not any(f'"{o}"' in text or f">{o}<" in text for o in others)
            # as words: the opaque option ids are random letters, which may spell "irt" by chance
            assert not re.search(r"\birt\b|\bx-gen", text)
        token = re.search(r'name="token" value="([^"]+)"', page)
        assert token is not None
        data = {"token": token.group(1), **answer_for(item, knows(item, 0.4), codes)}
        r = client.post(f"/assess/attempts/{attempt_id}/responses", data=data, headers=HX)
        assert r.status_code == 200, r.data
        body = r.data.decode()
        assert "Your answer is recorded" in body
        # a credit-bearing attempt never says whether an answer was right while it runs
        assert 'class="feedback recorded"' in body and "Your answer is right" not in body
        if "Your result" not in body:
            assert "The right answer" not in body
            for text in (item.feedback.correct, item.feedback.incorrect):
                plain = text.split("$")[0][:24] if text else ""
                assert len(plain) < 8 or plain not in body
        assert not any(s in body for s in forbidden)
        # the same submission again (double click, retry, back button) records nothing
        again = client.post(f"/assess/attempts/{attempt_id}/responses", data=data)
        assert again.status_code == 409 and b"already recorded" in again.data
        db_session.expire_all()
        attempt = db_session.get(Attempt, attempt_id)
        assert attempt is not None
        assert db_session.scalar(select(func.count()).select_from(Response).where(
            Response.attempt_id == attempt_id)) == n + 1
        if attempt.status is AttemptStatus.COMPLETED:
            break
    else:
        pytest.fail("the attempt never stopped")
    # the module page's promise of the assessment's length is kept (trial questions come on top)
    low, high = (int(x) for x in re.findall(r"It takes (\d+) to (\d+) questions", module_page)[0])
    scored = db_session.scalar(select(func.count()).select_from(Response).where(
        Response.attempt_id == attempt_id, Response.pilot.is_(False)))
    assert scored is not None and low <= scored <= high
    assert len(set(seen)) == len(seen)  # never the same item twice
    # the progress indicator's "about N more" follows the stopping rule, not the maximum
    left = [len(seen) - n for n in range(len(seen))]
    trials = len(seen) - scored  # trial questions come on top of the scored maximum
    assert all(1 <= f <= high + trials - n for n, f in enumerate(to_go)), (to_go, left)
    # near the end the forecast knows the end is near (its accuracy is checked on many simulated
    # learners in tests/adaptive/test_cat.py)
    assert to_go[-1] <= 3 and all(f <= a + 8 for f, a in zip(to_go, left, strict=True)), (to_go, left)
    result = client.get(f"/assess/attempts/{attempt_id}").data.decode()
    assert "Your result" in result and "on a 0–100 scale" in result and "<svg" in result
    assert "Most likely it lies between" in result
    # once it is over, the attempt's own questions are shown with the right answers, and only those
    assert "The questions of this attempt" in result and "The right answer:" in result
    assert result.count('class="review-item ') == len(seen)
    # the stored attempt replays exactly from its seed and responses
    stored = list(db_session.scalars(select(Response).where(Response.attempt_id == attempt_id)
                                     .order_by(Response.position)))
    bank, _ = module_bank(db_session, world["version"], module.key)  # type: ignore[arg-type]
    policy = PolicySettings.from_json(attempt.policy).build()
    state, _ = replay(bank, policy, attempt.seed, [r.item for r in stored], [r.score for r in stored])
    assert state.estimate is not None
    assert state.estimate.theta == pytest.approx(stored[-1].theta, abs=1e-12)
    assert attempt.theta == pytest.approx(stored[-1].theta, abs=1e-12)
    # the estimate joins the learner's history for the competency, and the dashboard shows it
    record = db_session.scalar(select(AbilityRecord).where(AbilityRecord.attempt_id == attempt_id))
    assert record is not None and record.theta == attempt.theta and record.competency == attempt.competency
    assert "Where you stand" in client.get("/").data.decode()


def test_incomplete_answers_are_explained_and_write_nothing(
    client: FlaskClient, db_session: Session, world: dict[str, object]
) -> None:
    module = world["module"]
    assert isinstance(module, ModuleRow)
    sign_in(client, "flow-learner@example.org")
    attempt_id = int(client.post(f"/assess/modules/{module.id}/attempts").headers["Location"]
                     .rsplit("/", 1)[1])
    page = client.get(f"/assess/attempts/{attempt_id}").data.decode()
    token = re.search(r'name="token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = client.post(f"/assess/attempts/{attempt_id}/responses", data={"token": token}, headers=HX)
    assert r.status_code == 422 and b"Please" in r.data and b"<html" not in r.data
    assert db_session.scalar(select(func.count()).select_from(Response)) == 0


def test_another_institution_sees_nothing(
    client: FlaskClient, db_session: Session, world: dict[str, object]
) -> None:
    module = world["module"]
    version = world["version"]
    assert isinstance(module, ModuleRow)
    sign_in(client, "flow-learner@example.org")
    attempt_id = int(client.post(f"/assess/modules/{module.id}/attempts").headers["Location"]
                     .rsplit("/", 1)[1])
    client.post("/logout")
    other = factories.institution(db_session)
    factories.user(db_session, other, Role.INSTRUCTOR, email="outsider@example.org")
    sign_in(client, "outsider@example.org")
    assert "Data literacy" not in client.get("/learn/").data.decode()
    for url in (f"/learn/modules/{module.id}", f"/learn/modules/{module.id}/lessons/0",
                f"/learn/assets/{version.id}/images/bar-chart.svg",  # type: ignore[attr-defined]
                f"/assess/attempts/{attempt_id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/assess/modules/{module.id}/attempts").status_code == 404
    assert client.post(f"/assess/attempts/{attempt_id}/responses", data={"token": "x"}).status_code == 404


def test_importing_is_atomic_and_versions_are_immutable(db_session: Session, tmp_path: Path) -> None:
    inst = factories.institution(db_session)
    first = import_pack(db_session, inst, DEMO, None)
    assert first.created
    assert not import_pack(db_session, inst, DEMO, None).created  # identical content: no-op
    changed = tmp_path / "pack"
    import shutil

    shutil.copytree(DEMO, changed)
    yaml = changed / "pack.yaml"
    yaml.write_text(yaml.read_text().replace("title: Data literacy", "title: Data literacy, revised", 1))
    with pytest.raises(PackConflict, match="raise the version number"):
        import_pack(db_session, inst, changed, None)
    (changed / "pack.yaml").write_text(yaml.read_text().replace("version: 1.0.0", "version: 1.1.0", 1))
    assert import_pack(db_session, inst, changed, None).created
    broken = tmp_path / "broken"
    shutil.copytree(DEMO, broken)
    (broken / "pack.yaml").write_text("id: [not, valid\n")
    before = db_session.scalar(select(func.count()).select_from(ModuleRow))
    with pytest.raises(PackInvalid):
        import_pack(db_session, inst, broken, None)
    assert db_session.scalar(select(func.count()).select_from(ModuleRow)) == before
    assert load_pack(DEMO).version == "1.0.0"
    assert db_session.get(Institution, inst.id) is not None


def test_the_dashboard_offers_to_resume_an_unfinished_assessment(
    client: FlaskClient, world: dict[str, object]
) -> None:
    module = world["module"]
    assert isinstance(module, ModuleRow)
    sign_in(client, "flow-learner@example.org")
    assert "Nothing started yet" in client.get("/").data.decode()
    client.get(f"/learn/modules/{module.id}/lessons/1")
    assert "studying" in client.get("/").data.decode()
    location = client.post(f"/assess/modules/{module.id}/attempts").headers["Location"]
    dashboard = client.get("/").data.decode()
    assert "assessment in progress" in dashboard and f'href="{location}"' in dashboard
