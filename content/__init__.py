"""The content-pack format (issue 4): read hostile input safely, validate everything, normalise.

The public API, used by the CLI, the web app's upload and the demo loader alike (one code path):

Loading
    :func:`load_pack` (source → frozen :class:`ContentPack`, or :class:`PackInvalid` with every issue),
    :func:`check_pack` (a :class:`CheckResult`: the pack or None, and every issue, warnings included).
    A source is a folder, a ``.zip`` path, zip bytes or a binary stream; :class:`Limits` caps sizes,
    file counts, compression ratio and YAML expansion.
Exporting
    :func:`export_pack` (canonical folder or ``.zip``), :func:`canonical_files`, :func:`content_hash`
    (also ``ContentPack.content_hash``).
Model
    :class:`ContentPack`, :class:`Competency`, :class:`Module`, :class:`Lesson`, :class:`Item`,
    :class:`CredentialRule` and their parts; ``Item.parameters()`` gives engine
    :class:`adaptive.ItemParameters` (provisional ones for pilot items).
Items
    :data:`ITEM_TYPES`, :func:`score` (server-side scoring of a learner's answer).
QTI import
    :func:`read_qti` (QTI 3.0 / 2.1 items and packages → a :class:`QtiImport` of items, images and
    issues), :func:`pack_from_qti` (the same, wrapped in a minimal valid pack).
Versions
    :func:`diff_packs` (what changed between two versions of a pack: a :class:`PackDiff` of
    :class:`Change`).
Rendering
    :func:`render_markdown` (sanitised HTML).
Errors
    :class:`PackIssue`, :class:`PackInvalid`, :class:`PackUnreadable`, :class:`InvalidAnswer`.

Never imports flask or sqlalchemy.
"""

from __future__ import annotations

from .archive import DEFAULT_LIMITS, Limits
from .diff import Change, PackDiff, diff_packs
from .errors import InvalidAnswer, PackError, PackInvalid, PackIssue, PackUnreadable
from .io import CheckResult, canonical_files, check_pack, export_pack, load_pack
from .itemtypes import ITEM_TYPES, get_type, score
from .model import (
    AssessmentSettings,
    Asset,
    Author,
    Choice,
    Competency,
    ContentPack,
    CredentialRule,
    Credit,
    Feedback,
    IrtParameters,
    Item,
    Lesson,
    Module,
    content_hash,
)
from .qti import QtiImport, pack_from_qti, read_qti
from .render import render_markdown

__all__ = [
    "DEFAULT_LIMITS",
    "ITEM_TYPES",
    "AssessmentSettings",
    "Asset",
    "Author",
    "Change",
    "CheckResult",
    "Choice",
    "Competency",
    "ContentPack",
    "CredentialRule",
    "Credit",
    "Feedback",
    "InvalidAnswer",
    "IrtParameters",
    "Item",
    "Lesson",
    "Limits",
    "Module",
    "PackDiff",
    "PackError",
    "PackInvalid",
    "PackIssue",
    "PackUnreadable",
    "QtiImport",
    "canonical_files",
    "check_pack",
    "content_hash",
    "diff_packs",
    "export_pack",
    "get_type",
    "load_pack",
    "pack_from_qti",
    "read_qti",
    "render_markdown",
    "score",
]
