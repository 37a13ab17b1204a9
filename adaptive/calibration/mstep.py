"""The M-step: per-item models on parameter vectors ``eta`` (n_items, k) in the estimation
parametrisation, maximised for all items at once by vectorised Fisher scoring with step halving."""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit, log_expit

from .. import irt
from ..types import BoolArray, FloatArray, IntArray
from .constants import _LOG_FLOOR, A_BOUNDS, LOCATION_BOUND, MAX_STEP
from .results import Priors


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

    def b_gradient(self, eta: FloatArray) -> FloatArray:
        """Gradient ``(n, k)`` of the reported difficulty ``b`` with respect to ``eta``."""
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

    def b_gradient(self, eta: FloatArray) -> FloatArray:
        """``b = -d / a``: the gradient is ``(d / a^2, -1 / a[, 0])``."""
        a, d = eta[:, 0], eta[:, 1]
        grad = np.zeros_like(eta)
        grad[:, 0] = d / (a * a)
        grad[:, 1] = -1.0 / a
        return grad

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

    def b_gradient(self, eta: FloatArray) -> FloatArray:
        """``b`` is the mean of an item's own thresholds."""
        grad = np.zeros_like(eta)
        grad[:, 1:] = self.tmask / self.tmask.sum(axis=1, keepdims=True)
        return grad

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
