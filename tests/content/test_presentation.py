"""The per-attempt option order (content.presentation): deterministic, uniform, pinnable."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from scipy.stats import chisquare

from content.model import Choice, Item
from content.presentation import OptionOrder, option_order


def choice_item(n: int = 4, *, shuffle: bool = True, item_id: str = "q-001",
                kind: str = "single_choice") -> Item:
    options = tuple(Choice(chr(97 + j), f"option {j}") for j in range(n))
    key: str | tuple[str, ...] = "a" if kind == "single_choice" else tuple(o.id for o in options)
    return Item(id=item_id, type=kind, competency="c", file="items/x.yaml", stem="?",
                options=options, key=key, shuffle=shuffle)


def matching_item(*, shuffle: bool = True) -> Item:
    sources = tuple(Choice(f"s{j}", f"source {j}") for j in range(3))
    targets = tuple(Choice(f"t{j}", f"target {j}") for j in range(4))
    return Item(id="m-001", type="matching", competency="c", file="items/x.yaml", stem="?",
                sources=sources, targets=targets, key=(("s0", "t0"), ("s1", "t1"), ("s2", "t2")),
                shuffle=shuffle)


def test_the_order_is_deterministic_for_a_seed() -> None:
    item = choice_item(5)
    assert option_order(item, 42) == option_order(item, 42)
    assert option_order(matching_item(), 7) == option_order(matching_item(), 7)


def test_the_order_is_the_same_in_another_process() -> None:
    # Python's hash() is salted per process; the order must not depend on it.
    code = ("from content.model import Choice, Item; from content.presentation import option_order; "
            "item = Item(id='q-001', type='single_choice', competency='c', file='f', stem='?', "
            "options=tuple(Choice(c, c) for c in 'abcde'), key='a'); "
            "print(','.join(option_order(item, 12345).options))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2],
                         env={**os.environ, "PYTHONHASHSEED": "1"}).stdout.strip()
    assert out == ",".join(option_order(choice_item(5), 12345).options)


def test_a_regression_value_pins_the_algorithm() -> None:
    # Changing how orders are drawn would change what replays show for stored attempts.
    assert option_order(choice_item(5), 12345).options == ("e", "b", "a", "d", "c")
    assert option_order(matching_item(), 12345) == OptionOrder(
        sources=("s2", "s1", "s0"), targets=("t3", "t0", "t2", "t1"))


def test_every_order_is_a_permutation() -> None:
    for seed in range(200):
        order = option_order(choice_item(6), seed)
        assert sorted(order.options) == list("abcdef")
        assert order.sources == order.targets == ()
        matching = option_order(matching_item(), seed)
        assert sorted(matching.sources) == ["s0", "s1", "s2"]
        assert sorted(matching.targets) == ["t0", "t1", "t2", "t3"]
        assert matching.options == ()


def test_different_seeds_give_different_orders() -> None:
    item = choice_item(4)
    orders = {option_order(item, seed).options for seed in range(200)}
    assert len(orders) == 24  # every permutation of 4 options shows up
    assert option_order(item, 1) != option_order(item, 2)
    # the item id is mixed in: two items of one attempt are not shuffled alike
    other = choice_item(4, item_id="q-002")
    same = sum(option_order(item, s) == option_order(other, s) for s in range(200))
    assert same < 30


def test_every_position_is_used_evenly() -> None:
    item = choice_item(4)
    n_seeds = 4000
    table = {ident: Counter[int]() for ident in "abcd"}
    permutations: Counter[tuple[str, ...]] = Counter()
    for seed in range(n_seeds):
        order = option_order(item, seed).options
        permutations[order] += 1
        for position, ident in enumerate(order):
            table[ident][position] += 1
    for ident, counts in table.items():
        observed = [counts[position] for position in range(4)]
        assert chisquare(observed).pvalue > 0.001, (ident, observed)
    all_orders = [permutations[p] for p in itertools.permutations("abcd")]
    assert chisquare(all_orders).pvalue > 0.001, all_orders


def test_matching_sources_and_targets_are_shuffled_independently() -> None:
    sources = {option_order(matching_item(), seed).sources for seed in range(100)}
    targets = {option_order(matching_item(), seed).targets for seed in range(100)}
    assert len(sources) == 6 and len(targets) == 24


@pytest.mark.parametrize("kind", ["single_choice", "multiple_choice", "ordering"])
def test_a_pinned_item_keeps_its_authored_order(kind: str) -> None:
    item = choice_item(5, shuffle=False, kind=kind)
    for seed in range(50):
        assert option_order(item, seed) == OptionOrder(options=("a", "b", "c", "d", "e"))
    pinned = matching_item(shuffle=False)
    assert option_order(pinned, 3) == OptionOrder(sources=("s0", "s1", "s2"),
                                                  targets=("t0", "t1", "t2", "t3"))


def test_types_without_options_get_empty_orders() -> None:
    numeric = Item(id="n-001", type="numeric", competency="c", file="f", stem="?", key=3.0)
    assert option_order(numeric, 9) == OptionOrder()


def test_a_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        option_order(choice_item(), -1)
    assert option_order(choice_item(), 2**80).options  # large seeds are fine
