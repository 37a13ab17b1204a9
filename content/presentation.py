"""The order in which one attempt presents an item's options (issue 9): shuffled, replayable, pinnable.

Options of ``single_choice``, ``multiple_choice``, ``ordering`` and ``matching`` items are shown to
each learner, on each attempt, in their own order, so that a key's authored position tells nothing and
a learner cannot pass on "it's always b". :func:`option_order` is pure: the same item and seed give
the same order in every process, on every platform and with every NumPy release, so a stored seed
replays exactly what a learner saw. An item with ``shuffle: false`` keeps its authored order.

The permutation is a Fisher–Yates shuffle driven by the raw 64-bit output of NumPy's PCG64 bit
generator, seeded by ``SeedSequence([seed, crc32(item id)])``. NumPy keeps bit-generator streams
stable across releases; the derived methods of ``Generator`` (``permutation``, ``integers``) carry no
such promise, which is why they are not used here. Python's ``hash()`` is never used: it is salted per
process.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .itemtypes import SHUFFLED_TYPES
from .model import Choice, Item

__all__ = ["OptionOrder", "option_order"]

_WORD = 1 << 64


@dataclass(frozen=True, slots=True)
class OptionOrder:
    """The ids of an item's options, sources and targets in the order one attempt presents them.

    Attributes
    ----------
    options : tuple of str
        Option ids of a choice or ordering item, first shown first (empty for other types).
    sources, targets : tuple of str
        Source and target ids of a matching item, each list in its own order (empty otherwise).
    """

    options: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()


def option_order(item: Item, seed: int) -> OptionOrder:
    """Return the presented order of the item's options (and of a matching item's sources and targets).

    Parameters
    ----------
    item : Item
        The item to present.
    seed : int
        A non-negative integer that identifies the attempt (stored with it, so the order can be
        replayed); the item's id is mixed in, so items of one attempt are shuffled independently.

    Returns
    -------
    OptionOrder
        A permutation of each id list, uniform over all permutations; the authored order when
        ``item.shuffle`` is false, and empty lists for a type without options.

    Raises
    ------
    ValueError
        For a negative seed.
    """
    if seed < 0:
        msg = f"seed must be a non-negative integer, not {seed}"
        raise ValueError(msg)
    options = _ids(item.options)
    sources = _ids(item.sources)
    targets = _ids(item.targets)
    if not item.shuffle or item.type not in SHUFFLED_TYPES:
        return OptionOrder(options, sources, targets)
    bits = np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(item.id.encode("utf-8"))]))
    return OptionOrder(_shuffled(options, bits), _shuffled(sources, bits), _shuffled(targets, bits))


def _ids(choices: tuple[Choice, ...]) -> tuple[str, ...]:
    return tuple(choice.id for choice in choices)


def _shuffled(ids: tuple[str, ...], bits: np.random.PCG64) -> tuple[str, ...]:
    """Fisher–Yates over the list, each swap index drawn without bias."""
    out = list(ids)
    for i in range(len(out) - 1, 0, -1):
        j = _below(bits, i + 1)
        out[i], out[j] = out[j], out[i]
    return tuple(out)


def _below(bits: np.random.PCG64, bound: int) -> int:
    """Return a uniform integer in ``0..bound-1`` from 64-bit words (rejection keeps it unbiased)."""
    limit = _WORD - _WORD % bound
    while True:
        word = int(bits.random_raw())
        if word < limit:
            return word % bound
