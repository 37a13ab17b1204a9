"""What changed between two versions of a pack: competencies, modules, lessons, items and parameters.

An item counts as *edited* when anything a learner sees or is scored on changed (its stem, options,
key, scoring, feedback, type, competency, level, shuffling); a change of its IRT parameters alone is
reported apart, as *parameters changed*, because it changes measurement but not the question.
Everything is compared by id: a renamed id is a removal and an addition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from .model import ContentPack, IrtParameters, Item, Lesson

ADDED, REMOVED, EDITED, PARAMETERS = "added", "removed", "edited", "parameters changed"


@dataclass(frozen=True, slots=True)
class Change:
    """One difference: ``what`` (competency, module, lesson, item, credential) changed ``how``."""

    what: str
    how: str
    id: str
    title: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class PackDiff:
    """Every difference from ``old_version`` to ``new_version`` of one pack, in pack order."""

    old_version: str
    new_version: str
    changes: tuple[Change, ...]

    def count(self, what: str, how: str) -> int:
        """How many ``what`` were changed ``how`` (e.g. ``count("item", "added")``)."""
        return sum(1 for c in self.changes if c.what == what and c.how == how)

    @property
    def summary(self) -> str:
        """The counts in one line, e.g. "items: 3 added, 1 edited; lessons: 1 edited"."""
        parts = []
        for what in ("competency", "module", "lesson", "item", "credential"):
            counts = [f"{n} {how}" for how in (ADDED, REMOVED, EDITED, PARAMETERS)
                      if (n := self.count(what, how))]
            if counts:
                plural = "competencies" if what == "competency" else f"{what}s"
                parts.append(f"{plural}: {', '.join(counts)}")
        return "; ".join(parts) or "no change"


T = TypeVar("T")


def _by_id(rows: Iterable[T], key: Callable[[T], str]) -> dict[str, T]:
    return {key(r): r for r in rows}


def _changed_fields(old: Any, new: Any, skip: Sequence[str] = ()) -> list[str]:
    return [f.name for f in fields(old)
            if f.name not in skip and getattr(old, f.name) != getattr(new, f.name)]


def _compare(what: str, old: dict[str, T], new: dict[str, T], title: Callable[[T], str],
             edited: Callable[[T, T], str | None]) -> list[Change]:
    out = [Change(what, REMOVED, key, title(row)) for key, row in old.items() if key not in new]
    for key, row in new.items():
        if key not in old:
            out.append(Change(what, ADDED, key, title(row)))
        elif (detail := edited(old[key], row)) is not None:
            out.append(Change(what, EDITED, key, title(row), detail))
    return out


def _fields_detail(old: Any, new: Any, skip: Sequence[str] = ()) -> str | None:
    changed = _changed_fields(old, new, skip)
    return ", ".join(name.replace("_", " ") for name in changed) + " changed" if changed else None


def _parameters(irt: IrtParameters | None) -> str:
    if irt is None:
        return "pilot (no parameters)"
    if irt.thresholds:
        return f"{irt.model} a={irt.a:g}, thresholds " + ", ".join(f"{t:g}" for t in irt.thresholds)
    return f"{irt.model} a={irt.a:g}, b={irt.b:g}" + (f", c={irt.c:g}" if irt.c else "")


def _items(old: ContentPack, new: ContentPack) -> list[Change]:
    before, after = _by_id(old.items, lambda i: i.id), _by_id(new.items, lambda i: i.id)

    def title(item: Item) -> str:
        return item.stem.strip().splitlines()[0][:80] if item.stem.strip() else item.id

    out = _compare("item", before, after, title, lambda a, b: _fields_detail(a, b, ("irt", "file")))
    out += [Change("item", PARAMETERS, key, title(item),
                   f"{_parameters(before[key].irt)} → {_parameters(item.irt)}")
            for key, item in after.items() if key in before and before[key].irt != item.irt]
    return out


def _lessons(old: ContentPack, new: ContentPack) -> list[Change]:
    def lessons(pack: ContentPack) -> dict[str, Lesson]:
        return {f"{m.id}/{lesson.path}": lesson for m in pack.modules for lesson in m.lessons}

    return _compare("lesson", lessons(old), lessons(new), lambda lesson: lesson.title,
                    lambda a, b: _fields_detail(a, b, ("html",)))


def diff_packs(old: ContentPack, new: ContentPack) -> PackDiff:
    """The differences from ``old`` to ``new`` (two versions of the same pack id)."""
    changes = [
        *_compare("competency", _by_id(old.competencies, lambda c: c.id),
                  _by_id(new.competencies, lambda c: c.id), lambda c: c.title,
                  lambda a, b: _fields_detail(a, b)),
        *_compare("module", _by_id(old.modules, lambda m: m.id), _by_id(new.modules, lambda m: m.id),
                  lambda m: m.title, lambda a, b: _fields_detail(a, b, ("lessons",))),
        *_lessons(old, new),
        *_items(old, new),
        *_compare("credential", _by_id(old.credentials, lambda c: c.id),
                  _by_id(new.credentials, lambda c: c.id), lambda c: c.title,
                  lambda a, b: _fields_detail(a, b)),
    ]
    return PackDiff(old.version, new.version, tuple(changes))
