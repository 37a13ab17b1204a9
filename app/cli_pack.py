"""``thetapath pack validate | import | export``: the content-pack commands.

Exit status: 0 when the pack has no errors (warnings are printed), 1 when it has errors, 2 when the
input cannot be read at all (no such path, neither a folder nor a zip, a damaged zip) or the output
cannot be written. Problems are printed one per line as ``path:line: severity: message (hint: ...)``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from content import (
    CheckResult,
    ContentPack,
    PackInvalid,
    PackIssue,
    PackUnreadable,
    check_pack,
    export_pack,
)

__all__ = ["pack"]


def _fail(message: str, status: int = 2) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(status)


def _check(path: Path) -> CheckResult:
    try:
        return check_pack(path)
    except PackUnreadable as exc:
        _fail(str(exc))


def _print_issues(issues: tuple[PackIssue, ...], *, err: bool = False) -> None:
    for issue in issues:
        click.echo(str(issue), err=err)


def _counts(result: CheckResult) -> str:
    n_errors, n_warnings = len(result.errors), len(result.warnings)
    return f"{n_errors} error(s), {n_warnings} warning(s)"


def _summary(content: ContentPack) -> str:
    n_pilot = sum(1 for item in content.items if item.pilot)
    n_calibrated = sum(1 for item in content.items if item.irt is not None)
    n_unscored = len(content.items) - n_pilot - n_calibrated
    n_lessons = sum(len(module.lessons) for module in content.modules)
    return (f"{content.id} {content.version}: {len(content.competencies)} competencies, "
            f"{len(content.modules)} modules, {n_lessons} lessons, {len(content.items)} items "
            f"({n_calibrated} calibrated, {n_pilot} pilot, {n_unscored} unscored), "
            f"{len(content.credentials)} credentials, {len(content.assets)} images; "
            f"content hash sha256:{content.content_hash}")


@click.group("pack", context_settings={"help_option_names": ["-h", "--help"]})
def pack() -> None:
    """Validate, import and export content packs (a folder or a .zip)."""


@pack.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {path, line, column, severity, message, hint}.")
def validate_command(path: Path, as_json: bool) -> None:
    """Check the pack at PATH and print every problem; exit 1 on errors, 0 otherwise."""
    result = _check(path)
    if as_json:
        click.echo(json.dumps([issue.to_json() for issue in result.issues], indent=2,
                              ensure_ascii=False))
    else:
        _print_issues(result.issues)
        click.echo(f"{path}: {_counts(result)}", err=True)
    sys.exit(1 if result.errors else 0)


@pack.command("import")
@click.argument("path", type=click.Path(path_type=Path))
def import_command(path: Path) -> None:
    """Validate the pack at PATH as an import would and print what it holds.

    Until the database exists (issue 5) nothing is stored: the command proves the pack imports.
    """
    result = _check(path)
    _print_issues(result.issues, err=True)
    if result.pack is None:
        _fail(f"{path}: not imported: {_counts(result)}", 1)
    click.echo(_summary(result.pack))


@pack.command("export")
@click.argument("source", metavar="PATH_OR_ID")
@click.argument("out", type=click.Path(path_type=Path))
def export_command(source: str, out: Path) -> None:
    """Write the pack at PATH_OR_ID in canonical form to OUT (a new folder, or a file ending .zip)."""
    path = Path(source)
    if not path.exists():
        _fail(f"{source}: no such file or folder (exporting a stored pack by id needs the database, "
              "which comes with the web app)")
    result = _check(path)
    _print_issues(result.issues, err=True)
    if result.pack is None:
        _fail(f"{source}: not exported: {_counts(result)}", 1)
    try:
        export_pack(result.pack, out)
    except (FileExistsError, OSError) as exc:
        _fail(f"{out}: cannot be written ({exc})")
    except PackInvalid as exc:  # pragma: no cover - a validated pack always exports
        _fail(str(exc), 1)
    click.echo(f"{out}: {_summary(result.pack)}")
