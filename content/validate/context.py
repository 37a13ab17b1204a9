"""What the checks of one pack share: its files and limits, the issues found so far, and what was read.

:func:`~content.validate.check_files` makes one :class:`Context` per pack and hands it to every check.
A check reads files through it, reports issues to its :class:`~content.parse.Checker` (or, for a file
as a whole, with :meth:`Context.file_issue`) and records what it read: competencies, modules,
credentials, items, lessons and images, each read once, for the checks across the pack and for the
normalised pack. The ``Raw*`` records keep a checked value together with the YAML nodes that later
checks report at.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..archive import Limits
from ..errors import ERROR, WARNING, PackIssue
from ..model import AssessmentSettings, Asset, Competency, CredentialRule, Item, Lesson, Module
from ..parse import Checker, Located

__all__ = ["Context", "RawCompetency", "RawCredential", "RawItem", "RawModule"]


@dataclass(slots=True)
class RawCompetency:
    """A checked competency, the node of its id and the node of each prerequisite it names."""

    value: Competency
    node: Located
    prerequisite_nodes: dict[str, Located] = field(default_factory=dict)


@dataclass(slots=True)
class RawModule:
    """A checked module, the node of its id, of each competency it names and of its ``feedback``."""

    value: Module
    node: Located
    competency_nodes: dict[str, Located] = field(default_factory=dict)
    feedback_node: Located | None = None


@dataclass(slots=True)
class RawCredential:
    """A checked credential rule, the node of its id and of each competency and credential it requires."""

    value: CredentialRule
    node: Located
    competency_nodes: dict[str, Located] = field(default_factory=dict)
    credential_nodes: dict[str, Located] = field(default_factory=dict)


@dataclass(slots=True)
class RawItem:
    """A checked item and its node in its item file."""

    value: Item
    node: Located


@dataclass(slots=True)
class Context:
    """One run of every check over one pack's files.

    Attributes
    ----------
    files : dict of str to bytes
        The pack's files by pack-relative path, as :mod:`content.archive` read them.
    limits : Limits
        The size and time limits the checks apply.
    chk : Checker
        Every issue found so far; the readers of located values.
    used : set of str
        Files something in the pack refers to; every other file is reported as unused.
    ids : dict of str to (str, Located)
        Competency, module and credential ids (one namespace), each with its kind and first node.
    item_ids : dict of str to Located
        Item ids across every item file, each with its first node.
    lessons, item_files, assets : dict
        Each lesson, item file and image by path, read once (``None`` when it could not be used).
    competencies, modules, credentials : list
        What pack.yaml declares, in its order, as far as it could be checked.
    defaults : AssessmentSettings
        The pack's ``assessment:`` settings, which each competency's own settings override.
    markdown_seconds, markdown_exhausted
        Time spent on Markdown so far, and whether its budget has been reported as spent.
    """

    files: dict[str, bytes]
    limits: Limits
    chk: Checker = field(default_factory=Checker)
    used: set[str] = field(default_factory=lambda: {"pack.yaml", "README.md"})
    ids: dict[str, tuple[str, Located]] = field(default_factory=dict)
    item_ids: dict[str, Located] = field(default_factory=dict)
    lessons: dict[str, Lesson | None] = field(default_factory=dict)
    item_files: dict[str, list[RawItem] | None] = field(default_factory=dict)
    assets: dict[str, Asset | None] = field(default_factory=dict)
    competencies: list[RawCompetency] = field(default_factory=list)
    modules: list[RawModule] = field(default_factory=list)
    credentials: list[RawCredential] = field(default_factory=list)
    defaults: AssessmentSettings = field(default_factory=AssessmentSettings)
    markdown_seconds: float = 0.0
    markdown_exhausted: bool = False

    def file_issue(self, path: str, severity: str, message: str, hint: str,
                   line: int | None = None, column: int | None = None) -> None:
        """Record an issue about a file as a whole (or a line of a non-YAML file)."""
        self.chk.issues.append(PackIssue(path, line, column, ERROR if severity == ERROR else WARNING,
                                         message, hint))

    def item_files_in_order(self) -> list[str]:
        """Return item files in the order modules first list them."""
        seen: dict[str, None] = {}
        for module in self.modules:
            seen.update(dict.fromkeys(module.value.item_files))
        return list(seen)

    def items(self) -> list[RawItem]:
        """Return every item kept, item file by item file in the order modules first list them."""
        return [raw for path in self.item_files_in_order() for raw in self.item_files.get(path) or ()]
