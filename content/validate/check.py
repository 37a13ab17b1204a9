"""Every check of a content pack, collecting all issues: schema, ids, references, graphs, items, media.

:func:`check_files` reads the files of a pack (already read safely by :mod:`content.archive`) and
returns the normalised :class:`~content.model.ContentPack` (``None`` when there is any error) together
with every issue found. Nothing stops at the first problem: each rule appends issues with the file,
line and column of the value at fault, and the checks that depend on a broken part skip only that part.
The rules are listed, with example messages, in ``docs/pack-format.md`` (the error catalogue).

Key balance (issue 9) is checked over the pack as a whole: keys that lean on a position, keys that are
the longest option, multiple-choice keys that repeat one pattern, matching keys that pair each source
with the target in the same place, and ordering items that present their answer. These are warnings,
tested against chance where chance decides (:data:`KEY_BALANCE_ALPHA`); the thresholds are the
``KEY_*``, ``LONGEST_KEY_*``, ``MULTIPLE_KEY_*`` and ``MATCHING_*`` constants below.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Any, TypeVar

from scipy.stats import binomtest, chisquare

from adaptive import AdaptiveError, InvalidItemParameters, ItemParameters
from adaptive.integrity import EvidenceRules, RetakePolicy
from adaptive.irt import DICHOTOMOUS, MODELS, POLYTOMOUS

from ..archive import DEFAULT_LIMITS, Limits, PackFiles, pack_relative
from ..errors import ERROR, WARNING, PackIssue
from ..itemtypes import ITEM_TYPES
from ..model import (
    LEVEL_DIFFICULTY,
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
)
from ..parse import Checker, Located, YamlDoc, decode_text, describe, load_yaml
from ..render import inspect_markdown, render_markdown, sanitise_svg

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

KEY_BALANCE_ALPHA = 0.01
"""Significance level of the key-balance tests (chi-square for positions, binomial for length)."""
KEY_POSITION_MIN_ITEMS = 8
"""Single-choice items with the same number of options needed before their key positions are tested."""
LONGEST_KEY_MARGIN = 0.10
"""An option is clearly the longest when its text is at least this much longer than every other."""
LONGEST_KEY_MIN_ITEMS = 8
"""Single-choice items with a clearly longest option needed before the longest-key test runs."""
MULTIPLE_KEY_MIN_ITEMS = 4
"""Multiple-choice items needed before their key patterns are compared."""
MULTIPLE_KEY_MAX_SHARE = 0.40
"""Largest share of multiple-choice items that may have their keys at the same set of positions."""
MATCHING_IN_PLACE_MIN_ITEMS = 3
"""Matching items needed before the share of in-place keys is tested."""
MATCHING_IN_PLACE_MAX_SHARE = 0.25
"""Largest share of matching items whose key pairs every source with the target in the same place."""
MATCHING_IN_PLACE_MIN_SOURCES = 3
"""A matching item with at least this many sources and an in-place key is warned about on its own."""
WEAK_EVIDENCE_MIN_ITEMS = 5
"""``evidence.min_items`` below this is a warning: a decision on fewer answers can be reached by guessing."""

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_SPDX = re.compile(r"^[A-Za-z0-9.+-]+(?:\s+(?:AND|OR|WITH)\s+[A-Za-z0-9.+-]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SETTINGS = ("model", "cut", "se_target", "min_items", "max_items", "exposure_target", "pilot_rate",
             "mastery_method")
_PACK_KEYS = ("id", "title", "version", "language", "licence", "competencies", "modules")
_PACK_OPTIONAL = ("authors", "description", "assessment", "evidence", "retakes", "credentials")
_FEEDBACK = ("end", "immediate")
_S = TypeVar("_S", EvidenceRules, RetakePolicy)
_ITEM_COMMON = ("id", "type", "competency", "content_area", "stem", "feedback", "irt", "level")
_ALL_TYPE_FIELDS = tuple(sorted({f for t in ITEM_TYPES.values() for f in t.fields}))
_IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                ".svg": "image/svg+xml"}
_MAGIC = {"image/png": (b"\x89PNG\r\n\x1a\n",), "image/jpeg": (b"\xff\xd8\xff",),
          "image/gif": (b"GIF87a", b"GIF89a")}
_IRT_HINT = "recalibrate the item or remove its parameters"


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Return each distinct cycle of a directed graph once, as ``[a, b, c, a]`` starting at its least node.

    Iterative depth-first search, so a long chain cannot exhaust the stack.
    """
    colour: dict[str, int] = {}
    cycles: dict[tuple[str, ...], list[str]] = {}
    for start in sorted(graph):
        if colour.get(start):
            continue
        stack: list[tuple[str, list[str]]] = [(start, sorted(set(graph.get(start, ()))))]
        path = [start]
        colour[start] = 1
        while stack:
            node, todo = stack[-1]
            if not todo:
                stack.pop()
                path.pop()
                colour[node] = 2
                continue
            nxt = todo.pop(0)
            state = colour.get(nxt, 0)
            if state == 1:
                cycle = path[path.index(nxt):]
                pivot = cycle.index(min(cycle))
                rotated = cycle[pivot:] + cycle[:pivot]
                cycles.setdefault(tuple(rotated), [*rotated, rotated[0]])
            elif state == 0 and nxt in graph:
                colour[nxt] = 1
                path.append(nxt)
                stack.append((nxt, sorted(set(graph.get(nxt, ())))))
    return [cycles[key] for key in sorted(cycles)]


@dataclass(slots=True)
class _RawCompetency:
    value: Competency
    node: Located
    prerequisite_nodes: dict[str, Located] = field(default_factory=dict)


@dataclass(slots=True)
class _RawModule:
    value: Module
    node: Located
    competency_nodes: dict[str, Located] = field(default_factory=dict)
    feedback_node: Located | None = None


@dataclass(slots=True)
class _RawCredential:
    value: CredentialRule
    node: Located
    competency_nodes: dict[str, Located] = field(default_factory=dict)
    credential_nodes: dict[str, Located] = field(default_factory=dict)


@dataclass(slots=True)
class _RawItem:
    value: Item
    node: Located


class _Validator:
    """One run of every check over one pack's files."""

    def __init__(self, files: PackFiles, limits: Limits) -> None:
        self.files = files.files
        self.limits = limits
        self.chk = Checker()
        self.chk.issues.extend(files.issues)
        self.used: set[str] = {"pack.yaml", "README.md"}
        self.ids: dict[str, tuple[str, Located]] = {}
        self.item_ids: dict[str, Located] = {}
        self.lessons: dict[str, Lesson | None] = {}
        self.item_files: dict[str, list[_RawItem] | None] = {}
        self.assets: dict[str, Asset | None] = {}
        self.competencies: list[_RawCompetency] = []
        self.modules: list[_RawModule] = []
        self.credentials: list[_RawCredential] = []
        self.defaults = AssessmentSettings()
        self.markdown_seconds = 0.0
        self.markdown_exhausted = False

    # ------------------------------------------------------------------ helpers
    def file_issue(self, path: str, severity: str, message: str, hint: str,
                   line: int | None = None, column: int | None = None) -> None:
        """Record an issue about a file as a whole (or a line of a non-YAML file)."""
        self.chk.issues.append(PackIssue(path, line, column, ERROR if severity == ERROR else WARNING,
                                         message, hint))

    def claim_id(self, ident: str, kind: str, node: Located) -> bool:
        """Register a competency, module or credential id; report a duplicate."""
        if ident in self.ids:
            first_kind, first = self.ids[ident]
            line, _ = first.position()
            self.chk.error(node, f"duplicate id '{ident}': already used by a {first_kind} "
                           f"({first.doc.path}:{line})",
                           "ids must be unique across competencies, modules and credentials")
            return False
        self.ids[ident] = (kind, node)
        return True

    def pack_path(self, node: Located, what: str, suffixes: tuple[str, ...]) -> str | None:
        """Read a pack-relative file path and check it stays inside the pack and names a kind of file."""
        raw = self.chk.text(node, what)
        if raw is None:
            return None
        if raw.startswith("/") or "\\" in raw:
            self.chk.error(node, f"{what} {raw!r} is not a relative path",
                           "write paths relative to the pack folder with '/'")
            return None
        path = pack_relative("pack.yaml", raw)
        if path is None:
            self.chk.error(node, f"{what} {raw!r} leaves the pack", "keep every file inside the pack")
            return None
        if not path.lower().endswith(suffixes):
            self.chk.error(node, f"{what} {raw!r} must end with {' or '.join(suffixes)}",
                           "rename the file")
            return None
        if path not in self.files:
            close = self.chk.suggest(path, self.files)
            hint = f"did you mean '{close}'?" if close else "add the file or correct the path"
            self.chk.error(node, f"missing file: {path}", hint)
            return None
        self.used.add(path)
        return path

    # ------------------------------------------------------------------ pack.yaml
    def run(self) -> ContentPack | None:
        """Check everything; return the pack when no error was found."""
        if "pack.yaml" not in self.files:
            self.file_issue("pack.yaml", ERROR, "missing file: pack.yaml",
                            "every pack has a pack.yaml at its root")
            return None
        doc = load_yaml("pack.yaml", self.files["pack.yaml"], self.limits)
        if isinstance(doc, PackIssue):
            self.chk.issues.append(doc)
            return None
        root = Located(doc, (), doc.data)
        fields = self.chk.mapping(root, "pack.yaml", required=_PACK_KEYS, optional=_PACK_OPTIONAL)
        if fields is None:
            return None
        get = root.child
        pack_id = self.chk.ident(get("id"), "pack id") if "id" in fields else None
        title = self.chk.text(get("title"), "title") if "title" in fields else None
        version = self.version(get("version")) if "version" in fields else None
        language = self.pattern(get("language"), "language", _LANGUAGE,
                                "use a BCP 47 tag such as en, de or pt-BR") if "language" in fields else None
        licence = self.pattern(get("licence"), "licence", _SPDX,
                               "use an SPDX id such as CC-BY-4.0") if "licence" in fields else None
        authors = self.authors(get("authors"))
        description = self.chk.text(get("description"), "description", required=False) or ""
        self.defaults = self.settings(get("assessment"), AssessmentSettings(), "assessment")
        evidence = self.evidence(get("evidence"))
        retakes = self.retakes(get("retakes"))
        for node in self.chk.seq(get("competencies"), "competencies") or []:
            self.competency(node)
        for node in self.chk.seq(get("modules"), "modules") or []:
            self.module(node)
        for node in self.chk.seq(get("credentials"), "credentials") or []:
            self.credential(node)
        self.cross_checks()
        self.unused_files()
        if self.chk.n_errors or None in (pack_id, title, version, language, licence):
            return None
        assert pack_id and title and version and language and licence
        items = tuple(raw.value for path in self.item_files_in_order()
                      for raw in (self.item_files.get(path) or ()))
        readme_text = None
        if "README.md" in self.files:
            readme_text, _ = decode_text("README.md", self.files["README.md"])
        return ContentPack(
            id=pack_id, title=title, version=version, language=language, licence=licence,
            authors=authors, description=description, assessment=self.defaults,
            competencies=tuple(c.value for c in self.competencies),
            modules=tuple(m.value for m in self.modules),
            credentials=tuple(c.value for c in self.credentials), items=items,
            assets=tuple(asset for _, asset in sorted(self.assets.items()) if asset is not None),
            readme=readme_text, evidence=evidence, retakes=retakes)

    def item_files_in_order(self) -> list[str]:
        """Return item files in the order modules first list them."""
        seen: dict[str, None] = {}
        for module in self.modules:
            seen.update(dict.fromkeys(module.value.item_files))
        return list(seen)

    def version(self, node: Located) -> str | None:
        """Check a semantic version (MAJOR.MINOR.PATCH)."""
        value = self.chk.text(node, "version", allow_number=True)
        if value is None:
            return None
        if not _SEMVER.match(value):
            self.chk.error(node, f"version {value!r} is not a semantic version",
                           "write MAJOR.MINOR.PATCH, e.g. 1.0.0 (in quotes if YAML reads a number)")
            return None
        return value

    def pattern(self, node: Located, what: str, regex: re.Pattern[str], hint: str) -> str | None:
        """Check a text value against a pattern."""
        value = self.chk.text(node, what)
        if value is not None and not regex.match(value):
            self.chk.error(node, f"{what} {value[:80]!r} is not valid", hint)
            return None
        return value

    def authors(self, node: Located) -> tuple[Author, ...]:
        """Check the authors list: a name each, an optional e-mail address."""
        out: list[Author] = []
        for element in self.chk.seq(node, "authors") or []:
            fields = self.chk.mapping(element, "an author", required=("name",), optional=("email",))
            if fields is None or "name" not in fields:
                continue
            name = self.chk.text(fields["name"], "author name")
            email = None
            if "email" in fields and fields["email"].value is not None:
                email = self.chk.text(fields["email"], "author e-mail")
                if email is not None and not _EMAIL.match(email):
                    self.chk.error(fields["email"], f"{email!r} is not an e-mail address",
                                   "write name@example.org, or leave the e-mail out")
                    email = None
            if name is not None:
                out.append(Author(name, email))
        return tuple(out)

    def settings(self, node: Located, base: AssessmentSettings, what: str) -> AssessmentSettings:
        """Check assessment settings and merge them over ``base``."""
        if node.value is None:
            return base
        fields = self.chk.mapping(node, what, optional=_SETTINGS)
        if fields is None:
            return base
        chk = self.chk
        values: dict[str, Any] = {}
        given = {key: child for key, child in fields.items() if child.value is not None}
        readers: dict[str, Any] = {
            "model": lambda n: chk.choice(n, "model", DICHOTOMOUS),
            "cut": lambda n: chk.number(n, "cut"),
            "se_target": lambda n: chk.number(n, "se_target", low=0.0, low_open=True),
            "min_items": lambda n: chk.integer(n, "min_items", low=1),
            "max_items": lambda n: chk.integer(n, "max_items", low=1),
            "exposure_target": lambda n: chk.number(n, "exposure_target", low=0.0, high=1.0,
                                                    low_open=True),
            "pilot_rate": lambda n: chk.number(n, "pilot_rate", low=0.0, high=1.0, high_open=True),
            "mastery_method": lambda n: chk.choice(n, "mastery_method", ("ci", "sprt")),
        }
        for key, child in given.items():
            value = readers[key](child)
            if value is not None:
                values[key] = value
        merged = replace(base, **values)
        if merged.min_items > merged.max_items:
            where = given.get("min_items") or given.get("max_items") or node
            chk.error(where, f"min_items ({merged.min_items}) is larger than max_items "
                      f"({merged.max_items})", "lower min_items or raise max_items")
        return merged

    def evidence(self, node: Located) -> EvidenceRules:
        """Read ``evidence:`` (what a decision needs before it grants credit); warn about weak rules."""
        chk = self.chk
        readers: dict[str, Any] = {
            "min_items": lambda n: chk.integer(n, "evidence min_items", low=1, high=200),
            "max_se": lambda n: chk.number(n, "evidence max_se", low=0.0, low_open=True),
            "fit_threshold": lambda n: chk.number(n, "evidence fit_threshold"),
        }
        values, given = self.integrity_values(node, "evidence", readers)
        rules = self.integrity_settings(EvidenceRules, values, given, node, "evidence")
        if rules is not None and "min_items" in values and rules.min_items < WEAK_EVIDENCE_MIN_ITEMS:
            chk.warn(given["min_items"], f"evidence min_items is {rules.min_items}: a decision on fewer "
                     f"than {WEAK_EVIDENCE_MIN_ITEMS} answers can be reached by guessing",
                     f"use at least {WEAK_EVIDENCE_MIN_ITEMS} (the default is "
                     f"{EvidenceRules().min_items})")
        if rules is not None and "fit_threshold" in values and rules.fit_threshold > 0:
            chk.warn(given["fit_threshold"], f"evidence fit_threshold is {rules.fit_threshold:g}: above "
                     "0 it flags more than half of honest learners' answer patterns as not fitting",
                     f"use a negative value (the default is {EvidenceRules().fit_threshold:g}, the "
                     "5 % point)")
        return rules or EvidenceRules()

    def retakes(self, node: Located) -> RetakePolicy:
        """Read ``retakes:`` (waiting periods and rate limits between credit-bearing attempts)."""
        chk = self.chk
        readers: dict[str, Any] = {
            "wait_days": lambda n: chk.number(n, "retakes wait_days", low=0.0),
            "backoff": lambda n: chk.number(n, "retakes backoff", low=1.0),
            "max_wait_days": lambda n: chk.number(n, "retakes max_wait_days", low=0.0),
            "max_per_period": lambda n: chk.integer(n, "retakes max_per_period", low=1),
            "period_days": lambda n: chk.number(n, "retakes period_days", low=0.0),
            "exclude_days": lambda n: chk.number(n, "retakes exclude_days", low=0.0),
        }
        values, given = self.integrity_values(node, "retakes", readers)
        if len(values) == len(given) and ("max_wait_days" in values or "wait_days" in values):
            wait = values.get("wait_days", RetakePolicy().wait_days)
            cap = values.get("max_wait_days", RetakePolicy().max_wait_days)
            if cap < wait:
                where = given.get("max_wait_days") or given["wait_days"]
                chk.error(where, f"retakes max_wait_days ({cap:g}) is less than wait_days ({wait:g})",
                          "raise max_wait_days or lower wait_days")
                return RetakePolicy()
        return self.integrity_settings(RetakePolicy, values, given, node, "retakes") or RetakePolicy()

    def integrity_values(self, node: Located, what: str, readers: Mapping[str, Any]
                         ) -> tuple[dict[str, Any], dict[str, Located]]:
        """Read the given keys of an ``evidence:`` or ``retakes:`` section with their readers."""
        if node.value is None:
            return {}, {}
        fields = self.chk.mapping(node, what, optional=tuple(readers))
        if fields is None:
            return {}, {}
        given = {key: child for key, child in fields.items() if child.value is not None}
        values: dict[str, Any] = {}
        for key, child in given.items():
            value = readers[key](child)
            if value is not None:
                values[key] = value
        return values, given

    def integrity_settings(self, kind: type[_S], values: dict[str, Any], given: Mapping[str, Located],
                           node: Located, what: str) -> _S | None:
        """Build the adaptive engine's settings; its own rules (AdaptiveError) become located errors."""
        if len(values) < len(given):  # a value was already reported
            return None
        try:
            return kind(**values)
        except AdaptiveError as exc:
            where = next(iter(given.values()), node)
            self.chk.error(where, f"{what}: {exc}", f"correct the {what} settings, or leave them out "
                           "for the defaults")
            return None

    # ------------------------------------------------------------------ competencies, modules
    def competency(self, node: Located) -> None:
        """Check one competency."""
        fields = self.chk.mapping(node, "a competency", required=("id", "title"),
                                  optional=("description", "prerequisites", "level", "assessment"))
        if fields is None or "id" not in fields:
            return
        ident = self.chk.ident(fields["id"], "competency id")
        title = self.chk.text(node.child("title"), "competency title") if "title" in fields else None
        if ident is None or not self.claim_id(ident, "competency", fields["id"]):
            return
        description = self.chk.text(node.child("description"), "description", required=False) or ""
        prerequisites = self.chk.ident_list(node.child("prerequisites"), "prerequisites") or ()
        prerequisite_nodes = {}
        if isinstance(node.child("prerequisites").value, list):
            for j, value in enumerate(node.child("prerequisites").value):
                prerequisite_nodes[str(value)] = node.child("prerequisites").child(j)
        level = None
        if "level" in fields and fields["level"].value is not None:
            level = self.chk.integer(fields["level"], "level", low=1, high=8)
        settings = self.settings(node.child("assessment"), self.defaults, "competency assessment")
        self.competencies.append(_RawCompetency(
            Competency(ident, title or ident, description, prerequisites, level, settings),
            fields["id"], prerequisite_nodes))

    def module(self, node: Located) -> None:
        """Check one module, its lessons and its item files."""
        fields = self.chk.mapping(
            node, "a module", required=("id", "title", "competencies"),
            optional=("summary", "outcomes", "lessons", "items", "minutes", "feedback"))
        if fields is None or "id" not in fields:
            return
        ident = self.chk.ident(fields["id"], "module id")
        title = self.chk.text(node.child("title"), "module title") if "title" in fields else None
        if ident is None or not self.claim_id(ident, "module", fields["id"]):
            return
        summary = self.chk.text(node.child("summary"), "summary", required=False) or ""
        competencies = self.chk.ident_list(node.child("competencies"), "competencies") or ()
        if "competencies" in fields and not competencies and isinstance(fields["competencies"].value, list):
            self.chk.error(fields["competencies"], "the module teaches no competency",
                           "list at least one competency id")
        competency_nodes = {}
        if isinstance(node.child("competencies").value, list):
            for j, value in enumerate(node.child("competencies").value):
                competency_nodes[str(value)] = node.child("competencies").child(j)
        outcomes = []
        for element in self.chk.seq(node.child("outcomes"), "outcomes") or []:
            text = self.chk.text(element, "an outcome")
            if text is not None:
                outcomes.append(text)
        lessons = []
        for element in self.chk.seq(node.child("lessons"), "lessons") or []:
            path = self.pack_path(element, "lesson", (".md",))
            if path is not None:
                lesson = self.lesson(path)
                if lesson is not None:
                    lessons.append(lesson)
        item_files = []
        for element in self.chk.seq(node.child("items"), "items") or []:
            path = self.pack_path(element, "item file", (".yaml", ".yml"))
            if path is not None:
                if path in item_files:
                    self.chk.error(element, f"item file {path} is listed twice", "list it once")
                    continue
                item_files.append(path)
                self.item_file(path)
        minutes = None
        if "minutes" in fields and fields["minutes"].value is not None:
            minutes = self.chk.integer(fields["minutes"], "minutes", low=1, high=100_000)
        feedback = "end"
        feedback_node = fields.get("feedback")
        if feedback_node is not None and feedback_node.value is not None:
            feedback = self.chk.choice(feedback_node, "feedback", _FEEDBACK) or "end"
        self.modules.append(_RawModule(
            Module(ident, title or ident, summary, competencies, tuple(outcomes), tuple(lessons),
                   tuple(item_files), minutes, feedback), fields["id"], competency_nodes,
            feedback_node))

    # ------------------------------------------------------------------ lessons and media
    def lesson(self, path: str) -> Lesson | None:
        """Read, render and inspect one lesson (once, however many modules list it)."""
        if path in self.lessons:
            return self.lessons[path]
        self.lessons[path] = None
        text, issue = decode_text(path, self.files[path])
        if text is None:
            assert issue is not None
            self.chk.issues.append(issue)
            return None
        images = self.inspect(path, text, 0)
        if images is None or not self.markdown_budget(path, None):
            return None
        started = time.perf_counter()
        html = render_markdown(text)
        self.markdown_seconds += time.perf_counter() - started
        title = next((line[2:].strip() for line in text.splitlines() if line.startswith("# ")),
                     PurePosixPath(path).stem)
        lesson = Lesson(path, title or PurePosixPath(path).stem, text, html, tuple(images))
        self.lessons[path] = lesson
        return lesson

    def markdown_budget(self, path: str, node: Located | None) -> bool:
        """Return False (reporting it once) when Markdown processing has used up its time budget."""
        if self.markdown_seconds <= self.limits.max_markdown_seconds:
            return True
        if not self.markdown_exhausted:
            self.markdown_exhausted = True
            line, column = node.position() if node is not None else (None, None)
            self.file_issue(path, ERROR, "the pack's Markdown takes more than "
                            f"{self.limits.max_markdown_seconds:g} s to process; checking stopped here",
                            "shorten the lessons and texts, and use less raw HTML", line, column)
        return False

    def inspect(self, path: str, text: str, line_offset: int,
                node: Located | None = None) -> list[str] | None:
        """Warn about HTML the sanitiser removes and check the images the text shows.

        Return the pack paths of the images, or None when the text is refused (too large, too much
        raw HTML, or the time budget is spent).
        """

        def at(line: int) -> tuple[int | None, int | None]:
            return node.position() if node is not None else (line + line_offset, None)

        size = len(text.encode("utf-8"))
        if size > self.limits.max_markdown_bytes:
            where = at(1) if node is not None else (None, None)
            what = "text" if node is not None else "lesson"
            self.file_issue(path, ERROR, f"the {what} is {size:,} bytes; the limit is "
                            f"{self.limits.max_markdown_bytes:,}", "split it into shorter parts",
                            where[0], where[1])
            return None
        if not self.markdown_budget(path, node):
            return None
        started = time.perf_counter()
        report = inspect_markdown(text)
        self.markdown_seconds += time.perf_counter() - started
        if report.n_tags > self.limits.max_html_tags:
            where = at(1) if node is not None else (None, None)
            self.file_issue(path, ERROR, f"the text holds {report.n_tags:,} HTML tags; the limit is "
                            f"{self.limits.max_html_tags:,}", "write Markdown instead of HTML",
                            where[0], where[1])
            return None
        images: list[str] = []

        for line, what in report.removed:
            where = at(line)
            self.file_issue(path, WARNING, f"disallowed HTML removed: {what}",
                            "use Markdown instead; scripts, event handlers and frames never survive",
                            where[0], where[1])
        for line, src in report.images:
            where = at(line)
            target = self.image(path, src, where)
            if target is not None and target not in images:
                images.append(target)
        return images

    def image(self, path: str, src: str, where: tuple[int | None, int | None]) -> str | None:
        """Check one image reference: inside the pack, present, an allowed format, not too large."""
        line, column = where
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", src) or src.startswith(("//", "/")):
            self.file_issue(path, ERROR, f"image {src[:100]!r} is not a file inside the pack",
                            "copy the image into images/ and use a relative path", line, column)
            return None
        target = pack_relative(path, src.split("#", 1)[0].split("?", 1)[0])
        if target is None:
            self.file_issue(path, ERROR, f"image {src[:100]!r} leaves the pack",
                            "keep images inside the pack", line, column)
            return None
        media_type = _IMAGE_TYPES.get(PurePosixPath(target).suffix.lower())
        if media_type is None:
            self.file_issue(path, ERROR, f"image {target} is not a PNG, JPEG, GIF or SVG file",
                            "convert the image to PNG, JPEG, GIF or SVG", line, column)
            return None
        if target not in self.files:
            self.file_issue(path, ERROR, f"missing file: {target}",
                            "add the image or correct the path", line, column)
            return None
        self.used.add(target)
        if target not in self.assets:
            self.assets[target] = self.asset(target, media_type)
        return target if self.assets[target] is not None else None

    def asset(self, path: str, media_type: str) -> Asset | None:
        """Check an image file's size and content once; sanitise SVG."""
        data = self.files[path]
        if len(data) > self.limits.max_image_bytes:
            self.file_issue(path, ERROR, f"image is {len(data):,} bytes; the limit is "
                            f"{self.limits.max_image_bytes:,}", "scale or compress the image")
            return None
        if media_type == "image/svg+xml":
            result = sanitise_svg(data)
            if result.data is None:
                self.file_issue(path, ERROR, f"SVG image {result.error}",
                                "export the SVG again as plain SVG without a DOCTYPE")
                return None
            for what in result.removed:
                self.file_issue(path, WARNING, f"SVG content removed: {what}",
                                "SVG images may not hold scripts, event handlers or outside links")
            return Asset(path, media_type, result.data)
        if not data.startswith(_MAGIC[media_type]):
            self.file_issue(path, ERROR, f"the file is not a {media_type.split('/')[1].upper()} image",
                            "save the image in the format its name says")
            return None
        return Asset(path, media_type, data)

    # ------------------------------------------------------------------ items
    def item_file(self, path: str) -> None:
        """Parse one item file (once) and check each of its items."""
        if path in self.item_files:
            return
        self.item_files[path] = None
        doc = load_yaml(path, self.files[path], self.limits)
        if isinstance(doc, PackIssue):
            self.chk.issues.append(doc)
            return
        root = Located(doc, (), doc.data)
        fields = self.chk.mapping(root, "an item file", required=("items",))
        if fields is None or "items" not in fields:
            return
        items: list[_RawItem] = []
        for node in self.chk.seq(fields["items"], "items") or []:
            item = self.item(doc, node, path)
            if item is not None:
                items.append(item)
        self.item_files[path] = items

    def item(self, doc: YamlDoc, node: Located, path: str) -> _RawItem | None:
        """Check one item: common fields, its type's answer fields, feedback and IRT parameters."""
        chk = self.chk
        if not isinstance(node.value, dict):
            chk.error(node, f"an item must be a mapping, not {describe(node.value)}",
                      "write each item as a '- id: ...' block")
            return None
        errors_before = chk.n_errors
        type_name = node.value.get("type")
        item_type = ITEM_TYPES.get(type_name) if isinstance(type_name, str) else None
        allowed = _ITEM_COMMON + (item_type.fields if item_type else _ALL_TYPE_FIELDS)
        fields = chk.mapping(node, "an item", required=("id", "type", "competency", "stem"),
                             optional=tuple(k for k in allowed if k not in (
                                 "id", "type", "competency", "stem")))
        if fields is None:
            return None
        ident = chk.ident(fields["id"], "item id") if "id" in fields else None
        if ident is not None:
            if ident in self.item_ids:
                first = self.item_ids[ident]
                chk.error(fields["id"], f"duplicate item id '{ident}' (first at "
                          f"{first.doc.path}:{first.position()[0]})", "give every item its own id")
            else:
                self.item_ids[ident] = fields["id"]
        if item_type is None and "type" in fields and fields["type"].value is not None:
            close = chk.suggest(str(type_name), ITEM_TYPES)
            chk.error(fields["type"], f"unknown item type {type_name!r}",
                      f"did you mean '{close}'?" if close else
                      f"use one of {', '.join(sorted(ITEM_TYPES))}")
        competency = chk.ident(fields["competency"], "competency") if "competency" in fields else None
        content_area = None
        if "content_area" in fields and fields["content_area"].value is not None:
            content_area = chk.text(fields["content_area"], "content_area", allow_number=True)
        stem = chk.text(fields["stem"], "stem", allow_number=True) if "stem" in fields else None
        if stem is not None:
            self.item_text(path, stem, fields["stem"])
        level = "medium"
        if "level" in fields and fields["level"].value is not None:
            level = chk.choice(fields["level"], "level", tuple(LEVEL_DIFFICULTY)) or "medium"
        answer: dict[str, Any] = {}
        if item_type is not None:
            answer = item_type.read(fields, chk, node, self.limits)
        for choice in (*answer.get("options", ()), *answer.get("sources", ()), *answer.get("targets", ())):
            if isinstance(choice, Choice):
                self.item_text(path, choice.text, node)
        feedback = self.feedback(fields.get("feedback"), answer, path)
        if ident is None or item_type is None or competency is None or stem is None:
            return None
        if chk.n_errors > errors_before:
            return None
        item = Item(id=ident, type=item_type.name, competency=competency, file=path, stem=stem,
                    content_area=content_area, feedback=feedback, level=level, **answer)
        if "irt" in fields and fields["irt"].value is not None:
            irt = self.irt(fields["irt"], item)
            if irt is None:
                return None
            item = replace(item, irt=irt)
        return _RawItem(item, node)

    def item_text(self, path: str, text: str, node: Located) -> None:
        """Inspect a stem, option or feedback text: HTML warnings and images."""
        if "<" in text or "![" in text or len(text) > self.limits.max_markdown_bytes // 4:
            self.inspect(path, text, 0, node)

    def feedback(self, node: Located | None, answer: dict[str, Any], path: str) -> Feedback:
        """Check an item's feedback: correct, incorrect, and per-option texts for known options."""
        if node is None or node.value is None:
            return Feedback()
        fields = self.chk.mapping(node, "feedback", optional=("correct", "incorrect", "options"))
        if fields is None:
            return Feedback()
        texts: dict[str, str | None] = {}
        for key in ("correct", "incorrect"):
            if key in fields and fields[key].value is not None:
                texts[key] = self.chk.text(fields[key], f"feedback {key}", allow_number=True)
                if texts[key]:
                    self.item_text(path, texts[key] or "", fields[key])
        options: list[tuple[str, str]] = []
        option_node = fields.get("options")
        if option_node is not None and option_node.value is not None:
            known = [c.id for c in answer.get("options", ())]
            if not isinstance(option_node.value, dict):
                self.chk.error(option_node, "feedback options must map option ids to texts",
                               "write 'options: {a: text, b: text}'")
            else:
                for option_id in option_node.value:
                    child = option_node.child(option_id)
                    if option_id not in known:
                        self.chk.error(child, f"feedback for unknown option '{option_id}'",
                                       f"use one of the item's option ids ({', '.join(known) or 'none'})",
                                       key=True)
                        continue
                    text = self.chk.text(child, "option feedback", allow_number=True)
                    if text is not None:
                        self.item_text(path, text, child)
                        options.append((option_id, text))
        order = {c.id: j for j, c in enumerate(answer.get("options", ()))}
        options.sort(key=lambda pair: order.get(pair[0], 0))
        return Feedback(texts.get("correct"), texts.get("incorrect"), tuple(options))

    def irt(self, node: Located, item: Item) -> IrtParameters | None:
        """Check calibrated parameters with the engine's own rules and against the item's scoring."""
        chk = self.chk
        fields = chk.mapping(node, "irt", optional=("model", "a", "b", "c", "thresholds"))
        if fields is None:
            return None
        max_score = item.max_score
        if max_score == 0:
            chk.error(node, f"a {item.type} item is never scored, so it has no IRT parameters",
                      "remove 'irt'")
            return None
        default = self.defaults.model if max_score == 1 else "gpcm"
        model = default
        if "model" in fields and fields["model"].value is not None:
            model = chk.choice(fields["model"], "irt model", MODELS) or ""
            if not model:
                return None
        numbers: dict[str, float] = {}
        for key in ("a", "b", "c"):
            if key in fields and fields[key].value is not None:
                value = fields[key].value
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    chk.error(fields[key], f"{key} must be a number, not {describe(value)}",
                              _IRT_HINT)
                    return None
                numbers[key] = float(value)
        thresholds: tuple[float, ...] = ()
        if "thresholds" in fields and fields["thresholds"].value is not None:
            elements = chk.seq(fields["thresholds"], "thresholds")
            if elements is None:
                return None
            values = [e.value for e in elements]
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in values):
                chk.error(fields["thresholds"], "thresholds must be numbers", _IRT_HINT)
                return None
            thresholds = tuple(float(v) for v in values)
        if "a" not in numbers:
            chk.error(node, "irt has no discrimination 'a'", "add 'a:' or remove the parameters")
            return None
        if model in DICHOTOMOUS and "b" not in numbers:
            chk.error(node, "irt has no difficulty 'b'", "add 'b:' or remove the parameters")
            return None
        params = IrtParameters(model=model, a=numbers["a"], b=numbers.get("b", 0.0),
                               c=numbers.get("c", 0.0), thresholds=thresholds)
        try:
            ItemParameters(id=item.id, model=model, a=params.a, b=params.b, c=params.c,
                           thresholds=thresholds).validate()
        except InvalidItemParameters as exc:
            message = str(exc).split(f": {exc.field}: ", 1)[-1]
            message = message.replace("; it must be a finite number > 0", "; it must be > 0")
            target = fields.get(exc.field, node)
            chk.error(target, message, _IRT_HINT)
            return None
        if model in POLYTOMOUS and "b" in numbers:
            chk.error(fields["b"], f"a {model} item has thresholds, not a difficulty 'b'",
                      "remove 'b'")
            return None
        if max_score == 1 and model in POLYTOMOUS:
            chk.error(fields.get("model", node), f"a {model} model needs partial-credit scoring",
                      f"use a {'/'.join(DICHOTOMOUS)} model, or set 'scoring: partial'")
            return None
        if max_score > 1 and model in DICHOTOMOUS:
            chk.error(fields.get("model", node), f"a partial-credit item scored 0..{max_score} needs "
                      "a gpcm or grm model", "use model gpcm or grm with thresholds")
            return None
        if max_score > 1 and len(thresholds) != max_score:
            chk.error(fields.get("thresholds", node), f"the item is scored 0..{max_score}, so it needs "
                      f"{max_score} thresholds, not {len(thresholds)}", _IRT_HINT)
            return None
        return params

    # ------------------------------------------------------------------ credentials
    def credential(self, node: Located) -> None:
        """Check one credential rule's fields."""
        chk = self.chk
        fields = chk.mapping(node, "a credential", required=("id", "title", "criteria"),
                             optional=("description", "credit", "expires_after_days"))
        if fields is None or "id" not in fields:
            return
        ident = chk.ident(fields["id"], "credential id")
        title = chk.text(node.child("title"), "credential title") if "title" in fields else None
        if ident is None or not self.claim_id(ident, "credential", fields["id"]):
            return
        description = chk.text(node.child("description"), "description", required=False) or ""
        competencies: tuple[str, ...] = ()
        credentials: tuple[str, ...] = ()
        competency_nodes: dict[str, Located] = {}
        credential_nodes: dict[str, Located] = {}
        criteria = node.child("criteria")
        if criteria.value is not None:
            crit = chk.mapping(criteria, "criteria", optional=("competencies", "credentials"))
            if crit is not None:
                competencies = chk.ident_list(criteria.child("competencies"), "criteria competencies") or ()
                credentials = chk.ident_list(criteria.child("credentials"), "criteria credentials") or ()
                for key, target in (("competencies", competency_nodes), ("credentials", credential_nodes)):
                    values = criteria.child(key).value
                    if isinstance(values, list):
                        for j, value in enumerate(values):
                            target[str(value)] = criteria.child(key).child(j)
                if not competencies and not credentials:
                    chk.error(criteria, "the criteria name no competency and no credential",
                              "list what a learner must master to earn the credential")
        credit = None
        credit_node = node.child("credit")
        if credit_node.value is not None and credit_node.value != "none":
            cf = chk.mapping(credit_node, "credit", required=("value", "unit"), optional=("level",))
            if cf is not None and "value" in cf and "unit" in cf:
                value = chk.number(cf["value"], "credit value", low=0.0)
                unit = chk.text(cf["unit"], "credit unit")
                level = chk.text(cf["level"], "credit level", required=False,
                                 allow_number=True) if "level" in cf else None
                if value is not None and unit is not None:
                    credit = Credit(value, unit, level)
        expires = None
        if "expires_after_days" in fields and fields["expires_after_days"].value is not None:
            expires = chk.integer(fields["expires_after_days"], "expires_after_days", low=1)
        self.credentials.append(_RawCredential(
            CredentialRule(ident, title or ident, description, competencies, credentials, credit,
                           expires), fields["id"], competency_nodes, credential_nodes))

    # ------------------------------------------------------------------ cross-references
    def cross_checks(self) -> None:
        """Check references, graphs, reachability, credentials, item placement and pool sizes."""
        chk = self.chk
        competencies = {c.value.id: c for c in self.competencies}
        credentials = {c.value.id: c for c in self.credentials}
        broken = False
        for comp in self.competencies:
            for prerequisite in comp.value.prerequisites:
                if prerequisite not in competencies:
                    broken = True
                    self.unknown(comp.prerequisite_nodes.get(prerequisite, comp.node), "prerequisite",
                                 prerequisite, competencies)
        for module in self.modules:
            for ident in module.value.competencies:
                if ident not in competencies:
                    broken = True
                    self.unknown(module.competency_nodes.get(ident, module.node), "competency", ident,
                                 competencies)
        items = [raw for path in self.item_files_in_order() for raw in self.item_files.get(path) or ()]
        for raw in items:
            if raw.value.competency not in competencies:
                self.unknown(raw.node.child("competency"), "competency", raw.value.competency, competencies)
        graph = {c.value.id: c.value.prerequisites for c in self.competencies}
        cycles = find_cycles(graph)
        for cycle in cycles:
            first = competencies[cycle[0]]
            chk.error(first.prerequisite_nodes.get(cycle[1], first.node),
                      f"prerequisites form a cycle: {' -> '.join(cycle)}",
                      "remove one of these prerequisites so that the competencies can be learnt in order")
        if not broken and not cycles:
            self.reachability(competencies)
        self.item_placement(items, competencies)
        self.credential_checks(competencies, credentials, items)
        self.immediate_feedback()
        self.pool_sizes(items)
        self.key_balance(items)

    def unknown(self, node: Located, what: str, ident: str, known: Mapping[str, Any]) -> None:
        """Report a reference to an id that does not exist."""
        close = self.chk.suggest(ident, known)
        self.chk.error(node, f"unknown {what} '{ident}'",
                       f"did you mean '{close}'?" if close else f"define a competency '{ident}' first")

    def reachability(self, competencies: Mapping[str, _RawCompetency]) -> None:
        """Report modules no learner can reach: a competency they teach needs one no module teaches."""
        # A worklist (Kahn's algorithm over modules) keeps this linear in the size of the pack.
        attainable: set[str] = set()
        reachable: set[str] = set()
        waiting: dict[str, list[_RawModule]] = {}
        missing_count: dict[str, int] = {}
        ready: list[_RawModule] = []
        for module in self.modules:
            own = set(module.value.competencies)
            needs = {p for c in own for p in competencies[c].value.prerequisites} - own
            missing_count[module.value.id] = len(needs)
            for prerequisite in needs:
                waiting.setdefault(prerequisite, []).append(module)
            if not needs:
                ready.append(module)
        while ready:
            module = ready.pop()
            reachable.add(module.value.id)
            for comp in module.value.competencies:
                if comp in attainable:
                    continue
                attainable.add(comp)
                for other in waiting.get(comp, ()):
                    missing_count[other.value.id] -= 1
                    if missing_count[other.value.id] == 0:
                        ready.append(other)
        for module in self.modules:
            if module.value.id in reachable:
                continue
            for comp in module.value.competencies:
                missing = [p for p in competencies[comp].value.prerequisites
                           if p not in attainable and p not in module.value.competencies]
                if missing:
                    self.chk.error(
                        module.node, f"module '{module.value.id}' can never be reached: it teaches "
                        f"'{comp}', which needs '{missing[0]}', and no reachable module teaches "
                        f"'{missing[0]}'",
                        f"add a module that teaches '{missing[0]}', or remove it from the "
                        f"prerequisites of '{comp}'")
                    break

    def item_placement(self, items: list[_RawItem], competencies: Mapping[str, _RawCompetency]) -> None:
        """Report items whose competency no module listing their file teaches."""
        taught_by_file: dict[str, set[str]] = {}
        for module in self.modules:
            for path in module.value.item_files:
                taught_by_file.setdefault(path, set()).update(module.value.competencies)
        for raw in items:
            comp = raw.value.competency
            if comp in competencies and comp not in taught_by_file.get(raw.value.file, set()):
                self.chk.error(raw.node.child("competency"),
                               f"item '{raw.value.id}' measures '{comp}', which no module listing "
                               f"{raw.value.file} teaches",
                               f"add '{comp}' to the competencies of such a module, or move the item")

    def credential_checks(self, competencies: Mapping[str, _RawCompetency],
                          credentials: Mapping[str, _RawCredential], items: list[_RawItem]) -> None:
        """Report credentials naming unknown things, stacking in a cycle, or impossible to earn."""
        chk = self.chk
        taught = {c for m in self.modules for c in m.value.competencies}
        measured = {raw.value.competency for raw in items}
        impossible: dict[str, str] = {}
        for cred in self.credentials:
            for comp in cred.value.competencies:
                if comp not in competencies:
                    self.unknown(cred.competency_nodes.get(comp, cred.node), "competency", comp,
                                 competencies)
                    impossible[cred.value.id] = "unknown"
                elif comp not in taught and comp not in measured:
                    chk.error(cred.competency_nodes.get(comp, cred.node),
                              f"credential '{cred.value.id}' can never be earned: no module teaches "
                              f"'{comp}' and no item measures it",
                              f"add a module and items for '{comp}', or remove it from the criteria")
                    impossible[cred.value.id] = comp
            for other in cred.value.credentials:
                if other not in credentials:
                    close = chk.suggest(other, credentials)
                    chk.error(cred.credential_nodes.get(other, cred.node), f"unknown credential '{other}'",
                              f"did you mean '{close}'?" if close else "define the credential first")
                    impossible[cred.value.id] = "unknown"
        graph = {c.value.id: c.value.credentials for c in self.credentials}
        for cycle in find_cycles(graph):
            first = credentials[cycle[0]]
            chk.error(first.credential_nodes.get(cycle[1], first.node),
                      f"credentials stack in a cycle: {' -> '.join(cycle)}",
                      "a credential cannot require itself; remove one of these requirements")
            impossible.update(dict.fromkeys(cycle[:-1], "cycle"))
        dependents: dict[str, list[_RawCredential]] = {}
        for cred in self.credentials:
            for other in cred.value.credentials:
                dependents.setdefault(other, []).append(cred)
        todo = list(impossible)
        while todo:
            other = todo.pop()
            for cred in dependents.get(other, ()):
                if cred.value.id in impossible:
                    continue
                chk.error(cred.credential_nodes.get(other, cred.node),
                          f"credential '{cred.value.id}' can never be earned: it requires "
                          f"'{other}', which can never be earned",
                          f"fix '{other}' first, or remove it from the criteria")
                impossible[cred.value.id] = other
                todo.append(cred.value.id)

    def immediate_feedback(self) -> None:
        """Refuse ``feedback: immediate`` on a module teaching a competency a credential requires.

        Showing the right answers after each answer lets a learner collect them across attempts, so
        only formative practice (no competency counting towards a credential) may do it.
        """
        for module in self.modules:
            if module.value.feedback != "immediate" or module.feedback_node is None:
                continue
            for comp in module.value.competencies:
                cred = next((c for c in self.credentials if comp in c.value.competencies), None)
                if cred is not None:
                    self.chk.error(
                        module.feedback_node, f"module '{module.value.id}' shows right answers "
                        f"immediately, but its competency '{comp}' counts towards credential "
                        f"'{cred.value.id}'",
                        f"use feedback: end, or remove '{comp}' from credential '{cred.value.id}'")
                    break

    def pool_sizes(self, items: list[_RawItem]) -> None:
        """Warn when a competency has fewer calibrated items than its adaptive test may give."""
        calibrated: dict[str, int] = {}
        for raw in items:
            if raw.value.irt is not None:
                calibrated[raw.value.competency] = calibrated.get(raw.value.competency, 0) + 1
        for comp in self.competencies:
            have = calibrated.get(comp.value.id, 0)
            need = comp.value.assessment.max_items
            if have < need:
                self.chk.warn(comp.node, f"competency '{comp.value.id}' has {have} calibrated item(s) "
                              f"for a test of up to {need} (max_items)",
                              "add or calibrate items, or lower max_items for this competency")

    # ------------------------------------------------------------------ key balance
    def key_balance(self, items: Sequence[_RawItem]) -> None:
        """Warn when the keys lean on a position, on length or on a pattern a learner could learn."""
        by_type: dict[str, list[_RawItem]] = {}
        for raw in items:
            if raw.value.key is not None:
                by_type.setdefault(raw.value.type, []).append(raw)
        singles = by_type.get("single_choice", [])
        self.single_key_positions(singles)
        self.longest_keys(singles)
        self.multiple_key_patterns(by_type.get("multiple_choice", []))
        self.matching_in_place(by_type.get("matching", []))
        self.ordering_in_order(by_type.get("ordering", []))

    def single_key_positions(self, items: Sequence[_RawItem]) -> None:
        """Warn when single-choice key positions are far from even (chi-square against uniform)."""
        groups: dict[int, list[tuple[_RawItem, int]]] = {}
        for raw in items:
            ids = [option.id for option in raw.value.options]
            groups.setdefault(len(ids), []).append((raw, ids.index(str(raw.value.key))))
        for n, members in sorted(groups.items()):
            if len(members) < KEY_POSITION_MIN_ITEMS:
                continue
            counts = [0] * n
            for _, position in members:
                counts[position] += 1
            if float(chisquare(counts).pvalue) >= KEY_BALANCE_ALPHA:
                continue
            top = counts.index(max(counts))
            example = next(raw for raw, position in members if position == top)
            listing = ", ".join(f"{_position(j)} {count}" for j, count in enumerate(counts))
            self.chk.warn(example.node.child("key"),
                          f"the keys of the {len(members)} single-choice items with {n} options lean on "
                          f"a position: keys by position: {listing}; this item is one of the "
                          f"{counts[top]} keyed at {_position(top)}",
                          "reorder options so that every position holds about as many keys "
                          "(exports, print-outs and pinned items show the authored order)")

    def longest_keys(self, items: Sequence[_RawItem]) -> None:
        """Warn when the key is clearly the longest option far more often than chance (binomial test)."""
        candidates: list[tuple[_RawItem, int]] = []
        for raw in items:
            longest = _clearly_longest(raw.value.options)
            if longest is not None:
                candidates.append((raw, longest))
        if len(candidates) < LONGEST_KEY_MIN_ITEMS:
            return
        hits = [(raw, j) for raw, j in candidates if raw.value.options[j].id == raw.value.key]
        chance = sum(1 / len(raw.value.options) for raw, _ in candidates) / len(candidates)
        if not hits or float(binomtest(len(hits), len(candidates), chance,
                                       alternative="greater").pvalue) >= KEY_BALANCE_ALPHA:
            return
        example, j = hits[0]
        self.chk.warn(example.node.child("options").child(j),
                      f"the key is clearly the longest option in {len(hits)} of the {len(candidates)} "
                      f"single-choice items that have a clearly longest option (about "
                      f"{chance * len(candidates):.0f} by chance); this item's key is one of them",
                      "make the distractors as long and as specific as the key (a guessing learner "
                      "picks the longest option)")

    def multiple_key_patterns(self, items: Sequence[_RawItem]) -> None:
        """Warn when multiple-choice keys repeat one set of positions, or are always the first options."""
        if len(items) < MULTIPLE_KEY_MIN_ITEMS:
            return
        patterns: list[tuple[int, ...]] = []
        for raw in items:
            ids = [option.id for option in raw.value.options]
            key = raw.value.key if isinstance(raw.value.key, tuple) else ()
            patterns.append(tuple(sorted(ids.index(str(k)) for k in key)))
        pattern, count = Counter(patterns).most_common(1)[0]
        if count / len(items) > MULTIPLE_KEY_MAX_SHARE:
            example = items[patterns.index(pattern)]
            self.chk.warn(example.node.child("key"),
                          f"{count} of the {len(items)} multiple-choice items have their keys at the "
                          f"same positions ({', '.join(map(_position, pattern))}), this item too",
                          "vary which options are keyed (reorder the options of some items)")
        elif all(p == tuple(range(len(p))) for p in patterns):
            self.chk.warn(items[0].node.child("key"),
                          f"the keys of all {len(items)} multiple-choice items are their first options "
                          "(a, or a and b, or a, b and c, ...)",
                          "vary which options are keyed (reorder the options of some items)")

    def matching_in_place(self, items: Sequence[_RawItem]) -> None:
        """Warn about matching keys that pair each source with the target in the same position."""
        in_place = [raw for raw in items if _matches_in_place(raw.value)]
        share = len(in_place) / len(items) if items else 0.0
        if len(items) >= MATCHING_IN_PLACE_MIN_ITEMS and share > MATCHING_IN_PLACE_MAX_SHARE:
            self.chk.warn(in_place[0].node.child("key"),
                          f"{len(in_place)} of the {len(items)} matching items pair every source with "
                          "the target in the same position (1st with 1st, 2nd with 2nd, ...), this "
                          "item too", "reorder the targets of some items")
        for raw in in_place:
            if len(raw.value.sources) >= MATCHING_IN_PLACE_MIN_SOURCES:
                self.chk.warn(raw.node.child("key"),
                              f"the key pairs each of the {len(raw.value.sources)} sources with the "
                              "target in the same position (1st with 1st, 2nd with 2nd, ...)",
                              "reorder the targets so that the authored order is not the answer")

    def ordering_in_order(self, items: Sequence[_RawItem]) -> None:
        """Warn about pinned ordering items whose options are authored in the right order."""
        for raw in items:
            item = raw.value
            if not item.shuffle and item.key == tuple(option.id for option in item.options):
                self.chk.warn(raw.node.child("shuffle"),
                              "the options are authored in the right order and 'shuffle: false' "
                              "presents them so: the item shows its own answer",
                              "author the options in another order, or remove 'shuffle: false'")

    def unused_files(self) -> None:
        """Warn about files nothing in the pack refers to (they are not imported)."""
        for path in sorted(self.files):
            if path not in self.used:
                self.file_issue(path, WARNING, "the file is not used by the pack and is not imported",
                                "refer to it from pack.yaml, a lesson or an item, or delete it")


def _position(index: int) -> str:
    """Name an option position as learners see it: a, b, c, ... (then 27, 28, ...)."""
    return chr(ord("a") + index) if index < 26 else str(index + 1)


def _clearly_longest(options: Sequence[Choice]) -> int | None:
    """Return the index of the option whose text is clearly the longest, if there is one."""
    lengths = [len(" ".join(option.text.split())) for option in options]
    if len(lengths) < 2:
        return None
    best = lengths.index(max(lengths))
    runner_up = max(length for j, length in enumerate(lengths) if j != best)
    if lengths[best] > runner_up and lengths[best] >= (1 + LONGEST_KEY_MARGIN) * runner_up:
        return best
    return None


def _matches_in_place(item: Item) -> bool:
    """True when a matching key pairs the i-th source with the i-th target, for every source."""
    if not isinstance(item.key, tuple):
        return False
    sources = {source.id: j for j, source in enumerate(item.sources)}
    targets = {target.id: j for j, target in enumerate(item.targets)}
    pairs = [pair for pair in item.key if isinstance(pair, tuple)]
    return bool(pairs) and all(sources.get(s) == targets.get(t) for s, t in pairs)


def check_files(files: PackFiles, limits: Limits = DEFAULT_LIMITS) -> tuple[ContentPack | None,
                                                                             tuple[PackIssue, ...]]:
    """Check every rule on a pack's files; return the pack (None on any error) and every issue, sorted."""
    if not files.complete:
        return None, tuple(sorted(files.issues, key=PackIssue.sort_key))
    validator = _Validator(files, limits)
    pack = validator.run()
    issues = tuple(sorted(validator.chk.issues, key=PackIssue.sort_key))
    if any(issue.is_error for issue in issues):
        pack = None
    return pack, issues
