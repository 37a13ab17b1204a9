"""EAP on long tests: a posterior narrower than the grid step is refined, checked by brute force."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate

from adaptive import EAP, ItemBank
from adaptive.simulate import simulate_responses

DENSE = np.linspace(-6.0, 6.0, 20_001)  # 6e-4 spacing: dozens of nodes per posterior SD here


def long_tests(
    n_items: int, a_range: tuple[float, float], seed: int
) -> tuple[ItemBank, list[tuple[list[int], list[int]]]]:
    """Seven learners, each given the ``n_items`` items most informative at their true ability."""
    rng = np.random.default_rng(seed)
    bank = ItemBank.from_arrays(rng.uniform(*a_range, 4 * n_items), rng.normal(0.0, 1.2, 4 * n_items))
    out = []
    for theta in np.linspace(-1.3, 1.7, 7):
        items = np.argsort(-bank.information(theta)[0])[:n_items]
        scores = simulate_responses(bank, np.array([theta]), rng, items)[0]
        out.append((items.tolist(), scores.tolist()))
    return bank, out


def brute_force(
    bank: ItemBank, items: list[int], scores: list[int], mean: float = 0.0, sd: float = 1.0
) -> tuple[float, float]:
    """Posterior mean and SD on a 20001-point grid."""
    log_post = bank.log_likelihood(DENSE, items, scores) - 0.5 * ((DENSE - mean) / sd) ** 2
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    m = float(w @ DENSE)
    return m, float(np.sqrt(w @ (DENSE - m) ** 2))


def test_eap_on_150_items_matches_brute_force_where_the_coarse_grid_does_not() -> None:
    bank, tests = long_tests(150, (2.0, 3.0), 20260915)
    eap = EAP()
    coarse_errors = []
    for items, scores in tests:
        mean, sd = brute_force(bank, items, scores)
        assert 0.06 < sd < 0.1  # the situation of issue 9: SD about 0.08, grid step 0.2
        est = eap.estimate(bank, items, scores)
        assert est.theta == pytest.approx(mean, abs=1e-4)
        assert est.se == pytest.approx(sd, abs=1e-4)
        coarse = eap.summarise(eap.log_prior() + bank.log_likelihood(eap.grid(), items, scores))
        coarse_errors.append(abs(coarse.theta - mean))
    # the fixed 61-point grid alone is off by up to a few hundredths here
    assert max(coarse_errors) > 0.01


def test_eap_on_a_long_test_matches_adaptive_quadrature() -> None:
    bank, tests = long_tests(150, (2.0, 3.0), 7)
    items, scores = tests[2]
    est = EAP().estimate(bank, items, scores)
    ref = bank.log_likelihood(np.array([est.theta]), items, scores)[0] - 0.5 * est.theta**2

    def post(t: float) -> float:
        ll = bank.log_likelihood(np.array([t]), items, scores)[0] - 0.5 * t * t
        return float(np.exp(ll - ref))

    lo, hi = est.theta - 1.5, est.theta + 1.5  # beyond ±15 SDs the posterior is < e^-100
    norm = integrate.quad(post, lo, hi, epsabs=1e-14, limit=200)[0]
    mean = integrate.quad(lambda t: t * post(t), lo, hi, epsabs=1e-14, limit=200)[0] / norm
    var = integrate.quad(lambda t: (t - mean) ** 2 * post(t), lo, hi, epsabs=1e-14, limit=200)[0] / norm
    assert est.theta == pytest.approx(mean, abs=1e-6)
    assert est.se == pytest.approx(np.sqrt(var), abs=1e-6)


def test_a_posterior_a_tenth_of_the_step_wide_is_refined_until_resolved() -> None:
    # SD about 0.02: a tenth of the coarse step; the coarse SD can even come out as 0 (one node)
    bank, tests = long_tests(1000, (3.0, 4.0), 11)
    for items, scores in tests[::2]:
        mean, sd = brute_force(bank, items, scores)
        assert sd < 0.03
        est = EAP().estimate(bank, items, scores)
        assert est.theta == pytest.approx(mean, abs=1e-5)
        assert est.se == pytest.approx(sd, abs=1e-5)


def test_refinement_keeps_a_non_standard_prior() -> None:
    bank, tests = long_tests(150, (2.0, 3.0), 3)
    eap = EAP(prior_mean=0.5, prior_sd=0.7, n_points=81)
    for items, scores in tests[::3]:
        mean, sd = brute_force(bank, items, scores, 0.5, 0.7)
        est = eap.estimate(bank, items, scores)
        assert est.theta == pytest.approx(mean, abs=1e-4)
        assert est.se == pytest.approx(sd, abs=1e-4)


def test_a_wide_posterior_is_summarised_on_the_stored_grid() -> None:
    # SD above one grid step: no refinement, so the from-scratch estimate is the incremental one
    # (the adaptive test stores the coarse posterior and replays it exactly)
    bank, tests = long_tests(20, (0.8, 1.5), 5)
    eap = EAP()
    for items, scores in tests:
        log_post = eap.log_prior()
        for j, x in zip(items, scores, strict=True):
            log_post = eap.update(bank, log_post, j, x)
        incremental = eap.summarise(log_post)
        assert incremental.se > 0.2
        scratch = eap.estimate(bank, items, scores)
        assert scratch.theta == pytest.approx(incremental.theta, abs=1e-12)
        assert scratch.se == pytest.approx(incremental.se, abs=1e-12)
        mean, sd = brute_force(bank, items, scores)
        assert scratch.theta == pytest.approx(mean, abs=1e-4)
        assert scratch.se == pytest.approx(sd, abs=1e-4)
