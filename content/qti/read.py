"""``read_qti``: every item of a source, with the images they show and every issue, as a :class:`QtiImport`.

Each file the manifest lists (or, without one, each ``.xml`` file; then a file that is not a QTI 2.x or
3.0 item is skipped with a warning) is parsed safely (:mod:`content.qti.xmlsafe`) and converted
(:mod:`content.qti.items`); an item that fails is an error for its file and the others still import.
Colliding ids get ``-2``, ``-3``... and a warning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from ..archive import DEFAULT_LIMITS, Limits
from ..errors import ERROR, WARNING, IssueSplit, PackIssue
from ..model import Asset, Item
from .items import _ItemFailed, _ItemReader
from .package import QtiSource, _Context, _load_source, _manifest_items
from .xmlsafe import _parse_xml, _Refused

__all__ = ["QtiImport", "read_qti"]

_V3_NS = "http://www.imsglobal.org/xsd/imsqtiasi_v3p0"
_V2_NS = re.compile(r"^http://www\.imsglobal\.org/xsd/imsqti_v2p[012]$")


@dataclass(frozen=True, slots=True)
class QtiImport(IssueSplit):
    """What :func:`read_qti` found.

    Attributes
    ----------
    items : tuple of Item
        The converted items, in package order (pilot items: no IRT parameters).
    assets : tuple of Asset
        The images the items show, at their pack paths (``images/<path in the package>``).
    issues : tuple of PackIssue
        Every problem, with the path of the file inside the package (errors: the item was skipped).
    identifiers : tuple of (file, QTI identifier, item id)
        How each imported item's identifier was normalised.
    title : str or None
        The package's title from its manifest metadata, if any.
    """

    items: tuple[Item, ...]
    assets: tuple[Asset, ...]
    issues: tuple[PackIssue, ...]
    identifiers: tuple[tuple[str, str, str], ...] = ()
    title: str | None = None


def _read_item(ctx: _Context, data: bytes, *, quiet: bool) -> tuple[Item, str, dict[str, Asset]] | None:
    """Convert one file; None on failure, with an error (a warning when ``quiet`` and it isn't an item)."""
    root = _parse_xml(data)
    if isinstance(root, _Refused):
        ctx.issues.append(PackIssue(ctx.path, root.line, root.column, ERROR, f"the file {root.message}",
                                    root.hint))
        return None
    v3 = root.ns == _V3_NS
    if root.tag != "assessmentItem" or not (v3 or _V2_NS.match(root.ns)):
        hint = ("QTI 1.2 is not read: export the items as QTI 2.1 or 3.0" if root.tag == "questestinterop"
                else "the items are read, not the test: list them in imsmanifest.xml or put their files "
                     "in the folder" if root.tag == "assessmentTest"
                else "give a QTI assessmentItem, or a content package with imsmanifest.xml")
        ctx.issues.append(PackIssue(
            ctx.path, root.line, None, WARNING if quiet else ERROR,
            f"not a QTI 2.x or 3.0 item (root <{root.raw}> in namespace {root.ns or 'none'!r})"
            + ("; skipped" if quiet else ""), hint))
        return None
    reader = _ItemReader(ctx, root, v3)
    n_issues = len(ctx.issues)
    try:
        item = reader.read()
    except _ItemFailed as exc:
        del ctx.issues[n_issues:]  # warnings about an item that is skipped anyway
        ctx.issues.append(PackIssue(ctx.path, exc.line, None, ERROR, exc.message, exc.hint))
        return None
    return item, root.get("identifier"), reader.item_assets


def read_qti(source: QtiSource, limits: Limits = DEFAULT_LIMITS, *, competency: str = "imported",
             item_file: str = "items/qti.yaml", level: str = "medium") -> QtiImport:
    """Read QTI 3.0 / 2.1 items: one item file, a package (folder or zip with imsmanifest.xml), or a
    folder of item files.

    Items measure ``competency`` and live in ``item_file`` (their image paths are relative to it).

    Raises
    ------
    PackUnreadable
        No such path, or a path that is neither an XML file, a folder nor a zip archive.
    """
    files, item_paths, read_issues = _load_source(source, limits)
    issues = list(read_issues)
    title = None
    quiet = item_paths is None
    if item_paths is None:
        item_paths, title = _manifest_items(files, issues)
        quiet = not any(p.endswith("imsmanifest.xml") for p in files.files)
    items: list[Item] = []
    assets: dict[str, Asset] = {}
    identifiers: list[tuple[str, str, str]] = []
    used: dict[str, str] = {}
    for path in item_paths:
        data = files.get(path)
        if data is None:
            continue
        ctx = _Context(path, files, limits, item_file, issues, competency, level)
        result = _read_item(ctx, data, quiet=quiet)
        if result is None:
            continue
        item, identifier, item_assets = result
        base, n = item.id, 2
        while item.id in used:
            item = replace(item, id=f"{base[:60]}-{n}")
            n += 1
        if item.id != base:
            issues.append(PackIssue(path, None, None, WARNING,
                                    f"identifier {identifier!r} becomes {base!r}, like {used[base]!r}; "
                                    f"imported as {item.id!r}", "give the items distinct identifiers"))
        used[item.id] = identifier
        items.append(item)
        assets.update(item_assets)
        identifiers.append((path, identifier, item.id))
    if not items and not any(issue.is_error for issue in issues):
        issues.append(PackIssue(".", None, None, ERROR, "no QTI item found",
                                "give an item file, or a package with imsmanifest.xml"))
    return QtiImport(tuple(items), tuple(sorted(assets.values(), key=lambda a: a.path)),
                     tuple(issues), tuple(identifiers), title)
