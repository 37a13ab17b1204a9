"""pack.yaml's own values: version, language, licence, authors; assessment, evidence and retakes settings.

Assessment settings are read for the pack (``assessment:``, the defaults) and again for each
competency, over those defaults. ``evidence:`` and ``retakes:`` are built by the adaptive engine's own
:class:`~adaptive.integrity.EvidenceRules` and :class:`~adaptive.integrity.RetakePolicy`, whose
refusals become located errors; evidence rules that are easy to pass by guessing are warned about by
:func:`content.validate.quality.evidence_warnings`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, TypeVar

from adaptive import AdaptiveError
from adaptive.integrity import EvidenceRules, RetakePolicy
from adaptive.irt import DICHOTOMOUS

from ..model import AssessmentSettings, Author
from ..parse import Located
from .context import Context
from .quality import evidence_warnings

__all__ = ["read_authors", "read_evidence", "read_language", "read_licence", "read_retakes",
           "read_settings", "read_version"]

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")
_SPDX = re.compile(r"^[A-Za-z0-9.+-]+(?:\s+(?:AND|OR|WITH)\s+[A-Za-z0-9.+-]+)*$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SETTINGS = ("model", "cut", "se_target", "min_items", "max_items", "exposure_target", "pilot_rate",
             "mastery_method")
_S = TypeVar("_S", EvidenceRules, RetakePolicy)


def read_version(ctx: Context, node: Located) -> str | None:
    """Check a semantic version (MAJOR.MINOR.PATCH)."""
    value = ctx.chk.text(node, "version", allow_number=True)
    if value is None:
        return None
    if not _SEMVER.match(value):
        ctx.chk.error(node, f"version {value!r} is not a semantic version",
                      "write MAJOR.MINOR.PATCH, e.g. 1.0.0 (in quotes if YAML reads a number)")
        return None
    return value


def read_language(ctx: Context, node: Located) -> str | None:
    """Check a BCP 47 language tag."""
    return _pattern(ctx, node, "language", _LANGUAGE, "use a BCP 47 tag such as en, de or pt-BR")


def read_licence(ctx: Context, node: Located) -> str | None:
    """Check an SPDX licence expression."""
    return _pattern(ctx, node, "licence", _SPDX, "use an SPDX id such as CC-BY-4.0")


def _pattern(ctx: Context, node: Located, what: str, regex: re.Pattern[str], hint: str) -> str | None:
    """Check a text value against a pattern."""
    value = ctx.chk.text(node, what)
    if value is not None and not regex.match(value):
        ctx.chk.error(node, f"{what} {value[:80]!r} is not valid", hint)
        return None
    return value


def read_authors(ctx: Context, node: Located) -> tuple[Author, ...]:
    """Check the authors list: a name each, an optional e-mail address."""
    out: list[Author] = []
    for element in ctx.chk.seq(node, "authors") or []:
        fields = ctx.chk.mapping(element, "an author", required=("name",), optional=("email",))
        if fields is None or "name" not in fields:
            continue
        name = ctx.chk.text(fields["name"], "author name")
        email = None
        if "email" in fields and fields["email"].value is not None:
            email = ctx.chk.text(fields["email"], "author e-mail")
            if email is not None and not _EMAIL.match(email):
                ctx.chk.error(fields["email"], f"{email!r} is not an e-mail address",
                              "write name@example.org, or leave the e-mail out")
                email = None
        if name is not None:
            out.append(Author(name, email))
    return tuple(out)


def read_settings(ctx: Context, node: Located, base: AssessmentSettings, what: str) -> AssessmentSettings:
    """Check assessment settings and merge them over ``base``."""
    if node.value is None:
        return base
    fields = ctx.chk.mapping(node, what, optional=_SETTINGS)
    if fields is None:
        return base
    chk = ctx.chk
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


def read_evidence(ctx: Context, node: Located) -> EvidenceRules:
    """Read ``evidence:`` (what a decision needs before it grants credit); warn about weak rules."""
    chk = ctx.chk
    readers: dict[str, Any] = {
        "min_items": lambda n: chk.integer(n, "evidence min_items", low=1, high=200),
        "max_se": lambda n: chk.number(n, "evidence max_se", low=0.0, low_open=True),
        "fit_threshold": lambda n: chk.number(n, "evidence fit_threshold"),
    }
    values, given = _integrity_values(ctx, node, "evidence", readers)
    rules = _integrity_settings(ctx, EvidenceRules, values, given, node, "evidence")
    if rules is not None:
        evidence_warnings(ctx, rules, values, given)
    return rules or EvidenceRules()


def read_retakes(ctx: Context, node: Located) -> RetakePolicy:
    """Read ``retakes:`` (waiting periods and rate limits between credit-bearing attempts)."""
    chk = ctx.chk
    readers: dict[str, Any] = {
        "wait_days": lambda n: chk.number(n, "retakes wait_days", low=0.0),
        "backoff": lambda n: chk.number(n, "retakes backoff", low=1.0),
        "max_wait_days": lambda n: chk.number(n, "retakes max_wait_days", low=0.0),
        "max_per_period": lambda n: chk.integer(n, "retakes max_per_period", low=1),
        "period_days": lambda n: chk.number(n, "retakes period_days", low=0.0),
        "exclude_days": lambda n: chk.number(n, "retakes exclude_days", low=0.0),
    }
    values, given = _integrity_values(ctx, node, "retakes", readers)
    if len(values) == len(given) and ("max_wait_days" in values or "wait_days" in values):
        wait = values.get("wait_days", RetakePolicy().wait_days)
        cap = values.get("max_wait_days", RetakePolicy().max_wait_days)
        if cap < wait:
            where = given.get("max_wait_days") or given["wait_days"]
            chk.error(where, f"retakes max_wait_days ({cap:g}) is less than wait_days ({wait:g})",
                      "raise max_wait_days or lower wait_days")
            return RetakePolicy()
    return _integrity_settings(ctx, RetakePolicy, values, given, node, "retakes") or RetakePolicy()


def _integrity_values(ctx: Context, node: Located, what: str, readers: Mapping[str, Any]
                      ) -> tuple[dict[str, Any], dict[str, Located]]:
    """Read the given keys of an ``evidence:`` or ``retakes:`` section with their readers."""
    if node.value is None:
        return {}, {}
    fields = ctx.chk.mapping(node, what, optional=tuple(readers))
    if fields is None:
        return {}, {}
    given = {key: child for key, child in fields.items() if child.value is not None}
    values: dict[str, Any] = {}
    for key, child in given.items():
        value = readers[key](child)
        if value is not None:
            values[key] = value
    return values, given


def _integrity_settings(ctx: Context, kind: type[_S], values: dict[str, Any], given: Mapping[str, Located],
                        node: Located, what: str) -> _S | None:
    """Build the adaptive engine's settings; its own rules (AdaptiveError) become located errors."""
    if len(values) < len(given):  # a value was already reported
        return None
    try:
        return kind(**values)
    except AdaptiveError as exc:
        where = next(iter(given.values()), node)
        ctx.chk.error(where, f"{what}: {exc}", f"correct the {what} settings, or leave them out "
                      "for the defaults")
        return None
