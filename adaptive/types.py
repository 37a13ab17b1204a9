"""Array aliases and the small frozen value types shared across the engine."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["AbilityEstimate", "BoolArray", "FloatArray", "IntArray"]

FloatArray = npt.NDArray[np.float64]
"""A float64 numpy array; shapes are given in each docstring."""

IntArray = npt.NDArray[np.intp]
"""An integer index or score array."""

BoolArray = npt.NDArray[np.bool_]
"""A boolean mask."""


@dataclass(frozen=True, slots=True)
class AbilityEstimate:
    """An ability estimate on the logit (theta) metric with its standard error.

    Attributes
    ----------
    theta : float
        Point estimate.
    se : float
        Standard error (posterior SD for EAP; inverse square root of the observed or test information
        for MAP and WLE).
    method : str
        ``"eap"``, ``"map"``, ``"wle"`` or ``"prior"``.
    """

    theta: float
    se: float
    method: str = "eap"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.theta) and math.isfinite(self.se) and self.se >= 0):
            msg = f"ability estimate must be finite with se >= 0, got theta={self.theta}, se={self.se}"
            raise ValueError(msg)

    def interval(self, z: float = 1.959963984540054) -> tuple[float, float]:
        """Return the symmetric confidence interval ``theta ± z·se`` (95 % by default)."""
        return (self.theta - z * self.se, self.theta + z * self.se)

    def to_json(self) -> dict[str, Any]:
        """Return a plain-JSON form."""
        return {"theta": self.theta, "se": self.se, "method": self.method}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AbilityEstimate:
        """Rebuild from :meth:`to_json` output."""
        return cls(theta=float(data["theta"]), se=float(data["se"]), method=str(data["method"]))
