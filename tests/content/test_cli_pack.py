"""``thetapath pack validate | import | export`` as a user runs them: output format and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from app.cli_pack import pack

from .packs import base_files, edit, write_folder, zip_bytes


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(pack, list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def broken(tmp_path: Path) -> Path:
    files = edit(base_files(), "items/intro.yaml", "a: 1.2, b: -0.4", "a: -0.4, b: -0.4")
    files = edit(files, "pack.yaml", "max_items: 3", "max_items: 10")
    return write_folder(tmp_path / "broken", files)


def test_validate_a_valid_pack_exits_0(tmp_path: Path) -> None:
    code, out, err = run("validate", str(write_folder(tmp_path / "ok", base_files())))
    assert code == 0
    assert out == ""
    assert "0 error(s), 0 warning(s)" in err


def test_validate_prints_one_line_per_problem_and_exits_1(tmp_path: Path) -> None:
    code, out, _ = run("validate", str(broken(tmp_path)))
    assert code == 1
    assert out.splitlines() == [
        "items/intro.yaml:17: error: discrimination is -0.4; it must be > 0 "
        "(hint: recalibrate the item or remove its parameters)",
        "pack.yaml:27: warning: competency 'advanced' has 3 calibrated item(s) for a test of up to 10 "
        "(max_items) (hint: add or calibrate items, or lower max_items for this competency)",
    ]


def test_validate_json(tmp_path: Path) -> None:
    code, out, _ = run("validate", "--json", str(broken(tmp_path)))
    assert code == 1
    records = json.loads(out)
    assert [sorted(r) for r in records] == [sorted(["path", "line", "column", "severity", "message",
                                                    "hint"])] * 2
    assert records[0] == {"path": "items/intro.yaml", "line": 17, "column": 26, "severity": "error",
                          "message": "discrimination is -0.4; it must be > 0",
                          "hint": "recalibrate the item or remove its parameters"}


def test_warnings_alone_exit_0(tmp_path: Path) -> None:
    files = edit(base_files(), "pack.yaml", "max_items: 3", "max_items: 10")
    code, out, _ = run("validate", str(write_folder(tmp_path / "warn", files)))
    assert code == 0
    assert out.startswith("pack.yaml:27: warning:")


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    code, _, err = run("validate", str(tmp_path / "nope"))
    assert code == 2 and "no such file or folder" in err
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not really")
    code, _, err = run("validate", str(junk))
    assert code == 2 and "junk.zip" in err
    code, _, _ = run("validate", "--json", str(junk))
    assert code == 2


def test_import_prints_a_summary(tmp_path: Path) -> None:
    archive = tmp_path / "pack.zip"
    archive.write_bytes(zip_bytes(base_files()))
    code, out, _ = run("import", str(archive))
    assert code == 0
    assert out.startswith("sample-pack 1.2.0: 2 competencies, 2 modules, 2 lessons, 9 items "
                          "(6 calibrated, 2 pilot, 1 unscored), 2 credentials, 2 images; "
                          "content hash sha256:")


def test_import_of_an_invalid_pack_exits_1(tmp_path: Path) -> None:
    code, out, err = run("import", str(broken(tmp_path)))
    assert code == 1 and out == ""
    assert "items/intro.yaml:17: error: discrimination" in err and "not imported" in err


def test_export_then_import(tmp_path: Path) -> None:
    src = write_folder(tmp_path / "src", base_files())
    code, out, _ = run("export", str(src), str(tmp_path / "out.zip"))
    assert code == 0 and "out.zip" in out
    code, out2, _ = run("import", str(tmp_path / "out.zip"))
    assert code == 0
    assert out2.split("content hash")[1] == out.split("content hash")[1]
    code, _, err = run("export", str(src), str(tmp_path / "out.zip"))
    assert code == 2 and "already exists" in err
    code, _, err = run("export", "sample-pack", str(tmp_path / "x.zip"))
    assert code == 2 and "needs --institution SLUG" in err


def test_a_file_name_that_is_not_utf8_is_reported_escaped_even_into_a_strict_pipe(tmp_path: Path) -> None:
    """Printed to a pipe whose encoding refuses surrogates, the name must not crash the command."""
    import os
    import subprocess
    import sys

    folder = write_folder(tmp_path / "pack", base_files())
    with open(os.fsencode(folder) + b"/\xff\xfe.svg", "wb") as fh:
        fh.write(b"<svg/>")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    thetapath = Path(sys.executable).parent / "thetapath"  # the installed console script
    run = subprocess.run([str(thetapath), "pack", "validate", str(folder)],
                         capture_output=True, env=env, check=False)
    out = run.stdout.decode("utf-8")
    assert run.returncode == 1, run.stderr.decode(errors="replace")[-500:]
    assert "\\xff\\xfe.svg: error: has a name that is not valid UTF-8" in out
    assert "Traceback" not in run.stderr.decode(errors="replace")
