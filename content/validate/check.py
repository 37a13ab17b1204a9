"""The one entry point, :func:`check_files`: pack.yaml itself, and the order in which the checks run.

pack.yaml is read first: its own values (:mod:`content.validate.settings`), then each competency,
module (with its lessons and item files) and credential (:mod:`content.validate.structure`). Once
everything is read come the checks across the pack (:mod:`content.validate.references`), the key
balance (:mod:`content.validate.quality`) and the files nothing refers to. The normalised pack is
returned only when no check found an error.
"""

from __future__ import annotations

from ..archive import DEFAULT_LIMITS, Limits, PackFiles
from ..errors import ERROR, WARNING, PackIssue
from ..model import AssessmentSettings, ContentPack
from ..parse import Located, decode_text, load_yaml
from .context import Context
from .quality import key_balance
from .references import cross_checks
from .settings import (
    read_authors,
    read_evidence,
    read_language,
    read_licence,
    read_retakes,
    read_settings,
    read_version,
)
from .structure import read_competency, read_credential, read_module

__all__ = ["check_files"]

_PACK_KEYS = ("id", "title", "version", "language", "licence", "competencies", "modules")
_PACK_OPTIONAL = ("authors", "description", "assessment", "evidence", "retakes", "credentials")


def check_files(files: PackFiles, limits: Limits = DEFAULT_LIMITS) -> tuple[ContentPack | None,
                                                                             tuple[PackIssue, ...]]:
    """Check every rule on a pack's files; return the pack (None on any error) and every issue, sorted."""
    if not files.complete:
        return None, tuple(sorted(files.issues, key=PackIssue.sort_key))
    ctx = Context(files.files, limits)
    ctx.chk.issues.extend(files.issues)
    pack = _read_pack(ctx)
    issues = tuple(sorted(ctx.chk.issues, key=PackIssue.sort_key))
    if any(issue.is_error for issue in issues):
        pack = None
    return pack, issues


def _read_pack(ctx: Context) -> ContentPack | None:
    """Check everything; return the pack when no error was found."""
    if "pack.yaml" not in ctx.files:
        ctx.file_issue("pack.yaml", ERROR, "missing file: pack.yaml",
                       "every pack has a pack.yaml at its root")
        return None
    doc = load_yaml("pack.yaml", ctx.files["pack.yaml"], ctx.limits)
    if isinstance(doc, PackIssue):
        ctx.chk.issues.append(doc)
        return None
    root = Located(doc, (), doc.data)
    fields = ctx.chk.mapping(root, "pack.yaml", required=_PACK_KEYS, optional=_PACK_OPTIONAL)
    if fields is None:
        return None
    get = root.child
    pack_id = ctx.chk.ident(get("id"), "pack id") if "id" in fields else None
    title = ctx.chk.text(get("title"), "title") if "title" in fields else None
    version = read_version(ctx, get("version")) if "version" in fields else None
    language = read_language(ctx, get("language")) if "language" in fields else None
    licence = read_licence(ctx, get("licence")) if "licence" in fields else None
    authors = read_authors(ctx, get("authors"))
    description = ctx.chk.text(get("description"), "description", required=False) or ""
    ctx.defaults = read_settings(ctx, get("assessment"), AssessmentSettings(), "assessment")
    evidence = read_evidence(ctx, get("evidence"))
    retakes = read_retakes(ctx, get("retakes"))
    for node in ctx.chk.seq(get("competencies"), "competencies") or []:
        read_competency(ctx, node)
    for node in ctx.chk.seq(get("modules"), "modules") or []:
        read_module(ctx, node)
    for node in ctx.chk.seq(get("credentials"), "credentials") or []:
        read_credential(ctx, node)
    items = ctx.items()
    cross_checks(ctx, items)
    key_balance(ctx, items)
    _unused_files(ctx)
    if ctx.chk.n_errors or None in (pack_id, title, version, language, licence):
        return None
    assert pack_id and title and version and language and licence
    readme_text = None
    if "README.md" in ctx.files:
        readme_text, _ = decode_text("README.md", ctx.files["README.md"])
    return ContentPack(
        id=pack_id, title=title, version=version, language=language, licence=licence,
        authors=authors, description=description, assessment=ctx.defaults,
        competencies=tuple(c.value for c in ctx.competencies),
        modules=tuple(m.value for m in ctx.modules),
        credentials=tuple(c.value for c in ctx.credentials), items=tuple(raw.value for raw in items),
        assets=tuple(asset for _, asset in sorted(ctx.assets.items()) if asset is not None),
        readme=readme_text, evidence=evidence, retakes=retakes)


def _unused_files(ctx: Context) -> None:
    """Warn about files nothing in the pack refers to (they are not imported)."""
    for path in sorted(ctx.files):
        if path not in ctx.used:
            ctx.file_issue(path, WARNING, "the file is not used by the pack and is not imported",
                           "refer to it from pack.yaml, a lesson or an item, or delete it")
