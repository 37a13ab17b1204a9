r"""Ability estimation: EAP on a quadrature grid (incremental), MAP and WLE, each with a standard error.

All three stay finite for all-correct and all-wrong patterns: EAP and MAP through the prior, WLE
through Warm's bias correction (and, for the few models where the weighted likelihood has no interior
root, a bound of ``±bound``).

EAP keeps the log posterior on a fixed grid, so adding one response costs one evaluation of that item on
the grid — work proportional to the grid, not to the number of responses so far:

.. math:: \log \pi_n(\theta_q) = \log \pi_{n-1}(\theta_q) + \log P_{j_n x_n}(\theta_q)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from .bank import ItemBank
from .errors import EstimationError
from .quadrature import normal_grid
from .types import AbilityEstimate, FloatArray

__all__ = ["EAP", "MAP", "WLE", "Estimator", "estimator_from_name"]

DEFAULT_BOUND = 6.0
"""Estimates are confined to ±6 logits: wider than any real learner, narrow enough to stay finite."""


@lru_cache(maxsize=64)
def _log_prior(mean: float, sd: float, n_points: int, span: float) -> FloatArray:
    """Log prior weights on the grid (read-only; a constant away from the log density)."""
    out = np.log(normal_grid(n_points, mean, sd, span)[1])
    out.setflags(write=False)
    return out


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


@dataclass(frozen=True, slots=True)
class EAP:
    r"""Expected a posteriori estimate with a normal prior on an equally spaced grid.

    .. math:: \hat\theta = \frac{\sum_q \theta_q L(\theta_q)\pi(\theta_q)}
                               {\sum_q L(\theta_q)\pi(\theta_q)},\qquad
              SE = \sqrt{\sum_q (\theta_q - \hat\theta)^2 w_q}

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
        """Add one response to a log posterior: O(grid) work."""
        out = log_post + bank.item_log_likelihood(self.grid(), item, score)
        return out - out.max()  # type: ignore[no-any-return]

    def summarise(self, log_post: FloatArray) -> AbilityEstimate:
        """Posterior mean and SD from a log posterior on :meth:`grid`."""
        grid = self.grid()
        w = np.exp(log_post - log_post.max())
        w /= w.sum()
        theta = float(w @ grid)
        d = grid - theta
        return AbilityEstimate(theta=theta, se=float(np.sqrt(w @ (d * d))), method="eap")

    def estimate(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int]
    ) -> AbilityEstimate:
        """EAP from scratch (the prior when there are no responses)."""
        grid = self.grid()
        return self.summarise(self.log_prior() + bank.log_likelihood(grid, items, scores))


def _derivatives(
    bank: ItemBank, theta: float, items: Sequence[int], scores: Sequence[int], h: float = 1e-4
) -> tuple[float, float, float]:
    """Score function l'(θ), test information I(θ) and Warm's J(θ) at ``theta``.

    Uses central differences of the category probabilities (error O(h²) ≈ 1e-8), which keeps one
    implementation valid for every model.

    .. math:: I = \\sum_j \\sum_k \\frac{P_{jk}'^2}{P_{jk}},\\qquad
              J = \\sum_j \\sum_k \\frac{P_{jk}' P_{jk}''}{P_{jk}}
    """
    idx = np.asarray(items, dtype=np.intp)
    x = np.asarray(scores, dtype=np.intp)
    t = np.array([theta - h, theta, theta + h])
    p = bank.category_probabilities(t, idx)  # (3, n, K)
    p0 = np.maximum(p[1], 1e-300)
    d1 = (p[2] - p[0]) / (2 * h)
    d2 = (p[2] - 2 * p[1] + p[0]) / (h * h)
    exists = p[1] > 0
    info = float(np.where(exists, d1 * d1 / p0, 0.0).sum())
    j = float(np.where(exists, d1 * d2 / p0, 0.0).sum())
    rows = np.arange(idx.size)
    score = float((d1[rows, x] / p0[rows, x]).sum())
    return score, info, j


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
        """MAP estimate; the prior mean and SD when there are no responses."""
        if len(items) == 0:
            return AbilityEstimate(self.prior_mean, self.prior_sd, "map")
        lo, hi = self.prior_mean - self.bound, self.prior_mean + self.bound

        def neg_log_post(t: float) -> float:
            ll = bank.log_likelihood(np.array([t]), items, scores)[0]
            return float(-(ll - 0.5 * ((t - self.prior_mean) / self.prior_sd) ** 2))

        # bracket on a coarse grid first so the bounded search finds the global mode
        coarse = np.linspace(lo, hi, 121)
        vals = -bank.log_likelihood(coarse, items, scores) + 0.5 * (
            (coarse - self.prior_mean) / self.prior_sd) ** 2
        k = int(np.argmin(vals))
        a, b = coarse[max(k - 1, 0)], coarse[min(k + 1, coarse.size - 1)]
        res = minimize_scalar(neg_log_post, bounds=(a, b), method="bounded",
                              options={"xatol": 1e-9})
        theta = float(res.x)
        _, info, _ = _derivatives(bank, theta, items, scores)
        return AbilityEstimate(theta, float(1.0 / np.sqrt(info + self.prior_sd ** -2)), "map")


@dataclass(frozen=True, slots=True)
class WLE:
    r"""Warm's (1989) weighted likelihood estimate: the root of

    .. math:: \ell'(\theta) + \frac{J(\theta)}{2 I(\theta)} = 0,\qquad SE = I(\hat\theta)^{-1/2}

    It removes the first-order bias of the MLE and is finite for all-correct and all-wrong patterns
    under the 1PL/2PL/GPCM. Where no root lies inside ``±bound`` (possible under the 3PL), the bound
    is returned.
    """

    bound: float = DEFAULT_BOUND
    name: str = "wle"

    def estimate(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int]
    ) -> AbilityEstimate:
        """WLE; with no responses, 0 with the SE of an empty test capped at ``bound``."""
        if len(items) == 0:
            return AbilityEstimate(0.0, self.bound, "wle")

        def f(t: float) -> float:
            s, info, j = _derivatives(bank, t, items, scores)
            return s + j / (2.0 * max(info, 1e-300))

        grid = np.linspace(-self.bound, self.bound, 49)
        vals = np.array([f(float(t)) for t in grid])
        # the weighted score is decreasing through its root; take the sign change with the largest
        # weighted likelihood (normally there is exactly one)
        changes = np.flatnonzero((vals[:-1] > 0) & (vals[1:] <= 0))
        if changes.size:
            k = int(changes[0])
            theta = float(brentq(f, grid[k], grid[k + 1], xtol=1e-10))
        else:
            theta = float(self.bound if vals[-1] > 0 else -self.bound)
        _, info, _ = _derivatives(bank, theta, items, scores)
        se = float(min(1.0 / np.sqrt(max(info, 1e-300)), 2.0 * self.bound))
        return AbilityEstimate(theta, se, "wle")


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
