"""Every check of a content pack, collecting all issues: schema, ids, references, graphs, items, media.

:func:`check_files` reads the files of a pack (already read safely by :mod:`content.archive`) and
returns the normalised :class:`~content.model.ContentPack` (``None`` when there is any error) together
with every issue found. Nothing stops at the first problem: each rule appends issues with the file,
line and column of the value at fault, and the checks that depend on a broken part skip only that part.
The rules are listed, with example messages, in ``docs/pack-format.md`` (the error catalogue).

What is checked, in the order the checks run:

- pack.yaml's own values: id, title, semantic version, BCP 47 language, SPDX licence, authors, and the
  ``assessment``, ``evidence`` and ``retakes`` settings (the last two by the adaptive engine's rules);
- each competency, module and credential, with ids unique across the three; a module's lessons and
  item files must be paths inside the pack that exist;
- each lesson and text: size, the time all Markdown may take, HTML the sanitiser removes, and each
  image it shows (inside the pack, present, PNG, JPEG, GIF or SVG by name and content, not too large;
  SVG sanitised);
- each item: a unique id, a known type and its answer fields, competency, stem, level, feedback, and
  calibrated IRT parameters that pass the engine's rules and fit the item's scoring;
- across the pack: every reference resolves, prerequisites and stacked credentials have no cycle,
  every module can be reached, each item's competency is taught where its file is listed, every
  credential can be earned, right answers are shown immediately only in formative practice, and each
  competency has enough calibrated items for its test (a warning);
- authoring quality (warnings): key balance (issue 9) and evidence rules a guess can pass;
- files nothing refers to (a warning: they are not imported).

The modules, each building only on those below it::

    check.py        check_files: pack.yaml itself and the order of the checks
    structure.py    competencies, modules (their lessons and item files) and credentials as declared
    references.py   the checks across the pack; find_cycles
    items.py        item files and items: fields, each type's answer fields, feedback, IRT parameters
    settings.py     pack.yaml's own values and the assessment, evidence and retakes settings
    media.py        lessons, Markdown texts and images
    quality.py      key balance and weak evidence rules, with their thresholds (KEY_BALANCE_ALPHA, ...)
    context.py      Context: what the checks of one pack share, and the issues found so far
"""

from __future__ import annotations

from .check import check_files
from .quality import (
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
)
from .references import find_cycles

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
