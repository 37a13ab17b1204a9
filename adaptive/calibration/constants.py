"""The calibration's numerical limits and the thresholds of its warnings."""

from __future__ import annotations

import math

from .. import irt

__all__ = [
    "A_BOUNDS",
    "ENGINES",
    "LOCATION_BOUND",
    "MAX_STEP",
    "PLAUSIBLE_A_MAX",
    "PLAUSIBLE_SE_A_MAX",
    "PLAUSIBLE_SE_B_MAX",
    "SUGGESTED_A_PRIOR",
    "SUGGESTED_B_PRIOR",
]


ENGINES = ("mml", "pyirt")
"""Calibration engines: our EM (``"mml"``) and the third-party ``pyirt`` package."""

A_BOUNDS = (1e-3, 50.0)
"""Discriminations are kept in this open interval (the bank requires a > 0)."""

LOCATION_BOUND = 60.0
"""Largest absolute intercept, threshold or logit(c) the M-step accepts."""

MAX_STEP = 1.0
"""Largest change of any parameter in one Fisher-scoring step."""

PLAUSIBLE_A_MAX = 4.0
"""A discrimination above this draws a warning: on the N(0, 1) metric, a > 4 is rarely real."""

PLAUSIBLE_SE_A_MAX = 1.0
"""An SE of ``a`` above this draws a warning (the estimate is then mostly noise)."""

PLAUSIBLE_SE_B_MAX = 2.0
"""An SE of ``b`` above this draws a warning (two SDs of the ability scale)."""

SUGGESTED_A_PRIOR = (0.0, 0.5)
r"""The lognormal prior on ``a`` the warnings suggest: :math:`\log a \sim N(0, 0.5^2)`.

Its mode is :math:`e^{-0.25} = 0.78`; 95 % of its mass lies in [0.38, 2.7]; P(a > 4) = 0.003."""

SUGGESTED_B_PRIOR = (0.0, 2.0)
"""The normal prior on ``b`` the warnings suggest for a difficulty with an SE above 2."""

_LOG_FLOOR = math.log(irt.PROB_FLOOR)

_SE_FULL_MAX_PARAMS = 3000

_SE_FULL_MAX_WORK = 5e9

_SE_RCOND = 1e-9
"""On the information scaled to unit diagonal, directions with an eigenvalue up to this are not
determined: a variance inflation above 1e9, and far above the rounding noise of a singular
information (eigenvalues of about +-1e-12)."""

_SE_NULL_LOAD = 1e-8
"""A parameter (or combination) whose squared (scaled, normalised) component along the undetermined
directions exceeds this is not determined; rounding leaves a determined one far less."""

_BLAS_SINGLE_THREAD = 250_000
