"""Parse pack files into plain data that remembers, for every value, its file, line and column.

YAML is read from libyaml's (or PyYAML's) *event stream* with our own non-recursive composer, so that
the limits apply while parsing, not after: nesting depth, the number of nodes after alias expansion (a
"billion laughs" made of aliases is refused after a bounded amount of work, never expanded) and the
number of alias uses. Only the YAML core schema is accepted: strings, numbers, booleans, null, lists and
mappings; any other tag is an error. Mapping keys are taken as written (``yes:`` is the key ``"yes"``),
and a duplicate key is an error rather than a silent overwrite. Merge keys (``<<``) are not supported.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import get_close_matches
from typing import Any

import yaml

from .archive import DEFAULT_LIMITS, Limits
from .errors import ERROR, WARNING, PackIssue, Severity

__all__ = ["Checker", "Located", "YamlDoc", "decode_text", "describe", "load_yaml"]

PathKey = tuple[str | int, ...]

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER: Any = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null")}
_SEQ_TAGS = {None, "!", f"{_TAG}seq"}
_MAP_TAGS = {None, "!", f"{_TAG}map"}


@dataclass(slots=True)
class YamlDoc:
    """One parsed YAML file: plain data plus the position of every value and key.

    Attributes
    ----------
    path : str
        Path of the file inside the pack.
    data : object
        The document as plain Python data (dict, list, str, int, float, bool, None).
    """

    path: str
    data: Any
    _values: dict[PathKey, tuple[int, int]] = field(default_factory=dict, repr=False)
    _keys: dict[PathKey, tuple[int, int]] = field(default_factory=dict, repr=False)

    def where(self, key_path: PathKey, *, key: bool = False) -> tuple[int | None, int | None]:
        """Return the 1-based (line, column) of a value (or of its key), else of its nearest parent."""
        if key and key_path in self._keys:
            return self._keys[key_path]
        probe = key_path
        while True:
            if probe in self._values:
                return self._values[probe]
            if not probe:
                return (None, None)
            probe = probe[:-1]


@dataclass(frozen=True, slots=True)
class Located:
    """A value with where it came from: the building block of every check in :mod:`content.validate`."""

    doc: YamlDoc
    path: PathKey
    value: Any

    def child(self, key: str | int) -> Located:
        """Return the value under ``key`` (a mapping key or a list index); None when absent."""
        value = self.value
        if isinstance(value, dict):
            return Located(self.doc, (*self.path, key), value.get(key))
        if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
            return Located(self.doc, (*self.path, key), value[key])
        return Located(self.doc, (*self.path, key), None)

    def position(self, *, key: bool = False) -> tuple[int | None, int | None]:
        """Return the 1-based (line, column) of this value, or of its key."""
        return self.doc.where(self.path, key=key)


class _Stop(Exception):
    """Parsing was abandoned; the issue says why."""

    def __init__(self, issue: PackIssue) -> None:
        super().__init__(issue.message)
        self.issue = issue


@dataclass(slots=True)
class _Frame:
    container: dict[str, Any] | list[Any]
    path: PathKey
    line: int
    column: int
    anchor: str | None
    size: int = 1
    key: str | None = None
    key_pos: tuple[int, int] = (0, 0)


def decode_text(path: str, data: bytes) -> tuple[str | None, PackIssue | None]:
    """Decode UTF-8 text (a BOM is dropped, line endings become ``\\n``); else return an issue."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, PackIssue(path, line, None, ERROR, f"is not UTF-8 text ({exc.reason})",
                               "save the file as UTF-8")
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return None, PackIssue(path, line, None, ERROR, "contains a NUL character",
                               "save the file as plain UTF-8 text")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, None


def _scalar(event: Any, path: str) -> Any:
    tag = event.tag
    value: str = event.value
    if tag is None or tag == "!":
        if event.implicit[0]:
            tag = _RESOLVER.resolve(yaml.ScalarNode, value, event.implicit)
        else:
            return value
    if tag not in _SCALAR_TAGS:
        if tag == f"{_TAG}timestamp":
            return value
        line, col = event.start_mark.line + 1, event.start_mark.column + 1
        raise _Stop(PackIssue(path, line, col, ERROR, f"the YAML tag {tag!r} is not allowed",
                              "use plain strings, numbers, true/false, lists and mappings"))
    if tag.endswith(":str"):
        return value
    node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark)
    try:
        return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, node)
    except (ValueError, yaml.YAMLError) as exc:
        line, col = event.start_mark.line + 1, event.start_mark.column + 1
        raise _Stop(PackIssue(path, line, col, ERROR, f"{value[:40]!r} is not a valid {tag[len(_TAG):]}",
                              f"write a plain value or quote it ({type(exc).__name__})")) from None


def _compose(text: str, path: str, limits: Limits) -> YamlDoc:
    doc = YamlDoc(path, None)
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Any, int]] = {}
    nodes = 0
    aliases = 0
    documents = 0

    def stop(line: int, column: int, message: str, hint: str) -> _Stop:
        return _Stop(PackIssue(path, line, column, ERROR, message, hint))

    def emit(value: Any, line: int, column: int, size: int, is_scalar: bool, raw: str | None) -> None:
        nonlocal nodes
        nodes += size
        if nodes > limits.max_yaml_nodes:
            raise stop(line, column, f"the file expands to more than {limits.max_yaml_nodes:,} values",
                       "write the data out instead of repeating it through aliases")
        if not stack:
            doc.data = value
            doc._values[()] = (line, column)
            return
        frame = stack[-1]
        frame.size += size
        container = frame.container
        if isinstance(container, list):
            key_path = (*frame.path, len(container))
            container.append(value)
            doc._values[key_path] = (line, column)
            return
        if frame.key is None:
            if not is_scalar or raw is None:
                raise stop(line, column, "a mapping key must be a plain value",
                           "use a name as the key")
            if raw in container:
                raise stop(line, column, f"duplicate key {raw!r}", "remove or rename one of the keys")
            frame.key = raw
            frame.key_pos = (line, column)
            return
        key_path = (*frame.path, frame.key)
        container[frame.key] = value
        doc._values[key_path] = (line, column)
        doc._keys[key_path] = frame.key_pos
        frame.key = None

    def child_path() -> PathKey:
        if not stack:
            return ()
        frame = stack[-1]
        if isinstance(frame.container, list):
            return (*frame.path, len(frame.container))
        return (*frame.path, frame.key if frame.key is not None else "?")

    events: Any = yaml.parse(text, Loader=_LOADER)
    try:
        for event in events:
            mark = event.start_mark
            line, column = mark.line + 1, mark.column + 1
            if isinstance(event, yaml.ScalarEvent):
                value = _scalar(event, path)
                if event.anchor is not None:
                    anchors[event.anchor] = (value, 1)
                emit(value, line, column, 1, True, event.value)
            elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                is_map = isinstance(event, yaml.MappingStartEvent)
                if event.tag not in (_MAP_TAGS if is_map else _SEQ_TAGS):
                    raise stop(line, column, f"the YAML tag {event.tag!r} is not allowed",
                               "use plain strings, numbers, true/false, lists and mappings")
                if len(stack) >= limits.max_yaml_depth:
                    raise stop(line, column, f"nesting is deeper than {limits.max_yaml_depth} levels",
                               "flatten the structure")
                if stack and isinstance(stack[-1].container, dict) and stack[-1].key is None:
                    raise stop(line, column, "a mapping key must be a plain value",
                               "use a name as the key")
                stack.append(_Frame({} if is_map else [], child_path(), line, column, event.anchor))
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                frame = stack.pop()
                if frame.anchor is not None:
                    anchors[frame.anchor] = (frame.container, frame.size)
                nodes -= frame.size - 1  # the children were counted as they came
                emit(frame.container, frame.line, frame.column, frame.size, False, None)
            elif isinstance(event, yaml.AliasEvent):
                aliases += 1
                if aliases > limits.max_yaml_aliases:
                    raise stop(line, column, f"more than {limits.max_yaml_aliases:,} aliases",
                               "write the data out instead of repeating it through aliases")
                if event.anchor not in anchors:
                    raise stop(line, column, f"unknown alias *{event.anchor}",
                               "define the anchor (&name) before using it")
                value, size = anchors[event.anchor]
                emit(value, line, column, size, not isinstance(value, (dict, list)),
                     None)
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise stop(line, column, "the file holds more than one YAML document",
                               "keep one document per file (remove the '---' separator)")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if "nesting depth" in problem:  # libyaml's own limit may trip while it scans ahead of us
            raise _Stop(PackIssue(path, line, column, ERROR,
                                  f"nesting is deeper than {limits.max_yaml_depth} levels",
                                  "flatten the structure")) from None
        raise _Stop(PackIssue(path, line, column, ERROR, f"YAML syntax error: {problem}",
                              "check the indentation and quoting around this line")) from None
    except yaml.YAMLError as exc:
        raise _Stop(PackIssue(path, None, None, ERROR, f"YAML syntax error: {exc}",
                              "save the file as plain UTF-8 YAML")) from None
    return doc


def load_yaml(path: str, data: bytes, limits: Limits = DEFAULT_LIMITS) -> YamlDoc | PackIssue:
    """Parse one YAML file of a pack; return the document, or the issue that made parsing stop."""
    text, issue = decode_text(path, data)
    if text is None:
        assert issue is not None
        return issue
    try:
        return _compose(text, path, limits)
    except _Stop as stop:
        return stop.issue
    except RecursionError:  # pragma: no cover - the depth limit comes first
        return PackIssue(path, None, None, ERROR, "nesting is too deep", "flatten the structure")


# ---------------------------------------------------------------------------------------- checking
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_OPTION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_KINDS = {dict: "a mapping", list: "a list", str: "text", bool: "true or false", int: "a whole number",
          float: "a number", type(None): "empty"}


def describe(value: Any) -> str:
    """Name the YAML kind of a value for a message (``"a list"``, ``"text"``, ...)."""
    return _KINDS.get(type(value), type(value).__name__)


class Checker:
    """Collect issues while reading located values; every reader returns None for a bad value.

    The readers report what is wrong at the value's own line and column, so the validator reads like
    a schema: ``chk.text(fields["title"], "title")``.
    """

    def __init__(self) -> None:
        self.issues: list[PackIssue] = []
        self._suggestions = 0

    def suggest(self, word: str, candidates: Iterable[str]) -> str | None:
        """Return the closest candidate to a misspelt name, for a "did you mean" hint.

        Fuzzy matching costs time per candidate, so a hostile pack with thousands of bad names gets
        suggestions for the first few only.
        """
        pool = list(candidates)
        self._suggestions += len(pool)
        if self._suggestions > 50_000 or len(word) > 200:
            return None
        close = get_close_matches(word, sorted(pool), n=1)
        return close[0] if close else None

    def report(self, node: Located, severity: Severity, message: str, hint: str, *,
               key: bool = False) -> None:
        """Record one issue at ``node`` (or at its key)."""
        line, column = node.position(key=key)
        self.issues.append(PackIssue(node.doc.path, line, column, severity, message, hint))

    def error(self, node: Located, message: str, hint: str, *, key: bool = False) -> None:
        """Record an error at ``node``."""
        self.report(node, ERROR, message, hint, key=key)

    def warn(self, node: Located, message: str, hint: str, *, key: bool = False) -> None:
        """Record a warning at ``node``."""
        self.report(node, WARNING, message, hint, key=key)

    @property
    def n_errors(self) -> int:
        """Number of errors recorded so far."""
        return sum(1 for issue in self.issues if issue.is_error)

    # ------------------------------------------------------------------ structure
    def mapping(self, node: Located, what: str, *, required: tuple[str, ...] = (),
                optional: tuple[str, ...] = ()) -> dict[str, Located] | None:
        """Check a mapping's keys: report unknown (not ``x-``) and missing ones; return the children."""
        if not isinstance(node.value, dict):
            self.error(node, f"{what} must be a mapping, not {describe(node.value)}",
                       "write it as 'key: value' lines")
            return None
        known = set(required) | set(optional)
        out: dict[str, Located] = {}
        for key in node.value:
            child = node.child(key)
            if key in known:
                out[key] = child
            elif not key.startswith("x-"):
                close = self.suggest(key, known)
                suggestion = f"did you mean '{close}'? " if close else ""
                self.error(child, f"unknown key '{key}' in {what}",
                           f"{suggestion}prefix authors' own keys with 'x-'", key=True)
        for key in required:
            if key not in node.value:
                self.error(node, f"{what} has no '{key}'", f"add '{key}:'")
        return out

    def seq(self, node: Located, what: str, *, allow_missing: bool = True) -> list[Located] | None:
        """Return the elements of a list (an absent value is an empty list when allowed)."""
        if node.value is None and allow_missing:
            return []
        if not isinstance(node.value, list):
            self.error(node, f"{what} must be a list, not {describe(node.value)}",
                       "write it as '[a, b]' or as '- ' lines")
            return None
        return [node.child(j) for j in range(len(node.value))]

    # ------------------------------------------------------------------ scalars
    def text(self, node: Located, what: str, *, required: bool = True,
             allow_number: bool = False) -> str | None:
        """Return a non-empty string (numbers become text when ``allow_number``)."""
        value = node.value
        if value is None:
            if required:
                self.error(node, f"{what} is missing", f"give the {what}")
            return None
        if allow_number and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            self.error(node, f"{what} must be text, not {describe(value)}",
                       "put the value in quotes")
            return None
        if required and not value.strip():
            self.error(node, f"{what} is empty", f"give the {what}")
            return None
        return value

    def ident(self, node: Located, what: str, *, option: bool = False) -> str | None:
        """Return an id: ``[a-z0-9][a-z0-9-]{0,63}`` (option ids may also use capitals, ``_`` and ``.``)."""
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            if value is None:
                self.error(node, f"{what} is missing", f"give the {what}")
            else:
                self.error(node, f"{what} must be an id, not {describe(value)}",
                           "use lower-case letters, digits and '-'")
            return None
        if not (_OPTION_ID if option else _ID).match(value):
            rule = ("letters, digits, '_', '.' and '-', at most 64" if option
                    else "lower-case letters, digits and '-', starting with a letter or digit, at most 64")
            self.error(node, f"{what} {value[:80]!r} is not a valid id", f"use {rule}")
            return None
        return value

    def number(self, node: Located, what: str, *, low: float | None = None,
               high: float | None = None, low_open: bool = False, high_open: bool = False,
               hint: str = "") -> float | None:
        """Return a finite number within the given bounds."""
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(node, f"{what} must be a number, not {describe(value)}",
                       hint or "write a number such as 0.5")
            return None
        number = float(value) if abs(value) < 1e308 else math.copysign(math.inf, value)
        bounds = ""
        if low is not None:
            bounds += f"{'>' if low_open else '>='} {low:g}"
        if high is not None:
            bounds += f"{' and ' if bounds else ''}{'<' if high_open else '<='} {high:g}"
        bad = not math.isfinite(number)
        if low is not None and (number < low or (low_open and number == low)):
            bad = True
        if high is not None and (number > high or (high_open and number == high)):
            bad = True
        if bad:
            must = f"a finite number {bounds}" if bounds else "a finite number"
            self.error(node, f"{what} is {value!r}; it must be {must}", hint or f"use {must}")
            return None
        return number

    def integer(self, node: Located, what: str, *, low: int | None = None,
                high: int | None = None) -> int | None:
        """Return a whole number within ``[low, high]``."""
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(node, f"{what} must be a whole number, not {describe(value)}",
                       "write a whole number such as 3")
            return None
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"{low if low is not None else '-inf'}..{high if high is not None else 'inf'}"
            self.error(node, f"{what} is {value}; it must be in {span}", f"use a value in {span}")
            return None
        return value

    def boolean(self, node: Located, what: str) -> bool | None:
        """Return true or false."""
        if not isinstance(node.value, bool):
            self.error(node, f"{what} must be true or false, not {describe(node.value)}",
                       "write true or false")
            return None
        return node.value

    def choice(self, node: Located, what: str, allowed: tuple[str, ...]) -> str | None:
        """Return one of ``allowed``."""
        value = node.value
        if not isinstance(value, str) or value not in allowed:
            shown = repr(value) if isinstance(value, (str, int, float)) else describe(value)
            self.error(node, f"{what} is {shown}; it must be one of {', '.join(allowed)}",
                       f"use one of {', '.join(allowed)}")
            return None
        return value

    def ident_list(self, node: Located, what: str) -> tuple[str, ...] | None:
        """Return a list of ids without duplicates (a missing value is empty)."""
        elements = self.seq(node, what)
        if elements is None:
            return None
        out: list[str] = []
        for element in elements:
            ident = self.ident(element, f"{what} entry")
            if ident is None:
                continue
            if ident in out:
                self.error(element, f"'{ident}' appears twice in {what}", "list it once")
                continue
            out.append(ident)
        return tuple(out)
