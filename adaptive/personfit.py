r"""Person fit: is a response pattern one that some ability explains?

A learner who answers by a constant option position, or gets the hard items right and the easy ones
wrong, can end up with an ordinary-looking ability estimate. The log-likelihood of the whole pattern
shows it: it is far lower than the model expects at that ability. This module standardises that
log-likelihood so that one threshold works for every test, and :func:`person_fit` turns it into a
decision used to refuse credit for an attempt.

Notation
--------
Item :math:`j` has score categories :math:`k = 0..K_j` with probabilities :math:`P_{jk}(\theta)`
(:mod:`adaptive.irt`; dichotomous items have :math:`K_j = 1`), :math:`d_{jk} = 1` when the observed
score on item :math:`j` is :math:`k`. Every model of the engine (1PL/2PL/3PL, GPCM, GRM) is handled by
the same category-level formulas, so mixed banks need nothing special.

:math:`l_z` (Drasgow, Levine & Williams 1985)
    The log-likelihood of the pattern, centred and scaled by its mean and variance at :math:`\theta`:

    .. math::
        l_0 = \sum_j \sum_k d_{jk}\log P_{jk},\qquad
        E(l_0) = \sum_j \sum_k P_{jk}\log P_{jk},

        \operatorname{Var}(l_0) = \sum_j \Bigl[\sum_k P_{jk}(\log P_{jk})^2
            - \Bigl(\sum_k P_{jk}\log P_{jk}\Bigr)^2\Bigr],\qquad
        l_z = \frac{l_0 - E(l_0)}{\sqrt{\operatorname{Var}(l_0)}}

    For 0/1 items this is the familiar :math:`\sum_j (u_j - P_j)\log\frac{P_j}{1-P_j}` over
    :math:`\sqrt{\sum_j P_j(1-P_j)\log^2\frac{P_j}{1-P_j}}`. It is standard normal only at the *true*
    ability; at an estimate its variance is too small (Molenaar & Hoijtink 1990), so a fixed threshold
    flags fewer patterns than it should.

:math:`l_z^*` (Snijders 2001; polytomous form of Sinharay 2016)
    Write :math:`l_0 - E(l_0) = W_n(\theta) = \sum_j\sum_k (d_{jk} - P_{jk})\, w_{jk}` with
    :math:`w_{jk} = \log P_{jk}`, and let :math:`\hat\theta` solve the estimating equation

    .. math:: \sum_j\sum_k d_{jk}\, r_{jk}(\theta) + r_0(\theta) = 0,\qquad
              r_{jk} = \frac{P'_{jk}}{P_{jk}} = \frac{\partial \log P_{jk}}{\partial\theta}

    with :math:`r_0` set by the estimator (below). The correction projects :math:`w` off the score:

    .. math::
        c_n(\theta) = \frac{\sum_j\sum_k P'_{jk}\, w_{jk}}{\sum_j\sum_k P'_{jk}\, r_{jk}}
                    = \frac{\sum_j\sum_k P_{jk} r_{jk} \log P_{jk}}{I(\theta)},\qquad
        \tilde w_{jk} = w_{jk} - c_n r_{jk},

        \tau_n^2(\theta) = \sum_j \Bigl[\sum_k P_{jk}\tilde w_{jk}^2
            - \Bigl(\sum_k P_{jk}\tilde w_{jk}\Bigr)^2\Bigr],\qquad
        l_z^* = \frac{W_n(\hat\theta) + c_n(\hat\theta)\, r_0(\hat\theta)}{\tau_n(\hat\theta)}

    all evaluated at :math:`\hat\theta`. For 0/1 items this is exactly Snijders' (2001) statistic with
    :math:`w_j = \log\frac{P_j}{1-P_j}`, :math:`r_j = \frac{P'_j}{P_j(1-P_j)}` and
    :math:`\tau_n^2 = \sum_j \tilde w_j^2 P_j(1-P_j)`, as in Magis, Raîche & Béland (2012, JEBS
    37(1)); for polytomous items it is the category-level generalisation of Sinharay (2016,
    Psychometrika 81(4)). Because :math:`\hat\theta` solves its estimating equation,
    :math:`W_n + c_n r_0 = \sum_j\sum_k (d_{jk} - P_{jk})\tilde w_{jk}`: the part of the
    log-likelihood that the ability estimate cannot absorb, divided by its own standard deviation. It
    is asymptotically N(0, 1) when the model holds.

Which :math:`\theta` to pass
    :math:`l_z^*` is correct only for the estimator whose :math:`r_0` it is told about:

    * ``"ml"``: maximum likelihood, :math:`r_0 = 0` (the engine has no ML estimator; any exact root
      of the likelihood equation);
    * ``"wle"``: Warm's (1989) weighted likelihood, :class:`adaptive.WLE`,
      :math:`r_0 = J/(2I)` with :math:`I = \sum_{jk} P_{jk}'^2/P_{jk}` and
      :math:`J = \sum_{jk} P'_{jk}P''_{jk}/P_{jk}`;
    * ``"map"``: the posterior mode under a N(μ, σ²) prior, :class:`adaptive.MAP`,
      :math:`r_0 = -(\theta - \mu)/\sigma^2`.

    The EAP estimate that adaptive tests report is not the root of such an equation: for person fit
    re-estimate the attempt's ability with :class:`adaptive.WLE` or with :class:`adaptive.MAP` and
    the test's prior, and say which. Pass scored items only (pilot items have provisional
    parameters).

Adaptive tests
    Snijders' theory is for a fixed set of items. When the items were chosen from the answers and sit
    near the learner's ability (a CAT), :math:`l_z^*` comes out too high on average: in the test
    suite's simulation (randomesque CAT to SE 0.3, about 21 items, MAP re-estimation) honest learners
    had mean 0.54 and SD 0.81, and 0.7 % were flagged at -1.645 instead of 5 %. The decision is then
    conservative: fewer false flags, less power (a learner answering at random was still flagged
    about half the time).

Derivatives are analytic, per model (:math:`s = \sigma(a(\theta - b))`, :math:`P^*_k` the GRM
boundary curves with :math:`P^*_0 = 1`, :math:`P^*_{K+1} = 0`):

* 1PL/2PL/3PL: :math:`r_{j1} = a(1 - s)\frac{(1 - c)s}{P_{j1}}`, :math:`r_{j0} = -a s`;
* GPCM: :math:`r_k = a(k - \bar k)`, :math:`\bar k = \sum_k k P_k`;
* GRM: :math:`r_k = a(1 - P^*_k - P^*_{k+1})`;

and :math:`P''_{jk} = P_{jk}(r_{jk}^2 + r'_{jk})`. Logarithms come from the engine's overflow-free
log-probabilities, floored at :data:`adaptive.irt.PROB_FLOOR`, and no quantity is divided by an
item's own variance, so items whose answer is certain at :math:`\theta` simply contribute nothing.

References
----------
Drasgow, F., Levine, M. V., & Williams, E. A. (1985). Appropriateness measurement with polychotomous
item response models and standardized indices. British Journal of Mathematical and Statistical
Psychology, 38, 67–86.
Snijders, T. A. B. (2001). Asymptotic null distribution of person fit statistics with estimated person
parameter. Psychometrika, 66, 331–342.
Magis, D., Raîche, G., & Béland, S. (2012). A didactic presentation of Snijders's lz* index of person
fit with emphasis on response model selection and ability estimation. Journal of Educational and
Behavioral Statistics, 37, 57–81.
Sinharay, S. (2016). Asymptotically correct standardization of person-fit statistics beyond
dichotomous items. Psychometrika, 81, 992–1013.
Warm, T. A. (1989). Weighted likelihood estimation of ability in item response theory. Psychometrika,
54, 427–450.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, log_expit

from . import irt
from .bank import ItemBank
from .errors import EstimationError, InvalidResponses
from .types import FloatArray, IntArray

__all__ = ["ESTIMATORS", "PersonFit", "lz", "lz_star", "person_fit"]

ESTIMATORS = ("ml", "wle", "map")
"""Estimators whose :math:`r_0` :func:`lz_star` knows."""

_LOG_FLOOR = math.log(irt.PROB_FLOOR)


@dataclass(frozen=True, slots=True)
class _Terms:
    """Per item and category, ``(n_items, width)``; zero where a category does not exist."""

    logp: FloatArray  # log P_jk, floored
    p: FloatArray  # P_jk
    r: FloatArray  # d log P_jk / dθ
    dr: FloatArray  # d² log P_jk / dθ²


def _validate(
    bank: ItemBank, items: Sequence[int] | IntArray, scores: Sequence[int] | IntArray, theta: float
) -> tuple[IntArray, IntArray]:
    idx = np.asarray(items, dtype=np.intp).reshape(-1)
    raw = np.asarray(scores).reshape(-1)
    if idx.size != raw.size:
        msg = f"got {idx.size} items but {raw.size} scores"
        raise InvalidResponses(msg)
    if idx.size and (idx.min() < 0 or idx.max() >= len(bank)):
        msg = f"item positions must be in 0..{len(bank) - 1}, got {idx.min()}..{idx.max()}"
        raise InvalidResponses(msg)
    if raw.size and (raw.dtype.kind not in "biuf" or not np.all(np.isfinite(raw))
                     or not np.all(np.equal(np.mod(raw, 1), 0))):
        msg = f"scores must be whole numbers, got {raw.tolist()}"
        raise InvalidResponses(msg)
    x = raw.astype(np.intp)
    if idx.size:
        bad = np.flatnonzero((x < 0) | (x > bank.max_score[idx]))
        if bad.size:
            j = int(bad[0])
            msg = (f"item {bank.ids[idx[j]]!r} has scores 0..{int(bank.max_score[idx[j]])}, "
                   f"got {int(x[j])}")
            raise InvalidResponses(msg)
    if not math.isfinite(theta):
        msg = f"theta must be finite, got {theta}"
        raise EstimationError(msg)
    return idx, x


def _terms(bank: ItemBank, idx: IntArray, theta: float) -> _Terms:
    """Log-probabilities and their first two θ-derivatives for every category of ``idx``."""
    n = idx.size
    width = int(bank.n_categories[idx].max()) if n else 2
    logp = np.full((n, width), -np.inf)
    r = np.zeros((n, width))
    dr = np.zeros((n, width))
    models = np.asarray(bank.models, dtype=object)[idx]
    k = np.arange(width, dtype=np.float64)

    dich = np.isin(models, irt.DICHOTOMOUS)
    if dich.any():
        d = idx[dich]
        a, b, c = bank.a[d], bank.b[d], bank.c[d]
        log_p1, log_p0 = irt.dichotomous_log_probability(theta, a, b, c)
        z = a * (theta - b)
        s, q = expit(z), expit(-z)
        share = np.exp(np.log1p(-c) + log_expit(z) - log_p1[0])  # (1 - c)s / P, in (0, 1]
        r1 = a * q * share
        rows = np.flatnonzero(dich)
        logp[rows, 0], logp[rows, 1] = log_p0[0], log_p1[0]
        r[rows, 0], r[rows, 1] = -a * s, r1
        dr[rows, 0] = -a * a * s * q
        dr[rows, 1] = a * (q - s) * r1 - r1 * r1  # P''/P - r², P'' = a²(1-c)s q (1 - 2s)

    for model in irt.POLYTOMOUS:
        mask = models == model
        if not mask.any():
            continue
        m = idx[mask]
        a = bank.a[m]
        thr = bank.thresholds[m]
        rows = np.flatnonzero(mask)
        if model == "gpcm":
            lp = irt.gpcm_log_probabilities(theta, a, thr)[0, :, :width]
            pk = np.exp(lp)
            mean = pk @ k
            var = (pk * (k[None, :] - mean[:, None]) ** 2).sum(axis=1)
            r[rows] = a[:, None] * (k[None, :] - mean[:, None])
            dr[rows] = -(a * a * var)[:, None]
        else:
            lp = irt.grm_log_probabilities(theta, a, thr)[0, :, :width]
            star = np.where(np.isnan(thr), 0.0,
                            expit(a[:, None] * (theta - np.nan_to_num(thr))))
            upper = np.concatenate([np.ones((m.size, 1)), star], axis=1)[:, :width]  # P*_k
            lower = np.concatenate([star, np.zeros((m.size, 1))], axis=1)[:, :width]  # P*_{k+1}
            r[rows] = a[:, None] * (1.0 - upper - lower)
            dr[rows] = -(a * a)[:, None] * (upper * (1.0 - upper) + lower * (1.0 - lower))
        logp[rows] = lp

    exists = k[None, :] < bank.n_categories[idx][:, None]
    p = np.where(exists, np.exp(logp), 0.0)
    logp = np.where(exists, np.maximum(logp, _LOG_FLOOR), 0.0)
    return _Terms(logp=logp, p=p, r=np.where(exists, r, 0.0), dr=np.where(exists, dr, 0.0))


def _centred(t: _Terms, x: IntArray) -> tuple[float, float]:
    """``l0 - E(l0)`` and ``Var(l0)``."""
    obs = float(t.logp[np.arange(x.size), x].sum())
    mean = (t.p * t.logp).sum(axis=1)
    var = float((t.p * (t.logp - mean[:, None]) ** 2).sum())
    return obs - float(mean.sum()), var


def lz(
    bank: ItemBank,
    items: Sequence[int] | IntArray,
    scores: Sequence[int] | IntArray,
    theta: float,
) -> float:
    r"""Standardised log-likelihood :math:`l_z` of a response pattern at ``theta``.

    .. math:: l_z = \frac{\sum_j \sum_k (d_{jk} - P_{jk}) \log P_{jk}}
                         {\sqrt{\sum_j \operatorname{Var}_k(\log P_{jk})}}

    Standard normal under the model at the *true* ability only; at an estimated ability use
    :func:`lz_star`.

    Parameters
    ----------
    bank : ItemBank
    items : sequence of int
        Bank positions of the answered items.
    scores : sequence of int
        The score on each, in ``0..max_score``.
    theta : float
        The ability at which the pattern is judged.

    Returns
    -------
    float
        :math:`l_z`; negative values mean a less likely pattern than the model expects. NaN when no
        item has any variance at ``theta`` (no items, or every answer certain).

    Raises
    ------
    InvalidResponses
        Mismatched lengths, unknown item positions or out-of-range scores.
    """
    idx, x = _validate(bank, items, scores, theta)
    if idx.size == 0:
        return math.nan
    num, var = _centred(_terms(bank, idx, theta), x)
    return num / math.sqrt(var) if var > 0.0 else math.nan


def _resolve(estimator: str | None, prior_sd: float | None) -> str:
    name = ("map" if prior_sd is not None else "ml") if estimator is None else estimator
    if name not in ESTIMATORS:
        msg = f"unknown estimator {name!r} for lz*; use one of {', '.join(ESTIMATORS)}"
        raise EstimationError(msg)
    if name == "map" and (prior_sd is None or not prior_sd > 0):
        msg = f"lz* for a MAP estimate needs the prior's sd > 0, got {prior_sd}"
        raise EstimationError(msg)
    if name != "map" and prior_sd is not None:
        msg = f"a prior sd was given but the estimator is {name!r}; pass estimator='map'"
        raise EstimationError(msg)
    return name


def lz_star(
    bank: ItemBank,
    items: Sequence[int] | IntArray,
    scores: Sequence[int] | IntArray,
    theta: float,
    *,
    estimator: str | None = None,
    prior_mean: float = 0.0,
    prior_sd: float | None = None,
) -> float:
    r"""Snijders' (2001) :math:`l_z^*`, corrected for ``theta`` being an estimate from the same answers.

    .. math:: l_z^* = \frac{W_n(\hat\theta) + c_n(\hat\theta)\, r_0(\hat\theta)}{\tau_n(\hat\theta)}

    (see the module docstring for :math:`W_n`, :math:`c_n`, :math:`\tau_n`). Polytomous items use the
    category-level generalisation of Sinharay (2016); dichotomous items reduce to Snijders' formula.

    Parameters
    ----------
    bank, items, scores
        As for :func:`lz`.
    theta : float
        The ability estimate from these responses, computed by ``estimator``.
    estimator : {"ml", "wle", "map"} or None
        How ``theta`` was estimated: maximum likelihood (:math:`r_0 = 0`), Warm's weighted likelihood
        (:class:`adaptive.WLE`, :math:`r_0 = J/(2I)`) or the posterior mode under a N(``prior_mean``,
        ``prior_sd``²) prior (:class:`adaptive.MAP`, :math:`r_0 = -(\theta - \mu)/\sigma^2`). When
        None: ``"map"`` if ``prior_sd`` is given, otherwise ``"ml"``.
    prior_mean, prior_sd : float
        The MAP prior; ``prior_sd`` only with ``"map"``.

    Returns
    -------
    float
        :math:`l_z^*` (asymptotically N(0, 1) under the model); NaN when the items carry no variance
        at ``theta``.

    Raises
    ------
    InvalidResponses
        As for :func:`lz`.
    EstimationError
        Unknown estimator, or a prior that does not match it.
    """
    name = _resolve(estimator, prior_sd)
    idx, x = _validate(bank, items, scores, theta)
    if idx.size == 0:
        return math.nan
    t = _terms(bank, idx, theta)
    num, _ = _centred(t, x)
    info = float((t.p * t.r * t.r).sum())
    c_n = float((t.p * t.r * t.logp).sum()) / info if info > 0.0 else 0.0
    if name == "ml" or info <= 0.0:
        r0 = 0.0
    elif name == "wle":
        r0 = float((t.p * t.r * (t.r * t.r + t.dr)).sum()) / (2.0 * info)
    else:
        assert prior_sd is not None  # _resolve checked it
        r0 = -(theta - prior_mean) / (prior_sd * prior_sd)
    w = t.logp - c_n * t.r
    mean = (t.p * w).sum(axis=1)
    tau2 = float((t.p * (w - mean[:, None]) ** 2).sum())
    return (num + c_n * r0) / math.sqrt(tau2) if tau2 > 0.0 else math.nan


@dataclass(frozen=True, slots=True)
class PersonFit:
    """A person-fit decision for one attempt.

    Attributes
    ----------
    statistic : str
        ``"lz*"``.
    value : float
        The statistic, or NaN when the attempt was not judged (see ``note``).
    n_items : int
        Number of responses judged.
    flagged : bool
        True when ``value`` is below ``threshold``: the pattern is less likely than any ability makes
        it, and the attempt should not earn credit without review.
    threshold : float
        The one-sided cut used.
    note : str
        Why the attempt was not judged, or a one-line reading of the value.
    """

    statistic: str
    value: float
    n_items: int
    flagged: bool
    threshold: float
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (``value`` is None when it is NaN)."""
        return {"statistic": self.statistic,
                "value": self.value if math.isfinite(self.value) else None,
                "n_items": self.n_items, "flagged": self.flagged,
                "threshold": self.threshold, "note": self.note}


def person_fit(
    bank: ItemBank,
    items: Sequence[int] | IntArray,
    scores: Sequence[int] | IntArray,
    theta: float,
    *,
    estimator: str | None = None,
    prior_mean: float = 0.0,
    prior_sd: float | None = None,
    threshold: float = -1.645,
    min_items: int = 10,
) -> PersonFit:
    r"""Judge whether a finished attempt's response pattern fits the model (one-sided :math:`l_z^*`).

    The attempt is flagged when :math:`l_z^* <` ``threshold``; the default -1.645 is the 5 % point of
    N(0, 1), so about 5 % of learners who answer honestly on a fixed form are flagged by chance (the
    tests measure 4.7–6.2 % on 30–40 item forms; fewer in adaptive tests, see the module notes).
    Nothing is flagged, and ``value`` is NaN, when

    * fewer than ``min_items`` responses were scored: the normal approximation is poor and a few
      unlucky slips would decide; or
    * every score is the lowest, or every score is the highest, of its item: such a pattern is the
      most likely one at some extreme ability, so it carries no evidence of misfit (and ML has no
      finite estimate); or
    * the items carry no variance at ``theta``.

    Parameters
    ----------
    bank, items, scores, theta, estimator, prior_mean, prior_sd
        As for :func:`lz_star`; ``theta`` must come from ``estimator`` on these same responses
        (re-estimate an EAP attempt with :class:`adaptive.WLE` and pass ``estimator="wle"``).
    threshold : float
        One-sided cut on :math:`l_z^*`.
    min_items : int
        Fewest responses judged.

    Returns
    -------
    PersonFit
    """
    name = _resolve(estimator, prior_sd)
    idx, x = _validate(bank, items, scores, theta)
    n = int(idx.size)

    def unjudged(note: str) -> PersonFit:
        return PersonFit("lz*", math.nan, n, False, threshold, note)

    if n < min_items:
        return unjudged(f"not judged: {n} scored responses, person fit needs at least {min_items}")
    if np.all(x == 0) or np.all(x == bank.max_score[idx]):
        side = "lowest" if np.all(x == 0) else "highest"
        return unjudged(f"not judged: every answer has the {side} score, which no ability misfits")
    value = lz_star(bank, idx, x, theta, estimator=name, prior_mean=prior_mean, prior_sd=prior_sd)
    if not math.isfinite(value):
        return unjudged(f"not judged: the items carry no information at theta = {theta:.2f}")
    flagged = value < threshold
    verdict = "less likely than the model allows" if flagged else "consistent with the model"
    return PersonFit("lz*", value, n, flagged, threshold,
                     f"lz* = {value:.2f} ({name} ability {theta:.2f}): {verdict}")
