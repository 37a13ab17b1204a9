r"""Vectorised item response models on the logistic metric (no 1.7 scaling constant).

Shape convention: ``theta`` is any array of abilities of shape ``(n_theta,)`` (a scalar is treated as
``(1,)``); item parameters are arrays of shape ``(n_items,)``; results are ``(n_theta, n_items)``, and
category probabilities are ``(n_theta, n_items, n_categories)``.

Dichotomous models (1PL/Rasch, 2PL, 3PL) share one formula:

.. math:: P_j(\theta) = c_j + (1 - c_j)\,\frac{1}{1 + e^{-a_j(\theta - b_j)}}

with :math:`c_j = 0` for the 1PL and 2PL and a common :math:`a` for the 1PL.

Polytomous items have categories :math:`k = 0..K_j` and a row of thresholds ``(K_max,)`` padded with
NaN after the item's own :math:`K_j` thresholds.

* Generalized partial credit model (Muraki 1992), thresholds are step difficulties :math:`b_{jv}`:

  .. math:: P_{jk}(\theta) \propto \exp \sum_{v=1}^{k} a_j(\theta - b_{jv})

* Graded response model (Samejima 1969), thresholds are ordered boundaries :math:`b_{j1} < \dots`:

  .. math:: P^*_{jk} = \frac{1}{1 + e^{-a_j(\theta - b_{jk})}},\quad
            P_{jk} = P^*_{jk} - P^*_{j,k+1},\quad P^*_{j0} = 1,\ P^*_{j,K_j+1} = 0
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, log_softmax

from .types import BoolArray, FloatArray

__all__ = [
    "DICHOTOMOUS",
    "MODELS",
    "POLYTOMOUS",
    "PROB_FLOOR",
    "category_probabilities",
    "dichotomous_information",
    "dichotomous_log_probability",
    "dichotomous_max_information",
    "dichotomous_probability",
    "expected_score",
    "gpcm_information",
    "gpcm_log_probabilities",
    "gpcm_probabilities",
    "grm_information",
    "grm_log_probabilities",
    "grm_probabilities",
]

DICHOTOMOUS = ("1pl", "2pl", "3pl")
"""Models scored 0/1."""

POLYTOMOUS = ("gpcm", "grm")
"""Models scored 0..K."""

MODELS = DICHOTOMOUS + POLYTOMOUS
"""Every model name the engine accepts."""

PROB_FLOOR = 1e-300
"""Smallest probability used inside a logarithm or a division: keeps extreme thetas finite."""


def _theta(theta: FloatArray | float) -> FloatArray:
    return np.atleast_1d(np.asarray(theta, dtype=np.float64))


def dichotomous_probability(
    theta: FloatArray | float, a: FloatArray, b: FloatArray, c: FloatArray | None = None
) -> FloatArray:
    r"""Probability of a correct response, ``(n_theta, n_items)``.

    .. math:: P = c + (1 - c) / (1 + \exp(-a(\theta - b)))
    """
    p = expit(a[None, :] * (_theta(theta)[:, None] - b[None, :]))
    if c is None:
        return p  # type: ignore[no-any-return]
    return c[None, :] + (1.0 - c[None, :]) * p  # type: ignore[no-any-return]


def dichotomous_log_probability(
    theta: FloatArray | float,
    a: FloatArray,
    b: FloatArray,
    c: FloatArray | None = None,
) -> tuple[FloatArray, FloatArray]:
    """Return ``(log P, log(1 - P))``, each ``(n_theta, n_items)``, computed without overflow."""
    z = a[None, :] * (_theta(theta)[:, None] - b[None, :])
    log_p = log_expit(z)
    log_q = log_expit(-z)
    if c is None:
        return log_p, log_q
    cc = np.broadcast_to(c[None, :], z.shape)
    with np.errstate(divide="ignore"):  # log(0) = -inf for c = 0 is exact: logaddexp(-inf, x) = x
        log_p = np.minimum(np.logaddexp(np.log(cc), np.log1p(-cc) + log_p), 0.0)
    log_q = np.log1p(-cc) + log_q
    return log_p, log_q


def dichotomous_information(
    theta: FloatArray | float, a: FloatArray, b: FloatArray, c: FloatArray | None = None
) -> FloatArray:
    r"""Fisher information of each item, ``(n_theta, n_items)``.

    .. math:: I(\theta) = a^2 \frac{Q}{P} \left(\frac{P - c}{1 - c}\right)^2

    which is :math:`a^2 P Q` when :math:`c = 0`.
    """
    s = expit(a[None, :] * (_theta(theta)[:, None] - b[None, :]))
    a2 = (a * a)[None, :]
    if c is None:
        return a2 * s * (1.0 - s)  # type: ignore[no-any-return]
    cc = c[None, :]
    p = cc + (1.0 - cc) * s
    # (P - c)/(1 - c) = s and Q = (1 - c)(1 - s), so I = a² s² (1 - c)(1 - s) / P
    return a2 * s * s * (1.0 - cc) * (1.0 - s) / np.maximum(p, PROB_FLOOR)  # type: ignore[no-any-return]


def dichotomous_max_information(a: FloatArray, c: FloatArray | None = None) -> FloatArray:
    r"""Maximum over theta of each item's information (Lord 1980, eq. 10-6), ``(n_items,)``.

    .. math:: \max_\theta I = \frac{a^2}{8(1 - c)^2}\left[1 - 20c - 8c^2 + (1 + 8c)^{3/2}\right]

    which is :math:`a^2 / 4` for the 2PL. Used as an exact upper bound to prune the information search.
    """
    if c is None:
        return a * a / 4.0
    return (
        a * a / (8.0 * (1.0 - c) ** 2) * (1.0 - 20.0 * c - 8.0 * c * c + (1.0 + 8.0 * c) ** 1.5)
    )


def _valid_categories(thresholds: FloatArray) -> BoolArray:
    """Mask ``(n_items, K_max + 1)``: True where the category exists for the item."""
    n_items, k_max = thresholds.shape
    exists = np.ones((n_items, k_max + 1), dtype=bool)
    exists[:, 1:] = ~np.isnan(thresholds)
    return exists


def gpcm_log_probabilities(
    theta: FloatArray | float, a: FloatArray, thresholds: FloatArray
) -> FloatArray:
    """Log category probabilities of the GPCM, ``(n_theta, n_items, K_max + 1)``; -inf where absent."""
    t = _theta(theta)
    steps = a[None, :, None] * (t[:, None, None] - np.nan_to_num(thresholds)[None, :, :])
    z = np.concatenate([np.zeros((t.size, a.size, 1)), np.cumsum(steps, axis=2)], axis=2)
    z = np.where(_valid_categories(thresholds)[None, :, :], z, -np.inf)
    return log_softmax(z, axis=2)  # type: ignore[no-any-return]


def gpcm_probabilities(
    theta: FloatArray | float, a: FloatArray, thresholds: FloatArray
) -> FloatArray:
    """Category probabilities of the GPCM, ``(n_theta, n_items, K_max + 1)``; 0 where absent."""
    return np.exp(gpcm_log_probabilities(theta, a, thresholds))


def _grm_cumulative(theta: FloatArray | float, a: FloatArray, thresholds: FloatArray) -> FloatArray:
    """Boundary curves ``P*_k`` for k = 0..K_max+1, ``(n_theta, n_items, K_max + 2)``."""
    t = _theta(theta)
    star = expit(a[None, :, None] * (t[:, None, None] - thresholds[None, :, :]))
    star = np.where(np.isnan(thresholds)[None, :, :], 0.0, star)
    ones = np.ones((t.size, a.size, 1))
    zeros = np.zeros((t.size, a.size, 1))
    return np.concatenate([ones, star, zeros], axis=2)


def grm_probabilities(
    theta: FloatArray | float, a: FloatArray, thresholds: FloatArray
) -> FloatArray:
    """Category probabilities of the GRM, ``(n_theta, n_items, K_max + 1)``; 0 where absent."""
    star = _grm_cumulative(theta, a, thresholds)
    return np.maximum(star[:, :, :-1] - star[:, :, 1:], 0.0)


def grm_log_probabilities(
    theta: FloatArray | float, a: FloatArray, thresholds: FloatArray
) -> FloatArray:
    r"""Log category probabilities of the GRM; absent categories are -inf.

    Computed without subtracting boundary curves, so both tails keep full relative precision:

    .. math:: \log P_k = \log\sigma(z_k) + \log\sigma(-z_{k+1})
              + \log\left(1 - e^{-a(b_{k+1} - b_k)}\right),\quad z_k = a(\theta - b_k)
    """
    t = _theta(theta)
    n_items, k_max = thresholds.shape
    z = a[None, :, None] * (t[:, None, None] - thresholds[None, :, :])
    z = np.where(np.isnan(thresholds)[None, :, :], -np.inf, z)
    edge = np.full((t.size, n_items, 1), np.inf)
    upper = np.concatenate([edge, z], axis=2)  # z_k for k = 0..K_max, with z_0 = +inf
    lower = np.concatenate([z, -edge], axis=2)  # z_{k+1}, with z_{K+1} = -inf
    gap = np.full((n_items, k_max + 1), -np.inf)  # z_{k+1} - z_k = -a (b_{k+1} - b_k)
    gap[:, 1:k_max] = np.nan_to_num(-a[:, None] * np.diff(thresholds, axis=1), nan=-np.inf)
    with np.errstate(divide="ignore"):
        logp = log_expit(upper) + log_expit(-lower) + np.log(-np.expm1(gap))[None, :, :]
    return np.where(_valid_categories(thresholds)[None, :, :], logp, -np.inf)


def gpcm_information(theta: FloatArray | float, a: FloatArray, thresholds: FloatArray) -> FloatArray:
    r"""Fisher information of GPCM items, ``(n_theta, n_items)``: :math:`a^2 \operatorname{Var}(k)`."""
    p = gpcm_probabilities(theta, a, thresholds)
    k = np.arange(p.shape[2], dtype=np.float64)
    mean = p @ k
    var: FloatArray = (p * (k[None, None, :] - mean[:, :, None]) ** 2).sum(axis=2)
    return (a * a)[None, :] * var


def grm_information(theta: FloatArray | float, a: FloatArray, thresholds: FloatArray) -> FloatArray:
    r"""Fisher information of GRM items, ``(n_theta, n_items)``.

    .. math:: I(\theta) = \sum_k \frac{(P'_k)^2}{P_k},\quad
              P'_k = a\left[P^*_k(1 - P^*_k) - P^*_{k+1}(1 - P^*_{k+1})\right]
    """
    star = _grm_cumulative(theta, a, thresholds)
    w = star * (1.0 - star)
    dp = a[None, :, None] * (w[:, :, :-1] - w[:, :, 1:])
    p = star[:, :, :-1] - star[:, :, 1:]
    exists = _valid_categories(thresholds)[None, :, :]
    terms = np.where(exists & (p > PROB_FLOOR), dp * dp / np.maximum(p, PROB_FLOOR), 0.0)
    return terms.sum(axis=2)  # type: ignore[no-any-return]


def category_probabilities(
    model: str,
    theta: FloatArray | float,
    a: FloatArray,
    b: FloatArray | None = None,
    c: FloatArray | None = None,
    thresholds: FloatArray | None = None,
) -> FloatArray:
    """Category probabilities for items sharing one model, ``(n_theta, n_items, n_categories)``.

    Dichotomous models return two categories (wrong, right).
    """
    if model in DICHOTOMOUS:
        if b is None:
            msg = "dichotomous models need b"
            raise ValueError(msg)
        p = dichotomous_probability(theta, a, b, c if model == "3pl" else None)
        return np.stack([1.0 - p, p], axis=2)
    if thresholds is None:
        msg = f"{model} needs thresholds"
        raise ValueError(msg)
    if model == "gpcm":
        return gpcm_probabilities(theta, a, thresholds)
    if model == "grm":
        return grm_probabilities(theta, a, thresholds)
    msg = f"unknown model {model!r}; expected one of {', '.join(MODELS)}"
    raise ValueError(msg)


def expected_score(
    model: str,
    theta: FloatArray | float,
    a: FloatArray,
    b: FloatArray | None = None,
    c: FloatArray | None = None,
    thresholds: FloatArray | None = None,
) -> FloatArray:
    """Expected item score ``sum_k k P_k``, ``(n_theta, n_items)``."""
    p = category_probabilities(model, theta, a, b, c, thresholds)
    return p @ np.arange(p.shape[2], dtype=np.float64)
