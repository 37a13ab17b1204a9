r"""Item calibration by marginal maximum likelihood (Bock–Aitkin EM) on sparse response data.

The ability distribution is integrated out on a fixed, equally spaced grid of quadrature nodes
:math:`z_q` (61 points on [-6, 6] by default) with normalised standard-normal weights :math:`w_q`.
The marginal log-likelihood of the data is

.. math:: \ell(\eta) = \sum_p \log \sum_q w_q \prod_{(p, j, x) \in \text{data}} P_{jx}(\mu + \sigma z_q)

where the product runs over the responses learner :math:`p` actually gave (missing responses are
absent from the sparse data, which is missing at random under the model), and :math:`\mu = 0,
\sigma = 1` unless anchors are given (see below).

Models (logistic metric, no 1.7 constant; the probabilities come from :mod:`adaptive.irt`):

* ``"2pl"``: :math:`P = 1 / (1 + e^{-(a\theta + d)})`, reported as :math:`b = -d/a`.
* ``"1pl"``: the 2PL with one common discrimination :math:`a` shared by every item and estimated,
  with :math:`\theta \sim N(0, 1)`. This is the Rasch model with a free ability variance
  :math:`a^2` written on the unit-variance scale (Rasch difficulties are :math:`a b`).
* ``"3pl"``: :math:`P = c + (1 - c) / (1 + e^{-(a\theta + d)})` with a Beta prior on :math:`c`
  (Beta(5, 17) by default, like BILOG; set ``Priors(c_beta=None)`` for none). :math:`c` is estimated
  as :math:`\operatorname{logit} c`.
* ``"gpcm"``: generalised partial credit, step difficulties :math:`b_{jk}`.
* ``"grm"``: graded response, ordered boundaries :math:`b_{j1} < \dots < b_{jK}`.

Estimation. The E-step forms the learners × nodes log-likelihood as one sparse product
:math:`L = X T` of the learners × (item, category) indicator matrix :math:`X` with the table
:math:`T_{(j,k),q} = \log P_{jk}(\theta_q)`, then posterior weights, and the expected counts
:math:`\bar r_{jkq}` as :math:`X^\top \Pi`. No Python loop runs over learners or responses. The M-step
maximises, for all items at once, :math:`\sum_q \sum_k \bar r_{jkq} \log P_{jk}(\theta_q)` plus the log
prior by vectorised Fisher scoring (exact Newton for the 2PL) with step halving. The EM map is
accelerated by SQUAREM (Varadhan & Roland 2008, scheme S3, with a monotonicity safeguard on the
log-posterior). Everything runs in float64: with the E-step reduced to two sparse products per
iteration, float32 was not needed (5 M responses of 100,000 learners calibrate in well under 30 s).
Convergence: the largest absolute change of any estimated parameter (in the
estimation parametrisation: :math:`a`, intercept :math:`d`, :math:`\operatorname{logit} c`,
thresholds) over one plain EM step is below ``tol``.

Standard errors come from the cross-product (XPD, "empirical information") approximation of the
observed information at convergence,

.. math:: \mathcal I(\hat\eta) \approx \sum_p s_p s_p^\top + \mathcal I_\text{prior},\qquad
          s_p = \sum_q \pi_{pq} \frac{\partial}{\partial \eta}\log f(x_p \mid \theta_q)

(:math:`\pi_{pq}` are the posterior weights). The full matrix is inverted when it is small enough
(``se_method="xpd"``); for very large problems only each item's own block is inverted
(``se_method="xpd-block"``, which ignores the small covariances between items). The SE of a
difficulty :math:`b = -d/a` follows by the delta method,
:math:`\nabla b = (d/a^2, -1/a)`, and of :math:`c` by :math:`c(1-c)\,\mathrm{SE}(\operatorname{logit} c)`.
Anchors have no SEs, and with anchors the ability mean and SD are treated as known in the SEs.

Fixed-anchor calibration (FIPC). Items of an ``anchors`` bank that appear in the data keep their
parameters; they fix the scale, so the mean and SD of the ability distribution, :math:`\mu` and
:math:`\sigma`, are then estimated too (the nodes move to :math:`\mu + \sigma z_q`), and the new items
come out on the anchors' scale even when the new population is not N(0, 1). For the 1PL the new
items take the anchors' common discrimination.

Items on which every response is the same score (all 0, all 1, one category only) carry no
information about their parameters: they are left out of estimation and of the resulting bank, and
``CalibrationResult.warnings`` names them (``CalibrationResult.excluded`` lists their ids).

Score categories. A polytomous item's number of categories is declared (``categories=``, or by an
anchor), not guessed: a score above the declared range raises ``InvalidResponses`` naming the
item, the score, the range and, for data read from text, the line. Undeclared items fall back to
their highest observed score, with a warning. Thresholds next to a category nobody used are not
identified (they run to a bound or meet their neighbour); they are reported without SEs.

Implausible estimates. An item whose discrimination exceeds :data:`PLAUSIBLE_A_MAX` (4), or whose
SE(a) exceeds :data:`PLAUSIBLE_SE_A_MAX` (1) or SE(b) :data:`PLAUSIBLE_SE_B_MAX` (2), gets a
warning naming it, the responses it rests on and a prior that bounds it: an item 9 of 2,000 learners
got wrong, all of them the least able, has ML estimate a = 22.8 with SE 831; with
``Priors(a_lognormal=(0, 0.5))`` (:data:`SUGGESTED_A_PRIOR`) it gets a = 3.4.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import sys
import types
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, log_expit

from .. import irt
from ..bank import ItemBank, ItemParameters
from ..errors import AdaptiveError, CalibrationError, InvalidResponses
from ..quadrature import normal_grid
from ..responses import ResponseData
from ..types import AbilityEstimate, BoolArray, FloatArray, IntArray

__all__ = [
    "ENGINES",
    "CalibrationResult",
    "ConvergenceReport",
    "EAPScores",
    "Priors",
    "calibrate",
    "eap_scores",
    "from_pyirt_parameters",
    "marginal_log_likelihood",
    "normal_quadrature",
]

ENGINES = ("mml", "pyirt")
"""Calibration engines: our EM (``"mml"``) and the third-party ``pyirt`` package."""

A_BOUNDS = (1e-3, 50.0)
"""Discriminations are kept in this open interval (the bank requires a > 0)."""

LOCATION_BOUND = 60.0
"""Largest absolute intercept, threshold or logit(c) the M-step accepts."""

MAX_STEP = 1.0
"""Largest change of any parameter in one Fisher-scoring step."""

PLAUSIBLE_A_MAX = 4.0
"""A discrimination above this draws a warning: on the N(0, 1) metric, a > 4 is rarely real."""

PLAUSIBLE_SE_A_MAX = 1.0
"""An SE of ``a`` above this draws a warning (the estimate is then mostly noise)."""

PLAUSIBLE_SE_B_MAX = 2.0
"""An SE of ``b`` above this draws a warning (two SDs of the ability scale)."""

SUGGESTED_A_PRIOR = (0.0, 0.5)
r"""The lognormal prior on ``a`` the warnings suggest: :math:`\log a \sim N(0, 0.5^2)`.

Its mode is :math:`e^{-0.25} = 0.78`; 95 % of its mass lies in [0.38, 2.7]; P(a > 4) = 0.003."""

SUGGESTED_B_PRIOR = (0.0, 2.0)
"""The normal prior on ``b`` the warnings suggest for a difficulty with an SE above 2."""

_LOG_FLOOR = math.log(irt.PROB_FLOOR)
_SE_FULL_MAX_PARAMS = 3000
_SE_FULL_MAX_WORK = 5e9
_BLAS_SINGLE_THREAD = 250_000


# ---------------------------------------------------------------------------------------------
# public value types


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


# ---------------------------------------------------------------------------------------------
# models: per-item parameter vectors ``eta`` (n_items, k) in the estimation parametrisation


def _solve_batched(info: FloatArray, grad: FloatArray) -> FloatArray:
    """Solve ``info @ x = grad`` for each item, with a tiny ridge against singular blocks."""
    k = info.shape[-1]
    scale = np.abs(np.diagonal(info, axis1=1, axis2=2)).max(axis=1) + 1.0
    ridged = info + (1e-10 * scale)[:, None, None] * np.eye(k)[None, :, :]
    try:
        return np.linalg.solve(ridged, grad[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        return np.einsum("nkl,nl->nk", np.linalg.pinv(ridged), grad)  # type: ignore[no-any-return]


class _Family:
    """Common interface of the models; ``eta`` rows are items, columns are local parameters."""

    model: str
    n_cat: int
    k: int
    priors: Priors

    def log_table(self, eta: FloatArray, theta: FloatArray) -> FloatArray:
        """Log category probabilities, ``(n, n_cat, Q)``."""
        raise NotImplementedError

    def grad_info(
        self, eta: FloatArray, counts: FloatArray, theta: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Gradient ``(n, k)`` and expected information ``(n, k, k)`` of the M-step objective."""
        raise NotImplementedError

    def score_table(self, eta: FloatArray, theta: FloatArray) -> FloatArray:
        """``d log P_jk(theta_q) / d eta``, shape ``(n, n_cat, Q, k)``."""
        raise NotImplementedError

    def prior(self, eta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Log prior ``(n,)``, its gradient ``(n, k)`` and information ``(n, k, k)``."""
        raise NotImplementedError

    def valid(self, eta: FloatArray) -> BoolArray:
        """Which rows are admissible parameter vectors."""
        raise NotImplementedError

    def subset(self, rows: IntArray) -> _Family:
        """The same family restricted to ``rows``."""
        raise NotImplementedError

    def frozen(self) -> BoolArray:
        """Columns that never move (padding), ``(n, k)``."""
        raise NotImplementedError

    def objective(self, eta: FloatArray, counts: FloatArray, theta: FloatArray) -> FloatArray:
        r"""Expected complete-data log-likelihood plus log prior per item, ``(n,)``.

        .. math:: Q_j = \sum_q \sum_k \bar r_{jkq} \log P_{jk}(\theta_q) + \log p(\eta_j)
        """
        logp = self.log_table(eta, theta).transpose(0, 2, 1)  # (n, Q, C)
        terms = np.where(counts > 0, counts * np.maximum(logp, _LOG_FLOOR), 0.0)
        return terms.sum(axis=(1, 2)) + self.prior(eta)[0]  # type: ignore[no-any-return]

    # -- priors shared by every family ---------------------------------------------------------
    def _a_prior(self, a: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        r"""Lognormal prior on ``a``: value, d/da and (PD) information :math:`1/(s^2 a^2)`."""
        if self.priors.a_lognormal is None:
            z = np.zeros_like(a)
            return z, z, z
        m, s = self.priors.a_lognormal
        la = np.log(a)
        lp = -la - (la - m) ** 2 / (2 * s * s)
        g = -(1.0 + (la - m) / (s * s)) / a
        return lp, g, 1.0 / (s * s * a * a)


class _Dichotomous(_Family):
    r"""1PL, 2PL and 3PL in slope–intercept form, ``eta = (a, d[, logit c])``.

    With :math:`s = \sigma(a\theta + d)`, :math:`P = c + (1-c)s`, :math:`u = s/P`:
    :math:`\partial P/\partial \eta = P(1-P)\,v` with :math:`v = (u\theta, u, c/P)`, so the score is
    :math:`\sum_q (\bar r_{1q} - n_q P_q) v_q` and the information :math:`\sum_q n_q P_q(1-P_q) v_q v_q^\top`.
    """

    n_cat = 2

    def __init__(self, model: str, n: int, priors: Priors) -> None:
        self.model = model
        self.k = 3 if model == "3pl" else 2
        self.n = n
        self.priors = priors

    def subset(self, rows: IntArray) -> _Dichotomous:
        return _Dichotomous(self.model, int(rows.size), self.priors)

    def frozen(self) -> BoolArray:
        return np.zeros((self.n, self.k), dtype=bool)

    def _c(self, eta: FloatArray) -> FloatArray | None:
        return expit(eta[:, 2]) if self.model == "3pl" else None

    def log_table(self, eta: FloatArray, theta: FloatArray) -> FloatArray:
        a, d = eta[:, 0], eta[:, 1]
        log_p, log_q = irt.dichotomous_log_probability(theta, a, -d / a, self._c(eta))
        return np.stack([log_q.T, log_p.T], axis=1)

    def _parts(
        self, eta: FloatArray, theta: FloatArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Return ``P (n, Q)``, ``P(1 - P) (n, Q)`` and ``v (n, Q, k)``."""
        a, d = eta[:, 0], eta[:, 1]
        s = irt.dichotomous_probability(theta, a, -d / a).T
        v = np.empty((*s.shape, self.k))
        c = self._c(eta)
        if c is None:
            p = s
            pq = s * (1.0 - s)
            v[:, :, 0] = theta[None, :]
            v[:, :, 1] = 1.0
        else:
            cc = c[:, None]
            p = cc + (1.0 - cc) * s
            pq = p * (1.0 - cc) * (1.0 - s)
            u = s / p
            v[:, :, 0] = u * theta[None, :]
            v[:, :, 1] = u
            v[:, :, 2] = cc / p
        return p, pq, v

    def grad_info(
        self, eta: FloatArray, counts: FloatArray, theta: FloatArray, *, include_a: bool = True
    ) -> tuple[FloatArray, FloatArray]:
        p, pq, v = self._parts(eta, theta)
        n_tot = counts.sum(axis=2)
        resid = counts[:, :, 1] - n_tot * p
        grad = np.einsum("nq,nqk->nk", resid, v)
        info = np.einsum("nq,nqk,nql->nkl", n_tot * pq, v, v, optimize=True)
        _, pg, pi = self.prior(eta, include_a=include_a)
        return grad + pg, info + pi

    def objective(
        self, eta: FloatArray, counts: FloatArray, theta: FloatArray, *, include_a: bool = True
    ) -> FloatArray:
        logp = self.log_table(eta, theta).transpose(0, 2, 1)
        terms = np.where(counts > 0, counts * np.maximum(logp, _LOG_FLOOR), 0.0)
        return terms.sum(axis=(1, 2)) + self.prior(eta, include_a=include_a)[0]  # type: ignore[no-any-return]

    def score_table(self, eta: FloatArray, theta: FloatArray) -> FloatArray:
        p, _, v = self._parts(eta, theta)
        return np.stack([-p[:, :, None] * v, (1.0 - p)[:, :, None] * v], axis=1)

    def prior(self, eta: FloatArray, *, include_a: bool = True) -> tuple[
            FloatArray, FloatArray, FloatArray]:
        n = eta.shape[0]
        lp = np.zeros(n)
        grad = np.zeros((n, self.k))
        info = np.zeros((n, self.k, self.k))
        a, d = eta[:, 0], eta[:, 1]
        if include_a and self.priors.a_lognormal is not None:
            la, ga, ia = self._a_prior(a)
            lp += la
            grad[:, 0] += ga
            info[:, 0, 0] += ia
        if self.priors.b_normal is not None:
            m, s = self.priors.b_normal
            b = -d / a
            db = np.stack([d / (a * a), -1.0 / a], axis=1)
            lp -= (b - m) ** 2 / (2 * s * s)
            grad[:, :2] -= ((b - m) / (s * s))[:, None] * db
            info[:, :2, :2] += db[:, :, None] * db[:, None, :] / (s * s)
        if self.model == "3pl" and self.priors.c_beta is not None:
            al, be = self.priors.c_beta
            g = eta[:, 2]
            c = expit(g)
            lp += (al - 1.0) * log_expit(g) + (be - 1.0) * log_expit(-g)
            grad[:, 2] += (al - 1.0) * (1.0 - c) - (be - 1.0) * c
            info[:, 2, 2] += (al + be - 2.0) * c * (1.0 - c)
        return lp, grad, info

    def valid(self, eta: FloatArray) -> BoolArray:
        a = eta[:, 0]
        ok = np.isfinite(eta).all(axis=1) & (a > A_BOUNDS[0]) & (a < A_BOUNDS[1])
        return ok & (np.abs(eta[:, 1:]) < LOCATION_BOUND).all(axis=1)


class _Polytomous(_Family):
    r"""GPCM and GRM with ``eta = (a, b_1, ..., b_Kmax)``; thresholds beyond an item's K are padding.

    GPCM: with :math:`z_k = \sum_{v \le k} a(\theta - b_v)` and :math:`D_k = \partial z_k/\partial\eta`,
    :math:`\partial \log P_k/\partial\eta = D_k - \sum_m P_m D_m` and the information is
    :math:`\sum_q n_q \operatorname{Cov}_P(D)`.
    GRM: :math:`P_k = P^*_k - P^*_{k+1}` with :math:`P^*_k = \sigma(a(\theta - b_k))`, score
    :math:`\sum_q\sum_k \bar r_{kq} P'_k/P_k`, information :math:`\sum_q n_q \sum_k P'_k P'^\top_k/P_k`.
    """

    def __init__(self, model: str, tmask: BoolArray, priors: Priors) -> None:
        self.model = model
        self.tmask = tmask
        self.n = int(tmask.shape[0])
        self.kmax = int(tmask.shape[1])
        self.k = 1 + self.kmax
        self.n_cat = self.kmax + 1
        self.priors = priors
        self.cat_ok = np.concatenate([np.ones((self.n, 1), dtype=bool), tmask], axis=1)

    def subset(self, rows: IntArray) -> _Polytomous:
        return _Polytomous(self.model, self.tmask[rows], self.priors)

    def frozen(self) -> BoolArray:
        return np.concatenate([np.zeros((self.n, 1), dtype=bool), ~self.tmask], axis=1)

    def _thr(self, eta: FloatArray) -> FloatArray:
        return np.where(self.tmask, eta[:, 1:], np.nan)

    def log_table(self, eta: FloatArray, theta: FloatArray) -> FloatArray:
        fn = irt.gpcm_log_probabilities if self.model == "gpcm" else irt.grm_log_probabilities
        return fn(theta, eta[:, 0], self._thr(eta)).transpose(1, 2, 0)

    def _derivatives(
        self, eta: FloatArray, theta: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        """Return ``P (n, Q, C)`` and ``d log P_k / d eta`` as ``(n, Q, C, k)``."""
        a = eta[:, 0]
        thr = self._thr(eta)
        n, q_n, c_n, k = self.n, theta.size, self.n_cat, self.k
        if self.model == "gpcm":
            p = irt.gpcm_probabilities(theta, a, thr).transpose(1, 0, 2)
            cum = np.concatenate([np.zeros((n, 1)), np.cumsum(np.nan_to_num(thr), axis=1)], axis=1)
            cats = np.arange(c_n, dtype=np.float64)
            dz = np.empty((n, q_n, c_n, k))
            dz[..., 0] = cats[None, None, :] * theta[None, :, None] - cum[:, None, :]
            steps = (np.arange(1, self.kmax + 1)[None, :] <= np.arange(c_n)[:, None])  # (C, K)
            dz[..., 1:] = (-a[:, None, None] * steps[None, :, :])[:, None, :, :]
            mean = np.einsum("nqc,nqck->nqk", p, dz)
            return p, dz - mean[:, :, None, :]
        p = irt.grm_probabilities(theta, a, thr).transpose(1, 0, 2)
        thr0 = np.where(self.tmask, eta[:, 1:], 0.0)
        star = irt.dichotomous_probability(theta, np.repeat(a, self.kmax), thr0.ravel())
        star = star.reshape(q_n, n, self.kmax).transpose(1, 0, 2)
        star = np.where(self.tmask[:, None, :], star, 0.0)
        w = star * (1.0 - star)
        dstar = np.zeros((n, q_n, self.kmax + 2, k))
        dstar[:, :, 1:-1, 0] = w * (theta[None, :, None] - thr0[:, None, :])
        idx = np.arange(self.kmax)
        dstar[:, :, idx + 1, idx + 1] = -a[:, None, None] * w
        dp = dstar[:, :, :-1, :] - dstar[:, :, 1:, :]
        ok = self.cat_ok[:, None, :] & (p > 1e-290)
        inv = np.where(ok, 1.0 / np.where(ok, p, 1.0), 0.0)
        return p, dp * inv[..., None]

    def grad_info(
        self, eta: FloatArray, counts: FloatArray, theta: FloatArray
    ) -> tuple[FloatArray, FloatArray]:
        p, dlog = self._derivatives(eta, theta)
        n_tot = counts.sum(axis=2)
        grad = np.einsum("nqc,nqck->nk", counts, dlog)
        wp = n_tot[:, :, None] * p
        info = np.einsum("nqc,nqck,nqcl->nkl", wp, dlog, dlog, optimize=True)
        _, pg, pi = self.prior(eta)
        return grad + pg, info + pi

    def score_table(self, eta: FloatArray, theta: FloatArray) -> FloatArray:
        return self._derivatives(eta, theta)[1].transpose(0, 2, 1, 3)

    def prior(self, eta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        n = eta.shape[0]
        lp = np.zeros(n)
        grad = np.zeros((n, self.k))
        info = np.zeros((n, self.k, self.k))
        if self.priors.a_lognormal is not None:
            la, ga, ia = self._a_prior(eta[:, 0])
            lp += la
            grad[:, 0] += ga
            info[:, 0, 0] += ia
        if self.priors.b_normal is not None:
            m, s = self.priors.b_normal
            dev = np.where(self.tmask, eta[:, 1:] - m, 0.0)
            lp -= (dev * dev).sum(axis=1) / (2 * s * s)
            grad[:, 1:] -= dev / (s * s)
            idx = np.arange(1, self.k)
            info[:, idx, idx] += np.where(self.tmask, 1.0 / (s * s), 0.0)
        return lp, grad, info

    def valid(self, eta: FloatArray) -> BoolArray:
        a = eta[:, 0]
        thr = np.where(self.tmask, eta[:, 1:], 0.0)
        ok = np.isfinite(eta).all(axis=1) & (a > A_BOUNDS[0]) & (a < A_BOUNDS[1])
        ok &= (np.abs(thr) < LOCATION_BOUND).all(axis=1)
        if self.model == "grm" and self.kmax > 1:
            both = self.tmask[:, 1:] & self.tmask[:, :-1]
            ok &= np.where(both, np.diff(thr, axis=1) > 1e-6, True).all(axis=1)
        return ok


def _fisher_scoring(
    family: _Family,
    eta: FloatArray,
    counts: FloatArray,
    theta: FloatArray,
    frozen: BoolArray,
    *,
    max_iter: int = 30,
    tol: float = 1e-9,
) -> FloatArray:
    """Maximise each item's M-step objective by Fisher scoring with step halving (vectorised)."""
    eta = eta.copy()
    n, k = eta.shape
    if n == 0:
        return eta
    eye = np.eye(k)[None, :, :]
    free_f = (~frozen).astype(np.float64)
    obj = family.objective(eta, counts, theta)
    for _ in range(max_iter):
        grad, info = family.grad_info(eta, counts, theta)
        grad = grad * free_f
        info = info * free_f[:, :, None] * free_f[:, None, :] + eye * frozen[:, :, None]
        step = _solve_batched(info, grad)
        big = np.abs(step).max(axis=1)
        step *= (1.0 / np.maximum(1.0, big / MAX_STEP))[:, None]
        t = np.ones(n)
        pending: BoolArray = np.asarray(np.isfinite(step).all(axis=1))
        step = np.where(pending[:, None], step, 0.0)
        new = eta.copy()
        new_obj = obj.copy()
        for _h in range(40):
            trial = eta + t[:, None] * step
            ok_rows = family.valid(trial) & pending
            safe = np.where(ok_rows[:, None], trial, eta)
            tobj = family.objective(safe, counts, theta)
            ok = ok_rows & np.isfinite(tobj) & (tobj >= obj - 1e-12 * np.abs(obj))
            new[ok] = trial[ok]
            new_obj[ok] = tobj[ok]
            pending &= ~ok
            if not pending.any():
                break
            t = np.where(pending, 0.5 * t, t)
        moved = float(np.abs(new - eta).max())
        eta, obj = new, new_obj
        if moved < tol:
            break
    return eta


def _fisher_scoring_shared_a(
    family: _Dichotomous, eta: FloatArray, counts: FloatArray, theta: FloatArray,
    *, max_iter: int = 50, tol: float = 1e-9,
) -> FloatArray:
    r"""1PL M-step: joint Fisher scoring of the common ``a`` and every intercept.

    The information is an arrowhead matrix; the step solves it by the Schur complement
    :math:`\delta_a = (g_a - \sum_j I_{ad,j} g_{d,j}/I_{dd,j}) / (I_{aa} - \sum_j I_{ad,j}^2/I_{dd,j})`.
    """
    eta = eta.copy()

    def total(e: FloatArray) -> float:
        lp_a = family._a_prior(e[:1, 0])[0]
        return float(family.objective(e, counts, theta, include_a=False).sum() + lp_a[0])

    obj = total(eta)
    for _ in range(max_iter):
        grad, info = family.grad_info(eta, counts, theta, include_a=False)
        _, ga, ia = family._a_prior(eta[:1, 0])
        g_a = float(grad[:, 0].sum() + ga[0])
        i_aa = float(info[:, 0, 0].sum() + ia[0])
        i_ad, i_dd, g_d = info[:, 0, 1], info[:, 1, 1] + 1e-12, grad[:, 1]
        schur = i_aa - float(np.sum(i_ad * i_ad / i_dd))
        d_a = (g_a - float(np.sum(i_ad * g_d / i_dd))) / max(schur, 1e-12)
        d_d = (g_d - i_ad * d_a) / i_dd
        step = np.concatenate([[d_a], d_d])
        scale = max(1.0, float(np.abs(step).max()) / MAX_STEP)
        d_a, d_d = d_a / scale, d_d / scale
        t = 1.0
        moved = 0.0
        for _h in range(40):
            trial = eta.copy()
            trial[:, 0] += t * d_a
            trial[:, 1] += t * d_d
            if family.valid(trial).all():
                tobj = total(trial)
                if math.isfinite(tobj) and tobj >= obj - 1e-12 * abs(obj):
                    moved = float(np.abs(trial - eta).max())
                    eta, obj = trial, tobj
                    break
            t *= 0.5
        if moved < tol:
            break
    return eta


# ---------------------------------------------------------------------------------------------
# sparse layout and the EM


@dataclass(frozen=True, eq=False)
class _Layout:
    """Responses of the calibrated items as sparse indicator matrices.

    ``X`` is learners × (item, category) with a 1 at ``(p, j * n_cat + x)`` for each response;
    ``XT`` is its transpose (a CSC view, which makes ``XT @ dense`` fast).
    """

    n_persons: int
    n_items: int
    n_cat: int
    person: IntArray
    item: IntArray
    col: IntArray
    X: Any
    XT: Any

    @classmethod
    def build(cls, person: IntArray, item: IntArray, score: IntArray, n_items: int,
              n_cat: int) -> _Layout:
        answered = np.bincount(person) > 0  # learners with at least one response, in order
        renumber = np.cumsum(answered) - 1
        compact = renumber[person].astype(np.intp)
        col = (item * n_cat + score).astype(np.intp)
        n_p = int(answered.sum())
        # rows are learners: sort by learner so CSR construction is a cheap cumulative count
        order = np.argsort(compact, kind="stable")
        indptr = np.zeros(n_p + 1, dtype=np.int64)
        np.cumsum(np.bincount(compact, minlength=n_p), out=indptr[1:])
        x = sp.csr_matrix(
            (np.ones(col.size), col[order].astype(np.int32), indptr),
            shape=(n_p, n_items * n_cat))
        return cls(n_p, n_items, n_cat, compact, item.astype(np.intp), col, x, x.T)


@dataclass(frozen=True, eq=False)
class _EStep:
    log_likelihood: float
    counts: FloatArray  # (n_items, Q, n_cat)
    mean_z: float
    var_z: float
    post: FloatArray | None


def _posterior(log_lik: FloatArray, log_w: FloatArray) -> tuple[FloatArray, FloatArray]:
    """In place: turn ``log_lik (P, Q)`` into posterior weights; return them and log marginals."""
    log_lik += log_w[None, :]
    top = log_lik.max(axis=1, keepdims=True)
    log_lik -= top
    np.exp(log_lik, out=log_lik)
    total = log_lik.sum(axis=1, keepdims=True)
    log_lik /= total
    return log_lik, np.log(total[:, 0]) + top[:, 0]


class _EM:
    """The EM map on a packed vector of free parameters (plus mu, log sigma when anchored)."""

    def __init__(
        self, family: _Family, layout: _Layout, z: FloatArray, log_w: FloatArray,
        eta0: FloatArray, free_rows: IntArray, free_cols: BoolArray, *, shared_a: bool,
        latent: bool,
    ) -> None:
        self.family = family
        self.layout = layout
        self.z = z
        self.log_w = log_w
        self.eta0 = eta0
        self.free_rows = free_rows
        self.free_cols = free_cols  # (n_free, k), padding and fixed a excluded
        self.shared_a = shared_a
        self.latent = latent
        self.sub = family.subset(free_rows)
        cat_ok = (family.cat_ok if isinstance(family, _Polytomous)
                  else np.ones((layout.n_items, 2), dtype=bool))
        self.cat_ok = cat_ok

    # -- packing -------------------------------------------------------------------------------
    def pack(self, eta: FloatArray, mu: float, sigma: float) -> FloatArray:
        rows = eta[self.free_rows]
        parts = [rows[self.free_cols]]
        if self.shared_a:
            parts.insert(0, eta[self.free_rows[:1], 0])
        if self.latent:
            parts.append(np.array([mu, math.log(sigma)]))
        return np.concatenate(parts)

    def unpack(self, x: FloatArray) -> tuple[FloatArray, float, float]:
        eta = self.eta0.copy()
        pos = 0
        if self.shared_a:
            eta[self.free_rows, 0] = x[0]
            pos = 1
        n_free = int(self.free_cols.sum())
        rows = eta[self.free_rows]
        rows[self.free_cols] = x[pos:pos + n_free]
        eta[self.free_rows] = rows
        mu, sigma = 0.0, 1.0
        if self.latent:
            mu, sigma = float(x[-2]), float(np.exp(np.clip(x[-1], -20.0, 20.0)))
        return eta, mu, sigma

    def valid(self, x: FloatArray) -> bool:
        if not np.all(np.isfinite(x)):
            return False
        eta, _, sigma = self.unpack(x)
        return bool(self.sub.valid(eta[self.free_rows]).all()) and 1e-6 < sigma < 1e6

    # -- steps ---------------------------------------------------------------------------------
    def table(self, eta: FloatArray, theta: FloatArray) -> FloatArray:
        t = self.family.log_table(eta, theta)
        t = np.where(self.cat_ok[:, :, None], np.maximum(t, _LOG_FLOOR), 0.0)
        return t.reshape(-1, theta.size)

    def estep(self, eta: FloatArray, mu: float, sigma: float, *, keep_post: bool = False) -> _EStep:
        theta = mu + sigma * self.z
        lay = self.layout
        post, log_marg = _posterior(np.asarray(lay.X @ self.table(eta, theta)), self.log_w)
        counts = np.asarray(lay.XT @ post).reshape(lay.n_items, lay.n_cat, -1).transpose(0, 2, 1)
        ez = post @ self.z
        m1 = float(ez.mean())
        var = float((post @ (self.z * self.z)).mean() - m1 * m1)
        return _EStep(float(log_marg.sum()), np.ascontiguousarray(counts), m1, var,
                      post if keep_post else None)

    def log_prior(self, eta: FloatArray) -> float:
        rows = eta[self.free_rows]
        if isinstance(self.sub, _Dichotomous):
            lp = float(self.sub.prior(rows, include_a=not self.shared_a)[0].sum())
            if self.shared_a and rows.size:
                lp += float(self.sub._a_prior(rows[:1, 0])[0][0])
            return lp
        return float(self.sub.prior(rows)[0].sum())

    def mstep(self, eta: FloatArray, counts: FloatArray, theta: FloatArray) -> FloatArray:
        rows = self.free_rows
        if rows.size == 0:
            return eta
        out = eta.copy()
        if self.shared_a and isinstance(self.sub, _Dichotomous):
            out[rows] = _fisher_scoring_shared_a(self.sub, eta[rows], counts[rows], theta)
        else:
            out[rows] = _fisher_scoring(self.sub, eta[rows], counts[rows], theta, ~self.free_cols)
        return out

    def __call__(self, x: FloatArray) -> tuple[FloatArray, float, float]:
        """One EM step from ``x``: return the new point, the log-posterior and log-likelihood at x."""
        eta, mu, sigma = self.unpack(x)
        e = self.estep(eta, mu, sigma)
        new_eta = self.mstep(eta, e.counts, mu + sigma * self.z)
        if self.latent:
            mu, sigma = mu + sigma * e.mean_z, sigma * math.sqrt(max(e.var_z, 1e-12))
        return (self.pack(new_eta, mu, sigma), e.log_likelihood + self.log_prior(eta),
                e.log_likelihood)


def _run_em(
    em: _EM, x0: FloatArray, *, max_iter: int, tol: float, accelerate: bool
) -> tuple[FloatArray, ConvergenceReport]:
    """Iterate the EM map, accelerated by SQUAREM (S3 step length, monotone safeguard)."""
    evals = 0

    def step(x: FloatArray) -> tuple[FloatArray, float, float]:
        nonlocal evals
        evals += 1
        return em(x)

    x1, obj0, ll0 = step(x0)
    history = [ll0]
    step_max = 1.0
    converged = False
    change = math.inf
    while True:
        r = x1 - x0
        change = float(np.abs(r).max()) if r.size else 0.0
        if change < tol:
            converged, x_final = True, x1
            break
        if evals >= max_iter:
            x_final = x1
            break
        if not accelerate:
            x0 = x1
            x1, obj0, ll0 = step(x0)
            history.append(ll0)
            continue
        x2, _, ll1 = step(x1)
        change2 = float(np.abs(x2 - x1).max())
        if change2 < tol:
            history.append(ll1)
            converged, x_final, change = True, x2, change2
            break
        v = x2 - x1 - r
        sv = float(np.sqrt(v @ v))
        alpha = 1.0 if sv == 0.0 else max(1.0, min(step_max, float(np.sqrt(r @ r)) / sv))
        xs = x2
        if alpha > 1.01:
            xp = x0 + 2.0 * alpha * r + alpha * alpha * v
            if em.valid(xp):
                xs, _, _ = step(xp)
                if not em.valid(xs):
                    xs = x2
        x1n, objn, lln = step(xs)
        if xs is not x2 and not (objn >= obj0 - 1e-10 * abs(obj0)):
            xs = x2
            x1n, objn, lln = step(x2)
            step_max = max(1.0, step_max / 4.0)
        elif alpha >= step_max:
            step_max *= 4.0
        x0, x1, obj0 = xs, x1n, objn
        history.append(lln)
    return x_final, ConvergenceReport(evals, converged, change, tuple(history), accelerate)


# ---------------------------------------------------------------------------------------------
# standard errors


def _response_scores(em: _EM, eta: FloatArray, theta: FloatArray, post: FloatArray,
                     keep: BoolArray) -> tuple[FloatArray, IntArray]:
    r"""Per-response marginal score :math:`m_r = \sum_q \pi_{pq}\,\partial\log P_{jx}(\theta_q)/\partial\eta`.

    Only responses with ``keep`` (to free items) are computed. Responses are grouped by item so that
    each item's scores are one matrix product (its learners' posterior rows times its score table).
    Returns the scores ``(n_kept, k)`` and the indices of the responses they belong to.
    """
    lay = em.layout
    q_n = theta.size
    g = em.family.score_table(eta, theta)  # (n, C, Q, k)
    k = g.shape[3]
    g2 = g.transpose(0, 2, 1, 3).reshape(lay.n_items, q_n, lay.n_cat * k)
    idx = np.flatnonzero(keep)
    order = idx[np.argsort(lay.item[idx], kind="stable")]
    bounds = np.searchsorted(lay.item[order], np.arange(lay.n_items + 1))
    cat = lay.col[order] - lay.item[order] * lay.n_cat
    out = np.empty((order.size, k))
    # products small enough for OpenBLAS to run them on one thread: its threads only contend with
    # each other (and with other processes) on matrices this thin
    rows_per_product = max(64, _BLAS_SINGLE_THREAD // (q_n * lay.n_cat * k))
    for j in np.flatnonzero(np.diff(bounds)).tolist():
        for lo in range(int(bounds[j]), int(bounds[j + 1]), rows_per_product):
            hi = min(lo + rows_per_product, int(bounds[j + 1]))
            prod = (post[lay.person[order[lo:hi]]] @ g2[j]).reshape(hi - lo, lay.n_cat, k)
            out[lo:hi] = prod[np.arange(hi - lo), cat[lo:hi]]
    return out, order


def _covariances(em: _EM, eta: FloatArray, mu: float, sigma: float,
                 post: FloatArray) -> tuple[FloatArray, str]:
    """Covariance blocks ``(n_items, k, k)`` of each item's parameters (NaN where fixed)."""
    lay = em.layout
    n, k = eta.shape
    cov = np.full((n, k, k), np.nan)
    rows = em.free_rows
    if rows.size == 0:
        return cov, "none"
    theta = mu + sigma * em.z
    is_free = np.zeros(n, dtype=bool)
    is_free[rows] = True
    keep = is_free[lay.item]
    m, resp = _response_scores(em, eta, theta, post, keep)
    person, item = lay.person[resp], lay.item[resp]
    # global parameter index of each (item, local parameter)
    gidx = np.full((n, k), -1, dtype=np.intp)
    local = np.full((rows.size, k), -1, dtype=np.intp)
    start = 1 if em.shared_a else 0
    local[em.free_cols] = np.arange(start, start + int(em.free_cols.sum()))
    if em.shared_a:
        local[:, 0] = 0
    gidx[rows] = local
    n_par = int(local.max()) + 1
    sub = em.sub
    sub_eta = eta[rows]
    if isinstance(sub, _Dichotomous):
        _, _, prior_info = sub.prior(sub_eta, include_a=not em.shared_a)
        if em.shared_a:
            prior_info[0, 0, 0] += float(sub._a_prior(sub_eta[:1, 0])[2][0])
    else:
        _, _, prior_info = sub.prior(sub_eta)
    nnz_cols = (local >= 0).sum(axis=1)[np.searchsorted(rows, item)]
    nnz_person = np.bincount(person, weights=nnz_cols, minlength=lay.n_persons)
    work_dense = float(lay.n_persons) * n_par * n_par
    work_sparse = float(np.sum(nnz_person ** 2))
    if n_par <= _SE_FULL_MAX_PARAMS and min(work_dense, 50.0 * work_sparse) <= _SE_FULL_MAX_WORK:
        g_rows = gidx[item]  # (R, k)
        ok = g_rows >= 0
        s_mat = sp.csr_matrix(
            (m[ok], (np.broadcast_to(person[:, None], ok.shape)[ok], g_rows[ok])),
            shape=(lay.n_persons, n_par))
        if work_dense <= 50.0 * work_sparse:
            info = np.zeros((n_par, n_par))
            for lo in range(0, lay.n_persons, 8192):
                block = s_mat[lo:lo + 8192].toarray()
                info += block.T @ block
        else:
            info = np.asarray((s_mat.T @ s_mat).toarray())
        for a_i in range(k):
            for b_i in range(k):
                ga, gb = local[:, a_i], local[:, b_i]
                okp = (ga >= 0) & (gb >= 0)
                np.add.at(info, (ga[okp], gb[okp]), prior_info[okp, a_i, b_i])
        try:
            full = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            full = np.linalg.pinv(info)
        loc_cov = np.full((rows.size, k, k), np.nan)
        for a_i in range(k):
            for b_i in range(k):
                ga, gb = local[:, a_i], local[:, b_i]
                okp = (ga >= 0) & (gb >= 0)
                loc_cov[okp, a_i, b_i] = full[ga[okp], gb[okp]]
        cov[rows] = loc_cov
        return cov, "xpd"
    # item blocks only
    pos = np.searchsorted(rows, item)
    blocks = np.zeros((rows.size, k, k))
    for a_i in range(k):
        for b_i in range(a_i, k):
            val = np.bincount(pos, weights=m[:, a_i] * m[:, b_i], minlength=rows.size)
            blocks[:, a_i, b_i] = val
            blocks[:, b_i, a_i] = val
    blocks += prior_info
    frozen = ~em.free_cols
    if em.shared_a:
        s_a = np.bincount(person, weights=m[:, 0], minlength=lay.n_persons)
        info_a = float(s_a @ s_a + prior_info[0, 0, 0])
        blocks[:, 0, :] = 0.0
        blocks[:, :, 0] = 0.0
        blocks[:, 0, 0] = 1.0
    keep_f = (~frozen).astype(np.float64)
    blocks = blocks * keep_f[:, :, None] * keep_f[:, None, :] + np.eye(k)[None] * frozen[:, :, None]
    try:
        loc_cov = np.linalg.inv(blocks)
    except np.linalg.LinAlgError:
        loc_cov = np.linalg.pinv(blocks)
    loc_cov = np.where(frozen[:, :, None] | frozen[:, None, :], np.nan, loc_cov)
    if em.shared_a:
        loc_cov[:, 0, :] = 0.0
        loc_cov[:, :, 0] = 0.0
        loc_cov[:, 0, 0] = 1.0 / info_a if info_a > 0 else np.nan
    cov[rows] = loc_cov
    return cov, "xpd-block"


def _safe_sqrt(v: FloatArray) -> FloatArray:
    return np.sqrt(np.where(np.isfinite(v) & (v >= 0), v, np.nan))


# ---------------------------------------------------------------------------------------------
# calibrate


def _check_model(model: str) -> str:
    name = str(model).lower()
    if name not in irt.MODELS:
        msg = f"unknown model {model!r}; valid models are {', '.join(irt.MODELS)}"
        raise CalibrationError(msg)
    return name


def _item_stats(data: ResponseData) -> tuple[IntArray, IntArray, IntArray]:
    n = data.n_items
    count = np.bincount(data.item, minlength=n).astype(np.intp)
    lo = np.full(n, np.iinfo(np.intp).max, dtype=np.intp)
    hi = np.full(n, -1, dtype=np.intp)
    np.minimum.at(lo, data.item, data.score)
    np.maximum.at(hi, data.item, data.score)
    return count, lo, hi


def _start_values(model: str, data_item: IntArray, score: IntArray, n_items: int, kmax: int,
                  tmask: BoolArray | None, priors: Priors) -> FloatArray:
    """Moment-based starting values on the N(0, 1) scale (a = 1)."""
    shrink = math.sqrt(1.0 + math.pi / 8.0)  # logistic-normal approximation
    if model in irt.DICHOTOMOUS:
        n = np.bincount(data_item, minlength=n_items).astype(np.float64)
        right = np.bincount(data_item, weights=score.astype(np.float64), minlength=n_items)
        p = (right + 0.5) / (n + 1.0)
        eta = np.zeros((n_items, 3 if model == "3pl" else 2))
        eta[:, 0] = 1.0
        if model == "3pl":
            c0 = 0.15
            if priors.c_beta is not None:
                al, be = priors.c_beta
                c0 = (al - 1.0) / (al + be - 2.0) if al + be > 2.0 else 0.15
            c0 = min(max(c0, 0.01), 0.4)
            p = np.clip((p - c0) / (1.0 - c0), 0.05, 0.95)
            eta[:, 2] = math.log(c0 / (1.0 - c0))
        eta[:, 1] = shrink * np.log(p / (1.0 - p))
        return eta
    assert tmask is not None
    counts = np.zeros((n_items, kmax + 1))
    np.add.at(counts, (data_item, score), 1.0)
    counts = np.where(np.concatenate([np.ones((n_items, 1), bool), tmask], axis=1),
                      counts + 0.5, 0.0)
    eta = np.zeros((n_items, kmax + 1))
    eta[:, 0] = 1.0
    if model == "grm":
        tail = np.cumsum(counts[:, ::-1], axis=1)[:, ::-1]  # n(X >= k)
        total = tail[:, :1]
        pk = np.clip(tail[:, 1:] / total, 1e-4, 1 - 1e-4)
        thr = np.clip(-shrink * np.log(pk / (1.0 - pk)), -8.0, 8.0)
        for k in range(1, kmax):  # keep them strictly increasing (empty categories tie at 8)
            thr[:, k] = np.maximum(thr[:, k], thr[:, k - 1] + 0.05)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            thr = np.clip(np.nan_to_num(shrink * np.log(counts[:, :-1] / counts[:, 1:])), -8.0, 8.0)
    eta[:, 1:] = np.where(tmask, thr, 0.0)
    return eta


def calibrate(
    data: ResponseData,
    model: str = "2pl",
    *,
    n_quadrature: int = 61,
    quadrature_bound: float = 6.0,
    anchors: ItemBank | None = None,
    priors: Priors | None = None,
    max_iter: int = 500,
    tol: float = 1e-4,
    accelerate: bool = True,
    standard_errors: bool = True,
    engine: str = "mml",
    categories: Mapping[str, int] | int | None = None,
) -> CalibrationResult:
    r"""Calibrate item parameters by marginal maximum likelihood (see the module docstring).

    Parameters
    ----------
    data : ResponseData
        Sparse responses; scores 0/1 for dichotomous models, 0..K for ``"gpcm"``/``"grm"``, where
        an item's K + 1 score categories are declared by ``categories`` or by ``anchors``.
    model : str
        ``"1pl"``, ``"2pl"``, ``"3pl"``, ``"gpcm"`` or ``"grm"``.
    n_quadrature : int
        Number of equally spaced quadrature nodes on ``[-quadrature_bound, quadrature_bound]``
        (the ``--quadrature N`` flag of ``thetapath calibrate``).
    anchors : ItemBank, optional
        Calibrated items held fixed; those whose ids appear in the data link the scale and free the
        ability mean and SD. They must all use ``model``.
    priors : Priors, optional
        Item priors; default ``Priors()``: none, except Beta(5, 17) on the 3PL ``c``.
    max_iter : int
        Largest number of EM-map evaluations.
    tol : float
        Convergence tolerance on the largest parameter change of one EM step.
    accelerate : bool
        Use SQUAREM (default) or plain EM.
    standard_errors : bool
        Compute SEs (cross-product information); False leaves them NaN.
    engine : str
        ``"mml"`` (this module) or ``"pyirt"``: pyirt 0.3.4's EM for the 2PL only, converted by
        :func:`from_pyirt_parameters`, with its bounds widened to :data:`PYIRT_ALPHA_BOUNDS` and
        :data:`PYIRT_BETA_BOUNDS`, ``n_quadrature`` nodes, no anchors, no priors and no standard
        errors; ``max_iter`` and ``tol`` mean the same as for ``"mml"`` (EM cycles, largest
        parameter change), and its estimates are put on the N(0, 1) metric (see
        :func:`_calibrate_pyirt`). pyirt's EM is slow to converge (about 100 cycles on LSAT7 for
        ``tol=1e-3``, each cycle pure Python).
    categories : int or mapping of str to int, optional
        Number of score categories (K + 1: 3 for scores 0..2) of every item (an int) or of the
        items named (a mapping from item id to count; every id must be in ``data``). An anchor
        item's count comes from the anchor bank. A score above an item's declared range raises
        :class:`~adaptive.errors.InvalidResponses` naming the item, the score, the range and (for
        data read by :func:`~adaptive.responses.read_responses_csv`) the line. Dichotomous models
        always have 2 categories. For ``"gpcm"``/``"grm"``, an item without a declared count gets
        its highest observed score as K, with a warning: one stray score (a 7 on an item scored
        0..2) would otherwise add phantom categories with meaningless thresholds. Declare them.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    CalibrationError
        Unknown model or engine, no responses, invalid ``categories`` (fewer than 2, an unknown
        item, a count that contradicts the model or an anchor), anchors of a different model,
        priors with the pyirt engine, or no item with varied responses.
    InvalidResponses
        A score outside its item's range: above 1 for a dichotomous model, above K for a declared
        or anchored polytomous item.
    """
    model = _check_model(model)
    if engine not in ENGINES:
        msg = f"unknown engine {engine!r}; valid engines are {', '.join(ENGINES)}"
        raise CalibrationError(msg)
    if data.n_responses == 0:
        msg = "there are no responses to calibrate from"
        raise CalibrationError(msg)
    if not (max_iter >= 1 and tol > 0 and math.isfinite(tol)):
        msg = f"max_iter must be >= 1 and tol > 0, got {max_iter} and {tol}"
        raise CalibrationError(msg)
    z, w = normal_quadrature(n_quadrature, quadrature_bound)
    if engine == "pyirt":
        if anchors is not None:
            msg = "the pyirt engine cannot hold anchor items fixed; use engine='mml'"
            raise CalibrationError(msg)
        if priors is not None and (priors.a_lognormal is not None or priors.b_normal is not None):
            msg = "the pyirt engine takes no priors on a or b; use engine='mml'"
            raise CalibrationError(msg)
    priors = priors if priors is not None else Priors()
    max_scores, inferred = _max_scores(data, model, categories, anchors)
    if engine == "pyirt":
        return _calibrate_pyirt(data, model, z, w, max_iter=max_iter, tol=tol)
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        return _calibrate_mml(data, model, z, w, anchors, priors, max_iter, tol, accelerate,
                              standard_errors, max_scores, inferred)


def _n_categories(value: object, item_id: str | None) -> int:
    """Check one declared number of score categories (an int >= 2)."""
    where = f" of item {item_id!r}" if item_id is not None else ""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 2:
        msg = (f"the number of score categories{where} must be a whole number >= 2 (3 for scores "
               f"0..2), got {value!r}")
        raise CalibrationError(msg)
    return int(value)


def _max_scores(
    data: ResponseData, model: str, categories: Mapping[str, int] | int | None,
    anchors: ItemBank | None,
) -> tuple[IntArray, BoolArray]:
    """Highest allowed score of every item of ``data``, and which of them were inferred.

    The range comes from ``categories``, else from an anchor, else (polytomous models only) from
    the highest observed score. Every response is then checked against it.

    Raises
    ------
    CalibrationError
        Invalid ``categories``, or ``categories`` contradicting the model or an anchor.
    InvalidResponses
        The first response (in data order) whose score is above its item's range.
    """
    n = data.n_items
    declared = np.full(n, -1, dtype=np.intp)
    if isinstance(categories, Mapping):
        for iid, value in categories.items():
            try:
                j = data.item_index(iid)
            except KeyError:
                msg = (f"categories names item {iid!r}, which has no responses in the data; "
                       "check the item id")
                raise CalibrationError(msg) from None
            declared[j] = _n_categories(value, iid) - 1
    elif categories is not None:
        declared[:] = _n_categories(categories, None) - 1
    if model in irt.DICHOTOMOUS:
        wrong = np.flatnonzero((declared >= 0) & (declared != 1))
        if wrong.size:
            j = int(wrong[0])
            msg = (f"model {model} has 2 score categories (0/1), but {int(declared[j]) + 1} "
                   f"are declared for item {data.items[j]!r}; use gpcm or grm for partial credit")
            raise CalibrationError(msg)
        declared[:] = 1
    from_anchor = np.zeros(n, dtype=bool)
    if anchors is not None:
        for j, iid in enumerate(data.items):
            if iid not in anchors.ids:
                continue
            pos = anchors.index(iid)
            if anchors.models[pos] != model:
                msg = (f"anchor item {iid!r} uses model {anchors.models[pos]} but the "
                       f"calibration model is {model}; anchors must use the same model")
                raise CalibrationError(msg)
            k = int(anchors.max_score[pos])
            if declared[j] >= 0 and declared[j] != k:
                msg = (f"{int(declared[j]) + 1} score categories are declared for item {iid!r} "
                       f"but the anchor bank gives it {k + 1} (scores 0..{k})")
                raise CalibrationError(msg)
            declared[j] = k
            from_anchor[j] = True
    inferred = declared < 0
    limit = np.where(inferred, np.iinfo(np.intp).max, declared)
    bad = data.score > limit[data.item]
    if bad.any():
        r = int(np.argmax(bad))
        j = int(data.item[r])
        iid, score, k = data.items[j], int(data.score[r]), int(declared[j])
        more = int(bad.sum()) - 1
        also = f" ({more} more score(s) are out of range too)" if more else ""
        who = f"learner {data.learners[data.person[r]]!r}"
        if model in irt.DICHOTOMOUS:
            msg = (f"item {iid!r} has score {score} ({who}) but model {model} takes scores 0/1 "
                   f"(0 = wrong, 1 = right){also}; use gpcm or grm for partial credit")
        else:
            origin = "in the anchor bank" if from_anchor[j] else "as declared"
            msg = (f"item {iid!r} has score {score} ({who}) but takes scores 0..{k} "
                   f"({k + 1} categories {origin}){also}; correct the score or declare more "
                   "categories")
        raise InvalidResponses(msg, source=data.source, line=data.line_of(r))
    if inferred.any():
        _, _, hi = _item_stats(data)
        declared = np.where(inferred, np.maximum(hi, 1), declared)
    return declared, inferred


def _calibrate_mml(
    data: ResponseData, model: str, z: FloatArray, w: FloatArray, anchors: ItemBank | None,
    priors: Priors, max_iter: int, tol: float, accelerate: bool, standard_errors: bool,
    max_scores: IntArray, inferred: BoolArray,
) -> CalibrationResult:
    notes: list[str] = []
    count, lo, hi = _item_stats(data)
    # -- anchors (their model and score range were checked by _max_scores) ----------------------
    anchor_pos = np.full(data.n_items, -1, dtype=np.intp)
    if anchors is not None:
        for j, iid in enumerate(data.items):
            if iid in anchors.ids and count[j] > 0:
                anchor_pos[j] = anchors.index(iid)
        if not (anchor_pos >= 0).any():
            notes.append("none of the anchor items appear in the data; the calibration is not "
                          "linked to the anchors' scale")
    is_anchor = anchor_pos >= 0
    # -- items that cannot be calibrated -------------------------------------------------------
    excluded: list[str] = []
    for j in np.flatnonzero(~is_anchor & ((count == 0) | (lo == hi))).tolist():
        iid = data.items[j]
        excluded.append(iid)
        if count[j] == 0:
            notes.append(f"item {iid!r} has no responses; it is left out of the bank")
        else:
            notes.append(f"item {iid!r}: all {int(count[j])} responses are {int(lo[j])}, so its "
                         "parameters cannot be estimated; it is left out of the bank")
    kept = np.flatnonzero(is_anchor | ((count > 0) & (lo != hi)))
    if kept.size == 0:
        msg = "no item has varied responses; every item was answered with a single score"
        raise CalibrationError(msg)
    guessed = [data.items[j] for j in kept if inferred[j]]
    if model in irt.POLYTOMOUS and guessed:
        shown = ", ".join(repr(iid) for iid in guessed[:5]) + (
            f" and {len(guessed) - 5} more" if len(guessed) > 5 else "")
        notes.append(f"the number of score categories of {len(guessed)} item(s) ({shown}) was "
                     "inferred from the highest score observed; one stray score would add "
                     "phantom categories: declare them (categories=..., or thetapath calibrate "
                     "--categories N)")
    n = int(kept.size)
    new_index = np.full(data.n_items, -1, dtype=np.intp)
    new_index[kept] = np.arange(n)
    sel = new_index[data.item] >= 0
    item = new_index[data.item[sel]]
    score = data.score[sel].astype(np.intp)
    anchored = is_anchor[kept]
    apos = anchor_pos[kept]
    # -- model structure -------------------------------------------------------------------------
    tmask: BoolArray | None = None
    poor_thr: BoolArray | None = None
    poor_b: BoolArray | None = None
    family: _Family
    if model in irt.DICHOTOMOUS:
        family = _Dichotomous(model, n, priors)
        kmax = 1
    else:
        k_item = max_scores[kept].copy()
        kmax = int(k_item.max())
        tmask = np.arange(kmax)[None, :] < k_item[:, None]
        family = _Polytomous(model, tmask, priors)
        seen = np.zeros((n, kmax + 1), dtype=bool)
        seen[item, score] = True
        unseen = np.arange(kmax + 1)[None, :] <= k_item[:, None]
        unseen &= ~seen & ~anchored[:, None]
        # threshold t (0-based) separates categories t and t + 1
        poor_thr = unseen[:, :-1] | unseen[:, 1:]
        # an empty lowest or highest category sends a threshold to its bound, and b with it
        poor_b = unseen[:, 0] | unseen[np.arange(n), k_item]
        for jj in np.flatnonzero(unseen.any(axis=1)):
            empty = [int(c) for c in np.flatnonzero(unseen[jj])]
            notes.append(f"item {data.items[kept[jj]]!r}: no responses in score categories "
                         f"{empty} (of 0..{int(k_item[jj])}); the thresholds next to them cannot "
                         "be estimated and have no SEs (check the declared categories, or "
                         "collect more responses)")
    eta0 = _start_values(model, item, score, n, kmax, tmask, priors)
    shared_a = model == "1pl"
    if anchors is not None and anchored.any():
        ap = apos[anchored]
        a_fix = anchors.a[ap]
        if model in irt.DICHOTOMOUS:
            eta0[anchored, 0] = a_fix
            eta0[anchored, 1] = -a_fix * anchors.b[ap]
            if model == "3pl":
                c_fix = anchors.c[ap]
                eta0[anchored, 2] = np.log(c_fix) - np.log1p(-c_fix)
        else:
            eta0[anchored, 0] = a_fix
            eta0[anchored, 1:] = np.nan_to_num(anchors.thresholds[ap][:, :kmax])
        if shared_a:
            if not np.allclose(a_fix, a_fix[0], rtol=1e-9, atol=0.0):
                msg = "1PL anchors must share one discrimination; found several values of a"
                raise CalibrationError(msg)
            eta0[:, 0] = a_fix[0]
            shared_a = False  # the common a is the anchors': fixed
    free_rows = np.flatnonzero(~anchored).astype(np.intp)
    free_cols = ~family.subset(free_rows).frozen()
    if model == "1pl" and not shared_a:
        free_cols[:, 0] = False
    latent = bool(anchored.any())
    layout = _Layout.build(data.person[sel], item, score, n, family.n_cat)
    em = _EM(family, layout, z, np.log(w), eta0, free_rows, free_cols, shared_a=shared_a,
             latent=latent)
    x0 = em.pack(eta0, 0.0, 1.0)
    x, report = _run_em(em, x0, max_iter=max_iter, tol=tol, accelerate=accelerate)
    eta, mu, sigma = em.unpack(x)
    final = em.estep(eta, mu, sigma, keep_post=standard_errors)
    if not report.converged:
        notes.append(f"the EM did not converge in {report.iterations} iterations (last change "
                     f"{report.max_change:.3g} > tol {tol:g}); raise max_iter")
    cov = np.full((n, family.k, family.k), np.nan)
    se_method = "none"
    if standard_errors and final.post is not None and free_rows.size:
        cov, se_method = _covariances(em, eta, mu, sigma, final.post)
    return _assemble(data, model, kept, anchored, apos, anchors, eta, cov, tmask, final,
                     report, notes, excluded, mu, sigma, z.size, se_method, free_rows, priors,
                     poor_thr, poor_b)


def _assemble(
    data: ResponseData, model: str, kept: IntArray, anchored: BoolArray, apos: IntArray,
    anchors: ItemBank | None, eta: FloatArray, cov: FloatArray, tmask: BoolArray | None,
    final: _EStep, report: ConvergenceReport, notes: list[str], excluded: list[str],
    mu: float, sigma: float, n_quadrature: int, se_method: str, free_rows: IntArray,
    priors: Priors, poor_thr: BoolArray | None, poor_b: BoolArray | None,
) -> CalibrationResult:
    n = int(kept.size)
    kmax = 0 if tmask is None else int(tmask.shape[1])
    se_a = _safe_sqrt(cov[:, 0, 0])
    se_c = np.full(n, np.nan)
    se_thr = np.full((n, kmax), np.nan)
    items: list[ItemParameters] = []
    if model in irt.DICHOTOMOUS:
        a, d = eta[:, 0], eta[:, 1]
        b = -d / a
        grad = np.stack([d / (a * a), -1.0 / a], axis=1)
        # a fixed parameter (the anchors' common 1PL a) contributes no variance
        cov_ad = np.nan_to_num(cov[:, :2, :2])
        se_b = np.where(np.isnan(cov[:, 1, 1]), np.nan,
                        _safe_sqrt(np.einsum("nk,nkl,nl->n", grad, cov_ad, grad)))
        c = expit(eta[:, 2]) if model == "3pl" else np.zeros(n)
        if model == "3pl":
            se_c = c * (1.0 - c) * _safe_sqrt(cov[:, 2, 2])
        for jj in range(n):
            iid = data.items[kept[jj]]
            if anchored[jj] and anchors is not None:
                items.append(anchors.item(int(apos[jj])))
                continue
            items.append(ItemParameters(id=iid, model=model, a=float(a[jj]), b=float(b[jj]),
                                        c=float(c[jj]) if model == "3pl" else 0.0))
    else:
        assert tmask is not None
        k_item = tmask.sum(axis=1)
        var_thr = np.diagonal(cov[:, 1:, 1:], axis1=1, axis2=2)
        se_thr = np.where(tmask, _safe_sqrt(var_thr), np.nan)
        both = tmask[:, :, None] & tmask[:, None, :]
        var_b = np.where(both, cov[:, 1:, 1:], 0.0).sum(axis=(1, 2)) / (k_item * k_item)
        se_b = np.where(np.isnan(cov[:, 1, 1]), np.nan, _safe_sqrt(var_b))
        if poor_thr is not None and poor_b is not None:
            # a threshold next to an empty category is not identified (it runs off to its bound,
            # or meets its neighbour): its "SE" is an artefact, tiny or huge, so none is reported.
            # The mean threshold b stays identified unless the lowest or highest category is empty.
            se_thr = np.where(poor_thr, np.nan, se_thr)
            se_b = np.where(poor_b, np.nan, se_b)
        for jj in range(n):
            iid = data.items[kept[jj]]
            if anchored[jj] and anchors is not None:
                items.append(anchors.item(int(apos[jj])))
                continue
            thr = tuple(float(t) for t in eta[jj, 1:1 + int(k_item[jj])])
            items.append(ItemParameters(id=iid, model=model, a=float(eta[jj, 0]),
                                        b=float(np.mean(thr)), thresholds=thr))
    bank = ItemBank.from_items(items)
    free = np.zeros(n, dtype=bool)
    free[free_rows] = True
    notes.extend(_implausible(bank, se_a, se_b, free, data, kept, priors, model == "1pl"))
    for arr in (se_a, se_b, se_c, se_thr):
        arr.setflags(write=False)
    return CalibrationResult(
        model=model, engine="mml", bank=bank, se_a=se_a, se_b=se_b, se_c=se_c,
        se_thresholds=se_thr, log_likelihood=final.log_likelihood, convergence=report,
        warnings=tuple(notes), excluded=tuple(excluded),
        anchors=tuple(bank.ids[j] for j in np.flatnonzero(anchored)),
        population_mean=float(mu), population_sd=float(sigma), n_quadrature=n_quadrature,
        se_method=se_method)


def _implausible(
    bank: ItemBank, se_a: FloatArray, se_b: FloatArray, free: BoolArray, data: ResponseData,
    kept: IntArray, priors: Priors, common_a: bool, engine: str = "mml",
) -> list[str]:
    """Warnings for estimated items whose ``a`` is at a bound or implausible, or whose SEs are large.

    ``bank`` rows correspond to ``data.items[kept]``; only ``free`` rows (not anchors) are checked
    against :data:`PLAUSIBLE_A_MAX`, :data:`PLAUSIBLE_SE_A_MAX` and :data:`PLAUSIBLE_SE_B_MAX`.
    Each warning names the item, says how few responses it rests on and suggests a prior.
    """
    notes: list[str] = []
    count = np.bincount(data.item, minlength=data.n_items)
    right = np.bincount(data.item, weights=(data.score > 0).astype(np.float64),
                        minlength=data.n_items)
    first = int(np.argmax(free)) if free.any() else -1
    for jj in np.flatnonzero(free).tolist():
        iid = bank.ids[jj]
        a, sa, sb = float(bank.a[jj]), float(se_a[jj]), float(se_b[jj])
        check_a = not common_a or jj == first
        if check_a and a < 1.5 * A_BOUNDS[0]:
            notes.append(f"item {iid!r}: discrimination {a:.3g} is at its lower bound; the item "
                         "may discriminate negatively or not at all (check its key)")
            continue
        what = "the common discrimination" if common_a else "discrimination"
        a_problems = []
        if check_a and a > PLAUSIBLE_A_MAX:
            at = " (at its upper bound)" if a > 0.98 * A_BOUNDS[1] else ""
            a_problems.append(f"{what} a = {a:.3g}{at} is implausibly large "
                              f"(> {PLAUSIBLE_A_MAX:g})")
        if check_a and sa > PLAUSIBLE_SE_A_MAX:
            a_problems.append(f"SE(a) = {sa:.3g} > {PLAUSIBLE_SE_A_MAX:g}")
        b_problem = ([f"SE(b) = {sb:.3g} > {PLAUSIBLE_SE_B_MAX:g}"]
                     if sb > PLAUSIBLE_SE_B_MAX else [])
        if not a_problems and not b_problem:
            continue
        j = int(kept[jj])
        n_all, n_up = int(count[j]), int(right[j])
        if bank.models[jj] in irt.DICHOTOMOUS:
            few, label = min(n_up, n_all - n_up), ("0" if n_all - n_up <= n_up else "1")
            basis = f"only {few} of its {n_all} responses are {label}"
        else:
            basis = f"it has {n_all} responses, {n_all - n_up} of them 0"
        if a_problems and priors.a_lognormal is None:
            m, sd = SUGGESTED_A_PRIOR
            mml = " the mml engine with" if engine != "mml" else ""
            advice = (f"{mml} a lognormal prior on a bounds it: priors=Priors(a_lognormal=({m:g}, "
                      f"{sd:g})), or thetapath calibrate --a-prior lognormal:{m:g},{sd:g}").strip()
        elif not a_problems and priors.b_normal is None:
            m, sd = SUGGESTED_B_PRIOR
            advice = (f"a normal prior on b bounds it: priors=Priors(b_normal=({m:g}, {sd:g})), "
                      f"or thetapath calibrate --b-prior normal:{m:g},{sd:g}")
        else:
            which = "a" if a_problems else "b"
            advice = (f"the prior on {which} leaves it this uncertain: review the item, tighten the "
                      "prior, or leave the item out until it has more responses")
        notes.append(f"item {iid!r}: {'; '.join(a_problems + b_problem)}: the estimate is poorly "
                     f"determined ({basis}); {advice}")
    return notes


# ---------------------------------------------------------------------------------------------
# scoring with a calibrated bank


def _bank_posterior(
    bank: ItemBank, data: ResponseData, n_quadrature: int, bound: float, mean: float, sd: float,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Posterior weights ``(n_learners, Q)``, log marginal per learner and the theta nodes."""
    if not (math.isfinite(mean) and math.isfinite(sd) and sd > 0):
        msg = f"the ability prior needs a finite mean and sd > 0, got {mean}, {sd}"
        raise CalibrationError(msg)
    z, w = normal_quadrature(n_quadrature, bound)
    theta = mean + sd * z
    post, log_marg = _bank_log_marginals(bank, data, theta, np.log(w))
    return post, log_marg, theta


def _bank_log_marginals(
    bank: ItemBank, data: ResponseData, theta: FloatArray, log_w: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Posterior weights ``(n_learners, Q)`` and log marginal likelihood of each learner."""
    pos = np.empty(data.n_items, dtype=np.intp)
    for j, iid in enumerate(data.items):
        if iid not in bank.ids:
            msg = f"item {iid!r} in the responses is not in the bank"
            raise InvalidResponses(msg)
        pos[j] = bank.index(iid)
    item = pos[data.item]
    too_high = data.score > bank.max_score[item]
    if too_high.any():
        r = int(np.argmax(too_high))
        msg = (f"item {data.items[data.item[r]]!r} has score {int(data.score[r])} but the bank "
               f"item takes scores 0..{int(bank.max_score[item[r]])}")
        raise InvalidResponses(msg)
    with np.errstate(divide="ignore"):
        probs = bank.category_probabilities(theta)  # (Q, n_items, width)
        table = np.maximum(np.log(probs), _LOG_FLOOR).transpose(1, 2, 0)
    width = probs.shape[2]
    x = sp.csr_matrix(
        (np.ones(data.n_responses), (data.person, item * width + data.score)),
        shape=(data.n_learners, len(bank) * width))
    with np.errstate(divide="ignore"):
        return _posterior(np.asarray(x @ table.reshape(-1, theta.size)), log_w)


def eap_scores(
    bank: ItemBank, data: ResponseData, *, n_quadrature: int = 61, quadrature_bound: float = 6.0,
    mean: float = 0.0, sd: float = 1.0,
) -> EAPScores:
    r"""EAP abilities and posterior SDs of every learner in ``data``, vectorised.

    .. math:: \hat\theta_p = \frac{\sum_q \theta_q w_q L_p(\theta_q)}{\sum_q w_q L_p(\theta_q)},\quad
              \mathrm{SD}_p^2 = \frac{\sum_q (\theta_q - \hat\theta_p)^2 w_q L_p(\theta_q)}
              {\sum_q w_q L_p(\theta_q)}

    on the nodes :math:`\theta_q = \mu + \sigma z_q` with the N(mean, sd²) prior. A learner without
    responses gets the prior mean and SD.

    Raises
    ------
    InvalidResponses
        An item of the data is not in the bank, or a score exceeds the item's highest category.
    """
    post, _, theta = _bank_posterior(bank, data, n_quadrature, quadrature_bound, mean, sd)
    est = post @ theta
    var = np.maximum(post @ (theta * theta) - est * est, 0.0)
    return EAPScores(data.learners, est, np.sqrt(var))


def marginal_log_likelihood(
    bank: ItemBank, data: ResponseData, *, n_quadrature: int = 61, quadrature_bound: float = 6.0,
    mean: float = 0.0, sd: float = 1.0,
) -> float:
    r"""Marginal log-likelihood :math:`\sum_p \log \sum_q w_q L_p(\theta_q)` of ``data`` under ``bank``."""
    _, log_marg, _ = _bank_posterior(bank, data, n_quadrature, quadrature_bound, mean, sd)
    return float(log_marg.sum())


# ---------------------------------------------------------------------------------------------
# pyirt backend

PYIRT_ALPHA_BOUNDS = (0.05, 8.0)
"""Bounds on pyirt's slope (its default [0.25, 2] truncates real discriminations)."""

PYIRT_BETA_BOUNDS = (-30.0, 30.0)
"""Bounds on pyirt's intercept (its default [-2, 2] caps |b| at 2/a)."""


class _InlineProcess:
    """Stands in for ``multiprocessing.Process`` in pyirt: runs its target at ``start()``."""

    def __init__(self, target: Any, args: tuple[Any, ...] = ()) -> None:
        self._run = (target, args)

    def start(self) -> None:
        target, args = self._run
        target(*args)

    def is_alive(self) -> bool:
        return False

    def join(self, timeout: float | None = None) -> None:
        return None

    def terminate(self) -> None:
        return None


class _InlineManager:
    """Stands in for ``multiprocessing.Manager()`` in pyirt: its shared dict is a plain dict."""

    def dict(self) -> dict[Any, Any]:
        return {}


@contextlib.contextmanager
def _inline_pyirt(module: Any) -> Iterator[None]:
    """Run pyirt's per-step worker processes inline, in this process.

    pyirt 0.3.4 forks a process and starts a manager server for every E-step, count and M-step,
    even with ``is_parallel=False``: most of a cycle's time on small data, and unsafe in a threaded
    web server. Its workers only fill a dict, so running their target directly computes the same
    thing. ``module`` is ``pyirt.solver.model``; its ``mp`` is restored afterwards.
    """
    saved = module.mp
    module.mp = types.SimpleNamespace(Process=_InlineProcess, Manager=_InlineManager,
                                      cpu_count=lambda: 1)
    try:
        yield
    finally:
        module.mp = saved


@contextlib.contextmanager
def _quiet_pyirt() -> Iterator[None]:
    """Import and run pyirt without its progress bars, log records, warnings or global side effects.

    pyirt sets ``np.seterr(over="raise")`` on import and installs a pyximport hook; both are undone.
    Its progress bars (tqdm, written to stderr by forked workers) go to a discarded buffer.
    """
    saved_err = np.geterr()
    saved_meta = list(sys.meta_path)
    disabled = logging.root.manager.disable
    sink = io.StringIO()
    try:
        logging.disable(logging.CRITICAL)
        with warnings.catch_warnings(), contextlib.redirect_stderr(sink), \
                contextlib.redirect_stdout(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(disabled)
        np.seterr(**saved_err)
        sys.meta_path[:] = saved_meta


def _calibrate_pyirt(
    data: ResponseData, model: str, z: FloatArray, w: FloatArray, *, max_iter: int, tol: float,
) -> CalibrationResult:
    r"""Calibrate with pyirt 0.3.4 (``pyirt.solver.model.IRT_MMLE_2PL``) and put it on our metric.

    pyirt fits :math:`P = 1/(1 + e^{-(\alpha\theta + \beta)})` by EM on the nodes ``z``,
    re-estimating the ability distribution as a free histogram on them every cycle. Its default
    bounds, :math:`\alpha \in [0.25, 2]` and :math:`\beta \in [-2, 2]`, are widened to
    :data:`PYIRT_ALPHA_BOUNDS` and :data:`PYIRT_BETA_BOUNDS`. pyirt estimates only dichotomous 2PL
    items (its guessing parameters are fixed inputs) and gives no standard errors.

    Convergence. pyirt's own loop (``solve_EM``) stops when the average per-response likelihood at
    the learners' EAP abilities changes by less than its tolerance, *or decreases*, or after
    ``max_iter`` cycles, and tells none of these apart. Here its E- and M-steps are driven cycle by
    cycle instead, and the stopping rule is the mml engine's: the largest absolute change of any
    :math:`\alpha` or :math:`\beta` (slope and intercept, our :math:`a` and :math:`d`) over one
    cycle below ``tol``; ``converged`` is False when ``max_iter`` cycles end first. The
    log-likelihood history is pyirt's marginal log-likelihood after each cycle, under its
    histogram.

    Metric. The histogram drifts away from N(0, 1) (on LSAT7 it ends near N(0.6, 0.95²)), so
    pyirt's parameters are on another scale. The mean :math:`m` and SD :math:`s` of the normal
    ability distribution that best fits the data given pyirt's items are found by marginal maximum
    likelihood with every item held fixed (the fixed-anchor EM of this module), and the items are
    moved to the N(0, 1) metric by :math:`\theta' = (\theta - m)/s`:

    .. math:: a' = a s,\qquad b' = (b - m) / s

    with :math:`a = \alpha, b = -\beta/\alpha` (:func:`from_pyirt_parameters`). The reported
    log-likelihood is ours (:func:`marginal_log_likelihood`, N(0, 1)) at the rescaled items.
    """
    if model != "2pl":
        msg = (f"the pyirt engine fits only the dichotomous 2PL (its guessing parameters are "
               f"fixed inputs and it has no polytomous models), not {model}; use engine='mml'")
        raise CalibrationError(msg)
    notes: list[str] = []
    count, lo, hi = _item_stats(data)
    bad = (count == 0) | (lo == hi)
    excluded = [data.items[j] for j in np.flatnonzero(bad)]
    for iid in excluded:
        notes.append(f"item {iid!r}: all its responses are identical (or there are none), so its "
                     "parameters cannot be estimated; it is left out of the bank")
    if len(excluded) == data.n_items:
        msg = "no item has varied responses; every item was answered with a single score"
        raise CalibrationError(msg)
    kept = np.flatnonzero(~bad)
    keep = ~bad[data.item]
    sub = ResponseData(data.learners, tuple(data.items[j] for j in kept), data.person[keep],
                       np.searchsorted(kept, data.item[keep]).astype(np.intp), data.score[keep])
    records = list(zip(sub.person.tolist(), sub.item.tolist(), sub.score.tolist(), strict=True))
    ids = sub.items
    bound = float(-z[0])
    history: list[float] = []
    converged = False
    change = math.inf
    with _quiet_pyirt():
        import pyirt.solver.model as pyirt_model
        from pyirt.dao import localDAO
        from pyirt.solver.model import IRT_MMLE_2PL

        quiet = logging.getLogger("adaptive.calibration.pyirt")
        # over="raise" is pyirt's own setting, which its optimiser relies on
        with np.errstate(over="raise"), _inline_pyirt(pyirt_model):
            dao = localDAO(records, quiet)
            mod = IRT_MMLE_2PL(dao, quiet, dao_type="memory", is_parallel=False, num_cpu=1,
                               mode="debug")
            mod.set_options([-bound, bound], int(z.size), list(PYIRT_ALPHA_BOUNDS),
                            list(PYIRT_BETA_BOUNDS), max_iter, tol)
            mod.set_guess_param({})
            # pyirt numbers items in its own order; ``ours[i]`` is our index of its item i
            ours = np.array([dao.translate("item", i) for i in range(len(ids))], dtype=np.intp)
            mod._init_item_param()
            last = state = _pyirt_state(mod.item_param_dict, ours)
            iterations = 0
            while iterations < max_iter:
                mod._exp_step()
                mod._max_step()
                iterations += 1
                state = _pyirt_state(mod.item_param_dict, ours)
                change = float(np.abs(state - last).max())
                last = state
                with np.errstate(all="ignore"):
                    dens = np.asarray(mod.theta_density, dtype=np.float64)
                    _, log_marg = _bank_log_marginals(_pyirt_bank(state, ids), sub, z,
                                                      np.log(dens))
                history.append(float(log_marg.sum()))
                if change < tol:
                    converged = True
                    break
    if not converged:
        notes.append(f"pyirt's EM did not converge in {iterations} cycles (last change "
                     f"{change:.3g} > tol {tol:g}); raise max_iter")
    raw = _pyirt_bank(state, ids)
    # the normal ability distribution implied by pyirt's items: every item held fixed
    with np.errstate(divide="ignore", over="ignore", under="ignore"):
        scale = _calibrate_mml(
            sub, model, z, w, raw, Priors(), 1000, 1e-7, True, False,
            np.ones(len(ids), dtype=np.intp), np.zeros(len(ids), dtype=bool))
    m, s = scale.population_mean, scale.population_sd
    if not scale.converged:
        notes.append("the ability mean and SD used to put pyirt's estimates on the N(0, 1) metric "
                     "did not converge; the rescaled parameters are approximate")
    bank = ItemBank.from_items(
        ItemParameters(id=iid, model="2pl", a=float(raw.a[i] * s), b=float((raw.b[i] - m) / s))
        for i, iid in enumerate(ids))
    ll = marginal_log_likelihood(bank, sub, n_quadrature=int(z.size), quadrature_bound=bound)
    nan = np.full(len(ids), np.nan)
    nan.setflags(write=False)
    notes.extend(_implausible(bank, nan, nan, np.ones(len(ids), dtype=bool), data, kept,
                              Priors(), False, "pyirt"))
    report = ConvergenceReport(iterations, converged, change, tuple(history), accelerated=False)
    return CalibrationResult(
        model=model, engine="pyirt", bank=bank, se_a=nan, se_b=nan, se_c=nan,
        se_thresholds=np.full((len(ids), 0), np.nan), log_likelihood=ll, convergence=report,
        warnings=tuple(notes), excluded=tuple(excluded), n_quadrature=int(z.size),
        se_method="none")


def _pyirt_state(params: Mapping[int, Mapping[str, float]], ours: IntArray) -> FloatArray:
    """pyirt's ``(alpha, beta)`` of every item, ``(n, 2)``, in our item order."""
    out = np.empty((ours.size, 2))
    for i, j in enumerate(ours.tolist()):
        out[j] = (float(params[i]["alpha"]), float(params[i]["beta"]))
    return out


def _pyirt_bank(state: FloatArray, ids: tuple[str, ...]) -> ItemBank:
    """The items of pyirt's ``(alpha, beta)`` on pyirt's own ability scale."""
    a, b = from_pyirt_parameters(state[:, 0], state[:, 1])
    return ItemBank.from_items(ItemParameters(id=iid, model="2pl", a=float(a[i]), b=float(b[i]))
                               for i, iid in enumerate(ids))
