"""Errors raised by the IRT engine.

Every error says what is wrong and, where an item is involved, which item and which field, so that
`content/` and `app/` can show it to an author or an instructor without a traceback.
"""

from __future__ import annotations

__all__ = [
    "AdaptiveError",
    "CalibrationError",
    "EstimationError",
    "InvalidItemParameters",
    "InvalidResponses",
    "NoItemsAvailable",
]


class AdaptiveError(ValueError):
    """Base class of every error the engine raises on bad input."""


class InvalidItemParameters(AdaptiveError):
    """An item's parameters are outside their valid range.

    Attributes
    ----------
    item_id : str
        The id of the offending item.
    field : str
        The parameter that is wrong (``"a"``, ``"b"``, ``"c"``, ``"thresholds"``, ``"model"``).
    """

    def __init__(self, item_id: str, field: str, message: str) -> None:
        super().__init__(f"item {item_id!r}: {field}: {message}")
        self.item_id = item_id
        self.field = field


class InvalidResponses(AdaptiveError):
    """Response data cannot be used: wrong shape, unknown item, score out of range.

    Attributes
    ----------
    line : int or None
        1-based line of the offending record when the data came from a text source.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None) -> None:
        where = f"{source}:{line}: " if source is not None and line is not None else (
            f"{source}: " if source is not None else "")
        super().__init__(f"{where}{message}")
        self.source = source
        self.line = line
        self.detail = message


class EstimationError(AdaptiveError):
    """An ability estimate cannot be computed from the given state."""


class CalibrationError(AdaptiveError):
    """Item calibration cannot proceed (for example: no responses, an unknown model)."""


class NoItemsAvailable(AdaptiveError):
    """Every eligible item has been administered or excluded."""
