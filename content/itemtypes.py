"""The item-type registry: for each ``type``, the schema of its answer fields and its scorer.

Each :class:`ItemType` knows which keys an item of its type may carry, reads and checks them (reporting
issues with file and line through a :class:`~content.parse.Checker`) and scores a learner's answer
server-side. Scorers are pure and total: a well-shaped answer always gets an ``int`` in
``0..item.max_score`` (:attr:`content.model.Item.max_score`, which follows from the item's own
data); an answer of the wrong shape (a list where one option id is expected) raises
:class:`~content.errors.InvalidAnswer`.

Answers, as the web app passes them:

============== ==========================================================
single_choice  one option id (``str``)
multiple_choice option ids (a list, tuple or set of ``str``)
numeric        a number or its text (``"3.5"``, ``"3,5"``)
short_text     text (``str``)
ordering       option ids in the learner's order (list or tuple)
matching       a mapping ``{source id: target id}``
reflection     anything; never scored
============== ==========================================================
"""

from __future__ import annotations

import importlib
import math
import re
import time
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, ClassVar

from .archive import DEFAULT_LIMITS, Limits
from .errors import InvalidAnswer
from .model import Choice, Item
from .parse import Checker, Located, describe

__all__ = [
    "ITEM_TYPES",
    "MAX_TEXT_ANSWER",
    "SHUFFLED_TYPES",
    "ItemType",
    "check_pattern",
    "get_type",
    "score",
]

MAX_TEXT_ANSWER = 200
"""Longest short-text answer matched against a pattern (longer answers score 0)."""

SHUFFLED_TYPES = frozenset({"single_choice", "multiple_choice", "ordering", "matching"})
"""Item types whose options (or sources and targets) the app shuffles per attempt unless pinned."""

_SCORINGS = ("all_or_nothing", "partial")
_PROBE_SECONDS = 0.05


class ItemType:
    """One item type: answer fields, schema check and scorer."""

    name: ClassVar[str] = ""
    fields: ClassVar[tuple[str, ...]] = ()
    needs_key: ClassVar[bool] = True

    def read(self, fields: dict[str, Located], chk: Checker, item: Located,
             limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
        """Check this type's answer fields; return the ones that are valid as Item keyword arguments."""
        raise NotImplementedError

    def score(self, item: Item, answer: object) -> int:
        """Score one answer: an int in ``0..item.max_score``."""
        raise NotImplementedError


# ---------------------------------------------------------------------------------------- helpers
def _choices(node: Located, chk: Checker, what: str) -> tuple[Choice, ...] | None:
    elements = chk.seq(node, what, allow_missing=False)
    if elements is None:
        return None
    out: list[Choice] = []
    seen: set[str] = set()
    broken = False
    for element in elements:
        fields = chk.mapping(element, f"an entry of {what}", required=("id", "text"))
        if fields is None or "id" not in fields or "text" not in fields:
            broken = True
            continue
        ident = chk.ident(fields["id"], f"{what} id", option=True)
        text = chk.text(fields["text"], f"{what} text", allow_number=True)
        if ident is None or text is None:
            broken = True
            continue
        if ident in seen:
            chk.error(fields["id"], f"{what} id '{ident}' is used twice", "give every entry its own id")
            broken = True
            continue
        seen.add(ident)
        out.append(Choice(ident, text))
    if broken:
        return None
    if len(out) < 2:
        chk.error(node, f"{what} needs at least 2 entries, found {len(out)}", "add entries")
        return None
    return tuple(out)


def _key_ids(node: Located, chk: Checker, ids: Sequence[str], *, ordered: bool) -> tuple[str, ...] | None:
    if node.value is None:
        chk.error(node, "the item has no key", "add 'key:' with the right option ids")
        return None
    values = node.value if isinstance(node.value, list) else [node.value] if not ordered else None
    if values is None:
        chk.error(node, f"key must be a list of option ids, not {describe(node.value)}",
                  "write the option ids in order, e.g. [b, a, c]")
        return None
    out: list[str] = []
    for pos, value in enumerate(values):
        where = node.child(pos) if isinstance(node.value, list) else node
        ident = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
        if ident is None or ident not in ids:
            chk.error(where, f"key {value!r} is not among the options ({', '.join(ids)})",
                      "use the id of an option")
            return None
        if ident in out:
            chk.error(where, f"key '{ident}' appears twice", "list each option once")
            return None
        out.append(ident)
    if ordered and sorted(out) != sorted(ids):
        missing = [i for i in ids if i not in out]
        chk.error(node, f"the key must order every option; missing {', '.join(missing)}",
                  "list every option id once, in the right order")
        return None
    if not out:
        chk.error(node, "the key names no option", "add the right option ids")
        return None
    return tuple(out)


def _scoring(fields: dict[str, Located], chk: Checker) -> str | None:
    if "scoring" not in fields or fields["scoring"].value is None:
        return "all_or_nothing"
    return chk.choice(fields["scoring"], "scoring", _SCORINGS)


def _shuffle(fields: dict[str, Located], chk: Checker) -> dict[str, Any]:
    """Read the optional ``shuffle`` flag: ``{"shuffle": False}`` when pinned, else nothing."""
    node = fields.get("shuffle")
    if node is None or node.value is None:
        return {}
    if not isinstance(node.value, bool):
        chk.error(node, f"shuffle must be true or false, not {describe(node.value)}",
                  "write 'shuffle: false' to keep the authored option order, or leave it out to "
                  "shuffle the options per attempt")
        return {}
    return {} if node.value else {"shuffle": False}


def _options_key_scoring(fields: dict[str, Located], chk: Checker, item: Located, *,
                         ordered: bool) -> dict[str, Any]:
    """Read ``options``, a ``key`` of option ids (a set, or every id in order), ``scoring``, ``shuffle``."""
    options = _choices(item.child("options"), chk, "options")
    scoring = _scoring(fields, chk)
    if options is None:
        _shuffle(fields, chk)  # still report a bad flag
        return {}
    out: dict[str, Any] = {"options": options, **_shuffle(fields, chk)}
    if scoring:
        out["scoring"] = scoring
    key = _key_ids(item.child("key"), chk, [o.id for o in options], ordered=ordered)
    if key is not None:
        out["key"] = key
    return out


def _ids(answer: object, what: str) -> list[str]:
    if isinstance(answer, str):
        return [answer]
    if isinstance(answer, (list, tuple, set, frozenset)) and all(isinstance(a, str) for a in answer):
        return list(answer)
    msg = f"a {what} answer is a list of option ids, not {type(answer).__name__}"
    raise InvalidAnswer(msg)


def _normalise_text(text: str, case_sensitive: bool) -> str:
    text = " ".join(text.split())
    return text if case_sensitive else text.casefold()


# ---------------------------------------------------------------------------------------- regexes
_sre: Any = importlib.import_module("re._parser")
_sre_constants: Any = importlib.import_module("re._constants")
_REPEATS = {_sre_constants.MAX_REPEAT, _sre_constants.MIN_REPEAT,
            getattr(_sre_constants, "POSSESSIVE_REPEAT", _sre_constants.MAX_REPEAT)}
_UNBOUNDED = 100


def _subpatterns(op: Any, av: Any) -> list[Any]:
    if op in _REPEATS:
        return [av[2]]
    if op == _sre_constants.SUBPATTERN:
        return [av[3]]
    if op == _sre_constants.BRANCH:
        return list(av[1])
    if op in (_sre_constants.ASSERT, _sre_constants.ASSERT_NOT):
        return [av[1]]
    if op == getattr(_sre_constants, "ATOMIC_GROUP", None):
        return [av]
    if op == _sre_constants.GROUPREF_EXISTS:
        return [p for p in av[1:] if p is not None]
    return []


def _regex_problem(parsed: Any, inside_repeat: bool) -> str | None:
    for op, av in parsed:
        if op in (_sre_constants.GROUPREF, _sre_constants.GROUPREF_EXISTS):
            return "uses a back-reference"
        if op in _REPEATS:
            high = av[1]
            unbounded = high == _sre_constants.MAXREPEAT or high > _UNBOUNDED
            if high != _sre_constants.MAXREPEAT and high > 1000:
                return f"repeats up to {high} times (at most 1000)"
            if inside_repeat and (unbounded or high > 1):
                return "nests a repetition inside another repetition (like (a+)+)"
            problem = _regex_problem(av[2], inside_repeat or unbounded)
            if problem:
                return problem
            continue
        if op == _sre_constants.BRANCH and inside_repeat:
            return "repeats an alternation (like (a|ab)*)"
        for sub in _subpatterns(op, av):
            problem = _regex_problem(sub, inside_repeat)
            if problem:
                return problem
    return None


def check_pattern(pattern: str, case_sensitive: bool, limits: Limits = DEFAULT_LIMITS) -> str | None:
    """Say why a short-text pattern is unsafe or invalid, or return None when it may be used.

    A pattern must compile, be at most ``limits.max_pattern_length`` characters, use no
    back-references, no repetition inside an unbounded repetition and no repeated alternation (the
    shapes of catastrophic backtracking), and match adversarial answers of
    :data:`MAX_TEXT_ANSWER` characters quickly.
    """
    if len(pattern) > limits.max_pattern_length:
        return f"is {len(pattern)} characters long; the limit is {limits.max_pattern_length}"
    flags = 0 if case_sensitive else re.IGNORECASE
    try:
        compiled = re.compile(pattern, flags)
        parsed = _sre.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:
        return f"is not a valid regular expression ({exc})"
    problem = _regex_problem(parsed, False)
    if problem:
        return problem
    started = time.perf_counter()
    for ch in ("a", "A", "0", " ", ".", "-", "_", "é"):
        compiled.fullmatch(ch * MAX_TEXT_ANSWER + "\x00")
        if time.perf_counter() - started > _PROBE_SECONDS:
            return "takes too long to match a long answer"
    return None


# ---------------------------------------------------------------------------------------- types
class SingleChoice(ItemType):
    """One right option among several; scored 0/1."""

    name = "single_choice"
    fields = ("options", "key", "shuffle")

    def read(self, fields: dict[str, Located], chk: Checker, item: Located,
             limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
        """Check options, a key naming one of them and the shuffle flag."""
        options = _choices(item.child("options"), chk, "options")
        shuffle = _shuffle(fields, chk)
        if options is None:
            return {}
        key_node = item.child("key")
        if isinstance(key_node.value, list):
            chk.error(key_node, "a single_choice item has one key, not a list",
                      "give one option id, or make the item multiple_choice")
            return {"options": options, **shuffle}
        key = _key_ids(key_node, chk, [o.id for o in options], ordered=False)
        return {"options": options, **shuffle, **({"key": key[0]} if key else {})}

    def score(self, item: Item, answer: object) -> int:
        """Give 1 for the key, 0 for anything else."""
        if not isinstance(answer, str):
            msg = f"a single_choice answer is one option id, not {type(answer).__name__}"
            raise InvalidAnswer(msg)
        return int(answer == item.key)


class MultipleChoice(ItemType):
    """Several right options; all-or-nothing (0/1) or partial credit (0..number of keyed options)."""

    name = "multiple_choice"
    fields = ("options", "key", "scoring", "shuffle")

    def read(self, fields: dict[str, Located], chk: Checker, item: Located,
             limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
        """Check options, a key naming one or more of them and the scoring rule."""
        out = _options_key_scoring(fields, chk, item, ordered=False)
        if "key" in out:
            out["key"] = tuple(o.id for o in out["options"] if o.id in out["key"])  # option order
        return out

    def score(self, item: Item, answer: object) -> int:
        """Score the chosen set: all-or-nothing, or keyed options chosen minus others chosen, at least 0."""
        chosen = set(_ids(answer, self.name))
        key = {k for k in item.key if isinstance(k, str)} if isinstance(item.key, tuple) else set()
        if item.scoring != "partial":
            return int(chosen == key)
        options = {option.id for option in item.options}
        return max(0, len(chosen & key) - len((chosen & options) - key))


class Numeric(ItemType):
    """A number within an absolute tolerance of the key; scored 0/1."""

    name = "numeric"
    fields = ("key", "tolerance")

    def read(self, fields: dict[str, Located], chk: Checker, item: Located,
             limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
        """Check a numeric key and a non-negative tolerance."""
        out: dict[str, Any] = {}
        key_node = item.child("key")
        if key_node.value is None:
            chk.error(item, "the item has no key", "add 'key:' with the right number")
        else:
            key = chk.number(key_node, "key")
            if key is not None:
                out["key"] = key
        if "tolerance" in fields and fields["tolerance"].value is not None:
            tolerance = chk.number(fields["tolerance"], "tolerance", low=0.0)
            if tolerance is not None:
                out["tolerance"] = tolerance
        return out

    def score(self, item: Item, answer: object) -> int:
        """Give 1 when ``|answer - key| <= tolerance`` (with a rounding allowance)."""
        if isinstance(answer, bool) or not isinstance(answer, (int, float, str)):
            msg = f"a numeric answer is a number or text, not {type(answer).__name__}"
            raise InvalidAnswer(msg)
        if isinstance(answer, str):
            text = answer.strip().replace(" ", "")
            if text.count(",") == 1 and "." not in text:
                text = text.replace(",", ".")
            if len(text) > 64:
                return 0
            try:
                value = float(text)
            except ValueError:
                return 0
        else:
            value = float(answer)
        if not math.isfinite(value) or not isinstance(item.key, float):
            return 0
        slack = 1e-9 * max(1.0, abs(item.key))
        return int(abs(value - item.key) <= item.tolerance + slack)


class ShortText(ItemType):
    """Free text compared with accepted answers or matched by a safe regular expression; 0/1."""

    name = "short_text"
    fields = ("accepted", "pattern", "case_sensitive")
    needs_key = False

    def read(self, fields: dict[str, Located], chk: Checker, item: Located,
             limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
        """Check accepted answers and/or a pattern that is safe to run on learners' answers."""
        out: dict[str, Any] = {}
        case_sensitive = False
        if "case_sensitive" in fields and fields["case_sensitive"].value is not None:
            case_sensitive = bool(chk.boolean(fields["case_sensitive"], "case_sensitive"))
            out["case_sensitive"] = case_sensitive
        accepted: list[str] = []
        if "accepted" in fields:
            for node in chk.seq(fields["accepted"], "accepted") or []:
                text = chk.text(node, "an accepted answer", allow_number=True)
                if text is not None:
                    accepted.append(text)
            out["accepted"] = tuple(accepted)
        pattern_node = item.child("pattern")
        if pattern_node.value is not None:
            pattern = chk.text(pattern_node, "pattern")
            if pattern is not None:
                problem = check_pattern(pattern, case_sensitive, limits)
                if problem:
                    chk.error(pattern_node, f"the pattern {problem}",
                              "use a simpler pattern, or list the accepted answers instead")
                else:
                    out["pattern"] = pattern
        elif not accepted and not ("accepted" in fields and fields["accepted"].value):
            chk.error(item, "the item has no key: neither 'accepted' answers nor a 'pattern'",
                      "add 'accepted: [...]' or 'pattern: ...'")
        return out

    def score(self, item: Item, answer: object) -> int:
        """Give 1 when the normalised answer equals an accepted one or fully matches the pattern."""
        if not isinstance(answer, str):
            msg = f"a short_text answer is text, not {type(answer).__name__}"
            raise InvalidAnswer(msg)
        given = _normalise_text(answer, item.case_sensitive)
        if any(given == _normalise_text(a, item.case_sensitive) for a in item.accepted):
            return 1
        if item.pattern is None or len(given) > MAX_TEXT_ANSWER:
            return 0
        flags = 0 if item.case_sensitive else re.IGNORECASE
        return int(re.fullmatch(item.pattern, " ".join(answer.split()), flags) is not None)


class Ordering(ItemType):
    """Put options in order; all-or-nothing, or one point per neighbouring pair in the right order."""

    name = "ordering"
    fields = ("options", "key", "scoring", "shuffle")

    def read(self, fields: dict[str, Located], chk: Checker, item: Located,
             limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
        """Check options and a key that orders every one of them."""
        return _options_key_scoring(fields, chk, item, ordered=True)

    def score(self, item: Item, answer: object) -> int:
        """Score an order: exact, or per pair of the key's neighbours placed in the right order."""
        given = _ids(answer, self.name)
        key = item.key if isinstance(item.key, tuple) else ()
        if item.scoring != "partial":
            return int(tuple(given) == key)
        position = {ident: pos for pos, ident in enumerate(given)}
        return sum(1 for first, second in pairwise(key)
                   if first in position and second in position and position[first] < position[second])


class Matching(ItemType):
    """Match each source to a target; all-or-nothing or one point per right pair."""

    name = "matching"
    fields = ("sources", "targets", "key", "scoring", "shuffle")

    def read(self, fields: dict[str, Located], chk: Checker, item: Located,
             limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
        """Check sources, targets, a key pairing every source with a target and the shuffle flag."""
        sources = _choices(item.child("sources"), chk, "sources")
        targets = _choices(item.child("targets"), chk, "targets")
        scoring = _scoring(fields, chk)
        out: dict[str, Any] = _shuffle(fields, chk)
        if scoring:
            out["scoring"] = scoring
        if sources is None or targets is None:
            return out
        out.update(sources=sources, targets=targets)
        key_node = item.child("key")
        if key_node.value is None:
            chk.error(item, "the item has no key", "add 'key: {source id: target id, ...}'")
            return out
        if not isinstance(key_node.value, dict):
            chk.error(key_node, "a matching key is a mapping of source ids to target ids",
                      "write 'key: {s1: t2, s2: t1}'")
            return out
        source_ids = [s.id for s in sources]
        target_ids = {t.id for t in targets}
        pairs: dict[str, str] = {}
        for source, target in key_node.value.items():
            node = key_node.child(source)
            target_id = str(target) if isinstance(target, (str, int)) and not isinstance(
                target, bool) else None
            if source not in source_ids:
                chk.error(node, f"key source '{source}' is not among the sources",
                          "use the id of a source", key=True)
            elif target_id is None or target_id not in target_ids:
                chk.error(node, f"key target {target!r} is not among the targets",
                          "use the id of a target")
            else:
                pairs[source] = target_id
        missing = [s for s in source_ids if s not in key_node.value]
        if missing:
            chk.error(key_node, f"the key does not match source(s) {', '.join(missing)}",
                      "give every source its target")
            return out
        if len(pairs) == len(source_ids):
            out["key"] = tuple((s, pairs[s]) for s in source_ids)
        return out

    def score(self, item: Item, answer: object) -> int:
        """Score a mapping of source ids to target ids."""
        if not isinstance(answer, Mapping):
            msg = f"a matching answer maps source ids to target ids, not {type(answer).__name__}"
            raise InvalidAnswer(msg)
        key = {pair[0]: pair[1] for pair in item.key if isinstance(pair, tuple)} if isinstance(
            item.key, tuple) else {}
        right = sum(1 for source, target in key.items() if answer.get(source) == target)
        if item.scoring != "partial":
            return int(right == len(key) and len(key) > 0)
        return right


class Reflection(ItemType):
    """Extended text for the learner's own reflection: never scored."""

    name = "reflection"
    fields = ()
    needs_key = False

    def read(self, fields: dict[str, Located], chk: Checker, item: Located,
             limits: Limits = DEFAULT_LIMITS) -> dict[str, Any]:
        """Accept the item: reflection has no answer fields."""
        return {}

    def score(self, item: Item, answer: object) -> int:
        """Return 0 for any answer."""
        return 0


ITEM_TYPES: Mapping[str, ItemType] = {
    t.name: t for t in (SingleChoice(), MultipleChoice(), Numeric(), ShortText(), Ordering(),
                        Matching(), Reflection())
}
"""Every item type by name."""


def get_type(name: str) -> ItemType:
    """Return the item type called ``name`` (``KeyError`` for an unknown one)."""
    return ITEM_TYPES[name]


def score(item: Item, answer: object) -> int:
    """Score a learner's answer to ``item`` with its type's scorer."""
    return get_type(item.type).score(item, answer)
