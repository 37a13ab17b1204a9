r"""Stopping rules and mastery classification; rules combine with :class:`AnyOf` and :class:`AllOf`.

A stopper looks at the scored responses and the current estimate and returns a reason to stop (a short
string such as ``"se_target"``) or None. Typical use::

    AnyOf(AllOf(MinItems(5), StandardErrorBelow(0.3)), MaxItems(40))

Mastery classifiers decide ``mastered`` / ``not_mastered`` / ``undecided`` against a cut score on the
theta scale; :class:`Classified` turns a decided classification into a stop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import numpy as np

from .bank import ItemBank
from .errors import AdaptiveError
from .types import AbilityEstimate

__all__ = [
    "SPRT",
    "AllOf",
    "AnyOf",
    "Classified",
    "ConfidenceInterval",
    "Mastery",
    "MasteryRule",
    "MaxItems",
    "MinItems",
    "StandardErrorBelow",
    "Stopper",
    "se_at",
]


def se_at(bank: ItemBank, items: Sequence[int], theta: float, prior_sd: float | None = None) -> float:
    r"""The standard error of measurement at ``theta``: :math:`(1/\sigma_0^2 + \sum_j I_j(\theta))^{-1/2}`.

    With a cut score as ``theta`` this is how precisely a test measures where its decision is made:
    a learner who answers every question right has a wide posterior at the top of the scale, but a
    precise measurement at the cut. ``prior_sd`` adds the prior's precision (a review's prior is the
    evidence it confirms).
    """
    info = float(np.sum(bank.information(float(theta), np.asarray(items, dtype=np.intp)))) if items else 0.0
    if prior_sd is not None:
        info += 1.0 / (prior_sd * prior_sd)
    return 1.0 / math.sqrt(info) if info > 0 else math.inf


class Mastery(StrEnum):
    """Outcome of a mastery classification."""

    MASTERED = "mastered"
    NOT_MASTERED = "not_mastered"
    UNDECIDED = "undecided"


class Stopper(Protocol):
    """Decides whether an adaptive test stops."""

    def stop_reason(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int],
        estimate: AbilityEstimate,
    ) -> str | None:
        """A reason to stop after the scored responses ``scores`` to ``items``, or None."""
        ...


class MasteryRule(Protocol):
    """Classifies a learner against a cut score."""

    @property
    def cut(self) -> float:
        """The cut score on the theta scale."""
        ...

    def classify(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int],
        estimate: AbilityEstimate,
    ) -> Mastery:
        """Mastered, not mastered, or undecided so far."""
        ...


@dataclass(frozen=True, slots=True)
class StandardErrorBelow:
    """Stop once the standard error is below ``target``."""

    target: float

    def stop_reason(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int],
        estimate: AbilityEstimate,
    ) -> str | None:
        """``"se_target"`` once ``estimate.se < target``."""
        return "se_target" if estimate.se < self.target else None


@dataclass(frozen=True, slots=True)
class MinItems:
    """Satisfied once at least ``n`` scored items were given (combine with :class:`AllOf`)."""

    n: int

    def stop_reason(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int],
        estimate: AbilityEstimate,
    ) -> str | None:
        """``"min_items"`` once ``len(items) >= n``."""
        return "min_items" if len(items) >= self.n else None


@dataclass(frozen=True, slots=True)
class MaxItems:
    """Stop after ``n`` scored items."""

    n: int

    def __post_init__(self) -> None:
        if self.n < 1:
            msg = f"maximum test length must be at least 1, got {self.n}"
            raise AdaptiveError(msg)

    def stop_reason(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int],
        estimate: AbilityEstimate,
    ) -> str | None:
        """``"max_items"`` once ``len(items) >= n``."""
        return "max_items" if len(items) >= self.n else None


@dataclass(frozen=True, slots=True)
class ConfidenceInterval:
    r"""Mastery by confidence interval: decided once the interval excludes the cut score.

    .. math:: \hat\theta - z\,SE > \theta_c \Rightarrow \text{mastered},\qquad
              \hat\theta + z\,SE < \theta_c \Rightarrow \text{not mastered}
    """

    cut: float
    z: float = 1.959963984540054

    def classify(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int],
        estimate: AbilityEstimate,
    ) -> Mastery:
        """Decide from the estimate's interval."""
        lo, hi = estimate.interval(self.z)
        if lo > self.cut:
            return Mastery.MASTERED
        if hi < self.cut:
            return Mastery.NOT_MASTERED
        return Mastery.UNDECIDED


@dataclass(frozen=True, slots=True)
class SPRT:
    r"""Wald's sequential probability ratio test around the cut score (Reckase 1983; Eggen 1999).

    Compares :math:`H_1: \theta = \theta_c + \delta` with :math:`H_0: \theta = \theta_c - \delta`:

    .. math:: \Lambda = \ell(\theta_c + \delta) - \ell(\theta_c - \delta),\quad
              \Lambda \ge \log\frac{1 - \beta}{\alpha} \Rightarrow \text{mastered},\quad
              \Lambda \le \log\frac{\beta}{1 - \alpha} \Rightarrow \text{not mastered}
    """

    cut: float
    delta: float = 0.3
    alpha: float = 0.05
    beta: float = 0.05

    def __post_init__(self) -> None:
        if not (self.delta > 0 and 0 < self.alpha < 0.5 and 0 < self.beta < 0.5):
            msg = "SPRT needs delta > 0 and error rates alpha, beta in (0, 0.5)"
            raise AdaptiveError(msg)

    def classify(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int],
        estimate: AbilityEstimate,
    ) -> Mastery:
        """Decide from the likelihood ratio of the scored responses."""
        if not items:
            return Mastery.UNDECIDED
        ll = bank.log_likelihood(np.array([self.cut - self.delta, self.cut + self.delta]),
                                 items, scores)
        ratio = float(ll[1] - ll[0])
        if ratio >= math.log((1 - self.beta) / self.alpha):
            return Mastery.MASTERED
        if ratio <= math.log(self.beta / (1 - self.alpha)):
            return Mastery.NOT_MASTERED
        return Mastery.UNDECIDED


@dataclass(frozen=True, slots=True)
class Classified:
    """Stop once a mastery rule reaches a decision (after ``min_items``).

    With ``mastered_max_se``, a *mastered* classification stops the test only once the standard error
    at the cut (:func:`se_at`, with the prior's precision ``prior_sd``) is at most that bound too, so a
    test never ends on a mastery decision that could not be credited (:mod:`adaptive.integrity`); a
    *not mastered* decision stops at once.
    """

    rule: MasteryRule
    min_items: int = 1
    mastered_max_se: float | None = None
    prior_sd: float | None = None

    def stop_reason(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int],
        estimate: AbilityEstimate,
    ) -> str | None:
        """``"mastery"`` when the rule is decided."""
        if len(items) < self.min_items:
            return None
        decided = self.rule.classify(bank, items, scores, estimate)
        if decided is Mastery.UNDECIDED:
            return None
        if (decided is Mastery.MASTERED and self.mastered_max_se is not None
                and se_at(bank, items, self.rule.cut, self.prior_sd) > self.mastered_max_se):
            return None
        return "mastery"


@dataclass(frozen=True, slots=True)
class AnyOf:
    """Stop when any rule says so; the first rule's reason wins."""

    rules: tuple[Stopper, ...]

    def __init__(self, *rules: Stopper) -> None:
        object.__setattr__(self, "rules", tuple(rules))

    def stop_reason(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int],
        estimate: AbilityEstimate,
    ) -> str | None:
        """The first reason found, or None."""
        for rule in self.rules:
            if (reason := rule.stop_reason(bank, items, scores, estimate)) is not None:
                return reason
        return None


@dataclass(frozen=True, slots=True)
class AllOf:
    """Stop when every rule says so; the reason is the last rule's."""

    rules: tuple[Stopper, ...]

    def __init__(self, *rules: Stopper) -> None:
        object.__setattr__(self, "rules", tuple(rules))

    def stop_reason(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int],
        estimate: AbilityEstimate,
    ) -> str | None:
        """The last rule's reason when all rules agree, else None."""
        reason: str | None = None
        for rule in self.rules:
            reason = rule.stop_reason(bank, items, scores, estimate)
            if reason is None:
                return None
        return reason
