"""Standard errors from the cross-product (XPD) approximation of the observed information at
convergence, for the full matrix or item by item (see the package docstring).

The information need not be invertible: the cross-product information of P learners has rank at
most P, so with fewer learners than estimated parameters it is singular, and a parameter the
responses leave free (a discrimination at its bound, say) makes it so too. It is then inverted on
the directions it determines (:func:`_information_inverse`), and a parameter, or the difficulty
``b``, gets an SE only if it lies in them: the others are reported as not determined (NaN), never
as the garbage an ordinary inverse of a singular matrix gives (negative variances, ±inf)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..types import BoolArray, FloatArray, IntArray
from .constants import (
    _BLAS_SINGLE_THREAD,
    _SE_FULL_MAX_PARAMS,
    _SE_FULL_MAX_WORK,
    _SE_NULL_LOAD,
    _SE_RCOND,
)
from .em import _EM
from .mstep import _Dichotomous


@dataclass(frozen=True, eq=False)
class _Covariance:
    """Standard-error ingredients of every item (rows as in ``eta``).

    ``cov`` ``(n, k, k)``: covariance of each item's parameters, NaN where a parameter is fixed
    (anchors, padding) or not determined; ``var_b`` ``(n,)``: variance of the reported difficulty
    ``b`` (NaN unless determined); ``undetermined`` ``(n, k)``: estimated parameters the information
    does not determine; ``method``: ``"xpd"``, ``"xpd-block"`` or ``"none"``; ``n_parameters``: how
    many parameters were estimated (the 1PL's common a once).
    """

    cov: FloatArray
    var_b: FloatArray
    undetermined: BoolArray
    method: str
    n_parameters: int

    @classmethod
    def none(cls, n: int, k: int) -> _Covariance:
        return cls(np.full((n, k, k), np.nan), np.full(n, np.nan), np.zeros((n, k), dtype=bool),
                   "none", 0)


def _information_inverse(info: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Invert a stack of symmetric information matrices ``(..., m, m)`` that may be singular.

    Each matrix is scaled to unit diagonal, :math:`R = D^{-1} I D^{-1}` with
    :math:`D = \sqrt{\operatorname{diag} I}` (a parameter without any information has a zero row). When
    :math:`R` is positive definite and no variance inflation :math:`(R^{-1})_{ii}` exceeds
    ``1 / _SE_RCOND``, the ordinary inverse is returned. Otherwise the eigenvectors of :math:`R`
    with eigenvalues up to ``_SE_RCOND`` span the directions the information does not determine;
    the inverse is taken on the others (the Moore–Penrose inverse of :math:`R`), which gives the
    right variance of every combination of the parameters that is orthogonal to them.

    Returns the covariance ``(..., m, m)`` in the original metric, the scale :math:`D` ``(..., m)``
    and an orthogonal basis of the undetermined directions of :math:`R` ``(..., m, r)`` (zero
    columns pad a stack; ``r = 0`` when every matrix is well determined). Entries of the covariance
    are inf where a parameter has almost no information; :func:`_determined` tells which to use.
    """
    info = 0.5 * (info + np.swapaxes(info, -1, -2))
    diag = np.diagonal(info, axis1=-2, axis2=-1)
    has_info = diag > 0.0
    scale = np.sqrt(np.where(has_info, diag, 0.0))
    unit = np.where(has_info, scale, 1.0)
    r_mat = info / unit[..., :, None] / unit[..., None, :]
    try:
        np.linalg.cholesky(r_mat)
        r_inv = np.linalg.inv(r_mat)
        vif = np.diagonal(r_inv, axis1=-2, axis2=-1)
        well = bool(np.all(np.isfinite(r_inv)) and np.all((vif > 0) & (vif <= 1.0 / _SE_RCOND)))
    except np.linalg.LinAlgError:
        well = False
    if well:
        null = np.zeros((*r_mat.shape[:-1], 0))
    else:
        w, v = np.linalg.eigh(r_mat)
        keep = w > _SE_RCOND
        inv_w = np.where(keep, 1.0 / np.where(keep, w, 1.0), 0.0)
        r_inv = (v * inv_w[..., None, :]) @ np.swapaxes(v, -1, -2)
        null = v * (~keep)[..., None, :]
        if r_mat.ndim == 2:
            null = null[:, ~keep]
    with np.errstate(over="ignore"):  # a parameter with next to no information: checked by the caller
        cov = r_inv / unit[..., :, None] / unit[..., None, :]
    return cov, scale, null


def _determined(cov: FloatArray, scale: FloatArray, null: FloatArray) -> BoolArray:
    """Which parameters the information determines (``(..., m)``, from
    :func:`_information_inverse`): no component along its undetermined directions, some
    information, a finite positive variance."""
    load: FloatArray = (null * null).sum(axis=-1)
    var = np.diagonal(cov, axis1=-2, axis2=-1)
    return (scale > 0) & (load <= _SE_NULL_LOAD) & np.isfinite(var) & (var > 0)


def _estimable(scale: FloatArray, null: FloatArray, combination: FloatArray) -> BoolArray:
    """Whether each linear combination ``(..., m)`` of the parameters is determined: in the scaled
    metric of :func:`_information_inverse` it has no component along the undetermined directions
    (the mean of two thresholds can be determined when each of them is not)."""
    used = combination != 0
    ok: BoolArray = ~np.any(used & (scale <= 0), axis=-1)
    scaled = np.where(used, combination / np.where(scale > 0, scale, 1.0), 0.0)
    along = np.einsum("...m,...mr->...r", scaled, null)
    off: FloatArray = (along * along).sum(axis=-1)
    size: FloatArray = (scaled * scaled).sum(axis=-1)
    return ok & (off <= _SE_NULL_LOAD * size)


def _combination_variance(cov: FloatArray, g: FloatArray, ok: BoolArray) -> FloatArray:
    """``g' cov g`` for each row where ``ok``; NaN elsewhere (and where it is not finite)."""
    pair = (g[..., :, None] != 0) & (g[..., None, :] != 0)
    usable = ok & np.all(np.where(pair, np.isfinite(cov), True), axis=(-2, -1))
    safe = np.where(pair & usable[..., None, None], cov, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is NaN below
        var = np.einsum("...k,...kl,...l->...", g, safe, g)
    return np.where(usable & np.isfinite(var) & (var >= 0), var, np.nan)


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
                 post: FloatArray) -> _Covariance:
    """Covariance blocks of each item's parameters and the variance of its ``b`` (see
    :class:`_Covariance`)."""
    lay = em.layout
    n, k = eta.shape
    rows = em.free_rows
    if rows.size == 0:
        return _Covariance.none(n, k)
    theta = mu + sigma * em.z
    is_free = np.zeros(n, dtype=bool)
    is_free[rows] = True
    keep = is_free[lay.item]
    m, resp = _response_scores(em, eta, theta, post, keep)
    person, item = lay.person[resp], lay.item[resp]
    # global parameter index of each (item, local parameter); the 1PL's common a is parameter 0
    own = em.free_cols.copy()
    if em.shared_a:
        own[:, 0] = False
    gidx = np.full((n, k), -1, dtype=np.intp)
    local = np.full((rows.size, k), -1, dtype=np.intp)
    start = 1 if em.shared_a else 0
    local[own] = np.arange(start, start + int(own.sum()))
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
    # b of each item as a combination of its estimated parameters (fixed ones are known)
    b_grad = np.where(local >= 0, sub.b_gradient(sub_eta), 0.0)
    estimated = local >= 0
    nnz_cols = estimated.sum(axis=1)[np.searchsorted(rows, item)]
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
        full, scale, null = _information_inverse(info)
        determined = _determined(full, scale, null)
        at = np.maximum(local, 0)
        loc_cov = full[at[:, :, None], at[:, None, :]]
        loc_scale = np.where(estimated, scale[at], 1.0)
        loc_null = null[at] * estimated[:, :, None]
        loc_determined = estimated & determined[at]
        method = "xpd"
    else:  # item blocks only
        pos = np.searchsorted(rows, item)
        blocks = np.zeros((rows.size, k, k))
        for a_i in range(k):
            for b_i in range(a_i, k):
                val = np.bincount(pos, weights=m[:, a_i] * m[:, b_i], minlength=rows.size)
                blocks[:, a_i, b_i] = val
                blocks[:, b_i, a_i] = val
        blocks += prior_info
        fixed = ~own  # padding, fixed parameters and the common a: the identity in the blocks
        own_f = own.astype(np.float64)
        blocks = blocks * own_f[:, :, None] * own_f[:, None, :] + np.eye(k)[None] * fixed[:, :, None]
        loc_cov, loc_scale, loc_null = _information_inverse(blocks)
        loc_determined = own & _determined(loc_cov, loc_scale, loc_null)
        if em.shared_a:
            s_a = np.bincount(person, weights=m[:, 0], minlength=lay.n_persons)
            info_a = float(s_a @ s_a + prior_info[0, 0, 0])
            var_a = 1.0 / info_a if info_a > 0 else np.nan
            loc_cov[:, 0, :] = 0.0
            loc_cov[:, :, 0] = 0.0
            loc_cov[:, 0, 0] = var_a
            loc_determined[:, 0] = np.isfinite(var_a)
        method = "xpd-block"
    # b may be determined when some of its thresholds are not (their mean, not each of them)
    in_block = b_grad * (own if method == "xpd-block" else estimated)
    b_ok = _estimable(loc_scale, loc_null, in_block)
    if method == "xpd-block" and em.shared_a:
        b_ok &= (b_grad[:, 0] == 0) | loc_determined[:, 0]
    var_b = np.full(n, np.nan)
    var_b[rows] = _combination_variance(
        np.where(estimated[:, :, None] & estimated[:, None, :], loc_cov, np.nan), b_grad, b_ok)
    cov = np.full((n, k, k), np.nan)
    cov[rows] = np.where(loc_determined[:, :, None] & loc_determined[:, None, :], loc_cov, np.nan)
    undetermined = np.zeros((n, k), dtype=bool)
    undetermined[rows] = estimated & ~loc_determined
    return _Covariance(cov, var_b, undetermined, method, n_par)


def _safe_sqrt(v: FloatArray) -> FloatArray:
    return np.sqrt(np.where(np.isfinite(v) & (v >= 0), v, np.nan))
