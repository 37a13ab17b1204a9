"""The one entry point, :func:`calibrate`: check the request, then run our EM or the pyirt backend."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from .. import irt
from ..bank import ItemBank
from ..errors import CalibrationError
from ..responses import ResponseData
from .constants import ENGINES
from .mml import _calibrate_mml, _max_scores
from .pyirt_backend import _calibrate_pyirt
from .results import CalibrationResult, Priors, normal_quadrature

__all__ = ["calibrate"]


def _check_model(model: str) -> str:
    name = str(model).lower()
    if name not in irt.MODELS:
        msg = f"unknown model {model!r}; valid models are {', '.join(irt.MODELS)}"
        raise CalibrationError(msg)
    return name


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
    r"""Calibrate item parameters by marginal maximum likelihood (see the package docstring).

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
        ``"mml"`` (:mod:`adaptive.calibration.mml`) or ``"pyirt"``: pyirt 0.3.4's EM for the 2PL
        only, converted by :func:`from_pyirt_parameters`, with its bounds widened to
        :data:`PYIRT_ALPHA_BOUNDS` and :data:`PYIRT_BETA_BOUNDS`, ``n_quadrature`` nodes, no
        anchors, no priors and no standard errors; ``max_iter`` and ``tol`` mean the same as for
        ``"mml"`` (EM cycles, largest parameter change), and its estimates are put on the N(0, 1)
        metric (see :func:`~adaptive.calibration.pyirt_backend._calibrate_pyirt`). pyirt's EM is
        slow to converge (about 100 cycles on LSAT7 for ``tol=1e-3``, each cycle pure Python).
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
