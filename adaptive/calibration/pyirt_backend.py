"""The pyirt backend: pyirt 0.3.4's 2PL EM, run inline and quietly, put on the N(0, 1) metric."""

from __future__ import annotations

import contextlib
import io
import logging
import math
import sys
import types
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..bank import ItemBank, ItemParameters
from ..errors import CalibrationError
from ..responses import ResponseData
from ..types import FloatArray, IntArray
from .mml import _calibrate_mml, _implausible, _item_stats, _nothing_varies
from .results import CalibrationResult, ConvergenceReport, Priors, from_pyirt_parameters
from .scoring import _bank_log_marginals, marginal_log_likelihood

__all__ = ["PYIRT_ALPHA_BOUNDS", "PYIRT_BETA_BOUNDS"]


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
    likelihood with every item held fixed (the fixed-anchor EM of :mod:`adaptive.calibration.mml`),
    and the items are moved to the N(0, 1) metric by :math:`\theta' = (\theta - m)/s`:

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
        raise _nothing_varies(data, count, lo)
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
