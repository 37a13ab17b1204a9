"""What calibration takes and gives: item priors, the convergence report, the result, EAP scores;
the quadrature grid, and pyirt's parameters converted to ours."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import irt
from ..bank import ItemBank
from ..errors import AdaptiveError, CalibrationError
from ..quadrature import normal_grid
from ..types import AbilityEstimate, FloatArray

__all__ = [
    "CalibrationResult",
    "ConvergenceReport",
    "EAPScores",
    "Priors",
    "from_pyirt_parameters",
    "normal_quadrature",
]


@dataclass(frozen=True, slots=True)
class Priors:
    r"""Prior distributions for Bayes-modal (MAP) item estimates.

    Attributes
    ----------
    a_lognormal : (float, float) or None
        ``(meanlog, sdlog)``: :math:`\log a \sim N(m, s^2)`. None (default): no prior on :math:`a`.
    b_normal : (float, float) or None
        ``(mean, sd)`` of a normal prior on each difficulty (every threshold for polytomous items).
        None (default): no prior.
    c_beta : (float, float) or None
        ``(alpha, beta)`` of the Beta prior on the 3PL lower asymptote, both >= 1; default (5, 17),
        mode 0.2. Used only by the 3PL.

    With the defaults, 1PL, 2PL, GPCM and GRM estimates are maximum likelihood estimates.
    """

    a_lognormal: tuple[float, float] | None = None
    b_normal: tuple[float, float] | None = None
    c_beta: tuple[float, float] | None = (5.0, 17.0)

    def __post_init__(self) -> None:
        for name in ("a_lognormal", "b_normal"):
            value = getattr(self, name)
            if value is not None and not (
                len(value) == 2 and all(math.isfinite(v) for v in value) and value[1] > 0
            ):
                msg = f"prior {name} must be (location, sd) with sd > 0, got {value!r}"
                raise CalibrationError(msg)
        if self.c_beta is not None and not (
            len(self.c_beta) == 2 and all(math.isfinite(v) and v >= 1.0 for v in self.c_beta)
        ):
            msg = f"prior c_beta must be (alpha, beta) with both >= 1, got {self.c_beta!r}"
            raise CalibrationError(msg)


@dataclass(frozen=True, slots=True)
class ConvergenceReport:
    """How the EM iterations ended.

    Attributes
    ----------
    iterations : int
        Number of EM-map evaluations (one E-step and one M-step each), SQUAREM steps included.
    converged : bool
        True when the largest parameter change fell below the tolerance.
    max_change : float
        The largest absolute parameter change in the last plain EM step.
    log_likelihood_history : tuple of float
        Marginal log-likelihood at each accepted point, starting values first (pyirt engine: its
        marginal log-likelihood after each cycle, under its estimated ability histogram).
    accelerated : bool
        Whether SQUAREM was used.
    """

    iterations: int
    converged: bool
    max_change: float
    log_likelihood_history: tuple[float, ...]
    accelerated: bool = True


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """Calibrated item bank with standard errors and diagnostics.

    Attributes
    ----------
    model, engine : str
        The model fitted and the engine used.
    bank : ItemBank
        The calibrated items, in the order of the data's items; ids are the data's item ids.
        Excluded items (see module docs) are absent; anchors keep their exact parameters and tags.
    se_a, se_b, se_c : ndarray of shape (n_items,)
        Standard errors (NaN where not estimated: anchors, ``c`` outside the 3PL, pyirt).
        For the 1PL every item reports the SE of the common ``a``.
    se_thresholds : ndarray of shape (n_items, K_max)
        SEs of polytomous thresholds, NaN-padded; NaN too for a threshold next to a score
        category without responses (it is not identified), and ``se_b`` is NaN when that
        category is the lowest or the highest.
    log_likelihood : float
        Marginal log-likelihood at the estimates, under the ability distribution N(mu, sd²)
        (N(0, 1) unless anchors were used), with ``n_quadrature`` nodes.
    convergence : ConvergenceReport
        Iterations, convergence flag, last change and log-likelihood history.
    warnings : tuple of str
        Human-readable warnings, each naming the item concerned.
    excluded : tuple of str
        Ids of the items left out because all their responses are identical.
    anchors : tuple of str
        Ids of the items held fixed.
    population_mean, population_sd : float
        Ability distribution: (0, 1) for a free calibration, estimated with anchors.
    n_quadrature : int
        Number of quadrature nodes.
    se_method : str
        ``"xpd"`` (full cross-product information), ``"xpd-block"`` (item blocks only) or
        ``"none"``.
    """

    model: str
    engine: str
    bank: ItemBank
    se_a: FloatArray
    se_b: FloatArray
    se_c: FloatArray
    se_thresholds: FloatArray
    log_likelihood: float
    convergence: ConvergenceReport
    warnings: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()
    population_mean: float = 0.0
    population_sd: float = 1.0
    n_quadrature: int = 61
    se_method: str = "xpd"

    @property
    def iterations(self) -> int:
        """Number of EM-map evaluations."""
        return self.convergence.iterations

    @property
    def converged(self) -> bool:
        """Whether the EM converged within ``max_iter``."""
        return self.convergence.converged

    def standard_errors(self, item_id: str) -> dict[str, Any]:
        """SEs of one item's parameters (``None`` where not available)."""
        j = self.bank.index(item_id)
        out: dict[str, Any] = {"se_a": _num(self.se_a[j]), "se_b": _num(self.se_b[j])}
        model = self.bank.models[j]
        if model == "3pl":
            out["se_c"] = _num(self.se_c[j])
        if model in irt.POLYTOMOUS:
            k = int(self.bank.n_categories[j]) - 1
            out["se_thresholds"] = [_num(v) for v in self.se_thresholds[j, :k]]
        return out

    def to_json(self) -> dict[str, Any]:
        """The BANK.json mapping printed by ``thetapath calibrate``; ``ItemBank.from_json`` reads it.

        ``{"model", "engine", "log_likelihood", "iterations", "converged", "items": [...]}``; each
        dichotomous item has ``id, a, b, c, se_a, se_b`` (and ``se_c`` for the 3PL), each polytomous
        item ``id, a, b, thresholds, se_a, se_b, se_thresholds`` with ``b`` the mean threshold.
        Unavailable SEs are ``null``.
        """
        items = []
        for j, iid in enumerate(self.bank.ids):
            model = self.bank.models[j]
            rec: dict[str, Any] = {"id": iid, "a": float(self.bank.a[j]),
                                   "b": float(self.bank.b[j])}
            if model in irt.DICHOTOMOUS:
                rec["c"] = float(self.bank.c[j])
            else:
                k = int(self.bank.n_categories[j]) - 1
                rec["thresholds"] = [float(t) for t in self.bank.thresholds[j, :k]]
            rec.update(self.standard_errors(iid))
            items.append(rec)
        return {"model": self.model, "engine": self.engine,
                "log_likelihood": float(self.log_likelihood), "iterations": self.iterations,
                "converged": self.converged, "items": items}


@dataclass(frozen=True, eq=False)
class EAPScores:
    """Expected a posteriori abilities of many learners.

    Attributes
    ----------
    learners : tuple of str
        Learner ids, in the data's order.
    theta, sd : ndarray of shape (n_learners,)
        Posterior mean and posterior SD of each learner's ability.
    """

    learners: tuple[str, ...]
    theta: FloatArray
    sd: FloatArray

    def estimates(self) -> dict[str, AbilityEstimate]:
        """One :class:`~adaptive.types.AbilityEstimate` per learner."""
        return {lid: AbilityEstimate(float(t), float(s), "eap")
                for lid, t, s in zip(self.learners, self.theta, self.sd, strict=True)}


def _num(value: float | np.floating[Any]) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None


def normal_quadrature(n_quadrature: int = 61, bound: float = 6.0) -> tuple[FloatArray, FloatArray]:
    r"""Equally spaced nodes on ``[-bound, bound]`` with normalised N(0, 1) weights.

    .. math:: w_q = \frac{\phi(z_q)}{\sum_r \phi(z_r)}

    (:func:`adaptive.quadrature.normal_grid`, the engine's one quadrature rule.)
    """
    try:
        return normal_grid(int(n_quadrature), 0.0, 1.0, float(bound))
    except AdaptiveError as exc:
        raise CalibrationError(str(exc)) from None


def from_pyirt_parameters(
    alpha: FloatArray | float, beta: FloatArray | float
) -> tuple[FloatArray, FloatArray]:
    r"""Convert pyirt's item parameters to ours.

    pyirt's item function is :math:`c + (1 - c) / (1 + e^{-(\alpha\theta + \beta)})`: ``beta`` is an
    intercept, not a difficulty. Ours is :math:`c + (1 - c) / (1 + e^{-a(\theta - b)})`, so

    .. math:: a = \alpha,\qquad b = -\beta / \alpha

    Returns
    -------
    (a, b) : tuple of ndarray
    """
    al = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    be = np.atleast_1d(np.asarray(beta, dtype=np.float64))
    if al.shape != be.shape:
        msg = f"alpha and beta must have the same shape, got {al.shape} and {be.shape}"
        raise CalibrationError(msg)
    if not np.all(np.isfinite(al) & (al > 0)):
        msg = "pyirt returned a non-positive or non-finite alpha; cannot convert to a difficulty"
        raise CalibrationError(msg)
    return al.copy(), -be / al
