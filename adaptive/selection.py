r"""Item selection: maximum Fisher information, randomesque, Sympson–Hetter, content balancing.

Selectors are small frozen objects composed by wrapping::

    ContentBalanced(SympsonHetter(Randomesque(k=5), control), tag="content_area", targets={...})

Every selector receives the items it must not give (``blocked``: administered, pending, withheld
by exposure control) and optionally a mask of the items it may give (``allowed``), and returns a
:class:`Choice`. Randomness comes only from the ``rng`` argument.

The maximum-information search is exact but visits few items: items are walked in descending order of
their information bound (:math:`a^2/4` for the 2PL, Lord's closed form for the 3PL,
:math:`a^2K^2/4` for polytomous items, see :meth:`ItemBank.information_order`) in growing blocks, and the
walk stops once the next bound cannot beat the k-th best information found.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .bank import ItemBank
from .errors import AdaptiveError
from .types import BoolArray, FloatArray, IntArray

__all__ = [
    "Choice",
    "ContentBalanced",
    "MaxInfo",
    "Randomesque",
    "Selector",
    "SympsonHetter",
    "top_information",
]

_FIRST_BLOCK = 64


@dataclass(frozen=True, slots=True)
class Choice:
    """A selector's answer: the chosen item position (or None) and the items it withheld."""

    item: int | None
    rejected: tuple[int, ...] = ()


class Selector(Protocol):
    """Chooses the next item at ability ``theta``."""

    def select(
        self, bank: ItemBank, theta: float, blocked: IntArray, allowed: BoolArray | None,
        rng: np.random.Generator, administered: IntArray,
    ) -> Choice:
        """Choose among items not in ``blocked`` and (when given) where ``allowed`` is True.

        ``administered`` holds the operational items given so far, in order (for balancing).
        """
        ...


def _walk(
    bank: ItemBank, theta: float, blocked: IntArray, allowed: BoolArray | None
) -> Iterator[tuple[int, FloatArray, float]]:
    """Walk the bank in descending order of the information bound, in growing blocks.

    Yields ``(start, info, next_bound)``: the information at ``theta`` of the items
    ``information_order()[start:start + len(info)]`` (-inf for blocked or disallowed items) and the
    bound of the first item after the block (-inf at the end). A consumer stops as soon as that bound
    cannot beat what it has found.
    """
    order, bounds = bank.information_order()
    n = order.size
    blocked_pos = np.sort(bank.information_rank()[blocked]) if blocked.size else None
    pos = 0
    block = _FIRST_BLOCK
    while pos < n:
        stop = min(pos + block, n)
        info = bank.information_block(theta, pos, stop)
        if allowed is not None:
            info[~allowed[order[pos:stop]]] = -np.inf
        if blocked_pos is not None:
            lo, hi = np.searchsorted(blocked_pos, (pos, stop))
            info[blocked_pos[lo:hi] - pos] = -np.inf
        yield pos, info, float(bounds[stop]) if stop < n else -np.inf
        pos = stop
        block *= 4


def top_information(
    bank: ItemBank, theta: float, k: int, blocked: IntArray, allowed: BoolArray | None = None
) -> tuple[IntArray, FloatArray]:
    """The ``k`` most informative eligible items at ``theta``, exactly, best first.

    Returns
    -------
    items : ndarray of int, shape (m,)
        Bank positions, ``m = min(k, eligible)``, sorted by information, descending; ties go to the
        item met first in the walk (higher bound, then bank order), so replays are deterministic.
    info : ndarray of float, shape (m,)
        Their information at ``theta``.
    """
    order, _ = bank.information_order()
    if k == 1:  # the common case, per request: a running argmax, no merging
        best, best_info = -1, -np.inf
        for start, info, next_bound in _walk(bank, theta, blocked, allowed):
            i = int(np.argmax(info))  # the first maximum: ties go to the walk order
            if info[i] > best_info:
                best, best_info = start + i, float(info[i])
            if best >= 0 and next_bound <= best_info:
                break
        if best < 0:
            return np.empty(0, dtype=np.intp), np.empty(0)
        return order[best: best + 1].copy(), np.array([best_info])
    walk_pos = np.empty(0, dtype=np.intp)
    walk_info = np.empty(0)
    for start, info, next_bound in _walk(bank, theta, blocked, allowed):
        ok = np.flatnonzero(info > -np.inf)
        walk_pos = np.concatenate([walk_pos, start + ok])
        walk_info = np.concatenate([walk_info, info[ok]])
        if walk_info.size > k:
            keep = np.lexsort((walk_pos, -walk_info))[:k]  # stable: ties by walk order
            walk_pos, walk_info = walk_pos[keep], walk_info[keep]
        if walk_info.size >= k and next_bound <= walk_info.min():
            break
    rank = np.lexsort((walk_pos, -walk_info))
    return order[walk_pos[rank]], walk_info[rank]


@dataclass(frozen=True, slots=True)
class MaxInfo:
    """Maximum Fisher information at the current estimate (exact, pruned search)."""

    def select(
        self, bank: ItemBank, theta: float, blocked: IntArray, allowed: BoolArray | None,
        rng: np.random.Generator, administered: IntArray,
    ) -> Choice:
        """The most informative eligible item."""
        items, _ = top_information(bank, theta, 1, blocked, allowed)
        return Choice(int(items[0]) if items.size else None)


@dataclass(frozen=True, slots=True)
class Randomesque:
    """Pick uniformly among the ``k`` most informative eligible items (Kingsbury & Zara 1989)."""

    k: int = 5

    def __post_init__(self) -> None:
        if self.k < 1:
            msg = f"randomesque needs k >= 1, got {self.k}"
            raise AdaptiveError(msg)

    def select(
        self, bank: ItemBank, theta: float, blocked: IntArray, allowed: BoolArray | None,
        rng: np.random.Generator, administered: IntArray,
    ) -> Choice:
        """One of the ``k`` best, uniformly."""
        items, _ = top_information(bank, theta, self.k, blocked, allowed)
        if not items.size:
            return Choice(None)
        return Choice(int(items[rng.integers(items.size)]))


@dataclass(frozen=True, eq=False)
class SympsonHetter:
    r"""Sympson–Hetter exposure control around a base selector.

    When the base selector picks item :math:`j`, it is given with probability :math:`k_j`;
    otherwise it is withheld from this learner for the rest of the test (the classic procedure)
    and the base selector is asked again. With control parameters from
    :func:`adaptive.simulate.sympson_hetter_control`, each item's exposure rate stays near or below
    the target :math:`r`:

    .. math:: P(A_j) = P(S_j)\,k_j \le r

    Parameters
    ----------
    base : Selector
        The selector whose choices are filtered.
    control : mapping of item id to float
        :math:`k_j` in [0, 1]; items not listed have :math:`k_j = 1`.
    """

    base: Selector
    control: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for iid, k in self.control.items():
            if not 0.0 <= float(k) <= 1.0:
                msg = f"Sympson–Hetter parameter of item {iid!r} is {k}; it must be in [0, 1]"
                raise AdaptiveError(msg)

    def select(
        self, bank: ItemBank, theta: float, blocked: IntArray, allowed: BoolArray | None,
        rng: np.random.Generator, administered: IntArray,
    ) -> Choice:
        """The first choice of the base selector that wins its lottery."""
        rejected: list[int] = []
        while True:
            choice = self.base.select(bank, theta, blocked, allowed, rng, administered)
            if choice.item is None:
                return Choice(None, tuple(rejected) + choice.rejected)
            rejected.extend(choice.rejected)
            k = float(self.control.get(bank.ids[choice.item], 1.0))
            if k >= 1.0 or rng.random() < k:
                return Choice(choice.item, tuple(rejected))
            rejected.append(choice.item)
            blocked = np.append(blocked, choice.item)


@dataclass(frozen=True, eq=False)
class ContentBalanced:
    r"""Content balancing towards target proportions per tag value (Kingsbury & Zara 1989).

    Before each selection the tag value furthest below its target share of the items given so far
    (largest :math:`t_v - n_v / n`) is chosen, and the base selector picks within it; a value with no
    eligible item left is skipped. Items without the tag, or whose value has no target, are not
    selected.

    Parameters
    ----------
    base : Selector
    tag : str
        The bank tag, e.g. ``"content_area"`` or ``"competency"``.
    targets : mapping of tag value to float
        Target proportions; they are normalised to sum to 1.
    """

    base: Selector
    tag: str
    targets: Mapping[str, float]

    def __post_init__(self) -> None:
        if not self.targets or any(v < 0 for v in self.targets.values()):
            msg = f"content balancing on {self.tag!r} needs non-negative target proportions"
            raise AdaptiveError(msg)
        if sum(self.targets.values()) <= 0:
            msg = "content-balancing targets must not all be zero"
            raise AdaptiveError(msg)

    def masks(self, bank: ItemBank) -> dict[str, BoolArray]:
        """Item mask per tag value (cached on the bank)."""
        if self.tag not in bank.tags:
            msg = f"content balancing needs the item tag {self.tag!r}, which the bank lacks"
            raise AdaptiveError(msg)

        def build() -> dict[str, BoolArray]:
            values = np.array([v if v is not None else "" for v in bank.tags[self.tag]])
            return {value: values == value for value in set(values.tolist())}

        return bank.memo(f"content:{self.tag}", build)

    def select(
        self, bank: ItemBank, theta: float, blocked: IntArray, allowed: BoolArray | None,
        rng: np.random.Generator, administered: IntArray,
    ) -> Choice:
        """Pick within the most under-represented tag value that still has eligible items."""
        masks = self.masks(bank)
        total = sum(self.targets.values())
        n = administered.size
        deficit = {
            v: t / total - (float(masks[v][administered].sum()) / n if n and v in masks else 0.0)
            for v, t in self.targets.items()
        }
        rejected: tuple[int, ...] = ()
        for value in sorted(deficit, key=lambda v: (-deficit[v], v)):
            if value not in masks:
                continue
            mask = masks[value] if allowed is None else masks[value] & allowed
            choice = self.base.select(bank, theta, blocked, mask, rng, administered)
            rejected += choice.rejected
            if choice.item is not None:
                return Choice(choice.item, rejected)
            blocked = np.concatenate([blocked, np.asarray(choice.rejected, dtype=np.intp)])
        return Choice(None, rejected)
