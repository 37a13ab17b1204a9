"""Tests of :mod:`adaptive.statistics` against direct computations and simulated data."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from adaptive import irt
from adaptive import statistics as stats
from adaptive.bank import ItemBank, ItemParameters
from adaptive.errors import AdaptiveError, InvalidResponses
from adaptive.responses import ResponseData


# ------------------------------------------------------------------------------------ helpers
def simulate(bank: ItemBank, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dense integer scores ``(n_learners, n_items)`` drawn from the bank's model."""
    p = bank.category_probabilities(theta)
    u = rng.random((theta.size, len(bank), 1))
    scores = (u > np.cumsum(p, axis=2)).sum(axis=2)
    return np.minimum(scores, bank.max_score[None, :])  # type: ignore[no-any-return]


def dichotomous_bank(rng: np.random.Generator, n_items: int, guessing: bool = False) -> ItemBank:
    a = rng.uniform(0.8, 2.0, n_items)
    b = rng.uniform(-1.8, 1.8, n_items)
    return ItemBank.from_arrays(a, b, rng.uniform(0.1, 0.25, n_items) if guessing else None)


def mixed_bank() -> ItemBank:
    return ItemBank.from_items([
        ItemParameters("d1", "2pl", a=1.2, b=-0.5),
        ItemParameters("p1", "gpcm", a=0.9, thresholds=(-1.0, 0.3, 0.1)),
        ItemParameters("d2", "3pl", a=1.6, b=0.4, c=0.2),
        ItemParameters("g1", "grm", a=1.4, thresholds=(-0.8, 0.9)),
        ItemParameters("d3", "1pl", a=1.0, b=1.1),
        ItemParameters("g2", "grm", a=0.7, thresholds=(-1.5, -0.2, 0.6, 1.8)),
        ItemParameters("d4", "2pl", a=0.8, b=0.2),
        ItemParameters("p2", "gpcm", a=1.7, thresholds=(0.5,)),
    ])


def eap(bank: ItemBank, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EAP estimates and posterior SDs for complete dichotomous data under a N(0, 1) prior."""
    nodes = np.linspace(-6.0, 6.0, 121)
    p = bank.category_probabilities(nodes)[:, :, 1]
    loglik = x @ np.log(p).T + (1 - x) @ np.log1p(-p).T
    post = np.exp(loglik - loglik.max(axis=1, keepdims=True)) * np.exp(-0.5 * nodes**2)
    post /= post.sum(axis=1, keepdims=True)
    mean = post @ nodes
    return mean, np.sqrt(np.maximum(post @ nodes**2 - mean**2, 0.0))


def sparse(x: np.ndarray, keep: np.ndarray, items: tuple[str, ...]) -> ResponseData:
    return ResponseData.from_dense(np.where(keep, x, np.nan), items=items)


# ------------------------------------------------------------------------ classical statistics
def test_proportion_correct_and_point_biserial_match_dense_computation() -> None:
    rng = np.random.default_rng(1)
    bank = dichotomous_bank(rng, 8)
    x = simulate(bank, rng.normal(size=300), rng).astype(float)
    s = stats.item_statistics(ResponseData.from_dense(x, items=bank.ids), bank)
    total = x.sum(axis=1)
    expected_r = [np.corrcoef(x[:, j], total - x[:, j])[0, 1] for j in range(8)]
    np.testing.assert_allclose(s.proportion_correct, x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(s.mean_score, x.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(s.point_biserial, expected_r, rtol=1e-10)
    np.testing.assert_array_equal(s.n_responses, 300)
    np.testing.assert_array_equal(s.n_rest, 300)
    np.testing.assert_array_equal(s.max_score, 1)
    assert s.items == bank.ids
    # Items measuring the same trait correlate positively with the rest.
    assert np.all(s.point_biserial > 0.1)


def test_tiny_hand_example() -> None:
    # Learners × items; rest score = mean of the other two items.
    x = np.array([[1, 1, 0], [1, 0, 0], [0, 0, 1], [1, 1, 1]], dtype=float)
    s = stats.item_statistics(ResponseData.from_dense(x))
    np.testing.assert_allclose(s.proportion_correct, [0.75, 0.5, 0.5])
    # Item 0 scores (1, 1, 0, 1) against rest (0.5, 0, 0.5, 1).
    r0 = np.corrcoef([1, 1, 0, 1], [0.5, 0.0, 0.5, 1.0])[0, 1]
    assert s.point_biserial[0] == pytest.approx(r0, abs=1e-15)
    assert s.point_biserial[0] == pytest.approx(0.0, abs=1e-15)
    # Item 1 scores (1, 0, 0, 1) against rest (0.5, 0.5, 0.5, 1): r = 0.25 / sqrt(0.1875).
    assert s.point_biserial[1] == pytest.approx(1 / np.sqrt(3), rel=1e-12)


def _loop_reference(data: ResponseData, max_score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Proportion correct and item-rest correlation, learner by learner and item by item."""
    x = data.to_dense()
    u = x / max_score[None, :]
    pc, r = [], []
    for j in range(data.n_items):
        answered = ~np.isnan(x[:, j])
        pc.append(np.nanmean(x[answered, j]) / max_score[j])
        xs, rest = [], []
        for i in np.flatnonzero(answered):
            others = [u[i, k] for k in range(data.n_items) if k != j and not np.isnan(u[i, k])]
            if others:
                xs.append(x[i, j])
                rest.append(sum(others) / len(others))
        r.append(np.corrcoef(xs, rest)[0, 1])
    return np.array(pc), np.array(r)


def test_sparse_polytomous_statistics_match_loop_reference() -> None:
    rng = np.random.default_rng(2)
    bank = mixed_bank()
    x = simulate(bank, rng.normal(size=150), rng).astype(float)
    keep = rng.random(x.shape) < 0.45
    data = sparse(x, keep, bank.ids)
    s = stats.item_statistics(data, bank)
    pc, r = _loop_reference(data, bank.max_score.astype(float))
    np.testing.assert_array_equal(s.max_score, bank.max_score)
    np.testing.assert_allclose(s.proportion_correct, pc, rtol=1e-12)
    np.testing.assert_allclose(s.point_biserial, r, rtol=1e-10)
    np.testing.assert_array_equal(s.n_responses, keep.sum(axis=0))
    assert np.all(s.n_rest <= s.n_responses)
    assert np.all((s.proportion_correct >= 0) & (s.proportion_correct <= 1))


def test_responses_in_a_different_order_from_the_bank() -> None:
    rng = np.random.default_rng(3)
    bank = mixed_bank()
    x = simulate(bank, rng.normal(size=80), rng).astype(float)
    order = [5, 2, 7, 0]
    data = ResponseData.from_dense(x[:, order], items=[bank.ids[j] for j in order])
    s = stats.item_statistics(data, bank)
    assert s.items == tuple(bank.ids[j] for j in order)
    np.testing.assert_array_equal(s.max_score, bank.max_score[order])
    np.testing.assert_allclose(s.proportion_correct, x[:, order].mean(axis=0) / bank.max_score[order])


def test_undefined_point_biserials_are_nan_without_warnings() -> None:
    x = np.array([
        [1, 0, 1, np.nan, np.nan],
        [1, 1, 0, np.nan, np.nan],
        [1, 0, 0, 1, np.nan],
        [1, 1, 1, np.nan, np.nan],
    ])
    s = stats.item_statistics(ResponseData.from_dense(x))
    assert np.isnan(s.point_biserial[0])  # constant item
    assert np.isnan(s.point_biserial[3])  # a single response
    assert np.isnan(s.point_biserial[4])  # no responses
    assert np.isnan(s.mean_score[4])
    assert np.isnan(s.proportion_correct[4])
    assert s.n_responses[4] == 0
    assert np.isfinite(s.point_biserial[1]) and np.isfinite(s.point_biserial[2])
    # A learner who answered a single item has no rest score and is left out.
    y = np.array([[1, np.nan], [0, 1], [1, 0], [np.nan, 1]])
    t = stats.item_statistics(ResponseData.from_dense(y))
    np.testing.assert_array_equal(t.n_responses, [3, 3])
    np.testing.assert_array_equal(t.n_rest, [2, 2])
    np.testing.assert_allclose(t.point_biserial, [-1.0, -1.0])


def test_polytomous_proportion_uses_the_maximum_score() -> None:
    x = np.array([[0, 2], [1, 3], [2, 0], [2, 1]], dtype=float)
    with_bank = stats.item_statistics(
        ResponseData.from_dense(x, items=["s", "t"]),
        ItemBank.from_items([ItemParameters("s", "gpcm", thresholds=(0.0, 1.0)),
                             ItemParameters("t", "grm", thresholds=(-1.0, 0.0, 1.0, 2.0))]))
    np.testing.assert_allclose(with_bank.mean_score, [1.25, 1.5])
    np.testing.assert_allclose(with_bank.proportion_correct, [1.25 / 2, 1.5 / 4])
    # Without a bank the highest observed score is the maximum (at least 1).
    observed = stats.item_statistics(ResponseData.from_dense(x))
    np.testing.assert_array_equal(observed.max_score, [2, 3])
    np.testing.assert_allclose(observed.proportion_correct, [1.25 / 2, 1.5 / 3])
    zeros = stats.item_statistics(ResponseData.from_dense(np.zeros((3, 2))))
    np.testing.assert_array_equal(zeros.max_score, [1, 1])
    np.testing.assert_array_equal(zeros.proportion_correct, [0.0, 0.0])


def test_item_statistics_rejects_unknown_items_and_out_of_range_scores() -> None:
    bank = ItemBank.from_arrays([1.0, 1.0], [0.0, 1.0], ids=["x", "y"])
    with pytest.raises(InvalidResponses, match="'z'"):
        stats.item_statistics(ResponseData.from_records([("p", "x", 1), ("p", "z", 0)]), bank)
    with pytest.raises(InvalidResponses, match="learner 'q' scored 2 on item 'y'"):
        stats.item_statistics(
            ResponseData.from_records([("p", "x", 1), ("q", "y", 2)]), bank)


def test_item_statistics_to_json_and_read_only() -> None:
    x = np.array([[1, 0, np.nan], [1, 1, np.nan], [1, 0, 1]])
    s = stats.item_statistics(ResponseData.from_dense(x, items=["u", "v", "w"]))
    data = json.loads(json.dumps(s.to_json(), allow_nan=False))
    assert data["items"] == ["u", "v", "w"]
    assert data["n_responses"] == [3, 3, 1]
    assert data["point_biserial"][0] is None
    assert data["proportion_correct"] == pytest.approx([1.0, 1 / 3, 1.0])
    with pytest.raises(ValueError, match="read-only"):
        s.point_biserial[0] = 0.0


# ------------------------------------------------------------------------------ residual fit
def _fit_reference(data: ResponseData, bank: ItemBank, theta: np.ndarray) -> tuple[np.ndarray, ...]:
    """Infit and outfit item by item with dense bank probabilities."""
    x = data.to_dense()
    pos = [bank.index(i) for i in data.items]
    p = bank.category_probabilities(theta, np.array(pos))  # (N, J, K)
    k = np.arange(p.shape[2])
    e = p @ k
    w = p @ (k * k) - e * e
    infit, outfit = [], []
    for j in range(data.n_items):
        seen = ~np.isnan(x[:, j])
        r2 = (x[seen, j] - e[seen, j]) ** 2
        outfit.append(np.mean(r2 / w[seen, j]))
        infit.append(r2.sum() / w[seen, j].sum())
    return np.array(infit), np.array(outfit)


def test_item_fit_matches_dense_reference_on_sparse_mixed_data() -> None:
    rng = np.random.default_rng(4)
    bank = mixed_bank()
    theta = rng.normal(size=200)
    x = simulate(bank, theta, rng).astype(float)
    data = sparse(x, rng.random(x.shape) < 0.5, bank.ids)
    fit = stats.item_fit(data, bank, theta)
    infit, outfit = _fit_reference(data, bank, theta)
    np.testing.assert_allclose(fit.infit, infit, rtol=1e-10)
    np.testing.assert_allclose(fit.outfit, outfit, rtol=1e-10)
    np.testing.assert_array_equal(fit.n_responses, data.to_dense().shape[0]
                                  - np.isnan(data.to_dense()).sum(axis=0))


def test_infit_outfit_near_one_on_model_data_and_high_for_noise() -> None:
    rng = np.random.default_rng(5)
    bank = mixed_bank()
    theta = rng.normal(size=4000)
    x = simulate(bank, theta, rng)
    noisy = 2  # d2 (3PL, a = 1.6): replace its responses with coin flips
    x[:, noisy] = rng.integers(0, 2, size=theta.size)
    keep = rng.random(x.shape) < 0.7
    fit = stats.item_fit(sparse(x.astype(float), keep, bank.ids), bank, theta)
    model = np.arange(len(bank)) != noisy
    # Sampling SDs here are about 0.02 (infit) and up to 0.05 (outfit of the 4-category GRM item).
    np.testing.assert_allclose(fit.infit[model], 1.0, atol=0.08)
    np.testing.assert_allclose(fit.outfit[model], 1.0, atol=0.2)
    assert np.all(np.abs(fit.infit_t[model]) < 3.5)
    assert fit.infit[noisy] > 1.25
    assert fit.outfit[noisy] > 1.25
    assert fit.infit_t[noisy] > 8
    assert fit.outfit_t[noisy] > 8


def test_standardised_fit_is_roughly_standard_normal_on_model_data() -> None:
    rng = np.random.default_rng(6)
    bank = dichotomous_bank(rng, 40)
    theta = rng.normal(size=1500)
    x = simulate(bank, theta, rng).astype(float)
    fit = stats.item_fit(ResponseData.from_dense(x, items=bank.ids), bank, theta)
    assert abs(float(np.mean(fit.infit_t))) < 0.5
    assert 0.6 < float(np.std(fit.infit_t)) < 1.5
    assert abs(float(np.mean(fit.outfit_t))) < 0.5


def test_item_fit_rejects_bad_theta() -> None:
    bank = ItemBank.from_arrays([1.0], [0.0], ids=["x"])
    data = ResponseData.from_records([("p", "x", 1), ("q", "x", 0)])
    with pytest.raises(InvalidResponses, match="one finite ability per learner"):
        stats.item_fit(data, bank, np.array([0.0]))
    with pytest.raises(InvalidResponses, match="one finite ability per learner"):
        stats.item_fit(data, bank, np.array([0.0, np.nan]))
    ok = stats.item_fit(data, bank, [0.0, 0.0])
    # P = 0.5 at theta = b: each squared standardised residual is 1.
    np.testing.assert_allclose(ok.outfit, [1.0])
    np.testing.assert_allclose(ok.infit, [1.0])
    json.dumps(ok.to_json(), allow_nan=False)


# -------------------------------------------------------------------------- summed-score fit
def test_lord_wingersky_matches_enumeration() -> None:
    bank = mixed_bank()
    nodes = np.array([-1.5, 0.0, 0.7])
    p = bank.category_probabilities(nodes)  # (3, 8, 5), zero-padded
    ks = bank.max_score
    dist = stats.summed_score_likelihood(p, ks)
    assert dist.shape == (3, int(ks.sum()) + 1)
    brute = np.zeros_like(dist)
    for pattern in itertools.product(*(range(k + 1) for k in ks)):
        brute[:, sum(pattern)] += np.prod([p[:, j, s] for j, s in enumerate(pattern)], axis=0)
    np.testing.assert_allclose(dist, brute, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(dist.sum(axis=1), 1.0, rtol=1e-12)
    # Zero-padded categories may be included without max_scores: the extra scores get probability 0.
    padded = stats.summed_score_likelihood(p)
    np.testing.assert_allclose(padded[:, : dist.shape[1]], dist, rtol=1e-12, atol=1e-300)
    assert np.all(padded[:, dist.shape[1]:] == 0.0)


def test_lord_wingersky_dichotomous_batch_and_item_removal() -> None:
    rng = np.random.default_rng(7)
    p = rng.uniform(0.05, 0.95, size=(5, 6))
    cats = np.stack([1 - p, p], axis=-1)
    dist = stats.summed_score_likelihood(cats)
    assert dist.shape == (5, 7)
    # An item that always scores 0 leaves the distribution unchanged: that removes it.
    removed = cats.copy()
    removed[:, 2] = [1.0, 0.0]
    np.testing.assert_allclose(stats.summed_score_likelihood(removed)[:, :6],
                               stats.summed_score_likelihood(np.delete(cats, 2, axis=1)), rtol=1e-13)
    batch = stats.summed_score_likelihood(np.stack([cats, removed]))
    np.testing.assert_allclose(batch[0], dist, rtol=1e-14)
    # Identical items: the binomial distribution.
    same = stats.summed_score_likelihood(np.broadcast_to([0.7, 0.3], (1, 4, 2)))
    from scipy.stats import binom
    np.testing.assert_allclose(same[0], binom.pmf(np.arange(5), 4, 0.3), rtol=1e-13)
    with pytest.raises(AdaptiveError):
        stats.summed_score_likelihood(cats, [1, 1])


def _sx2_reference(x: np.ndarray, bank: ItemBank) -> tuple[np.ndarray, np.ndarray]:
    """S-X² without merging score groups, item by item with explicit leave-one-out recursions."""
    nodes = np.linspace(-6, 6, 61)
    w = np.exp(-0.5 * nodes**2)
    w /= w.sum()
    n_items = x.shape[1]
    p = bank.category_probabilities(nodes)[:, :, 1]
    full = stats.summed_score_likelihood(np.stack([1 - p, p], -1))
    total = x.sum(axis=1).astype(int)
    stat, groups = np.zeros(n_items), np.zeros(n_items, dtype=int)
    for i in range(n_items):
        rest = np.delete(p, i, axis=1)
        loo = stats.summed_score_likelihood(np.stack([1 - rest, rest], -1))
        for s in range(1, n_items):
            n_s = np.sum(total == s)
            if n_s == 0:
                continue
            e = (w * p[:, i] * loo[:, s - 1]).sum() / (w * full[:, s]).sum()
            o = x[total == s, i].mean()
            stat[i] += n_s * (o - e) ** 2 / (e * (1 - e))
            groups[i] += 1
    return stat, groups


def test_sx2_without_merging_matches_reference() -> None:
    rng = np.random.default_rng(8)
    bank = dichotomous_bank(rng, 7, guessing=True)
    x = simulate(bank, rng.normal(size=400), rng).astype(float)
    data = ResponseData.from_dense(x, items=bank.ids)
    fit = stats.sx2_item_fit(data, bank, min_expected=0.0)
    stat, groups = _sx2_reference(x, bank)
    # With min_expected = 0 each nonempty score group is its own group.
    np.testing.assert_allclose(fit.statistic, stat, rtol=1e-9)
    np.testing.assert_array_equal(fit.n_groups, groups)
    np.testing.assert_array_equal(fit.df, fit.n_groups - 3)


def test_sx2_rejects_at_the_nominal_rate_on_model_data() -> None:
    rng = np.random.default_rng(9)
    p_values = []
    for rep in range(12):
        bank = dichotomous_bank(rng, 15, guessing=rep % 2 == 1)
        x = simulate(bank, rng.normal(size=1000), rng).astype(float)
        fit = stats.sx2_item_fit(ResponseData.from_dense(x, items=bank.ids), bank,
                                 parameters_estimated=False)
        assert np.all(fit.df >= 5)
        np.testing.assert_array_equal(fit.df, fit.n_groups)
        p_values.append(fit.p_value)
    p = np.concatenate(p_values)  # 180 tests of true models
    assert np.all((p >= 0) & (p <= 1))
    assert np.mean(p < 0.05) < 0.10
    assert np.mean(p < 0.01) < 0.04
    assert 0.35 < float(np.mean(p)) < 0.65  # roughly uniform


def test_sx2_flags_a_misfitting_item() -> None:
    rng = np.random.default_rng(10)
    bank = dichotomous_bank(rng, 15)
    theta = rng.normal(size=2000)
    x = simulate(bank, theta, rng)
    # Item 4 really follows a nearly flat curve, unlike its bank parameters.
    flat = ItemBank.from_arrays([0.15], [bank.b[4]])
    x[:, 4] = simulate(flat, theta, rng)[:, 0]
    fit = stats.sx2_item_fit(ResponseData.from_dense(x.astype(float), items=bank.ids), bank)
    assert fit.p_value[4] < 1e-6
    assert fit.statistic[4] == max(fit.statistic)
    others = np.delete(fit.p_value, 4)
    assert np.mean(others < 0.01) <= 0.2
    data = json.loads(json.dumps(fit.to_json(), allow_nan=False))
    assert data["items"] == list(bank.ids)
    assert len(data["df"]) == 15


def test_sx2_rejects_incomplete_polytomous_or_tiny_data() -> None:
    rng = np.random.default_rng(11)
    bank = dichotomous_bank(rng, 4)
    x = simulate(bank, rng.normal(size=50), rng).astype(float)
    x[3, 2] = np.nan
    with pytest.raises(InvalidResponses, match="complete data"):
        stats.sx2_item_fit(ResponseData.from_dense(x, items=bank.ids), bank)
    poly = mixed_bank()
    y = simulate(poly, rng.normal(size=50), rng).astype(float)
    with pytest.raises(AdaptiveError, match=r"dichotomous items only; item .p1. is gpcm"):
        stats.sx2_item_fit(ResponseData.from_dense(y, items=poly.ids), poly)
    with pytest.raises(AdaptiveError, match="at least 3 items"):
        stats.sx2_item_fit(ResponseData.from_dense(x[:, :2], items=bank.ids[:2]), bank)


# --------------------------------------------------------------------------------- reliability
def test_reliability_matches_squared_correlation_of_true_and_eap_theta() -> None:
    rng = np.random.default_rng(12)
    bank = dichotomous_bank(rng, 20)
    theta = rng.normal(size=4000)
    x = simulate(bank, theta, rng).astype(float)
    est, se = eap(bank, x)
    r2 = np.corrcoef(theta, est)[0, 1] ** 2
    marginal = stats.marginal_reliability(bank)
    empirical = stats.empirical_reliability(est, se)
    assert 0.7 < r2 < 0.95
    assert marginal == pytest.approx(r2, abs=0.025)
    assert empirical == pytest.approx(r2, abs=0.025)
    # Read as ML estimates, shrunken EAPs look less reliable than they are.
    assert stats.empirical_reliability(est, se, estimator="ml") < empirical - 0.01


def test_marginal_reliability_grows_with_test_length_and_matches_quadrature() -> None:
    rng = np.random.default_rng(13)
    bank = dichotomous_bank(rng, 30)
    values = [stats.marginal_reliability(bank, np.arange(n)) for n in (1, 5, 15, 30)]
    assert all(lo < hi for lo, hi in itertools.pairwise(values))
    assert 0.0 < values[0] < values[-1] < 1.0
    # Direct numerical integral of 1 - E[1 / (I + 1)] under N(0, 1).
    grid = np.linspace(-10, 10, 20_001)
    dens = np.exp(-0.5 * grid**2) / np.sqrt(2 * np.pi)
    integral = np.sum(dens / (bank.test_information(grid) + 1.0)) * (grid[1] - grid[0])
    assert stats.marginal_reliability(bank, n_points=121) == pytest.approx(1 - integral, abs=1e-4)
    # A wider ability distribution is measured more reliably by the same information.
    assert stats.marginal_reliability(bank, prior_sd=2.0) > values[-1]


def test_empirical_reliability_formulas_and_errors() -> None:
    theta = np.array([-1.0, 0.0, 1.0, 2.0])  # variance 1.25
    se = np.full(4, 0.5)
    assert stats.empirical_reliability(theta, se) == pytest.approx(1.25 / 1.5)
    assert stats.empirical_reliability(theta, se, estimator="ml") == pytest.approx(1 - 0.25 / 1.25)
    with pytest.raises(AdaptiveError):
        stats.empirical_reliability(theta, se[:3])
    with pytest.raises(AdaptiveError):
        stats.empirical_reliability(theta, -se)
    with pytest.raises(AdaptiveError):
        stats.empirical_reliability(theta, se, estimator="wle")
    with pytest.raises(AdaptiveError):
        stats.marginal_reliability(ItemBank.from_arrays([1.0], [0.0]), prior_sd=0.0)


# --------------------------------------------------------------------------------- information
def test_test_information_is_the_sum_of_item_information() -> None:
    bank = mixed_bank()
    curves = stats.information_curves(bank)
    np.testing.assert_array_equal(curves.theta, np.linspace(-4, 4, 81))
    assert curves.items == bank.ids
    assert curves.item_information.shape == (81, len(bank))
    np.testing.assert_allclose(curves.test_information, curves.item_information.sum(axis=1))
    np.testing.assert_allclose(curves.test_information, bank.test_information(curves.theta))
    np.testing.assert_allclose(curves.item_information, bank.information(curves.theta))
    np.testing.assert_allclose(curves.standard_error, 1 / np.sqrt(curves.test_information))
    # The items' own functions agree, model by model.
    gpcm = [j for j, m in enumerate(bank.models) if m == "gpcm"]
    np.testing.assert_allclose(
        curves.item_information[:, gpcm],
        irt.gpcm_information(curves.theta, bank.a[gpcm], bank.thresholds[gpcm]), rtol=1e-12)


def test_information_curves_on_a_subset_and_custom_grid() -> None:
    bank = mixed_bank()
    grid = np.array([-1.0, 0.0, 2.5])
    sel = [3, 0]
    curves = stats.information_curves(bank, grid, sel)
    assert curves.items == ("g1", "d1")
    np.testing.assert_allclose(curves.item_information, bank.information(grid, np.array(sel)))
    np.testing.assert_allclose(curves.test_information,
                               curves.item_information[:, 0] + curves.item_information[:, 1])
    one = stats.information_curves(bank, 0.5)
    assert one.theta.shape == (1,)
    with pytest.raises(AdaptiveError):
        stats.information_curves(bank, [0.0, np.inf])


def test_information_curves_json_and_infinite_standard_error() -> None:
    bank = ItemBank.from_arrays([4.0], [0.0], ids=["steep"])
    curves = stats.information_curves(bank, [0.0, 400.0])
    assert curves.test_information[1] == 0.0
    assert curves.standard_error[1] == np.inf
    assert curves.standard_error[0] == pytest.approx(1 / np.sqrt(4.0))
    data = json.loads(json.dumps(curves.to_json(), allow_nan=False))
    assert data["standard_error"] == [pytest.approx(0.5), None]
    assert data["item_information"] == [[pytest.approx(4.0)], [0.0]]
    assert data["items"] == ["steep"]
    for arr in (curves.theta, curves.item_information, curves.test_information):
        assert not arr.flags.writeable
