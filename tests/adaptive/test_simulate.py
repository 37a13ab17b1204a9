"""Seeded simulation: reproducible banks and responses, CAT against a fixed linear test."""

from __future__ import annotations

import numpy as np
import pytest

from adaptive import EAP, AdaptiveError, PolicySettings, linear_test, simulate_cat, synthetic_bank
from adaptive.simulate import simulate_responses, sparse_responses


def test_the_same_seed_gives_the_same_bank_and_responses() -> None:
    for model in ("2pl", "3pl", "gpcm", "grm"):
        one = synthetic_bank(30, np.random.default_rng(5), model=model)
        two = synthetic_bank(30, np.random.default_rng(5), model=model)
        assert one.to_json() == two.to_json()
    bank = synthetic_bank(30, np.random.default_rng(5))
    theta = np.linspace(-2, 2, 50)
    assert np.array_equal(simulate_responses(bank, theta, np.random.default_rng(1)),
                          simulate_responses(bank, theta, np.random.default_rng(1)))


def test_simulated_scores_follow_the_model() -> None:
    rng = np.random.default_rng(8)
    bank = synthetic_bank(5, rng, model="gpcm")
    theta = np.full(40_000, 0.3)
    scores = simulate_responses(bank, theta, rng)
    p = bank.category_probabilities(0.3)[0]  # (items, categories)
    for j in range(5):
        freq = np.bincount(scores[:, j], minlength=p.shape[1]) / theta.size
        assert np.allclose(freq, p[j], atol=0.01)


def test_sparse_responses_give_each_learner_distinct_items_from_the_model() -> None:
    rng = np.random.default_rng(9)
    bank = synthetic_bank(40, rng)
    theta = rng.normal(size=3000)
    data = sparse_responses(bank, theta, 10, rng)
    assert data.n_responses == 30_000
    pairs = data.person * 40 + data.item
    assert np.unique(pairs).size == pairs.size
    expected = bank.category_probabilities(theta)[:, :, 1][data.person, data.item]
    assert data.score.mean() == pytest.approx(expected.mean(), abs=0.01)
    with pytest.raises(AdaptiveError, match="cannot give 50 items from a bank of 40"):
        sparse_responses(bank, theta, 50, rng)


def test_cat_matches_a_long_fixed_test_with_far_fewer_items() -> None:
    rng = np.random.default_rng(31)
    bank = synthetic_bank(300, rng)
    theta = rng.normal(size=300)
    cat = simulate_cat(bank, PolicySettings(se_target=0.3, max_items=40).build(), theta, rng)
    # the fixed form: the 40 items most informative at the population mean
    form = np.argsort(-bank.information(0.0)[0])[:40]
    fixed = linear_test(bank, form, theta, EAP(), rng)
    assert cat.rmse <= fixed.rmse + 0.03
    assert cat.lengths.mean() < 0.75 * fixed.lengths.mean()
    assert abs(cat.bias) < 0.06
    assert cat.summary()["examinees"] == 300
