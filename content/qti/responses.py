"""Response declarations and response processing: keys, mappings, how an item is scored, feedback triggers.

:func:`_declarations` reads each ``responseDeclaration``: cardinality, base type, correct response, and
the mapping with its entries' case sensitivity and default value. Response processing is never run,
only recognised: the standard templates by the last segment of their URL (``_MATCH_TEMPLATES``,
``_MAP_TEMPLATES``; never fetched), inline processing by :func:`_custom_kind` (``SCORE`` set only from a
match of the response with its correct value, from ``mapResponse``, or to 0), a numeric tolerance by
:func:`_tolerance`, and which feedback shows for a right or wrong answer or a chosen option by
:func:`_feedback_triggers`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .xmlsafe import _Node

_MATCH_TEMPLATES = {"match_correct", "CC2_match", "CC2_match_basic"}
_MAP_TEMPLATES = {"map_response", "map_response_point", "CC2_map_response"}


@dataclass(slots=True)
class _Decl:
    identifier: str
    cardinality: str
    base_type: str
    correct: list[str]
    mapping: list[tuple[str, float, bool | None]]
    has_mapping: bool
    default: float
    line: int


def _num(text: str, default: float = 0.0) -> float:
    try:
        value = float(text)
    except ValueError:
        return default
    return value if math.isfinite(value) else default


def _declarations(root: _Node) -> dict[str, _Decl]:
    out: dict[str, _Decl] = {}
    for decl in root.all("responseDeclaration"):
        correct_node = decl.first("correctResponse")
        correct = [" ".join(v.itertext().split()) for v in correct_node.all("value")] if correct_node else []
        mapping_node = decl.first("mapping")
        entries: list[tuple[str, float, bool | None]] = []
        if mapping_node is not None:
            for entry in mapping_node.all("mapEntry"):
                cs = entry.get("caseSensitive")
                entries.append((entry.get("mapKey"), _num(entry.get("mappedValue")),
                                None if not cs else cs.strip().lower() in ("true", "1")))
        out[decl.get("identifier")] = _Decl(
            decl.get("identifier"), decl.get("cardinality", "single"), decl.get("baseType"),
            correct, entries, mapping_node is not None,
            _num(mapping_node.get("defaultValue", "0")) if mapping_node is not None else 0.0, decl.line)
    return out


def _unwrap(cond: _Node | None) -> _Node | None:
    while cond is not None and cond.tag == "and" and len(cond.children) == 1:
        cond = cond.children[0]
    return cond


def _is_correct_test(cond: _Node | None, resp: str) -> bool:
    cond = _unwrap(cond)
    if cond is None or cond.tag not in ("match", "equal") or len(cond.children) != 2:
        return False
    kinds = sorted((c.tag, c.get("identifier")) for c in cond.children)
    return kinds == [("correct", resp), ("variable", resp)]


def _branch(node: _Node) -> _Node | None:
    current = node.parent
    while current is not None and current.tag not in ("responseIf", "responseElseIf", "responseElse",
                                                       "responseProcessing"):
        current = current.parent
    return current if current is not None and current.tag != "responseProcessing" else None


def _harmless(expr: _Node | None) -> bool:
    if expr is None:
        return True
    if expr.tag == "baseValue":
        return _num(expr.itertext(), 1.0) == 0.0
    return expr.tag == "variable" and expr.get("identifier") == "SCORE"


def _custom_kind(rp: _Node, resp: str) -> str:
    kinds: set[str] = set()
    for node in rp.iter():
        if node.tag != "setOutcomeValue" or node.get("identifier") != "SCORE":
            continue
        expr = node.children[0] if node.children else None
        if any(n.tag in ("mapResponse", "mapResponsePoint") and n.get("identifier") == resp
               for n in node.iter()):
            kinds.add("map")
            continue
        if _harmless(expr):
            continue
        branch = _branch(node)
        if branch is not None and branch.tag != "responseElse" and branch.children and \
                _is_correct_test(branch.children[0], resp):
            kinds.add("match")
            continue
        return "unknown"
    return kinds.pop() if len(kinds) == 1 else "unknown"


def _tolerance(rp: _Node | None, resp: str, key: float) -> tuple[float, str | None]:
    """Absolute tolerance from an ``equal`` of the response with its correct value, and a warning."""
    if rp is None:
        return 0.0, None
    for node in rp.iter():
        if node.tag != "equal" or not _is_correct_test(node, resp):
            continue
        mode = node.get("toleranceMode", "exact")
        values = [_num(v, -1.0) for v in node.get("tolerance", "0").split()] or [0.0]
        values = [v for v in values if v >= 0] or [0.0]
        note = None
        if len(set(values)) > 1:
            unit = " %" if mode == "relative" else ""
            note = (f"the tolerance {node.get('tolerance')!r} differs below and above the key; "
                    f"the smaller ({min(values):g}{unit}) is used on both sides")
        tol = min(values)
        if mode == "relative":
            return abs(key) * tol / 100.0, note
        if mode == "absolute":
            return tol, note
        return 0.0, None
    return 0.0, None


def _condition_category(cond: _Node | None, resp: str) -> str | None:
    cond = _unwrap(cond)
    if cond is None:
        return None
    if _is_correct_test(cond, resp):
        return "correct"
    if cond.tag == "match" and len(cond.children) == 2:
        base = next((c for c in cond.children if c.tag == "baseValue"), None)
        var = next((c for c in cond.children if c.tag == "variable"), None)
        if base is None or var is None:
            return None
        value = " ".join(base.itertext().split())
        if var.get("identifier") == resp:
            return f"option:{value}"
        if value in ("correct", "incorrect"):
            return value
    return None


_ECHO = "*"
"""Stands for every feedback identifier of an outcome that is set to the response itself."""


def _feedback_triggers(rp: _Node | None, resp: str, outcomes: set[str]) -> dict[tuple[str, str], str]:
    """Map (outcome identifier, feedback identifier) to 'correct', 'incorrect' or 'option:<id>'.

    An outcome set to the response itself (the usual QTI 2.1 way to give feedback per option) maps
    ``(outcome, _ECHO)`` to ``'option:'``: each of its feedbacks belongs to the option it names.
    """
    out: dict[tuple[str, str], str] = {}
    if rp is None:
        return out
    for node in rp.iter():
        if node.tag != "setOutcomeValue" or node.get("identifier") not in outcomes:
            continue
        outcome = node.get("identifier")
        expr = node.children[0] if node.children else None
        if expr is not None and expr.tag == "variable" and expr.get("identifier") == resp:
            # FEEDBACK = RESPONSE: each feedback shows when the option of its identifier is chosen
            out.setdefault((outcome, _ECHO), "option:")
            continue
        category = _condition_category(expr, resp)
        if category is not None:  # a boolean outcome set from the condition (QTI 2.1 Onyx style)
            out.setdefault((outcome, "true"), category)
            continue
        branch = _branch(node)
        if branch is None:
            continue
        if branch.tag == "responseElse":
            conds = [b.children[0] for b in (branch.parent.children if branch.parent else [])
                     if b.tag in ("responseIf", "responseElseIf") and b.children]
            category = "incorrect" if any(_is_correct_test(c, resp) for c in conds) else None
        else:
            category = _condition_category(branch.children[0] if branch.children else None, resp)
        if category is None:
            continue
        for value in node.iter():
            if value.tag == "baseValue" and value.get("baseType") == "identifier":
                out.setdefault((outcome, " ".join(value.itertext().split())), category)
    return out
