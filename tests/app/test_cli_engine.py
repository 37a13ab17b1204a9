"""``thetapath calibrate`` and ``thetapath simulate`` as a user runs them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from adaptive import ItemBank, irt, synthetic_bank
from app.cli import main

DATA = Path(__file__).parents[1] / "adaptive" / "data"
LSAT7_A = [0.988, 1.081, 1.706, 0.765, 0.736]
LSAT7_B = [-1.879, -0.748, -1.058, -0.635, -2.520]


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, text: str, name: str = "responses.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_calibrate_reproduces_mirt_on_lsat7(tmp_path: Path) -> None:
    out = tmp_path / "bank.json"
    code, stdout, stderr = invoke("calibrate", str(DATA / "lsat7.csv"), "--model", "2pl",
                                  "--out", str(out))
    assert code == 0, stderr
    bank = json.loads(out.read_text())
    assert bank["model"] == "2pl" and bank["engine"] == "mml" and bank["converged"] is True
    assert bank["log_likelihood"] == pytest.approx(-2658.805, abs=0.1)
    items = {it["id"]: it for it in bank["items"]}
    for k, (a, b) in enumerate(zip(LSAT7_A, LSAT7_B, strict=True)):
        item = items[f"Item.{k + 1}"]
        assert item["a"] == pytest.approx(a, abs=0.02)
        assert item["b"] == pytest.approx(b, abs=0.05)
        assert item["se_a"] > 0 and item["se_b"] > 0
    # what calibrate writes, simulate (and the engine) reads
    assert len(ItemBank.from_json(bank)) == 5
    code, stdout, _ = invoke("simulate", "--bank", str(out), "--examinees", "20", "--seed", "1")
    assert code == 0 and json.loads(stdout)["examinees"] == 20


def test_calibrate_prints_json_to_stdout() -> None:
    code, stdout, _ = invoke("calibrate", str(DATA / "lsat7.csv"), "--model", "1pl",
                             "--quadrature", "41")
    assert code == 0
    data = json.loads(stdout)
    assert data["model"] == "1pl" and len(data["items"]) == 5
    assert len({round(it["a"], 9) for it in data["items"]}) == 1  # one common discrimination


BAD_INPUT = [
    ("", "responses.csv:1: the file is empty"),
    ("learner,item\nl1,i1\n", "responses.csv:1: missing column(s) score"),
    ("learner,item,score\nl1,i1,1\nl2,i1,x\n", "responses.csv:3: score 'x' is not a number"),
    ("learner,item,score\nl1,i1,1\nl2,i1,2\n", "responses.csv:3: score 2 is out of range"),
    ("learner,item,score\nl1,i1,-1\n", "responses.csv:2: score '-1' is not a whole number"),
    ("learner,item,score\n", "responses.csv:2: no responses after the header"),
    ("learner,item,score\nl1,i1,1\nl1,i1,0\n", "responses.csv:3: learner 'l1' has a second response"),
]


@pytest.mark.parametrize(("text", "message"), BAD_INPUT)
def test_bad_responses_exit_2_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    code, stdout, stderr = invoke("calibrate", str(path), "--model", "2pl")
    assert code == 2
    assert stderr.strip().endswith(message) or message in stderr
    assert stderr.startswith(str(path))
    assert "Traceback" not in stderr and stdout == ""


def test_missing_file_and_unknown_model_exit_2(tmp_path: Path) -> None:
    code, _, stderr = invoke("calibrate", str(tmp_path / "nope.csv"), "--model", "2pl")
    assert code == 2 and "nope.csv: no such file" in stderr
    path = write(tmp_path, "learner,item,score\nl1,i1,1\n")
    code, _, stderr = invoke("calibrate", str(path), "--model", "4pl")
    assert code == 2 and "'4pl' is not one of" in stderr


def test_an_item_with_identical_responses_gets_a_warning_not_a_crash(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    bank = synthetic_bank(6, rng)
    theta = rng.normal(size=300)
    p = bank.category_probabilities(theta)[:, :, 1]
    rows = ["learner,item,score"]
    for i in range(300):
        for j in range(6):
            rows.append(f"p{i},{bank.ids[j]},{int(rng.random() < p[i, j])}")
        rows.append(f"p{i},everyone_right,1")
    path = write(tmp_path, "\n".join(rows) + "\n")
    code, stdout, stderr = invoke("calibrate", str(path), "--model", "2pl")
    assert code == 0
    assert "warning" in stderr and "everyone_right" in stderr
    assert len(json.loads(stdout)["items"]) >= 6


def test_a_few_learners_calibrate_with_warnings_and_without_standard_errors(tmp_path: Path) -> None:
    # 3 learners, GPCM items with categories nobody used: the information cannot give SEs (this
    # used to end in a numpy warning, a traceback where warnings are errors); the bank is written,
    # and the warnings name the items and what to do
    path = write(tmp_path, "learner,item,score,max_score\n" + "".join(
        f"{learner},{item},{score},{cats - 1}\n" for learner, item, score, cats in [
            ("u0", "q1", 0, 4), ("u0", "q2", 0, 3), ("u0", "q4", 1, 2), ("u1", "q0", 1, 2),
            ("u1", "q1", 0, 4), ("u1", "q3", 2, 3), ("u2", "q1", 1, 4), ("u2", "q2", 1, 3),
            ("u2", "q4", 0, 2)]))
    code, stdout, stderr = invoke("calibrate", str(path), "--model", "gpcm", "--max-iter", "5")
    assert code == 0 and "Traceback" not in stderr
    items = json.loads(stdout)["items"]
    assert [it["id"] for it in items] == ["q1", "q2", "q4"]
    assert all(it["se_a"] is None and it["se_b"] is None for it in items)
    warning = next(line for line in stderr.splitlines() if "have no standard errors" in line)
    assert warning.startswith(f"{path}: warning: 6 parameter(s) of 3 item(s) ('q1', 'q2', 'q4')")
    assert "collect responses from more learners" in warning
    assert "--a-prior lognormal:0,0.5 --b-prior normal:0,2" in warning
    assert f"{path}: warning: item 'q0': its one response is 1, so its parameters" in stderr


def test_responses_that_never_vary_are_an_error_naming_the_items(tmp_path: Path) -> None:
    path = write(tmp_path, "learner,item,score\nu1,q1,1\nu2,q1,1\nu1,q2,0\n")
    code, stdout, stderr = invoke("calibrate", str(path), "--model", "2pl")
    assert code == 2 and stdout == "" and "Traceback" not in stderr
    assert stderr.strip() == (
        f"{path}: no item has varied responses: every item was answered with a single score "
        "('q1': all 2 responses are 1; 'q2': its one response is 0); an item needs responses "
        "with at least two different scores to be calibrated: collect more responses")


def grm_csv(tmp_path: Path, *, stray: int | None = None) -> tuple[Path, dict[str, np.ndarray]]:
    """1000 learners x 8 GRM items scored 0..2 from known parameters; optionally one stray score."""
    rng = np.random.default_rng(8)
    n, k = 1000, 8
    a = np.exp(rng.normal(0.0, 0.2, k))
    thr = np.sort(rng.normal(0.0, 0.8, (k, 2)), axis=1)
    probs = irt.category_probabilities("grm", rng.normal(size=n), a, thr.mean(axis=1), None, thr)
    score = (rng.random((n, k, 1)) > np.cumsum(probs, axis=2)).sum(axis=2)
    rows = ["learner,item,score"]
    for i in range(n):
        rows.extend(f"p{i},g{j},{score[i, j]}" for j in range(k))
    if stray is not None:
        rows[stray - 1] = rows[stray - 1].rsplit(",", 1)[0] + ",7"
    return write(tmp_path, "\n".join(rows) + "\n"), {"a": a, "thresholds": thr}


def test_polytomous_calibration_needs_declared_categories(tmp_path: Path) -> None:
    path, _ = grm_csv(tmp_path)
    code, stdout, stderr = invoke("calibrate", str(path), "--model", "grm")
    assert code == 2 and stdout == "" and "Traceback" not in stderr
    assert stderr.startswith(f"{path}: model grm needs the number of score categories")
    assert "'g0', 'g1', 'g2' and 5 more" in stderr and "--categories 3 for scores 0..2" in stderr
    # per item, all of them but one: the one left is named
    code, _, stderr = invoke("calibrate", str(path), "--model", "grm",
                             "--categories", "g0=3,g1=3,g2=3,g3=3", "--categories", "g4=3,g5=3,g6=3")
    assert code == 2 and "none is declared for 'g7';" in stderr


def test_declared_categories_calibrate_to_the_generating_parameters(tmp_path: Path) -> None:
    path, truth = grm_csv(tmp_path)
    code, stdout, stderr = invoke("calibrate", str(path), "--model", "grm", "--categories", "3")
    assert code == 0 and stderr == ""
    items = json.loads(stdout)["items"]
    assert [len(it["thresholds"]) for it in items] == [2] * 8
    thr = np.array([it["thresholds"] for it in items])
    assert np.sqrt(np.mean((thr - truth["thresholds"]) ** 2)) < 0.15
    a = np.array([it["a"] for it in items])
    assert np.sqrt(np.mean((a - truth["a"]) ** 2)) < 0.15
    # a default with a per-item override: g4 declared with 5 categories, two of them empty
    code, stdout, stderr = invoke("calibrate", str(path), "--model", "grm",
                                  "--categories", "3,g4=5")
    assert code == 0 and "warning: item 'g4': no responses in score categories [3, 4]" in stderr
    assert len(json.loads(stdout)["items"][4]["thresholds"]) == 4


def test_a_stray_score_is_an_error_with_its_line(tmp_path: Path) -> None:
    path, _ = grm_csv(tmp_path, stray=1234)
    code, stdout, stderr = invoke("calibrate", str(path), "--model", "grm", "--categories", "3")
    assert code == 2 and stdout == ""
    line = path.read_text().splitlines()[1233]
    learner, item, _ = line.split(",")
    assert stderr.strip() == (
        f"{path}:1234: item {item!r} has score 7 (learner {learner!r}) but takes scores 0..2 "
        "(3 categories as declared); correct the score or declare more categories")
    # dichotomous models: anything but 0/1 is an error with its line
    code, _, stderr = invoke("calibrate", str(path), "--model", "2pl")
    assert code == 2 and stderr.startswith(f"{path}:")
    assert "this model takes scores 0..1 (0 = wrong, 1 = right)" in stderr


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "grm", "--categories", "1"], "the number of score categories must be"),
    (["--model", "grm", "--categories", "g0=x"], "'g0=x'"),
    (["--model", "grm", "--categories", "=3"], "names no item"),
    (["--model", "grm", "--categories", "3,4"], "two numbers for every item"),
    (["--model", "2pl", "--categories", "3"], "model 2pl is dichotomous"),
    (["--model", "2pl", "--a-prior", "normal:0,1"], "expected lognormal:MEANLOG,SDLOG"),
    (["--model", "2pl", "--a-prior", "lognormal:0,-1"], "with SD > 0"),
    (["--model", "2pl", "--b-prior", "normal:0"], "expected normal:MEAN,SD"),
    (["--model", "2pl", "--engine", "pyirt", "--a-prior", "lognormal:0,0.5"], "need --engine mml"),
])
def test_bad_calibrate_options_are_usage_errors(tmp_path: Path, args: list[str],
                                                message: str) -> None:
    path = write(tmp_path, "learner,item,score\nl1,i1,1\nl2,i1,0\n")
    code, stdout, stderr = invoke("calibrate", str(path), *args)
    assert code == 2 and stdout == "" and message in stderr and "Traceback" not in stderr


def test_unknown_item_in_categories_is_named(tmp_path: Path) -> None:
    path, _ = grm_csv(tmp_path)
    code, _, stderr = invoke("calibrate", str(path), "--model", "grm", "--categories", "3,g9=4")
    assert code == 2
    assert stderr.strip() == (f"{path}: --categories names item 'g9', which has no responses in "
                              "this file; check the item id")


def test_anchor_bank_declares_its_items_categories(tmp_path: Path) -> None:
    path, truth = grm_csv(tmp_path)
    anchors = tmp_path / "anchors.json"
    anchors.write_text(json.dumps({"items": [
        {"id": f"g{j}", "model": "grm", "a": float(truth["a"][j]),
         "thresholds": [float(t) for t in truth["thresholds"][j]]} for j in range(3)]}))
    code, _, stderr = invoke("calibrate", str(path), "--model", "grm", "--anchor", str(anchors))
    assert code == 2 and "none is declared for 'g3', 'g4', 'g5' and 2 more" in stderr
    code, stdout, stderr = invoke("calibrate", str(path), "--model", "grm", "--anchor",
                                  str(anchors), "--categories", "3")  # a default spares anchors
    assert code == 0, stderr
    assert [it["id"] for it in json.loads(stdout)["items"]] == [f"g{j}" for j in range(8)]


def runaway_csv(tmp_path: Path) -> Path:
    """Issue 9: 20 ordinary 2PL items and one item only the 9 least able of 2000 get wrong."""
    rng = np.random.default_rng(21)
    bank = synthetic_bank(20, rng)
    theta = rng.normal(size=2000)
    p = bank.category_probabilities(theta)[:, :, 1]
    easy = np.ones(2000, dtype=int)
    easy[np.argsort(theta)[:9]] = 0
    rows = ["learner,item,score"]
    for i in range(2000):
        rows.extend(f"p{i},{bank.ids[j]},{int(rng.random() < p[i, j])}" for j in range(20))
        rows.append(f"p{i},easy,{easy[i]}")
    return write(tmp_path, "\n".join(rows) + "\n")


def test_a_runaway_discrimination_warns_and_a_prior_bounds_it(tmp_path: Path) -> None:
    path = runaway_csv(tmp_path)
    code, stdout, stderr = invoke("calibrate", str(path), "--model", "2pl")
    assert code == 0
    easy = next(it for it in json.loads(stdout)["items"] if it["id"] == "easy")
    assert easy["a"] > 4 and easy["se_a"] > 1
    warning = next(line for line in stderr.splitlines() if "'easy'" in line)
    assert warning.startswith(f"{path}: warning: item 'easy': discrimination a = ")
    assert "only 9 of its 2000 responses are 0" in warning
    assert "--a-prior lognormal:0,0.5" in warning
    code, stdout, stderr = invoke("calibrate", str(path), "--model", "2pl",
                                  "--a-prior", "lognormal:0,0.5")
    assert code == 0 and "implausibly" not in stderr
    easy = next(it for it in json.loads(stdout)["items"] if it["id"] == "easy")
    assert 1.0 < easy["a"] < 4.0 and -3.5 < easy["b"] < -2.5


def test_pyirt_engine_from_the_command_line(tmp_path: Path) -> None:
    # ten cycles of pyirt's EM on LSAT7, rescaled to N(0, 1): near mirt, and not called converged
    code, stdout, stderr = invoke("calibrate", str(DATA / "lsat7.csv"), "--model", "2pl",
                                  "--engine", "pyirt", "--quadrature", "11", "--max-iter", "10",
                                  "--tol", "0.001")
    assert code == 0
    bank = json.loads(stdout)
    assert bank["engine"] == "pyirt" and bank["converged"] is False and bank["iterations"] == 10
    assert "warning: pyirt's EM did not converge in 10 cycles" in stderr
    assert bank["log_likelihood"] == pytest.approx(-2658.805, abs=0.2)  # -2751 before rescaling
    np.testing.assert_allclose([it["a"] for it in bank["items"]], LSAT7_A, atol=0.12)
    np.testing.assert_allclose([it["b"] for it in bank["items"]], LSAT7_B, atol=0.06)


def test_simulate_prints_the_summary() -> None:
    code, stdout, _ = invoke("simulate", "--synthetic-bank", "200", "--examinees", "50", "--seed", "4",
                             "--cut", "0.0", "--max-items", "25")
    assert code == 0
    summary = json.loads(stdout)
    assert set(summary) == {"examinees", "mean_length", "rmse", "bias", "max_exposure",
                            "seconds_per_step", "classification_accuracy"}
    assert summary["examinees"] == 50 and summary["mean_length"] <= 25
    assert 0 < summary["rmse"] < 0.6 and summary["classification_accuracy"] > 0.7
    # the seed fixes everything but the timing
    _, again, _ = invoke("simulate", "--synthetic-bank", "200", "--examinees", "50", "--seed", "4",
                         "--cut", "0.0", "--max-items", "25")
    first, second = json.loads(stdout), json.loads(again)
    first.pop("seconds_per_step")
    second.pop("seconds_per_step")
    assert first == second


def test_simulate_needs_exactly_one_bank(tmp_path: Path) -> None:
    code, _, stderr = invoke("simulate", "--examinees", "5", "--seed", "1")
    assert code == 2 and "exactly one of --bank" in stderr
    bad = write(tmp_path, '{"items": [{"id": "x", "a": -1, "b": 0}]}', "bank.json")
    code, _, stderr = invoke("simulate", "--bank", str(bad), "--examinees", "5", "--seed", "1")
    assert code == 2 and "item 'x': a: discrimination is -1.0" in stderr
    broken = write(tmp_path, '{"items": [\n  {"id": "x",}\n]}', "broken.json")
    code, _, stderr = invoke("simulate", "--bank", str(broken), "--examinees", "5", "--seed", "1")
    assert code == 2 and "broken.json:2: not valid JSON" in stderr


def test_the_installed_console_script_runs() -> None:
    exe = shutil.which("thetapath", path=str(Path(sys.executable).parent))
    assert exe is not None, "the thetapath console script is not installed"
    done = subprocess.run([exe, "calibrate", "missing.csv", "--model", "2pl"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == "missing.csv: no such file"


def test_demo_prepares_database_and_accounts_idempotently(tmp_path: Path) -> None:
    env = {"THETAPATH_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite'}"}
    for run in range(2):  # running the demo twice changes nothing
        result = CliRunner().invoke(main, ["demo", "--no-serve", "--learners", "4"], env=env)
        assert result.exit_code == 0, result.output
        assert "learner@example.org" in result.stdout and "http://127.0.0.1:5000/" in result.stdout
        assert ("4 of 4 simulated learners have studied" in result.stderr) == (run == 0)
        assert ("graduate@example.org took the assessments" in result.stderr) == (run == 0)
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, text

    from app.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with create_engine(env["THETAPATH_DATABASE_URL"]).connect() as conn:
        assert conn.execute(text("select count(*) from user_account where not simulated")).scalar() == 4
        assert conn.execute(text("select count(*) from user_account where simulated")).scalar() == 4
        # they took assessments through the app: responses with estimates, evidence, no mail address
        assert conn.execute(text("select count(*) from response")).scalar() > 4 * 5
        assert conn.execute(text("select count(*) from ability_record")).scalar() > 0
        assert conn.execute(text(
            "select count(*) from user_account where simulated and email not like '%@simulated.invalid'"
        )).scalar() == 0
        assert conn.execute(text("select version_num from alembic_version")).scalar() == head
        assert conn.execute(text("select count(*) from pack_version")).scalar() == 1
        assert conn.execute(text("select count(*) from pack_module")).scalar() == 7
        # a demo database from an older checkout: same pack version, other content
        conn.execute(text("update pack_version set content_hash = 'from-an-older-checkout'"))
        conn.commit()
    stale = CliRunner().invoke(main, ["demo", "--no-serve", "--learners", "4"], env=env)
    assert stale.exit_code == 0, stale.output
    assert "already imported with different content" in stale.stderr
    assert "delete" in stale.stderr and "demo.sqlite" in stale.stderr
    assert "learner@example.org" in stale.stdout  # the demo goes on with what it has


def test_user_create(tmp_path: Path) -> None:
    env = {"THETAPATH_DATABASE_URL": f"sqlite:///{tmp_path / 'users.sqlite'}"}
    assert CliRunner().invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    args = ["user", "create", "--email", "Prof@Example.org", "--name", "Prof", "--institution", "uni",
            "--role", "instructor", "--password", "a long password"]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "created prof@example.org as instructor in uni" in result.stdout
    again = CliRunner().invoke(main, args, env=env)
    assert again.exit_code == 2 and "already exists" in again.stderr
    short = CliRunner().invoke(main, [*args[:-1], "short"], env=env)
    assert short.exit_code == 2 and "at least 10 characters" in short.stderr


def test_pack_import_into_an_institution_and_export_by_id(tmp_path: Path) -> None:
    demo = Path(__file__).parents[2] / "content" / "packs" / "data-literacy"
    env = {"THETAPATH_DATABASE_URL": f"sqlite:///{tmp_path / 'packs.sqlite'}"}
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], env=env).exit_code == 0
    missing = runner.invoke(main, ["pack", "import", str(demo), "--institution", "uni"], env=env)
    assert missing.exit_code == 2 and "no institution 'uni'" in missing.stderr
    runner.invoke(main, ["user", "create", "--email", "i@example.org", "--name", "I", "--institution",
                         "uni", "--role", "instructor", "--password", "a long password"], env=env)
    first = runner.invoke(main, ["pack", "import", str(demo), "--institution", "uni"], env=env)
    assert first.exit_code == 0, first.output
    assert "imported as version 1.0.0" in first.stdout
    again = runner.invoke(main, ["pack", "import", str(demo), "--institution", "uni"], env=env)
    assert "already imported" in again.stdout and "changes since" not in again.stdout
    # a new version says what changed since the newest stored one
    from tests.app.test_pack_versions import _changed_copy

    newer = runner.invoke(main, ["pack", "import", str(_changed_copy(tmp_path)), "--institution", "uni"],
                          env=env)
    assert newer.exit_code == 0, newer.output
    assert "changes since version 1.0.0: items: 1 edited, 1 parameters changed" in newer.stdout
    assert "imported as version 1.1.0" in newer.stdout
    out = tmp_path / "exported"
    exported = runner.invoke(main, ["pack", "export", "data-literacy@1.0.0", str(out),
                                    "--institution", "uni"], env=env)
    assert exported.exit_code == 0, exported.output
    from content import load_pack

    assert load_pack(out).content_hash == load_pack(demo).content_hash
    unknown = runner.invoke(main, ["pack", "export", "nope@1.0.0", str(tmp_path / "x"),
                                   "--institution", "uni"], env=env)
    assert unknown.exit_code == 2 and "no such pack version" in unknown.stderr


def test_help_version_and_engine_commands_never_build_the_web_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Building the app creates instance/secret_key on a fresh clone; these commands need no app."""
    import app as app_package

    built: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        built.append(args)
        msg = "the web app was built"
        raise AssertionError(msg)

    monkeypatch.setattr(app_package, "create_app", refuse)
    for args in (["--help"], ["--version"], ["calibrate", "--help"], ["pack", "--help"],
                 ["simulate", "--synthetic-bank", "30", "--examinees", "5", "--seed", "1"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0 and not built, (args, result.output, result.exception)
    assert "thetapath, version" in CliRunner().invoke(main, ["--version"]).output
    # a command that needs the app still builds it
    CliRunner().invoke(main, ["db", "upgrade"])
    assert built
