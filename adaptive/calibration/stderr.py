"""Standard errors from the cross-product (XPD) approximation of the observed information at
convergence, for the full matrix or item by item (see the package docstring)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..types import BoolArray, FloatArray, IntArray
from .constants import _BLAS_SINGLE_THREAD, _SE_FULL_MAX_PARAMS, _SE_FULL_MAX_WORK
from .em import _EM
from .mstep import _Dichotomous


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
