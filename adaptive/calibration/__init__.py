"""Item calibration (being split into the modules of this package; see :mod:`adaptive.calibration.mml`)."""

from __future__ import annotations

from .mml import (
    ENGINES,
    CalibrationResult,
    ConvergenceReport,
    EAPScores,
    Priors,
    calibrate,
    eap_scores,
    from_pyirt_parameters,
    marginal_log_likelihood,
    normal_quadrature,
)

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
