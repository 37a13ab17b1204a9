"""Authoring-quality warnings: keys a learner could find without knowing the answer, weak evidence rules.

Key balance (issue 9) is checked over the pack as a whole: keys that lean on a position, keys that are
the longest option, multiple-choice keys that repeat one pattern, matching keys that pair each source
with the target in the same place, and ordering items that present their answer. These are warnings,
tested against chance where chance decides (:data:`KEY_BALANCE_ALPHA`); the thresholds are the
``KEY_*``, ``LONGEST_KEY_*``, ``MULTIPLE_KEY_*`` and ``MATCHING_*`` constants below.

Evidence rules (``evidence:`` in pack.yaml) that let a decision rest on fewer than
:data:`WEAK_EVIDENCE_MIN_ITEMS` answers, or that flag most honest learners' answer patterns as not
fitting, are warnings too (:func:`evidence_warnings`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from scipy.stats import binomtest, chisquare

from adaptive.integrity import EvidenceRules

from ..model import Choice, Item
from ..parse import Located
from .context import Context, RawItem

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
    "evidence_warnings",
    "key_balance",
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


def key_balance(ctx: Context, items: Sequence[RawItem]) -> None:
    """Warn when the keys lean on a position, on length or on a pattern a learner could learn."""
    by_type: dict[str, list[RawItem]] = {}
    for raw in items:
        if raw.value.key is not None:
            by_type.setdefault(raw.value.type, []).append(raw)
    singles = by_type.get("single_choice", [])
    _single_key_positions(ctx, singles)
    _longest_keys(ctx, singles)
    _multiple_key_patterns(ctx, by_type.get("multiple_choice", []))
    _matching_in_place(ctx, by_type.get("matching", []))
    _ordering_in_order(ctx, by_type.get("ordering", []))


def _single_key_positions(ctx: Context, items: Sequence[RawItem]) -> None:
    """Warn when single-choice key positions are far from even (chi-square against uniform)."""
    groups: dict[int, list[tuple[RawItem, int]]] = {}
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
        ctx.chk.warn(example.node.child("key"),
                     f"the keys of the {len(members)} single-choice items with {n} options lean on "
                     f"a position: keys by position: {listing}; this item is one of the "
                     f"{counts[top]} keyed at {_position(top)}",
                     "reorder options so that every position holds about as many keys "
                     "(exports, print-outs and pinned items show the authored order)")


def _longest_keys(ctx: Context, items: Sequence[RawItem]) -> None:
    """Warn when the key is clearly the longest option far more often than chance (binomial test)."""
    candidates: list[tuple[RawItem, int]] = []
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
    ctx.chk.warn(example.node.child("options").child(j),
                 f"the key is clearly the longest option in {len(hits)} of the {len(candidates)} "
                 f"single-choice items that have a clearly longest option (about "
                 f"{chance * len(candidates):.0f} by chance); this item's key is one of them",
                 "make the distractors as long and as specific as the key (a guessing learner "
                 "picks the longest option)")


def _multiple_key_patterns(ctx: Context, items: Sequence[RawItem]) -> None:
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
        ctx.chk.warn(example.node.child("key"),
                     f"{count} of the {len(items)} multiple-choice items have their keys at the "
                     f"same positions ({', '.join(map(_position, pattern))}), this item too",
                     "vary which options are keyed (reorder the options of some items)")
    elif all(p == tuple(range(len(p))) for p in patterns):
        ctx.chk.warn(items[0].node.child("key"),
                     f"the keys of all {len(items)} multiple-choice items are their first options "
                     "(a, or a and b, or a, b and c, ...)",
                     "vary which options are keyed (reorder the options of some items)")


def _matching_in_place(ctx: Context, items: Sequence[RawItem]) -> None:
    """Warn about matching keys that pair each source with the target in the same position."""
    in_place = [raw for raw in items if _matches_in_place(raw.value)]
    share = len(in_place) / len(items) if items else 0.0
    if len(items) >= MATCHING_IN_PLACE_MIN_ITEMS and share > MATCHING_IN_PLACE_MAX_SHARE:
        ctx.chk.warn(in_place[0].node.child("key"),
                     f"{len(in_place)} of the {len(items)} matching items pair every source with "
                     "the target in the same position (1st with 1st, 2nd with 2nd, ...), this "
                     "item too", "reorder the targets of some items")
    for raw in in_place:
        if len(raw.value.sources) >= MATCHING_IN_PLACE_MIN_SOURCES:
            ctx.chk.warn(raw.node.child("key"),
                         f"the key pairs each of the {len(raw.value.sources)} sources with the "
                         "target in the same position (1st with 1st, 2nd with 2nd, ...)",
                         "reorder the targets so that the authored order is not the answer")


def _ordering_in_order(ctx: Context, items: Sequence[RawItem]) -> None:
    """Warn about pinned ordering items whose options are authored in the right order."""
    for raw in items:
        item = raw.value
        if not item.shuffle and item.key == tuple(option.id for option in item.options):
            ctx.chk.warn(raw.node.child("shuffle"),
                         "the options are authored in the right order and 'shuffle: false' "
                         "presents them so: the item shows its own answer",
                         "author the options in another order, or remove 'shuffle: false'")


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


def evidence_warnings(ctx: Context, rules: EvidenceRules, values: Mapping[str, Any],
                      given: Mapping[str, Located]) -> None:
    """Warn about ``evidence:`` rules a guess can pass, or that flag honest learners as not fitting.

    ``values`` are the settings the pack gives (checked), ``given`` their nodes.
    """
    chk = ctx.chk
    if "min_items" in values and rules.min_items < WEAK_EVIDENCE_MIN_ITEMS:
        chk.warn(given["min_items"], f"evidence min_items is {rules.min_items}: a decision on fewer "
                 f"than {WEAK_EVIDENCE_MIN_ITEMS} answers can be reached by guessing",
                 f"use at least {WEAK_EVIDENCE_MIN_ITEMS} (the default is "
                 f"{EvidenceRules().min_items})")
    if "fit_threshold" in values and rules.fit_threshold > 0:
        chk.warn(given["fit_threshold"], f"evidence fit_threshold is {rules.fit_threshold:g}: above "
                 "0 it flags more than half of honest learners' answer patterns as not fitting",
                 f"use a negative value (the default is {EvidenceRules().fit_threshold:g}, the "
                 "5 % point)")
