"""Exports of a pack version: responses in the calibration format, the item bank and results, with
learners under pseudonyms made per export; on the web and on the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive import ItemBank, ResponseData, calibrate, read_responses_csv
from app.analytics.exports import first_responses
from app.cli import main
from app.demo import seed_simulated_learners
from app.models import Institution, PackVersion, Role, User
from app.packstore import content_of, import_pack, pack_bank
from tests.app import factories

DEMO = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def seeded(app: Flask, db_session: Session) -> tuple[Institution, PackVersion, User]:
    inst = factories.institution(db_session)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    version = import_pack(db_session, inst, DEMO, instructor.id).version
    with app.app_context():
        assert seed_simulated_learners(db_session, inst, 12) == 12
    return inst, version, instructor


def test_responses_export_is_pseudonymous_and_calibrates_like_the_stored_data(
        app: Flask, client: FlaskClient, db_session: Session,
        seeded: tuple[Institution, PackVersion, User], tmp_path: Path) -> None:
    _inst, version, instructor = seeded
    factories.sign_in(client, instructor.email)
    url = f"/author/versions/{version.id}/export/responses"
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"] == (
        'attachment; filename="data-literacy-1.0.0-responses.csv"')
    text = r.data.decode()
    rows = _rows(text)
    first = first_responses(db_session, version)
    assert len(rows) == len(first) > 12 * 5
    assert text.splitlines()[0] == "learner,item,score,max_score,pilot,attempt_kind,answered_at"
    # nobody is named: no e-mail address, no user id as a learner
    users = list(db_session.scalars(select(User).join(User.memberships)))
    assert not any(u.email in text for u in users)
    pseudonyms = [row["learner"] for row in rows]
    assert not {str(u.id) for u in users} & set(pseudonyms)
    # one pseudonym per learner within the file, in step with the stored responses
    assert len(set(pseudonyms)) == len({r.user_id for r in first})
    mapping = dict(zip([r.user_id for r in first], pseudonyms, strict=True))
    assert all(mapping[r.user_id] == row["learner"] for r, row in zip(first, rows, strict=True))
    assert [(row["item"], int(row["score"])) for row in rows] == [(r.item, r.score) for r in first]
    # a second download cannot be joined to the first
    again = {row["learner"] for row in _rows(client.get(url).data.decode())}
    assert not again & set(pseudonyms)

    # the CSV calibrates exactly as the stored responses do (thetapath calibrate reads it as is)
    path = tmp_path / "responses.csv"
    path.write_text(text, encoding="utf-8")
    # (a few EM cycles: the same on both sides, which is what is compared)
    result = CliRunner().invoke(main, ["calibrate", str(path), "--model", "gpcm", "--max-iter", "5",
                                       "--out", str(tmp_path / "bank.json")])
    assert result.exit_code == 0, result.output
    from_csv = ItemBank.from_json(json.loads((tmp_path / "bank.json").read_text()))
    stored = calibrate(ResponseData.from_records((str(r.user_id), r.item, r.score) for r in first),
                       "gpcm", max_iter=5, categories={r.item: r.max_score + 1 for r in first})
    assert from_csv.ids == stored.bank.ids
    np.testing.assert_allclose(from_csv.a, stored.bank.a, rtol=1e-6)
    np.testing.assert_allclose(np.nan_to_num(from_csv.thresholds), np.nan_to_num(stored.bank.thresholds),
                               atol=1e-6)
    read = read_responses_csv(text.splitlines(), source="responses.csv")
    assert read.learners == tuple(dict.fromkeys(pseudonyms))


def test_bank_and_results_exports(client: FlaskClient, db_session: Session,
                                  seeded: tuple[Institution, PackVersion, User]) -> None:
    inst, version, instructor = seeded
    factories.sign_in(client, instructor.email)
    bank = ItemBank.from_json(client.get(f"/author/versions/{version.id}/export/bank").get_json())
    assert bank.ids == pack_bank(db_session, version)[0].ids
    results = _rows(client.get(f"/author/versions/{version.id}/export/results").data.decode())
    competencies = {c.id for c in content_of(db_session, version).competencies}
    assert results and {row["competency"] for row in results} <= competencies
    assert all(-6 < float(row["theta"]) < 6 and float(row["se"]) > 0 for row in results)
    assert len({(row["learner"], row["competency"]) for row in results}) == len(results)  # latest only
    page = client.get(f"/author/versions/{version.id}/items").data.decode()
    assert f'href="/author/versions/{version.id}/export/responses"' in page
    learner = factories.user(db_session, inst, Role.LEARNER)
    factories.sign_in(client, learner.email)
    assert client.get(f"/author/versions/{version.id}/export/responses").status_code == 403


def test_a_version_without_responses_exports_a_header(client: FlaskClient, db_session: Session) -> None:
    inst = factories.institution(db_session)
    instructor = factories.user(db_session, inst, Role.INSTRUCTOR)
    version = import_pack(db_session, inst, DEMO, instructor.id).version
    factories.sign_in(client, instructor.email)
    text = client.get(f"/author/versions/{version.id}/export/responses").data.decode()
    assert text == "learner,item,score,max_score,pilot,attempt_kind,answered_at\n"
    results = client.get(f"/author/versions/{version.id}/export/results").data.decode()
    assert results == "learner,competency,theta,se,mastery,source,items,recorded_at\n"


def test_thetapath_export_on_the_command_line(tmp_path: Path) -> None:
    env = {"THETAPATH_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}"}
    runner = CliRunner()
    assert runner.invoke(main, ["demo", "--no-serve", "--learners", "5"], env=env).exit_code == 0
    out = tmp_path / "responses.csv"
    args = ["export", "responses", "--institution", "demo-university", "--pack", "data-literacy@1.0.0"]
    result = runner.invoke(main, [*args, "--out", str(out)], env=env)
    assert result.exit_code == 0, result.output
    rows = _rows(out.read_text(encoding="utf-8"))
    assert len(rows) > 5 * 5 and len({row["learner"] for row in rows}) == 6  # and the demo graduate
    calibrated = runner.invoke(main, ["calibrate", str(out), "--model", "gpcm", "--max-iter", "5"], env=env)
    assert calibrated.exit_code == 0, calibrated.output
    for bad, message in ((["--pack", "data-literacy"], "name a stored pack version as ID@VERSION"),
                         (["--pack", "data-literacy@9.9.9"], "no such pack version")):
        result = runner.invoke(main, ["export", "bank", "--institution", "demo-university", *bad], env=env)
        assert result.exit_code == 2 and message in result.stderr
