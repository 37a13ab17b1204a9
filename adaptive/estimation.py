r"""Ability estimation: EAP on a quadrature grid (incremental), MAP and WLE, each with a standard error.

All three stay finite for all-correct and all-wrong patterns: EAP and MAP through the prior, WLE
through Warm's bias correction (and, for the few models where the weighted likelihood has no interior
root, a bound of ``±bound``).

EAP keeps the log posterior on a fixed grid, so adding one response costs one evaluation of that item on
the grid — work proportional to the grid, not to the number of responses so far:

.. math:: \log \pi_n(\theta_q) = \log \pi_{n-1}(\theta_q) + \log P_{j_n x_n}(\theta_q)

When the posterior is narrow compared with the grid step (long tests), :meth:`EAP.estimate` moves to a
finer grid centred on the coarse estimate; :meth:`EAP.summarise` works on the stored coarse grid only
(see its notes).

Every public entry point checks its responses: item positions inside the bank, integer scores in
``0..n_categories - 1`` of their item, as many scores as items. A bad response raises
:class:`~adaptive.errors.EstimationError` naming the item, the score and the allowed range.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from .bank import ItemBank
from .errors import EstimationError
from .quadrature import normal_grid
from .types import AbilityEstimate, FloatArray, IntArray

__all__ = ["EAP", "MAP", "WLE", "Estimator", "estimator_from_name"]

DEFAULT_BOUND = 6.0
"""Estimates are confined to ±6 logits: wider than any real learner, narrow enough to stay finite."""

REFINE_BELOW = 1.0
r"""EAP refines its grid when the posterior SD is below this many grid steps.

Above one step the equally spaced rule is already exact to about 1e-7 logits or better (its error
falls like :math:`\exp(-2\pi^2 \mathrm{SD}^2 / \mathrm{step}^2)`), so there the estimate stays the
coarse one, identical to the incremental :meth:`EAP.summarise` that the adaptive test stores and
replays.
"""

REFINE_STEPS = 2.0
"""A refined EAP grid is refined again until the posterior SD spans at least this many of its steps."""

REFINE_WIDTH = 8.0
"""Half-width of a refined EAP grid, in posterior SDs (plus one coarse step for the centre's error)."""

REFINE_POINTS = 61
"""Fewest nodes of a refined EAP grid (the estimator's own ``n_points`` when that is larger)."""

WLE_GRID_STEP = 0.05
"""Spacing of the grid on which the WLE looks for sign changes of Warm's estimating function.

A maximum and a minimum of the weighted likelihood closer together than this can both be missed;
the dip between them is then of order ``step²`` and the likelihood rises again beyond the minimum to
a maximum that is found, so what is lost is negligible.
"""


@lru_cache(maxsize=64)
def _log_prior(mean: float, sd: float, n_points: int, span: float) -> FloatArray:
    """Log prior weights on the grid (read-only; a constant away from the log density)."""
    out = np.log(normal_grid(n_points, mean, sd, span)[1])
    out.setflags(write=False)
    return out


# ---------------------------------------------------------------------------------- response checks
def _allowed(bank: ItemBank, j: int) -> str:
    return f"allowed scores are the integers 0..{int(bank.n_categories[j]) - 1}"


def _bad_score(bank: ItemBank, j: int, score: Any, why: str) -> EstimationError:
    return EstimationError(
        f"item {bank.ids[j]!r} (position {j}): score {score!r} {why}; {_allowed(bank, j)}")


def _bad_position(bank: ItemBank, item: Any) -> EstimationError:
    return EstimationError(
        f"item position {item!r} is not in the bank; positions are the integers 0..{len(bank) - 1}")


def _first_non_integer(values: list[Any], *, bools: bool) -> tuple[int, Any]:
    """Position and value of the first entry that is not an integer (the first entry if none)."""
    def ok(v: Any) -> bool:
        if isinstance(v, bool | np.bool_):
            return bools
        return isinstance(v, int | np.integer)

    return next(((k, v) for k, v in enumerate(values) if not ok(v)), (0, values[0]))


def _check_responses(
    bank: ItemBank, items: Sequence[int] | IntArray, scores: Sequence[int] | IntArray
) -> tuple[IntArray, IntArray]:
    """Validated ``(items, scores)`` as integer arrays.

    Raises
    ------
    EstimationError
        For different lengths, a position outside the bank, a non-integer score or a score outside
        ``0..n_categories - 1`` of its item (the message names the item, the score and the range).
    """
    if len(items) != len(scores):
        msg = f"got {len(items)} items but {len(scores)} scores; give one score per item"
        raise EstimationError(msg)
    if len(items) == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    raw_items = np.asarray(items)
    if raw_items.ndim != 1 or raw_items.dtype.kind not in "iu":
        raise _bad_position(bank, _first_non_integer(list(items), bools=False)[1])
    idx = raw_items.astype(np.intp)
    out = (idx < 0) | (idx >= len(bank))
    if out.any():
        raise _bad_position(bank, int(idx[np.argmax(out)]))
    raw = np.asarray(scores)
    if raw.ndim != 1 or raw.dtype.kind not in "iub":
        k, bad = _first_non_integer(list(scores), bools=True)
        raise _bad_score(bank, int(idx[k]), bad, "is not an integer")
    x = raw.astype(np.intp)
    wrong = (x < 0) | (x >= bank.n_categories[idx])
    if wrong.any():
        k = int(np.argmax(wrong))
        raise _bad_score(bank, int(idx[k]), int(x[k]), "is out of range")
    return idx, x


# ---------------------------------------------------------------------------------- the estimators
class Estimator(Protocol):
    """Turns responses into an :class:`AbilityEstimate`."""

    @property
    def name(self) -> str:
        """Short name: ``"eap"``, ``"map"`` or ``"wle"``."""
        ...

    def estimate(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int]
    ) -> AbilityEstimate:
        """Estimate ability from the scored responses ``scores`` to bank positions ``items``."""
        ...


def _moments(grid: FloatArray, log_post: FloatArray) -> tuple[float, float]:
    """Mean and SD of the distribution proportional to ``exp(log_post)`` on ``grid``."""
    w = np.exp(log_post - log_post.max())
    w /= w.sum()
    theta = float(w @ grid)
    d = grid - theta
    return theta, float(np.sqrt(w @ (d * d)))


@dataclass(frozen=True, slots=True)
class EAP:
    r"""Expected a posteriori estimate with a normal prior on an equally spaced grid.

    .. math:: \hat\theta = \frac{\sum_q \theta_q L(\theta_q)\pi(\theta_q)}
                               {\sum_q L(\theta_q)\pi(\theta_q)},\qquad
              SE = \sqrt{\sum_q (\theta_q - \hat\theta)^2 w_q}

    An equally spaced rule is exact to many digits while the posterior SD is above about one grid
    step, and biased below it (about 0.03 logits at SD 0.08 on the default 0.2-logit grid; long tests
    get there). :meth:`estimate` therefore recomputes the posterior on a finer grid of
    ``max(n_points, 61)`` nodes over ``θ̂ ± (8·SD + step)`` whenever the SD is below one grid step
    (:data:`REFINE_BELOW`), and again on a finer one while the SD spans fewer than two of the new
    steps or the window misses part of the posterior (at most four grids).

    Parameters
    ----------
    prior_mean, prior_sd : float
        The normal prior.
    n_points : int
        Grid size; the grid spans ``prior_mean ± span·prior_sd``.
    span : float
        Half-width of the grid in prior SDs.
    """

    prior_mean: float = 0.0
    prior_sd: float = 1.0
    n_points: int = 61
    span: float = 6.0
    name: str = "eap"

    def __post_init__(self) -> None:
        if not (self.prior_sd > 0 and np.isfinite(self.prior_mean)):
            msg = f"EAP prior needs a finite mean and sd > 0, got N({self.prior_mean}, {self.prior_sd})"
            raise EstimationError(msg)
        if self.n_points < 5:
            msg = f"EAP needs at least 5 grid points, got {self.n_points}"
            raise EstimationError(msg)

    def grid(self) -> FloatArray:
        """The quadrature nodes, ``(n_points,)`` (read-only)."""
        return normal_grid(self.n_points, self.prior_mean, self.prior_sd, self.span)[0]

    def log_prior(self) -> FloatArray:
        """Unnormalised log prior density on the grid (read-only)."""
        return _log_prior(self.prior_mean, self.prior_sd, self.n_points, self.span)

    def update(self, bank: ItemBank, log_post: FloatArray, item: int, score: int) -> FloatArray:
        """Add one response to a log posterior: O(grid) work.

        Raises
        ------
        EstimationError
            When ``item`` is not a position in ``bank`` or ``score`` is not an integer in
            ``0..n_categories - 1`` of that item.
        """
        if not (isinstance(item, int | np.integer) and 0 <= item < len(bank)):
            raise _bad_position(bank, item)
        if not (isinstance(score, int | np.integer) and 0 <= score < bank.n_categories[item]):
            why = "is out of range" if isinstance(score, int | np.integer) else "is not an integer"
            raise _bad_score(bank, int(item), score, why)
        out = log_post + bank.item_log_likelihood(self.grid(), int(item), int(score))
        return out - out.max()  # type: ignore[no-any-return]

    def summarise(self, log_post: FloatArray) -> AbilityEstimate:
        """Posterior mean and SD from a log posterior on :meth:`grid`.

        Notes
        -----
        This summary uses the coarse grid only (its responses are not at hand), so it keeps the bias
        of the coarse rule when the posterior SD falls below about one grid step, ``2·span·prior_sd
        / (n_points - 1)`` (0.2 logits by default): about 0.03 logits at SD 0.08. The adaptive test
        stores and replays this coarse posterior; for a final score after a long test, use
        :meth:`estimate` (which refines) or a denser grid.
        """
        theta, se = _moments(self.grid(), log_post)
        return AbilityEstimate(theta=theta, se=se, method="eap")

    def estimate(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int]
    ) -> AbilityEstimate:
        """EAP from scratch (the prior when there are no responses), refined when the posterior is narrow.

        Raises
        ------
        EstimationError
            For mismatched lengths, positions outside the bank or scores outside an item's range.
        """
        idx, x = _check_responses(bank, items, scores)
        grid = self.grid()
        theta, se = _moments(grid, self.log_prior() + bank.log_likelihood(grid, idx, x))
        step = float(grid[1] - grid[0])
        if se < REFINE_BELOW * step:
            theta, se = self._refine(bank, idx, x, theta, se, step)
        return AbilityEstimate(theta=theta, se=se, method="eap")

    def _refine(
        self, bank: ItemBank, idx: IntArray, x: IntArray, theta: float, se: float, step: float
    ) -> tuple[float, float]:
        """Posterior mean and SD on finer grids around ``theta`` (see the class notes)."""
        n = max(self.n_points, REFINE_POINTS)
        for _ in range(4):
            half = REFINE_WIDTH * se + step
            t = np.linspace(theta - half, theta + half, n)
            z = (t - self.prior_mean) / self.prior_sd
            log_post = bank.log_likelihood(t, idx, x) - 0.5 * z * z
            theta, se = _moments(t, log_post)
            step = float(t[1] - t[0])
            # done once the nodes resolve the posterior and its tails are negligible at both ends
            tails = max(log_post[0], log_post[-1]) - log_post.max()
            if se >= REFINE_STEPS * step and tails < -25.0:
                break
        return theta, se


def _warm_terms(
    bank: ItemBank, theta: FloatArray, idx: IntArray, x: IntArray, h: float = 1e-4
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Score function :math:`\ell'(\theta)`, test information and Warm's J at each ``theta``.

    Uses central differences of the category probabilities (error O(h²) ≈ 1e-8), which keeps one
    implementation valid for every model.

    .. math:: I = \sum_j \sum_k \frac{P_{jk}'^2}{P_{jk}},\qquad
              J = \sum_j \sum_k \frac{P_{jk}' P_{jk}''}{P_{jk}}

    Returns
    -------
    score, info, j : ndarray of shape (n_theta,)
    """
    t = np.asarray(theta, dtype=np.float64)
    m = t.size
    p = bank.category_probabilities(np.concatenate([t - h, t, t + h]), idx).reshape(
        3, m, idx.size, -1)  # (3, n_theta, n_items, K)
    p0 = np.maximum(p[1], 1e-300)
    d1 = (p[2] - p[0]) / (2 * h)
    d2 = (p[2] - 2 * p[1] + p[0]) / (h * h)
    exists = p[1] > 0
    info = np.where(exists, d1 * d1 / p0, 0.0).sum(axis=(1, 2))
    j = np.where(exists, d1 * d2 / p0, 0.0).sum(axis=(1, 2))
    rows = np.arange(idx.size)
    score = (d1[:, rows, x] / p0[:, rows, x]).sum(axis=1)
    return score, info, j


def _derivatives(
    bank: ItemBank, theta: float, idx: IntArray, x: IntArray
) -> tuple[float, float, float]:
    """:func:`_warm_terms` at one ``theta``."""
    score, info, j = _warm_terms(bank, np.array([theta]), idx, x)
    return float(score[0]), float(info[0]), float(j[0])


@dataclass(frozen=True, slots=True)
class MAP:
    r"""Maximum a posteriori (Bayes modal) estimate with a normal prior.

    .. math:: \hat\theta = \arg\max_\theta\; \ell(\theta) - \frac{(\theta - \mu)^2}{2\sigma^2},
              \qquad SE = \left(I(\hat\theta) + \sigma^{-2}\right)^{-1/2}
    """

    prior_mean: float = 0.0
    prior_sd: float = 1.0
    bound: float = DEFAULT_BOUND
    name: str = "map"

    def estimate(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int]
    ) -> AbilityEstimate:
        """MAP estimate; the prior mean and SD when there are no responses.

        Raises
        ------
        EstimationError
            For mismatched lengths, positions outside the bank or scores outside an item's range.
        """
        idx, x = _check_responses(bank, items, scores)
        if idx.size == 0:
            return AbilityEstimate(self.prior_mean, self.prior_sd, "map")
        lo, hi = self.prior_mean - self.bound, self.prior_mean + self.bound

        def neg_log_post(t: float) -> float:
            ll = bank.log_likelihood(np.array([t]), idx, x)[0]
            return float(-(ll - 0.5 * ((t - self.prior_mean) / self.prior_sd) ** 2))

        # bracket on a coarse grid first so the bounded search finds the global mode
        coarse = np.linspace(lo, hi, 121)
        vals = -bank.log_likelihood(coarse, idx, x) + 0.5 * (
            (coarse - self.prior_mean) / self.prior_sd) ** 2
        k = int(np.argmin(vals))
        a, b = coarse[max(k - 1, 0)], coarse[min(k + 1, coarse.size - 1)]
        res = minimize_scalar(neg_log_post, bounds=(a, b), method="bounded",
                              options={"xatol": 1e-9})
        theta = float(res.x)
        _, info, _ = _derivatives(bank, theta, idx, x)
        return AbilityEstimate(theta, float(1.0 / np.sqrt(info + self.prior_sd ** -2)), "map")


@dataclass(frozen=True, slots=True)
class WLE:
    r"""Warm's (1989) weighted likelihood estimate: a root of

    .. math:: \ell'(\theta) + \frac{J(\theta)}{2 I(\theta)} = 0,\qquad SE = I(\hat\theta)^{-1/2}

    It removes the first-order bias of the MLE and is finite for all-correct and all-wrong patterns
    under the 1PL/2PL/GPCM.

    The estimating function can have several roots (three for LSAT7's pattern 01100 under the 3PL,
    at θ ≈ −3.27, −2.19 and −1.01). It is evaluated on a grid of step :data:`WLE_GRID_STEP` over
    ``±bound``; every sign change from positive to negative (a local maximum of the weighted
    likelihood; the rising roots between them are local minima) is refined with Brent's method, and
    the root with the largest weighted log-likelihood

    .. math:: \ell(\theta) + \tfrac12 \log I(\theta)

    is returned. For the 1PL, 2PL and GPCM (exponential families in θ) :math:`J = I'`, so Warm's
    equation is exactly the derivative of this criterion and the chosen root is its global maximum
    inside ``±bound``. For the 3PL and GRM :math:`J \ne I'`: the roots are still those of Warm's
    equation, and the criterion only ranks them (it can rank them differently from the integral of
    Warm's function, the exact weighted likelihood, on some aberrant 3PL patterns). Where no falling
    root lies inside ``±bound`` (the root is beyond the bound, or there is none), the bound towards
    which the estimating function points is returned.
    """

    bound: float = DEFAULT_BOUND
    name: str = "wle"

    def estimate(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int]
    ) -> AbilityEstimate:
        """WLE; with no responses, 0 with the SE of an empty test capped at ``bound``.

        Raises
        ------
        EstimationError
            For mismatched lengths, positions outside the bank or scores outside an item's range.
        """
        idx, x = _check_responses(bank, items, scores)
        if idx.size == 0:
            return AbilityEstimate(0.0, self.bound, "wle")
        theta = self._solve(bank, idx, x)[1]
        _, info, _ = _derivatives(bank, theta, idx, x)
        se = float(min(1.0 / np.sqrt(max(info, 1e-300)), 2.0 * self.bound))
        return AbilityEstimate(theta, se, "wle")

    def _solve(self, bank: ItemBank, idx: IntArray, x: IntArray) -> tuple[FloatArray, float]:
        """The falling roots of Warm's equation inside ``±bound``, and the one chosen (or the bound)."""
        def f(t: float) -> float:
            s, info, j = _derivatives(bank, t, idx, x)
            return s + j / (2.0 * max(info, 1e-300))

        n = int(np.ceil(2.0 * self.bound / WLE_GRID_STEP)) + 1
        grid = np.linspace(-self.bound, self.bound, n)
        s, info, j = _warm_terms(bank, grid, idx, x)
        vals = s + j / (2.0 * np.maximum(info, 1e-300))
        # a root where the function falls through zero is a local maximum of the weighted
        # likelihood; where it rises through zero, a local minimum, which is never the estimate
        falls = np.flatnonzero((vals[:-1] > 0) & (vals[1:] <= 0))
        if falls.size == 0:
            return np.zeros(0), float(self.bound if vals[-1] > 0 else -self.bound)
        roots = np.array([_falling_root(f, float(grid[k]), float(grid[k + 1])) for k in falls])
        weighted = bank.log_likelihood(roots, idx, x) + 0.5 * np.log(
            np.maximum(bank.test_information(roots, idx), 1e-300))
        return roots, float(roots[int(np.argmax(weighted))])


def _falling_root(f: Callable[[float], float], a: float, b: float) -> float:
    """The root of ``f`` in ``[a, b]`` where it falls through zero (Brent's method).

    The grid scan and ``f`` evaluate the same function, but one point at a time can round
    differently from the whole grid at once; an end that has lost its sign is then the root.
    """
    fa, fb = f(a), f(b)
    if fa <= 0.0:
        return a
    if fb > 0.0:
        return b
    return float(brentq(f, a, b, xtol=1e-12))


def estimator_from_name(name: str, *, prior_mean: float = 0.0, prior_sd: float = 1.0) -> Estimator:
    """``"eap"``, ``"map"`` or ``"wle"`` as an estimator object."""
    if name == "eap":
        return EAP(prior_mean=prior_mean, prior_sd=prior_sd)
    if name == "map":
        return MAP(prior_mean=prior_mean, prior_sd=prior_sd)
    if name == "wle":
        return WLE()
    msg = f"unknown estimator {name!r}; use eap, map or wle"
    raise EstimationError(msg)
