"""Array aliases and the small frozen value types shared across the engine."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["AbilityEstimate", "BoolArray", "CatState", "CatStep", "FloatArray", "IntArray"]

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


class _LazyGenerator:
    """``numpy.random.default_rng(key)``, built on the first attribute access."""

    __slots__ = ("_gen", "_key")

    def __init__(self, key: tuple[int, int]) -> None:
        self._key = key
        self._gen: np.random.Generator | None = None

    def __getattr__(self, name: str) -> Any:
        gen = self._gen
        if gen is None:
            gen = self._gen = np.random.default_rng(self._key)
        return getattr(gen, name)


@dataclass(frozen=True, slots=True)
class CatState:
    """Everything an adaptive test needs to continue: plain data that round-trips through JSON.

    The state is stored after every step, so a learner can stop and resume anywhere, and a stored
    attempt replays exactly: the randomness of step ``n`` comes from ``numpy.random.default_rng((seed,
    n))`` (see :meth:`rng`), never from hidden global state.

    Attributes
    ----------
    seed : int
        The attempt's seed.
    items : tuple of str
        Administered item ids, in order (pilot items included).
    scores : tuple of int
        The score obtained on each administered item.
    pilot : tuple of bool
        Whether each administered item was a pilot (unscored) item when it was given.
    pending : str or None
        The item shown and not yet answered.
    excluded : tuple of str
        Items withheld from this learner by exposure control (Sympson–Hetter lotteries lost).
    log_posterior : tuple of float
        The EAP log posterior on the estimator's grid (empty until the first scored response).
    estimate : AbilityEstimate or None
        The latest estimate.
    """

    seed: int
    items: tuple[str, ...] = ()
    scores: tuple[int, ...] = ()
    pilot: tuple[bool, ...] = ()
    pending: str | None = None
    excluded: tuple[str, ...] = ()
    log_posterior: tuple[float, ...] = ()
    estimate: AbilityEstimate | None = None

    @property
    def n_scored(self) -> int:
        """Number of scored (operational) responses."""
        return len(self.pilot) - sum(self.pilot)

    def scored(self) -> tuple[tuple[str, ...], tuple[int, ...]]:
        """The ids and scores of the scored responses."""
        keep = [k for k, p in enumerate(self.pilot) if not p]
        return tuple(self.items[k] for k in keep), tuple(self.scores[k] for k in keep)

    def rng(self) -> np.random.Generator:
        """The generator for the next step: a pure function of the seed and the step number.

        Seeded on first use, so steps that draw nothing (maximum information) pay nothing.
        """
        return _LazyGenerator((self.seed, len(self.items)))  # type: ignore[return-value]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (floats round-trip exactly through ``json``)."""
        return {
            "seed": self.seed,
            "items": list(self.items),
            "scores": list(self.scores),
            "pilot": list(self.pilot),
            "pending": self.pending,
            "excluded": list(self.excluded),
            "log_posterior": list(self.log_posterior),
            "estimate": None if self.estimate is None else self.estimate.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CatState:
        """Rebuild a state stored with :meth:`to_json`."""
        est = data.get("estimate")
        return cls(
            seed=int(data["seed"]),
            items=tuple(str(i) for i in data.get("items", ())),
            scores=tuple(int(s) for s in data.get("scores", ())),
            pilot=tuple(bool(p) for p in data.get("pilot", ())),
            pending=None if data.get("pending") is None else str(data["pending"]),
            excluded=tuple(str(i) for i in data.get("excluded", ())),
            log_posterior=tuple(float(v) for v in data.get("log_posterior", ())),
            estimate=None if est is None else AbilityEstimate.from_json(est),
        )


@dataclass(frozen=True, slots=True)
class CatStep:
    """What the engine decided after the latest response.

    Attributes
    ----------
    estimate : AbilityEstimate
        The ability estimate from the scored responses so far.
    next_item : str or None
        The item to show next, or None when the test stops.
    stop_reason : str or None
        Why the test stops (``"se_target"``, ``"max_items"``, ``"mastery"``, ``"bank_exhausted"``...).
    mastery : str or None
        ``"mastered"``, ``"not_mastered"`` or ``"undecided"`` when the policy has a cut score.
    pilot : bool
        True when ``next_item`` is a pilot item (it will not be scored).
    rejected : tuple of str
        Items that lost their exposure-control lottery in this step (they join ``excluded``).
    """

    estimate: AbilityEstimate
    next_item: str | None
    stop_reason: str | None = None
    mastery: str | None = None
    pilot: bool = False
    rejected: tuple[str, ...] = ()

    @property
    def done(self) -> bool:
        """True when the test is over."""
        return self.next_item is None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON, for the decision log."""
        return {
            "estimate": self.estimate.to_json(),
            "next_item": self.next_item,
            "stop_reason": self.stop_reason,
            "mastery": self.mastery,
            "pilot": self.pilot,
            "rejected": list(self.rejected),
        }
