"""Scoring learners with a calibrated bank: EAP scores and the marginal log-likelihood."""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from ..bank import ItemBank
from ..errors import CalibrationError, InvalidResponses
from ..responses import ResponseData
from ..types import FloatArray
from .constants import _LOG_FLOOR
from .em import _posterior
from .results import EAPScores, normal_quadrature

__all__ = ["eap_scores", "marginal_log_likelihood"]


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
