"""The E-step and the EM map: responses as sparse indicator matrices, posterior weights, expected
counts, and the EM iterations with SQUAREM acceleration (see the package docstring)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from ..types import BoolArray, FloatArray, IntArray
from .constants import _LOG_FLOOR
from .mstep import _Dichotomous, _Family, _fisher_scoring, _fisher_scoring_shared_a, _Polytomous
from .results import ConvergenceReport


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
