"""JSON in and out for the engine's frozen settings and records: plain dicts, unknown keys named."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, ClassVar, Self

from .errors import AdaptiveError

__all__ = ["JsonSettings", "from_json"]


def from_json(cls: Any, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """Check ``data`` has only the dataclass's fields; return it as keyword arguments."""
    if not isinstance(data, Mapping):
        msg = f"{what} must be a JSON object, got {type(data).__name__}"
        raise AdaptiveError(msg)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        msg = f"unknown {what} field(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        raise AdaptiveError(msg)
    return dict(data)


class JsonSettings:
    """``to_json`` / ``from_json`` for the frozen settings dataclasses (unknown keys named)."""

    __slots__ = ()
    _what: ClassVar[str] = "setting"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {f.name: getattr(self, f.name) for f in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Read settings, rejecting unknown keys by name."""
        return cls(**from_json(cls, data, cls._what))
