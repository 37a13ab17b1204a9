"""``pack_from_qti``: the imported items wrapped in a minimal pack that validates and round-trips.

One competency, one module (``<competency_id>-items``) with a lesson stub that says where the items came
from, and one item file: validated as its canonical files, so ``load_pack(export_pack(pack, out))``
equals it. When the pack format refuses some items (an item rule the importer does not check), each
item is tried alone, those that break a rule are reported with the rule, and the pack is built from the
rest.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from ..archive import DEFAULT_LIMITS, Limits, PackFiles
from ..errors import ERROR, PackInvalid, PackIssue
from ..io import canonical_files
from ..model import Asset, Competency, ContentPack, Item, Lesson, Module
from ..validate import check_files
from .markdown import _esc
from .package import QtiSource
from .read import read_qti

__all__ = ["pack_from_qti"]


@dataclass(frozen=True, slots=True)
class _Shell:
    """Everything of the generated pack but its items and images."""

    pack_id: str
    title: str
    competency: Competency
    module_id: str
    module_title: str
    lesson: Lesson
    item_file: str
    language: str
    licence: str
    version: str

    def pack(self, items: list[Item], assets: list[Asset]) -> ContentPack:
        module = Module(id=self.module_id, title=self.module_title,
                        competencies=(self.competency.id,), lessons=(self.lesson,),
                        item_files=(self.item_file,))
        return ContentPack(id=self.pack_id, title=self.title, version=self.version,
                           language=self.language, licence=self.licence,
                           competencies=(self.competency,), modules=(module,), items=tuple(items),
                           assets=tuple(assets))


def _assets_of(items: list[Item], assets: list[Asset], item_file: str) -> list[Asset]:
    """The images these items show (their texts refer to them relative to the item file)."""
    texts = "\n".join(f"{i.stem}\n{i.feedback}\n{i.options}{i.sources}{i.targets}" for i in items)
    base = posixpath.dirname(item_file) or "."
    return [a for a in assets if posixpath.relpath(a.path, base) in texts]


def _validate(draft: ContentPack, limits: Limits) -> tuple[ContentPack | None, tuple[PackIssue, ...]]:
    return check_files(PackFiles(canonical_files(draft)), limits)


def pack_from_qti(source: QtiSource, *, pack_id: str, title: str, competency_id: str,
                  competency_title: str, module_title: str | None = None, level: str = "medium",
                  language: str = "en", licence: str = "NOASSERTION", version: str = "1.0.0",
                  limits: Limits = DEFAULT_LIMITS) -> tuple[ContentPack, tuple[PackIssue, ...]]:
    """Import QTI items into a minimal valid pack; return it and every issue (errors: skipped items).

    The pack has one competency, one module (``<competency_id>-items``) with a lesson stub that says
    where the items came from, and one item file. It is the pack that validating its canonical files
    gives, so ``load_pack(export_pack(pack, out))`` equals it.

    Raises
    ------
    PackUnreadable
        The source can't be read at all.
    PackInvalid
        No item could be imported, or the pack itself is invalid (a bad ``pack_id``, say); ``issues``
        holds every problem.
    """
    module_id = f"{competency_id}-items"[:64]
    if module_id == competency_id:  # pragma: no cover - only when competency_id is 64 characters
        module_id = f"{competency_id[:57]}-module"
    item_file = f"items/{module_id}.yaml"
    imported = read_qti(source, limits, competency=competency_id, item_file=item_file, level=level)
    issues = list(imported.issues)
    if not imported.items:
        issues.append(PackIssue(".", None, None, ERROR, "no item could be imported",
                                "see the other issues"))
        raise PackInvalid(issues)
    source_name = Path(source).name if not isinstance(source, bytes) else "an upload"
    files = sorted({path for path, _, _ in imported.identifiers})
    listing = "\n".join(f"- `{f.replace('`', '')}`" for f in files[:200])
    markdown = (f"# About these items\n\nThese {len(imported.items)} items were imported from the QTI "
                f"source {_esc(source_name)}{' (' + _esc(imported.title) + ')' if imported.title else ''}"
                f" with `thetapath pack from-qti`. They are pilot items: they are calibrated as "
                f"learners answer them.\n\nFiles:\n\n{listing}\n")
    lesson_path = f"lessons/{module_id}/01-about.md"
    lesson = Lesson(lesson_path, "About these items", markdown, "")
    competency = Competency(competency_id, competency_title)
    shell = _Shell(pack_id, title, competency, module_id, module_title or title, lesson, item_file,
                   language, licence, version)
    items = list(imported.items)
    assets = list(imported.assets)
    pack, checked = _validate(shell.pack(items, assets), limits)
    if pack is None:
        # Find the items the pack format refuses (one at a time, with their images), report them,
        # and retry without them.
        by_id = {item_id: (path, identifier) for path, identifier, item_id in imported.identifiers}
        kept: list[Item] = []
        for item in items:
            alone, item_issues = _validate(shell.pack([item], _assets_of([item], assets, item_file)),
                                           limits)
            errors = [i for i in item_issues if i.is_error and i.path != "."]
            if alone is None and errors:
                path, identifier = by_id[item.id]
                issues.extend(PackIssue(path, None, None, ERROR,
                                        f"item {identifier!r} breaks a pack rule: {e.path}: {e.message}",
                                        e.hint) for e in errors)
            else:
                kept.append(item)
        if not kept:
            issues.append(PackIssue(".", None, None, ERROR, "no item could be imported",
                                    "see the other issues"))
            raise PackInvalid(issues)
        pack, checked = _validate(shell.pack(kept, _assets_of(kept, assets, item_file)), limits)
        if pack is None:
            raise PackInvalid(issues + list(checked))
    return pack, tuple(issues) + checked
