"""Every check of a content pack (being split by concern into the modules of this package)."""

from __future__ import annotations

from .check import (
    KEY_BALANCE_ALPHA,
    KEY_POSITION_MIN_ITEMS,
    LONGEST_KEY_MARGIN,
    LONGEST_KEY_MIN_ITEMS,
    MATCHING_IN_PLACE_MAX_SHARE,
    MATCHING_IN_PLACE_MIN_ITEMS,
    MATCHING_IN_PLACE_MIN_SOURCES,
    MULTIPLE_KEY_MAX_SHARE,
    MULTIPLE_KEY_MIN_ITEMS,
    WEAK_EVIDENCE_MIN_ITEMS,
    check_files,
    find_cycles,
)

__all__ = [
    "KEY_BALANCE_ALPHA",
    "KEY_POSITION_MIN_ITEMS",
    "LONGEST_KEY_MARGIN",
    "LONGEST_KEY_MIN_ITEMS",
    "MATCHING_IN_PLACE_MAX_SHARE",
    "MATCHING_IN_PLACE_MIN_ITEMS",
    "MATCHING_IN_PLACE_MIN_SOURCES",
    "MULTIPLE_KEY_MAX_SHARE",
    "MULTIPLE_KEY_MIN_ITEMS",
    "WEAK_EVIDENCE_MIN_ITEMS",
    "check_files",
    "find_cycles",
]
