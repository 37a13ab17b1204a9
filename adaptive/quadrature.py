r"""The one quadrature rule of the engine: equally spaced nodes with normalised normal weights.

EAP scoring, marginal likelihood calibration and the reliability statistics all integrate over ability
on the same kind of grid:

.. math:: \theta_q = \mu + \sigma z_q,\quad z_q \text{ equally spaced on } [-s, s],\qquad
          w_q = \frac{\phi(z_q)}{\sum_r \phi(z_r)}
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .errors import AdaptiveError
from .types import FloatArray

__all__ = ["normal_grid"]


@lru_cache(maxsize=64)
def normal_grid(
    n_points: int = 61, mean: float = 0.0, sd: float = 1.0, span: float = 6.0
) -> tuple[FloatArray, FloatArray]:
    """Nodes over ``mean ± span·sd`` and their normalised N(mean, sd²) weights (read-only, cached).

    Raises
    ------
    AdaptiveError
        For fewer than 5 points, a non-finite mean, or a non-positive sd or span.
    """
    if not (n_points >= 5 and math.isfinite(mean) and math.isfinite(sd) and sd > 0
            and math.isfinite(span) and span > 0):
        msg = (f"a quadrature grid needs at least 5 points and a normal N(mean, sd > 0) over a positive "
               f"span; got {n_points} points, N({mean}, {sd}), span {span}")
        raise AdaptiveError(msg)
    z = np.linspace(-span, span, int(n_points))
    weights = np.exp(-0.5 * z * z)
    weights /= weights.sum()
    nodes = mean + sd * z
    nodes.setflags(write=False)
    weights.setflags(write=False)
    return nodes, weights
