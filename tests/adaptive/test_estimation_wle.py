"""WLE against a brute-force solution of Warm's equation for every model, multiple roots included.

The brute force shares nothing with the estimator's own derivatives: the score function is a
five-point difference of the log-likelihood, the information is the bank's closed form, Warm's J comes
from five-point differences of the category probabilities with another step, and the roots are the
sign changes on a 2e-3 grid, each located again on a 1e-5 grid inside its cell and linearly
interpolated.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adaptive import WLE, ItemBank, ItemParameters, calibrate
from adaptive.responses import read_responses_csv
from adaptive.simulate import synthetic_bank

DATA = Path(__file__).parent / "data"
H = 1e-3
GRID = np.linspace(-6.0, 6.0, 6_001)  # 2e-3 spacing


def warm_function(bank: ItemBank, items: list[int], scores: list[int], t: np.ndarray) -> np.ndarray:
    """l'(θ) + J(θ) / (2 I(θ)) by independent finite differences (errors ~1e-10)."""
    idx = np.asarray(items)

    def ll(u: np.ndarray) -> np.ndarray:
        return bank.log_likelihood(u, items, scores)

    score = (-ll(t + 2 * H) + 8 * ll(t + H) - 8 * ll(t - H) + ll(t - 2 * H)) / (12 * H)
    p = [bank.category_probabilities(t + k * H, idx) for k in (-2, -1, 0, 1, 2)]
    d1 = (p[0] - 8 * p[1] + 8 * p[3] - p[4]) / (12 * H)
    d2 = (-p[0] + 16 * p[1] - 30 * p[2] + 16 * p[3] - p[4]) / (12 * H * H)
    live = p[2] > 0
    j = np.where(live, d1 * d2 / np.where(live, p[2], 1.0), 0.0).sum(axis=(1, 2))
    info = bank.test_information(t, idx)
    return score + j / (2 * info)


def criterion(bank: ItemBank, items: list[int], scores: list[int], t: np.ndarray) -> np.ndarray:
    """Weighted log-likelihood used to choose among roots: l(θ) + ½ log I(θ)."""
    return bank.log_likelihood(t, items, scores) + 0.5 * np.log(
        bank.test_information(t, np.asarray(items)))


def brute_force_roots(
    bank: ItemBank, items: list[int], scores: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """All roots of Warm's equation on ±6 and whether each is falling (a weighted-likelihood maximum)."""
    f = warm_function(bank, items, scores, GRID)
    cells = np.flatnonzero((f[:-1] > 0) != (f[1:] > 0))
    roots = []
    for c in cells:
        t = np.linspace(GRID[c], GRID[c + 1], 201)  # 1e-5 spacing
        g = warm_function(bank, items, scores, t)
        k = int(np.flatnonzero((g[:-1] > 0) != (g[1:] > 0))[0])
        roots.append(t[k] - g[k] * (t[k + 1] - t[k]) / (g[k + 1] - g[k]))
    return np.array(roots), f[cells] > 0


def brute_force_wle(
    bank: ItemBank, items: list[int], scores: list[int],
    found: tuple[np.ndarray, np.ndarray] | None = None,
) -> float:
    """The falling root with the largest weighted log-likelihood (``found``: the roots, if known)."""
    roots, falling = found if found is not None else brute_force_roots(bank, items, scores)
    candidates = roots[falling]
    assert candidates.size, "every pattern in these tests has an interior root"
    return float(candidates[np.argmax(criterion(bank, items, scores, candidates))])


def bank_of(model: str, n: int, rng: np.random.Generator) -> ItemBank:
    if model == "1pl":
        b = rng.normal(0.0, 1.0, n)
        return ItemBank.from_items(
            ItemParameters(f"q{j}", "1pl", 1.3, float(b[j])) for j in range(n))
    # spread-out discriminations make aberrant patterns with several roots common
    return synthetic_bank(n, rng, model=model, a_sigma=0.6)


def check_against_brute_force(
    bank: ItemBank, items: list[int], scores: list[int],
    found: tuple[np.ndarray, np.ndarray] | None = None,
) -> int:
    """Assert the WLE is the brute-force choice; return the number of roots found."""
    est = WLE().estimate(bank, items, scores)
    found = found if found is not None else brute_force_roots(bank, items, scores)
    roots = found[0]
    expected = brute_force_wle(bank, items, scores, found)
    assert est.theta == pytest.approx(expected, abs=1e-4)
    # the chosen root also beats every other root of the equation, rising ones included
    assert criterion(bank, items, scores, np.array([est.theta]))[0] >= (
        criterion(bank, items, scores, roots).max() - 1e-6)
    info = bank.test_information(est.theta, np.asarray(items))[0]
    assert est.se == pytest.approx(1 / np.sqrt(info), rel=1e-5)
    return int(roots.size)


@pytest.mark.parametrize("model", ["1pl", "2pl", "3pl", "gpcm", "grm"])
def test_wle_matches_brute_force_for_every_model(model: str) -> None:
    rng = np.random.default_rng({"1pl": 11, "2pl": 12, "3pl": 13, "gpcm": 14, "grm": 15}[model])
    for _ in range(25):
        n = int(rng.integers(3, 9))
        bank = bank_of(model, n, rng)
        scores = rng.integers(0, bank.n_categories).tolist()  # aberrant patterns on purpose
        extreme = rng.random()
        if extreme < 0.1:  # all right and all wrong stay finite under Warm's correction
            scores = (bank.n_categories - 1).tolist()
        elif extreme < 0.2:
            scores = [0] * n
        found = brute_force_roots(bank, list(range(n)), scores)
        if found[1].any():
            check_against_brute_force(bank, list(range(n)), scores, found)
        else:  # no weighted-likelihood maximum inside ±6: the bound (see the last test)
            assert abs(WLE().estimate(bank, list(range(n)), scores).theta) == 6.0


def test_wle_picks_the_weighted_likelihood_maximum_among_three_3pl_roots() -> None:
    # found by a seeded scan of aberrant patterns: Warm's equation has three roots on ±6
    rng = np.random.default_rng(2)
    found = 0
    for _ in range(500):
        n = int(rng.integers(3, 8))
        bank = synthetic_bank(n, rng, model="3pl", a_sigma=0.6)
        scores = rng.integers(0, 2, n).tolist()
        roots, _ = brute_force_roots(bank, list(range(n)), scores)
        if roots.size < 3:
            continue
        found += 1
        est = WLE().estimate(bank, list(range(n)), scores)
        crit = criterion(bank, list(range(n)), scores, roots)
        assert est.theta == pytest.approx(roots[np.argmax(crit)], abs=1e-4)
        if found == 3:
            break
    assert found == 3


@pytest.mark.parametrize("model", ["2pl", "3pl", "gpcm", "grm"])
def test_wle_matches_brute_force_where_there_are_several_maxima(model: str) -> None:
    # seeded scan for aberrant patterns whose weighted likelihood has two or more local maxima
    # (a cheap 0.05 grid screens them; the brute force then checks the choice); the 1PL never has
    # more than one in such a scan, so it is left out
    rng = np.random.default_rng(7)
    screen = np.linspace(-6.0, 6.0, 241)
    checked = 0
    for _ in range(3000):
        n = int(rng.integers(3, 9))
        bank = bank_of(model, n, rng)
        scores = rng.integers(0, bank.n_categories).tolist()
        f = warm_function(bank, list(range(n)), scores, screen)
        if np.count_nonzero((f[:-1] > 0) & (f[1:] <= 0)) < 2:
            continue
        assert check_against_brute_force(bank, list(range(n)), scores) >= 3
        checked += 1
        if checked == 2:
            break
    assert checked == 2


@pytest.fixture(scope="module")
def lsat7_3pl() -> ItemBank:
    with (DATA / "lsat7.csv").open(encoding="utf-8") as fh:
        data = read_responses_csv(fh, "lsat7.csv", max_score=1)
    return calibrate(data, "3pl").bank


def test_lsat7_3pl_pattern_01100_takes_the_root_mirt_takes(lsat7_3pl: ItemBank) -> None:
    # issue 9: Warm's equation has roots near -3.271, -2.19 and -1.006; the first was taken before,
    # the independent check against mirt gives -1.006 (the largest weighted likelihood)
    bank = lsat7_3pl
    items, scores = [0, 1, 2, 3, 4], [0, 1, 1, 0, 0]
    roots, falling = brute_force_roots(bank, items, scores)
    assert roots.size == 3
    assert falling.tolist() == [True, False, True]
    est = WLE().estimate(bank, items, scores)
    crit = criterion(bank, items, scores, roots)
    assert est.theta == pytest.approx(roots[np.argmax(crit)], abs=1e-4)
    assert est.theta == pytest.approx(-1.006, abs=5e-3)
    low = roots[np.argmin(np.abs(roots + 3.271))]
    assert low == pytest.approx(-3.271, abs=5e-3)  # the old answer is still a root ...
    assert criterion(bank, items, scores, np.array([low]))[0] < crit.max() - 0.5  # ... but worse


def test_lsat7_3pl_every_pattern_matches_brute_force(lsat7_3pl: ItemBank) -> None:
    bank = lsat7_3pl
    for code in range(32):
        scores = [(code >> k) & 1 for k in range(5)]
        found = brute_force_roots(bank, list(range(5)), scores)
        assert found[1].any()
        check_against_brute_force(bank, list(range(5)), scores, found)


def test_a_root_beyond_the_bound_returns_the_bound() -> None:
    # hard items all answered right: Warm's root lies above 2, so WLE(bound=2) stops at the bound
    bank = ItemBank.from_arrays([1.0, 1.2, 0.9], [2.0, 2.5, 3.0])
    items, scores = [0, 1, 2], [1, 1, 1]
    root = brute_force_wle(bank, items, scores)
    assert 2.0 < root < 6.0
    assert (warm_function(bank, items, scores, np.linspace(-2.0, 2.0, 401)) > 0).all()
    assert WLE(bound=2.0).estimate(bank, items, scores).theta == 2.0
    assert WLE().estimate(bank, items, scores).theta == pytest.approx(root, abs=1e-4)
    # and the mirror image: easy items all answered wrong
    easy = ItemBank.from_arrays([1.0, 1.2, 0.9], [-2.0, -2.5, -3.0])
    assert WLE(bound=2.0).estimate(easy, items, [0, 0, 0]).theta == -2.0
