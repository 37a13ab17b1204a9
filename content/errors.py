"""Errors of the content-pack format: one :class:`PackIssue` per problem, raised together.

Every check collects issues instead of stopping at the first one, so an author sees every problem of a
pack in one run. :class:`PackInvalid` carries them all (errors and warnings); it is raised only when at
least one issue is an error. :class:`PackUnreadable` means the input is not a pack at all (no such path,
neither a folder nor a zip archive, a damaged zip file).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ERROR",
    "WARNING",
    "InvalidAnswer",
    "PackError",
    "PackInvalid",
    "PackIssue",
    "PackUnreadable",
    "Severity",
]

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True, slots=True)
class PackIssue:
    """One problem found in a content pack.

    Attributes
    ----------
    path : str
        Path inside the pack, with ``/`` separators (``"items/charts.yaml"``); ``"."`` for the pack
        as a whole.
    line, column : int or None
        1-based position of the problem; ``None`` when it concerns the file as a whole.
    severity : {"error", "warning"}
        Errors block an import; warnings do not.
    message : str
        What is wrong.
    hint : str
        How to fix it.
    """

    path: str
    line: int | None
    column: int | None
    severity: Severity
    message: str
    hint: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        return f"{where}: {self.severity}: {self.message} (hint: {self.hint})"

    @property
    def is_error(self) -> bool:
        """True when this issue blocks an import."""
        return self.severity == ERROR

    def to_json(self) -> dict[str, str | int | None]:
        """Return the plain-JSON record of ``thetapath pack validate --json``."""
        return {
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }

    def sort_key(self) -> tuple[str, int, int, str]:
        """Order issues by file, then position."""
        return (self.path, self.line or 0, self.column or 0, self.message)


class IssueSplit:
    """``errors`` and ``warnings`` of an object that holds ``issues``."""

    __slots__ = ()
    issues: tuple[PackIssue, ...]

    @property
    def errors(self) -> tuple[PackIssue, ...]:
        """The issues that block an import (or made an item be skipped)."""
        return tuple(issue for issue in self.issues if issue.is_error)

    @property
    def warnings(self) -> tuple[PackIssue, ...]:
        """The issues that do not block an import."""
        return tuple(issue for issue in self.issues if not issue.is_error)


class PackError(ValueError):
    """Base class of every error the content-pack format raises."""


class PackInvalid(IssueSplit, PackError):
    """The pack cannot be imported; nothing was written.

    Attributes
    ----------
    issues : tuple of PackIssue
        Every problem found, errors and warnings, ordered by file and line.
    """

    def __init__(self, issues: Iterable[PackIssue]) -> None:
        self.issues = tuple(sorted(issues, key=PackIssue.sort_key))
        n_errors = sum(1 for issue in self.issues if issue.is_error)
        first = next((issue for issue in self.issues if issue.is_error), None)
        detail = f"; first: {first}" if first is not None else ""
        super().__init__(f"{n_errors} error(s) in content pack{detail}")


class PackUnreadable(PackError):
    """The input is not a content pack at all: no such path, not a folder or zip, a damaged zip."""


class InvalidAnswer(ValueError):
    """A learner's answer has the wrong shape for its item type (a list where one id is expected)."""
