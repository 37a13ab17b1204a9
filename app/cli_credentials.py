"""``thetapath credentials verify``: check a credential offline, as anyone can.

Exit status: 0 valid, 1 not valid (each failed check on its own line), 2 unreadable input. The
verifier needs no database and calls nobody: ``did:key`` issuers resolve from the credential itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group("credentials")
def credentials() -> None:
    """Open Badges 3.0 credentials."""


@credentials.command("verify")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Print {valid, checks, credential} as JSON.")
def verify_command(path: Path, as_json: bool) -> None:
    """Check the credential in PATH (- for standard input): format, signature, validity, status."""
    from app.credentials.verify import MAX_BYTES, Unreadable, read, unreadable, verify_credential

    try:
        raw = sys.stdin.buffer.read(MAX_BYTES + 1) if str(path) == "-" else _head(path, MAX_BYTES + 1)
        verdict = verify_credential(read(raw))
    except Unreadable as err:
        if as_json:
            click.echo(json.dumps(unreadable(err)))
        else:
            click.echo(f"{path}: not a credential: {err}", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(verdict.to_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"{path}: {'VALID' if verdict.valid else 'NOT VALID'}")
        for check in verdict.checks:
            click.echo(f"  {'ok  ' if check.ok else 'FAIL'} {check.check}: {check.message}")
    sys.exit(0 if verdict.valid else 1)


def _head(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(limit)
    except OSError as err:
        click.echo(f"{path}: cannot be read ({err.strerror})", err=True)
        sys.exit(2)
