"""Stopping rules and mastery classification."""

from __future__ import annotations

import math

import numpy as np
import pytest

from adaptive import AbilityEstimate, ItemBank, Mastery, PolicySettings, simulate_cat, synthetic_bank
from adaptive.stopping import (
    SPRT,
    AllOf,
    AnyOf,
    Classified,
    ConfidenceInterval,
    MaxItems,
    MinItems,
    StandardErrorBelow,
)

BANK = ItemBank.from_arrays([1.0, 1.5, 0.8, 1.2], [-0.5, 0.0, 0.5, 1.0])
EST = AbilityEstimate(0.4, 0.25)


def test_combinators() -> None:
    rule = AnyOf(AllOf(MinItems(3), StandardErrorBelow(0.3)), MaxItems(4))
    assert rule.stop_reason(BANK, [0, 1], [1, 1], EST) is None          # SE fine, too short
    assert rule.stop_reason(BANK, [0, 1, 2], [1, 1, 0], EST) == "se_target"
    wide = AbilityEstimate(0.4, 0.5)
    assert rule.stop_reason(BANK, [0, 1, 2], [1, 1, 0], wide) is None
    assert rule.stop_reason(BANK, [0, 1, 2, 3], [1, 1, 0, 0], wide) == "max_items"


def test_confidence_interval_classification() -> None:
    ci = ConfidenceInterval(cut=0.0)
    assert ci.classify(BANK, [], [], AbilityEstimate(0.6, 0.3)) is Mastery.MASTERED       # 0.6-0.59>0
    assert ci.classify(BANK, [], [], AbilityEstimate(0.5, 0.3)) is Mastery.UNDECIDED
    assert ci.classify(BANK, [], [], AbilityEstimate(-0.6, 0.3)) is Mastery.NOT_MASTERED


def test_sprt_uses_the_likelihood_ratio_at_cut_plus_and_minus_delta() -> None:
    sprt = SPRT(cut=0.2, delta=0.4, alpha=0.05, beta=0.1)
    upper, lower = math.log(0.9 / 0.05), math.log(0.1 / 0.95)

    def ratio(items: list[int], scores: list[int]) -> float:
        p_hi = BANK.category_probabilities(0.6, np.array(items))[0]
        p_lo = BANK.category_probabilities(-0.2, np.array(items))[0]
        return float(sum(math.log(p_hi[k, s] / p_lo[k, s]) for k, s in enumerate(scores)))

    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(200):
        n = int(rng.integers(1, 60))
        items = rng.integers(0, 4, n).tolist()
        scores = (rng.random(n) < rng.random()).astype(int).tolist()
        r = ratio(items, scores)
        expected = (Mastery.MASTERED if r >= upper else
                    Mastery.NOT_MASTERED if r <= lower else Mastery.UNDECIDED)
        got = sprt.classify(BANK, items, scores, EST)
        assert got is expected
        seen.add(got)
    assert seen == set(Mastery)


def test_classified_stops_only_when_decided() -> None:
    stop = Classified(ConfidenceInterval(0.0), min_items=2)
    decided = AbilityEstimate(1.5, 0.2)
    assert stop.stop_reason(BANK, [0], [1], decided) is None
    assert stop.stop_reason(BANK, [0, 1], [1, 1], decided) == "mastery"
    assert stop.stop_reason(BANK, [0, 1], [1, 1], AbilityEstimate(0.1, 0.2)) is None


@pytest.mark.parametrize("method", ["ci", "sprt"])
def test_mastery_classification_is_accurate_and_shortens_tests(method: str) -> None:
    rng = np.random.default_rng(77)
    bank = synthetic_bank(400, rng)
    theta = rng.normal(size=400)
    settings = PolicySettings(se_target=None, max_items=40, cut=0.5, mastery_method=method,
                              mastery_stop=True, min_items=5)
    result = simulate_cat(bank, settings.build(), theta, rng)
    assert result.classification_accuracy(0.5) >= 0.9
    assert result.lengths.mean() < 25  # most learners far from the cut are decided early
    decided = [m for m in result.mastery if m != "undecided"]
    # learners near the cut stay undecided after 40 items; most are decided
    assert len(decided) / len(result.mastery) > 0.7
