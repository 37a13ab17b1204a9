"""Tests of the vectorised IRT model functions in :mod:`adaptive.irt`."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import log_expit

from adaptive import irt

FloatArray = np.ndarray

THETA = np.linspace(-4.0, 4.0, 33)

# One item set per model: (a, b, c, thresholds) as accepted by irt.category_probabilities.
A_DICH = np.array([0.4, 1.0, 1.7, 2.6])
B_DICH = np.array([-1.5, 0.0, 0.7, 2.0])
C_3PL = np.array([0.0, 0.15, 0.25, 0.35])
A_POLY = np.array([0.6, 1.3, 2.1])
# Items with 3, 2 and 1 thresholds (NaN-padded); GPCM steps may be disordered, GRM ones may not.
T_GPCM = np.array([[-1.0, 0.5, 0.2], [0.3, -0.4, np.nan], [1.1, np.nan, np.nan]])
T_GRM = np.array([[-1.2, 0.1, 1.4], [-0.5, 0.9, np.nan], [0.4, np.nan, np.nan]])

CASES: dict[str, dict[str, FloatArray | None]] = {
    "1pl": {"a": np.full(4, 1.2), "b": B_DICH, "c": None, "thresholds": None},
    "2pl": {"a": A_DICH, "b": B_DICH, "c": None, "thresholds": None},
    "3pl": {"a": A_DICH, "b": B_DICH, "c": C_3PL, "thresholds": None},
    "gpcm": {"a": A_POLY, "b": None, "c": None, "thresholds": T_GPCM},
    "grm": {"a": A_POLY, "b": None, "c": None, "thresholds": T_GRM},
}


def probabilities(model: str, theta: FloatArray | float) -> FloatArray:
    """Category probabilities of the test items of ``model``."""
    p = CASES[model]
    return irt.category_probabilities(model, theta, p["a"], p["b"], p["c"], p["thresholds"])  # type: ignore[arg-type]


def information(model: str, theta: FloatArray | float) -> FloatArray:
    """Fisher information of the test items of ``model`` from the model's own function."""
    p = CASES[model]
    if model in irt.DICHOTOMOUS:
        return irt.dichotomous_information(theta, p["a"], p["b"], p["c"])  # type: ignore[arg-type]
    fn: Callable[..., FloatArray] = (
        irt.gpcm_information if model == "gpcm" else irt.grm_information)
    return fn(theta, p["a"], p["thresholds"])


def log_probabilities(model: str, theta: FloatArray | float) -> FloatArray:
    """Log category probabilities ``(n_theta, n_items, n_categories)`` from the log functions."""
    p = CASES[model]
    if model in irt.DICHOTOMOUS:
        log_p, log_q = irt.dichotomous_log_probability(theta, p["a"], p["b"], p["c"])  # type: ignore[arg-type]
        return np.stack([log_q, log_p], axis=2)
    fn = irt.gpcm_log_probabilities if model == "gpcm" else irt.grm_log_probabilities
    return fn(theta, p["a"], p["thresholds"])  # type: ignore[arg-type]


def existing(model: str) -> FloatArray:
    """Mask ``(n_items, n_categories)`` of the categories each test item has."""
    t = CASES[model]["thresholds"]
    if t is None:
        return np.ones((4, 2), dtype=bool)
    return np.concatenate([np.ones((t.shape[0], 1), dtype=bool), ~np.isnan(t)], axis=1)


# ----------------------------------------------------------------------------- probabilities
@pytest.mark.parametrize("model", irt.MODELS)
def test_category_probabilities_sum_to_one_and_lie_in_unit_interval(model: str) -> None:
    theta = np.concatenate([THETA, [-40.0, -12.0, 12.0, 40.0]])
    p = probabilities(model, theta)
    assert p.shape[:2] == (theta.size, CASES[model]["a"].size)  # type: ignore[union-attr]
    assert np.all(p >= 0.0)
    assert np.all(p <= 1.0)
    np.testing.assert_allclose(p.sum(axis=2), 1.0, rtol=0, atol=1e-12)
    # Categories beyond an item's own K are exactly 0.
    assert np.all(p[:, ~existing(model)] == 0.0)


@pytest.mark.parametrize(
    ("a", "b", "c", "theta", "expected"),
    [
        # 1 / (1 + exp(-1.5 (1 - 0.5))) = 1 / (1 + exp(-0.75))
        (1.5, 0.5, None, 1.0, 0.679178699175393),
        (0.8, -1.2, None, -2.0, 0.3452465393936807),
        (1.0, 0.0, None, 0.0, 0.5),
        # 0.2 + 0.8 / (1 + exp(0.36))
        (1.2, 0.3, 0.2, 0.0, 0.5287676527530679),
        # 0.25 + 0.75 / (1 + exp(-1))
        (2.0, 1.0, 0.25, 1.5, 0.7982939339725037),
        (1.0, 0.0, 0.2, 0.0, 0.6),
    ],
)
def test_dichotomous_probability_matches_hand_computation(
    a: float, b: float, c: float | None, theta: float, expected: float
) -> None:
    cc = None if c is None else np.array([c])
    p = irt.dichotomous_probability(theta, np.array([a]), np.array([b]), cc)
    assert p.shape == (1, 1)
    assert p[0, 0] == pytest.approx(expected, rel=1e-14)


def test_dichotomous_probability_shape_and_scalar_theta() -> None:
    p = irt.dichotomous_probability(THETA, A_DICH, B_DICH, C_3PL)
    assert p.shape == (THETA.size, A_DICH.size)
    np.testing.assert_allclose(irt.dichotomous_probability(0.7, A_DICH, B_DICH, C_3PL)[0],
                               irt.dichotomous_probability(np.array([0.7]), A_DICH, B_DICH, C_3PL)[0])
    # At theta = b the 3PL is halfway between c and 1.
    np.testing.assert_allclose(
        np.diag(irt.dichotomous_probability(B_DICH, A_DICH, B_DICH, C_3PL)), (1 + C_3PL) / 2)


def test_gpcm_probabilities_match_hand_computation() -> None:
    # One item, a = 1.2, steps (-0.5, 0.8), theta = 0.3: numerators exp(0), exp(z1), exp(z1 + z2).
    z1, z2 = 1.2 * (0.3 + 0.5), 1.2 * (0.3 - 0.8)
    num = np.array([1.0, math.exp(z1), math.exp(z1 + z2)])
    p = irt.gpcm_probabilities(0.3, np.array([1.2]), np.array([[-0.5, 0.8]]))
    np.testing.assert_allclose(p[0, 0], num / num.sum(), rtol=1e-14)


def test_grm_probabilities_match_hand_computation() -> None:
    # One item, a = 0.9, boundaries (-1, 0.5), theta = 0.2.
    s1 = 1 / (1 + math.exp(-0.9 * 1.2))
    s2 = 1 / (1 + math.exp(-0.9 * -0.3))
    p = irt.grm_probabilities(0.2, np.array([0.9]), np.array([[-1.0, 0.5]]))
    np.testing.assert_allclose(p[0, 0], [1 - s1, s1 - s2, s2], rtol=1e-14)


@pytest.mark.parametrize("model", ["gpcm", "grm"])
def test_one_threshold_polytomous_item_is_the_2pl(model: str) -> None:
    a = np.array([0.5, 1.0, 2.3])
    b = np.array([-1.0, 0.4, 1.9])
    fn = irt.gpcm_probabilities if model == "gpcm" else irt.grm_probabilities
    info = irt.gpcm_information if model == "gpcm" else irt.grm_information
    p = fn(THETA, a, b[:, None])
    p2pl = irt.dichotomous_probability(THETA, a, b)
    np.testing.assert_allclose(p[:, :, 1], p2pl, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(p[:, :, 0], 1 - p2pl, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(info(THETA, a, b[:, None]),
                               irt.dichotomous_information(THETA, a, b), rtol=1e-9, atol=1e-15)


def test_1pl_is_the_2pl_with_a_common_slope_and_3pl_with_zero_c_is_the_2pl() -> None:
    a = np.full(4, 1.3)
    np.testing.assert_array_equal(irt.category_probabilities("1pl", THETA, a, B_DICH),
                                  irt.category_probabilities("2pl", THETA, a, B_DICH))
    np.testing.assert_allclose(
        irt.dichotomous_probability(THETA, A_DICH, B_DICH, np.zeros(4)),
        irt.dichotomous_probability(THETA, A_DICH, B_DICH), rtol=1e-15)
    np.testing.assert_allclose(
        irt.dichotomous_information(THETA, A_DICH, B_DICH, np.zeros(4)),
        irt.dichotomous_information(THETA, A_DICH, B_DICH), rtol=1e-12)


@pytest.mark.parametrize("model", irt.MODELS)
def test_expected_score_is_sum_of_k_times_pk(model: str) -> None:
    p = CASES[model]
    e = irt.expected_score(model, THETA, p["a"], p["b"], p["c"], p["thresholds"])  # type: ignore[arg-type]
    probs = probabilities(model, THETA)
    k = np.arange(probs.shape[2])
    np.testing.assert_allclose(e, (probs * k).sum(axis=2), rtol=1e-13)


def test_category_probabilities_reject_missing_parameters_and_unknown_models() -> None:
    with pytest.raises(ValueError, match="need b"):
        irt.category_probabilities("2pl", 0.0, A_DICH)
    with pytest.raises(ValueError, match="thresholds"):
        irt.category_probabilities("grm", 0.0, A_POLY)
    with pytest.raises(ValueError, match="unknown model 'nrm'"):
        irt.category_probabilities("nrm", 0.0, A_POLY, thresholds=T_GPCM)


# ------------------------------------------------------------------------------- information
@pytest.mark.parametrize("model", irt.MODELS)
def test_information_equals_numerical_fisher_information(model: str) -> None:
    r"""I(θ) = Σ_k P_k'(θ)² / P_k(θ) with P' from central finite differences."""
    h = 1e-5
    p = probabilities(model, THETA)
    dp = (probabilities(model, THETA + h) - probabilities(model, THETA - h)) / (2 * h)
    mask = existing(model)[None, :, :]
    safe = np.where(mask, p, 1.0)
    numerical = np.where(mask, dp * dp / safe, 0.0).sum(axis=2)
    analytic = information(model, THETA)
    assert analytic.shape == numerical.shape
    assert np.median(numerical) > 1e-2  # the comparison is not vacuous
    np.testing.assert_allclose(analytic, numerical, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("use_c", [False, True])
def test_dichotomous_max_information_equals_numerical_maximum(use_c: bool) -> None:
    a = np.array([0.3, 0.9, 1.6, 2.8])
    b = np.array([-2.0, 0.0, 0.5, 1.0])
    c = np.array([0.05, 0.2, 0.3, 0.45]) if use_c else None
    grid = np.linspace(-8.0, 8.0, 320_001)  # step 5e-5
    numerical = irt.dichotomous_information(grid, a, b, c).max(axis=0)
    np.testing.assert_allclose(irt.dichotomous_max_information(a, c), numerical, rtol=1e-8)
    # With c = 0 Lord's formula reduces to a² / 4.
    np.testing.assert_allclose(irt.dichotomous_max_information(a, np.zeros(4)), a * a / 4, rtol=1e-14)


# ---------------------------------------------------------------------------- log-probabilities
@pytest.mark.parametrize("model", irt.MODELS)
def test_log_probabilities_finite_at_extreme_theta(model: str) -> None:
    logp = log_probabilities(model, np.array([-40.0, 40.0]))
    mask = np.broadcast_to(existing(model)[None], logp.shape)
    assert np.all(np.isfinite(logp[mask]))
    assert np.all(logp[mask] <= 1e-12)  # log P may round to +1e-16 near P = 1
    assert np.all(logp[~mask] == -np.inf)


@pytest.mark.parametrize("model", irt.MODELS)
def test_log_probabilities_equal_log_of_probabilities_in_normal_range(model: str) -> None:
    logp = log_probabilities(model, THETA)
    p = probabilities(model, THETA)
    mask = np.broadcast_to(existing(model)[None], logp.shape)
    np.testing.assert_allclose(logp[mask], np.log(p[mask]), rtol=1e-10, atol=1e-12)


def test_dichotomous_log_probabilities_are_accurate_in_both_tails() -> None:
    a = np.array([1.0, 2.0])
    b = np.array([0.0, 0.5])
    theta = np.array([-40.0, 40.0])
    log_p, log_q = irt.dichotomous_log_probability(theta, a, b)
    z = a[None, :] * (theta[:, None] - b[None, :])
    np.testing.assert_allclose(log_p, log_expit(z), rtol=1e-14)
    np.testing.assert_allclose(log_q, log_expit(-z), rtol=1e-14)
    # 3PL: the lower asymptote bounds log P below by log c, and log(1 - P) is log(1-c) + log Q*.
    c = np.array([0.2, 0.1])
    log_p3, log_q3 = irt.dichotomous_log_probability(theta, a, b, c)
    np.testing.assert_allclose(log_p3[0], np.log(c), rtol=1e-12)
    np.testing.assert_allclose(log_q3, np.log1p(-c)[None, :] + log_expit(-z), rtol=1e-14)


def test_3pl_log_probability_with_zero_guessing_equals_the_2pl_in_the_far_tail() -> None:
    """An item with c = 0 must not be floored at log(PROB_FLOOR) ≈ -690.8 when c is passed.

    This happens in every bank with at least one 3PL item (``ItemBank`` then passes ``c`` for all
    dichotomous items, including its 2PL ones).
    """
    a = np.array([25.0])
    b = np.array([0.0])
    log_p2, _ = irt.dichotomous_log_probability(-40.0, a, b)
    log_p3, _ = irt.dichotomous_log_probability(-40.0, a, b, np.zeros(1))
    assert log_p2[0, 0] == pytest.approx(-1000.0)
    assert log_p3[0, 0] == pytest.approx(log_p2[0, 0], rel=1e-12)


def _grm_log_reference(theta: float, a: float, bounds: list[float]) -> FloatArray:
    """log(P*_k - P*_{k+1}) computed in log space: log σ(z_k) + log σ(-z_{k+1}) + log(1 - e^{z_{k+1}-z_k})."""
    z = [math.inf] + [a * (theta - bk) for bk in bounds] + [-math.inf]
    out = []
    for k in range(len(bounds) + 1):
        gap = z[k + 1] - z[k]
        out.append(float(log_expit(z[k]) + log_expit(-z[k + 1])) + math.log1p(-math.exp(gap)))
    return np.array(out)


@pytest.mark.parametrize("theta", [-40.0, -10.0, 0.3, 10.0, 40.0])
def test_grm_log_probabilities_are_accurate_in_both_tails(theta: float) -> None:
    """The GRM subtracts boundary curves; above the boundaries both are 1 - tiny and cancel.

    At θ = 40 with boundaries (0, 0.5) the exact log P of the middle category is ≈ -40.43, but
    ``1 - expit(40)`` underflows to 0 in the difference ``P*_k - P*_{k+1}``.
    """
    bounds = [0.0, 0.5]
    logp = irt.grm_log_probabilities(theta, np.array([1.0]), np.array([bounds]))[0, 0]
    np.testing.assert_allclose(logp, _grm_log_reference(theta, 1.0, bounds), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("theta", [-40.0, -30.0, 30.0, 40.0])
def test_gpcm_information_is_accurate_in_both_tails(theta: float) -> None:
    """A one-step GPCM item is the 2PL, whose information is a² σ(z) σ(-z) to full precision.

    ``a² (E[k²] - E[k]²)`` cancels catastrophically when P(top category) ≈ 1: at θ = 40 it is exactly
    0 instead of ≈ 4.2e-18 (θ = 30: relative error ≈ 1e-3).
    """
    a, b = np.array([1.0]), np.array([[0.0]])
    exact = math.exp(float(log_expit(theta)) + float(log_expit(-theta)))
    assert irt.gpcm_information(theta, a, b)[0, 0] == pytest.approx(exact, rel=1e-9, abs=0.0)


# ------------------------------------------------------------------------ property-based tests
slopes = st.floats(min_value=0.05, max_value=40.0)
locations = st.floats(min_value=-30.0, max_value=30.0)
guessing = st.floats(min_value=0.0, max_value=0.95)
thetas = st.floats(min_value=-200.0, max_value=200.0)


@settings(max_examples=150, deadline=None)
@given(a=slopes, b=locations, c=guessing, t1=thetas, t2=thetas)
def test_dichotomous_probability_is_monotone_in_theta(
    a: float, b: float, c: float, t1: float, t2: float
) -> None:
    lo, hi = min(t1, t2), max(t1, t2)
    p = irt.dichotomous_probability(np.array([lo, hi]), np.array([a]), np.array([b]),
                                    np.array([c]))[:, 0]
    assert p[0] <= p[1]
    assert c <= p[0] <= 1.0
    log_p, log_q = irt.dichotomous_log_probability(np.array([lo, hi]), np.array([a]),
                                                   np.array([b]), np.array([c]))
    assert log_p[0, 0] <= log_p[1, 0]
    assert log_q[0, 0] >= log_q[1, 0]


@st.composite
def polytomous_item(draw: st.DrawFn, *, ordered: bool) -> tuple[float, FloatArray]:
    a = draw(slopes)
    k = draw(st.integers(min_value=1, max_value=4))
    steps = draw(st.lists(locations, min_size=k, max_size=k))
    if ordered:
        steps = sorted(set(steps))
    return a, np.array([steps])


@settings(max_examples=120, deadline=None)
@given(item=polytomous_item(ordered=False), t1=thetas, t2=thetas)
def test_gpcm_expected_score_is_monotone_in_theta(
    item: tuple[float, FloatArray], t1: float, t2: float
) -> None:
    a, thr = item
    lo, hi = min(t1, t2), max(t1, t2)
    e = irt.expected_score("gpcm", np.array([lo, hi]), np.array([a]), thresholds=thr)[:, 0]
    assert e[0] <= e[1] + 1e-12
    assert -1e-12 <= e[0] and e[1] <= thr.shape[1] + 1e-12


@settings(max_examples=120, deadline=None)
@given(item=polytomous_item(ordered=True), t1=thetas, t2=thetas)
def test_grm_expected_score_is_monotone_in_theta(
    item: tuple[float, FloatArray], t1: float, t2: float
) -> None:
    a, thr = item
    lo, hi = min(t1, t2), max(t1, t2)
    e = irt.expected_score("grm", np.array([lo, hi]), np.array([a]), thresholds=thr)[:, 0]
    assert e[0] <= e[1] + 1e-12
    assert -1e-12 <= e[0] and e[1] <= thr.shape[1] + 1e-12


@settings(max_examples=150, deadline=None)
@given(a=slopes, b=locations, c=guessing, theta=thetas, gpcm=polytomous_item(ordered=False),
       grm=polytomous_item(ordered=True))
def test_information_is_finite_and_nonnegative_for_extreme_values(
    a: float, b: float, c: float, theta: float,
    gpcm: tuple[float, FloatArray], grm: tuple[float, FloatArray],
) -> None:
    t = np.array([theta, -1000.0, 1000.0])
    values = [
        irt.dichotomous_information(t, np.array([a]), np.array([b])),
        irt.dichotomous_information(t, np.array([a]), np.array([b]), np.array([c])),
        irt.gpcm_information(t, np.array([gpcm[0]]), gpcm[1]),
        irt.grm_information(t, np.array([grm[0]]), grm[1]),
    ]
    for info in values:
        assert np.all(np.isfinite(info))
        assert np.all(info >= 0.0)
    # Never above the exact dichotomous maximum.
    bound = irt.dichotomous_max_information(np.array([a]), np.array([c]))[0]
    assert values[1].max() <= bound * (1 + 1e-9)
    for name, (aa, thr) in (("gpcm", gpcm), ("grm", grm)):
        logp = (irt.gpcm_log_probabilities if name == "gpcm" else irt.grm_log_probabilities)(
            t, np.array([aa]), thr)
        assert np.all(np.isfinite(logp))
        np.testing.assert_allclose(np.exp(logp).sum(axis=2), 1.0, rtol=1e-12)
