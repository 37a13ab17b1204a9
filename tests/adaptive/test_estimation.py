"""EAP, MAP and WLE against brute-force integration and optimisation, plus edge cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from adaptive import EAP, MAP, WLE, ItemBank, ItemParameters
from adaptive.errors import EstimationError
from adaptive.estimation import estimator_from_name
from adaptive.simulate import simulate_responses, synthetic_bank

A = np.array([0.8, 1.2, 1.5, 0.6, 2.0])
B = np.array([-1.0, -0.2, 0.4, 1.1, 0.0])
C = np.array([0.0, 0.2, 0.15, 0.0, 0.25])


def bank_2pl() -> ItemBank:
    return ItemBank.from_arrays(A, B)


def bank_3pl() -> ItemBank:
    return ItemBank.from_arrays(A, B, C)


def mixed_bank() -> ItemBank:
    return ItemBank.from_items([
        ItemParameters("d", "2pl", 1.1, 0.2),
        ItemParameters("g", "3pl", 1.4, -0.3, 0.2),
        ItemParameters("p", "gpcm", 0.9, thresholds=(-1.0, 0.3, 1.2)),
        ItemParameters("r", "grm", 1.3, thresholds=(-0.8, 0.1, 0.9)),
    ])


def likelihood(bank: ItemBank, items: list[int], scores: list[int], t: float) -> float:
    """Brute force: product of category probabilities, one item at a time."""
    p = bank.category_probabilities(np.array([t]), np.array(items))[0]
    return float(np.prod([p[k, s] for k, s in enumerate(scores)]))


PATTERNS = [
    ("2pl", [0, 1, 2, 3, 4], [1, 0, 1, 0, 1]),
    ("2pl", [0, 1, 2, 3, 4], [1, 1, 1, 1, 1]),
    ("2pl", [0, 1, 2, 3, 4], [0, 0, 0, 0, 0]),
    ("3pl", [0, 1, 2, 3, 4], [0, 1, 1, 0, 1]),
    ("mixed", [0, 1, 2, 3], [1, 0, 2, 3]),
    ("mixed", [0, 1, 2, 3], [0, 0, 0, 0]),
]
BANKS = {"2pl": bank_2pl, "3pl": bank_3pl, "mixed": mixed_bank}


@pytest.mark.parametrize(("kind", "items", "scores"), PATTERNS)
def test_eap_matches_numerical_integration(kind: str, items: list[int], scores: list[int]) -> None:
    bank = BANKS[kind]()

    def post(t: float) -> float:
        return likelihood(bank, items, scores, t) * np.exp(-0.5 * t * t)

    norm = integrate.quad(post, -10, 10, epsabs=1e-13)[0]
    mean = integrate.quad(lambda t: t * post(t), -10, 10, epsabs=1e-13)[0] / norm
    var = integrate.quad(lambda t: (t - mean) ** 2 * post(t), -10, 10, epsabs=1e-13)[0] / norm
    est = EAP().estimate(bank, items, scores)
    assert est.theta == pytest.approx(mean, abs=1e-4)
    assert est.se == pytest.approx(np.sqrt(var), abs=1e-4)


@pytest.mark.parametrize(("kind", "items", "scores"), PATTERNS)
def test_map_matches_brute_force_optimisation(kind: str, items: list[int], scores: list[int]) -> None:
    bank = BANKS[kind]()
    grid = np.linspace(-6, 6, 240_001)  # 5e-5 spacing
    log_post = bank.log_likelihood(grid, items, scores) - 0.5 * grid**2
    est = MAP().estimate(bank, items, scores)
    assert est.theta == pytest.approx(grid[np.argmax(log_post)], abs=1e-4)
    # SE: inverse root of the test information plus the prior precision
    info = bank.test_information(est.theta, np.array(items))[0]
    assert est.se == pytest.approx(1 / np.sqrt(info + 1.0), rel=1e-5)


@pytest.mark.parametrize("scores", [[1, 0, 1, 0, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [0, 1, 1, 1, 1]])
def test_wle_maximises_the_weighted_likelihood_for_the_2pl(scores: list[int]) -> None:
    # for the 2PL, Warm's estimating equation is the derivative of l(θ) + ½ log I(θ)
    bank = bank_2pl()
    items = [0, 1, 2, 3, 4]
    grid = np.linspace(-6, 6, 240_001)
    objective = bank.log_likelihood(grid, items, scores) + 0.5 * np.log(
        bank.test_information(grid, np.array(items)))
    est = WLE().estimate(bank, items, scores)
    assert est.theta == pytest.approx(grid[np.argmax(objective)], abs=1e-4)
    assert abs(est.theta) < 6  # finite and inside the bounds, even for all-right / all-wrong
    info = bank.test_information(est.theta, np.array(items))[0]
    assert est.se == pytest.approx(1 / np.sqrt(info), rel=1e-5)


def test_extreme_patterns_stay_finite_and_ordered() -> None:
    bank = synthetic_bank(30, np.random.default_rng(3), model="3pl")
    items = list(range(30))
    for est in (EAP(), MAP(), WLE()):
        hi = est.estimate(bank, items, [1] * 30)
        lo = est.estimate(bank, items, [0] * 30)
        assert np.isfinite([hi.theta, hi.se, lo.theta, lo.se]).all()
        assert hi.theta > 1.0 > -1.0 > lo.theta
        assert 0 < hi.se < 6 and 0 < lo.se < 6


def test_no_responses_returns_the_prior() -> None:
    bank = bank_2pl()
    est = EAP(prior_mean=0.5, prior_sd=1.2).estimate(bank, [], [])
    assert est.theta == pytest.approx(0.5, abs=1e-9)
    assert est.se == pytest.approx(1.2, abs=1e-3)
    m = MAP(prior_mean=-0.3, prior_sd=0.8).estimate(bank, [], [])
    assert (m.theta, m.se) == (-0.3, 0.8)


def test_incremental_eap_equals_eap_from_scratch() -> None:
    bank = mixed_bank()
    eap = EAP(n_points=41)
    log_post = eap.log_prior()
    items, scores = [2, 0, 3, 1], [1, 1, 2, 0]
    for k, (j, s) in enumerate(zip(items, scores, strict=True)):
        log_post = eap.update(bank, log_post, j, s)
        incremental = eap.summarise(log_post)
        scratch = eap.estimate(bank, items[: k + 1], scores[: k + 1])
        assert incremental.theta == pytest.approx(scratch.theta, abs=1e-12)
        assert incremental.se == pytest.approx(scratch.se, abs=1e-12)


def test_estimates_recover_simulated_abilities() -> None:
    rng = np.random.default_rng(20261129)
    bank = synthetic_bank(40, rng)
    theta = rng.normal(size=400)
    scores = simulate_responses(bank, theta, rng)
    items = list(range(40))
    for est in (EAP(), MAP(), WLE()):
        values = np.array([est.estimate(bank, items, row.tolist()).theta for row in scores])
        assert np.corrcoef(values, theta)[0, 1] > 0.9
        assert abs(np.mean(values - theta)) < 0.08


def test_bad_settings_are_named() -> None:
    with pytest.raises(EstimationError, match="sd > 0"):
        EAP(prior_sd=0)
    with pytest.raises(EstimationError, match="grid points"):
        EAP(n_points=3)
    with pytest.raises(EstimationError, match="unknown estimator 'mle'"):
        estimator_from_name("mle")


@settings(max_examples=60, deadline=None)
@given(
    pattern=st.lists(st.integers(0, 1), min_size=5, max_size=5),
    flip=st.integers(0, 4),
)
def test_a_right_answer_never_lowers_the_estimate(pattern: list[int], flip: int) -> None:
    # the 2PL/3PL have monotone likelihood ratios: turning a wrong answer right cannot lower EAP or MAP
    for bank in (bank_2pl(), bank_3pl()):
        wrong = list(pattern)
        wrong[flip] = 0
        right = list(pattern)
        right[flip] = 1
        for est in (EAP(), MAP()):
            lo = est.estimate(bank, list(range(5)), wrong).theta
            hi = est.estimate(bank, list(range(5)), right).theta
            assert hi >= lo - 1e-9


# ------------------------------------------------------------------------------- response checks
ESTIMATORS = [EAP(), MAP(), WLE()]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: e.name)
@pytest.mark.parametrize(("score", "why"), [(2, "out of range"), (-1, "out of range"),
                                            (0.5, "not an integer"), (1.0, "not an integer")])
def test_a_bad_score_on_a_dichotomous_item_is_named(est: Any, score: object, why: str) -> None:
    bank = bank_2pl()
    with pytest.raises(EstimationError, match=rf"item 'i00003'.*score {score!r} is {why}.*0\.\.1"):
        est.estimate(bank, [0, 3, 4], [1, score, 0])


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: e.name)
def test_a_bad_score_on_a_polytomous_item_names_its_range(est: Any) -> None:
    bank = mixed_bank()
    with pytest.raises(EstimationError, match=r"item 'p'.*score 4 is out of range.*0\.\.3"):
        est.estimate(bank, [0, 2], [1, 4])
    with pytest.raises(EstimationError, match=r"item 'd'.*score 2 is out of range.*0\.\.1"):
        est.estimate(bank, [2, 0], [3, 2])
    est.estimate(bank, [2, 3], [3, 3])  # the top category is fine


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: e.name)
def test_bad_positions_and_lengths_are_named(est: Any) -> None:
    bank = bank_2pl()
    estimate = est.estimate
    with pytest.raises(EstimationError, match="got 3 items but 2 scores"):
        estimate(bank, [0, 1, 2], [1, 0])
    with pytest.raises(EstimationError, match=r"item position 5 is not in the bank.*0\.\.4"):
        estimate(bank, [0, 5], [1, 0])
    with pytest.raises(EstimationError, match="item position -1 is not in the bank"):
        estimate(bank, [-1, 0], [1, 0])  # not the last item, as numpy would read it
    with pytest.raises(EstimationError, match=r"item position 1\.0 is not in the bank"):
        estimate(bank, [0, 1.0], [1, 0])


def test_eap_update_checks_its_one_response() -> None:
    bank = bank_2pl()
    eap = EAP()
    prior = eap.log_prior()
    with pytest.raises(EstimationError, match=r"item 'i00002'.*score 2 is out of range.*0\.\.1"):
        eap.update(bank, prior, 2, 2)
    with pytest.raises(EstimationError, match=r"item 'i00002'.*score -1 is out of range"):
        eap.update(bank, prior, 2, -1)
    with pytest.raises(EstimationError, match=r"item 'i00002'.*score 1.0 is not an integer"):
        eap.update(bank, prior, 2, 1.0)
    with pytest.raises(EstimationError, match=r"item position 5 is not in the bank"):
        eap.update(bank, prior, 5, 1)
    with pytest.raises(EstimationError, match=r"item position -1 is not in the bank"):
        eap.update(bank, prior, -1, 1)


def test_update_and_estimate_agree_on_every_valid_score() -> None:
    # before issue 9 a score of 2 on a 2PL item counted as wrong in one and right in the other
    bank = mixed_bank()
    eap = EAP()
    for j in range(4):
        for x in range(int(bank.n_categories[j])):
            incremental = eap.summarise(eap.update(bank, eap.log_prior(), j, x))
            scratch = eap.estimate(bank, [j], [x])
            assert incremental.theta == pytest.approx(scratch.theta, abs=1e-12)


def test_numpy_integers_are_accepted() -> None:
    bank = mixed_bank()
    items, scores = [0, 1, 2, 3], [1, 0, 2, 3]
    for est in ESTIMATORS:
        plain = est.estimate(bank, items, scores)
        arrays = est.estimate(bank, np.array(items), np.array(scores, dtype=np.int8))
        assert (plain.theta, plain.se) == (arrays.theta, arrays.se)
    log_post = EAP().update(bank, EAP().log_prior(), np.intp(2), np.int64(3))
    assert np.isfinite(log_post).all()
