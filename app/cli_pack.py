"""``thetapath pack validate | import | export``: the content-pack commands.

Exit status: 0 when the pack has no errors (warnings are printed), 1 when it has errors, 2 when the
input cannot be read at all (no such path, neither a folder nor a zip, a damaged zip) or the output
cannot be written. Problems are printed one per line as ``path:line: severity: message (hint: ...)``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from app.models import Institution
from content import (
    CheckResult,
    ContentPack,
    PackInvalid,
    PackIssue,
    PackUnreadable,
    check_pack,
    export_pack,
    pack_from_qti,
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
@click.option("--institution", "institution_slug", default=None,
              help="Store the pack as a new version in this institution (by slug). Without it the "
                   "pack is only checked, as an import would check it.")
@with_appcontext
def import_command(path: Path, institution_slug: str | None) -> None:
    """Validate the pack at PATH and import it into an institution, atomically."""
    result = _check(path)
    _print_issues(result.issues, err=True)
    if result.pack is None:
        _fail(f"{path}: not imported: {_counts(result)}", 1)
    click.echo(_summary(result.pack))
    if institution_slug is None:
        click.echo("checked only; give --institution SLUG to store it", err=True)
        return
    with _app_session() as session:
        from app.packstore import PackConflict, content_of, import_pack, newest_version
        from content import diff_packs

        institution = _institution(session, institution_slug)
        previous = newest_version(session, institution.id, result.pack.id, other_than=result.pack.version)
        if previous is not None:
            changes = diff_packs(content_of(session, previous), result.pack)
            click.echo(f"changes since version {previous.version}: {changes.summary}")
        try:
            outcome = import_pack(session, institution, path, None)
        except PackConflict as exc:
            _fail(f"{path}: {exc}", 1)
        version = outcome.version
        click.echo(f"imported as version {version.version} (id {version.id}) in {institution_slug}"
                   if outcome.created else
                   f"version {version.version} was already imported in {institution_slug}; nothing changed")


@contextmanager
def _app_session() -> Iterator[Session]:
    from app import db

    with current_app.app_context():  # a fresh context: its session closes when the block ends
        yield db.session()


def _institution(session: Session, slug: str) -> Institution:
    from sqlalchemy import select

    institution = session.scalar(select(Institution).where(Institution.slug == slug))
    if institution is None:
        _fail(f"no institution {slug!r}; create one with 'thetapath user create --institution {slug} ...'")
    return institution


def _stored(institution_slug: str, pack_id: str, version: str) -> ContentPack:
    from app.packstore import content_of, find_version

    with _app_session() as session:
        institution = _institution(session, institution_slug)
        row = find_version(session, institution.id, pack_id, version)
        if row is None:
            _fail(f"{pack_id}@{version}: no such pack version in {institution_slug}")
        return content_of(session, row)


@pack.command("export")
@click.argument("source", metavar="PATH_OR_ID@VERSION")
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--institution", "institution_slug", default=None,
              help="The institution of a stored pack named ID@VERSION.")
@with_appcontext
def export_command(source: str, out: Path, institution_slug: str | None) -> None:
    """Write a pack (a folder or zip, or a stored ID@VERSION) in canonical form to OUT."""
    path = Path(source)
    if path.exists():
        result = _check(path)
        _print_issues(result.issues, err=True)
        if result.pack is None:
            _fail(f"{source}: not exported: {_counts(result)}", 1)
        content = result.pack
    elif "@" in source and institution_slug is not None:
        content = _stored(institution_slug, *source.split("@", 1))
    else:
        _fail(f"{source}: no such file or folder; a stored pack is named ID@VERSION and needs "
              "--institution SLUG")
    try:
        export_pack(content, out)
    except (FileExistsError, OSError) as exc:
        _fail(f"{out}: cannot be written ({exc})")
    except PackInvalid as exc:  # pragma: no cover - a validated pack always exports
        _fail(str(exc), 1)
    click.echo(f"{out}: {_summary(content)}")


@pack.command("from-qti")
@click.argument("source", type=click.Path(path_type=Path))
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--id", "pack_id", required=True, help="The new pack's id.")
@click.option("--title", required=True, help="The new pack's title.")
@click.option("--competency", "competency_id", default="imported", show_default=True,
              help="Id of the one competency the items measure.")
@click.option("--competency-title", default=None, help="Its title (default: the pack's title).")
@click.option("--module-title", default=None, help="The module's title (default: the pack's title).")
@click.option("--level", type=click.Choice(["easy", "medium", "hard"]), default="medium",
              show_default=True, help="Provisional level of the (pilot) items.")
@click.option("--language", default="en", show_default=True, help="BCP 47 language tag.")
@click.option("--licence", default="NOASSERTION", show_default=True, help="SPDX licence id.")
def from_qti_command(source: Path, out: Path, pack_id: str, title: str, competency_id: str,
                     competency_title: str | None, module_title: str | None, level: str,
                     language: str, licence: str) -> None:
    """Import QTI 3.0 / 2.1 items (an item .xml, a package folder or .zip) into a new pack at OUT.

    Problems are printed like 'pack validate' prints them. Exit 0 when every item was imported
    (warnings may have been printed), 1 when some items could not be imported (the pack is written
    without them; nothing is written when no item could be imported), 2 when SOURCE can't be read or
    OUT can't be written.
    """
    try:
        content, issues = pack_from_qti(
            source, pack_id=pack_id, title=title, competency_id=competency_id,
            competency_title=competency_title or title, module_title=module_title, level=level,
            language=language, licence=licence)
    except PackUnreadable as exc:
        _fail(str(exc))
    except PackInvalid as exc:
        _print_issues(exc.issues)
        _fail(f"{source}: nothing written: {len(exc.errors)} error(s), {len(exc.warnings)} warning(s)", 1)
    _print_issues(tuple(sorted(issues, key=PackIssue.sort_key)))
    try:
        export_pack(content, out)
    except (FileExistsError, OSError) as exc:
        _fail(f"{out}: cannot be written ({exc})")
    n_errors = sum(1 for issue in issues if issue.is_error)
    click.echo(f"{out}: {_summary(content)}; {n_errors} error(s), {len(issues) - n_errors} warning(s)",
               err=True)
    sys.exit(1 if n_errors else 0)
