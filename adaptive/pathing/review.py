"""Forgetting and spaced review: the SE of old evidence inflates with time; a mastered competency
falls due for a short review test when its decayed interval reaches the cut (the maths is in the
:mod:`adaptive.pathing` docstring)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from ..cat import PolicySettings
from ..errors import AdaptiveError
from ..integrity import EvidenceRules
from ..jsonsettings import JsonSettings as _JsonSettings
from ..types import AbilityEstimate
from .learner import SECONDS_PER_DAY, Evidence, LearnerModel, two_sided_z

__all__ = ["ReviewSettings", "decayed_estimate", "due_reviews", "review_due_at", "review_settings"]


@dataclass(frozen=True, slots=True)
class ReviewSettings(_JsonSettings):
    r"""Forgetting and spaced review.

    Attributes
    ----------
    half_life_days : float
        :math:`h`: half of the eventual extra variance is reached after this many days.
    tau : float
        :math:`\tau`: SD (logits) of the drift once long forgotten.
    error_rate : float
        :math:`\alpha` of the interval (:math:`z = \Phi^{-1}(1 - \alpha/2)`).
    min_interval_days, max_interval_days : float
        Bounds of the time from evidence to the next review.
    min_items, max_items : int
        Length of a review test: it stops once the decision holds (a confirmed mastery also needs the
        precision at the cut of the pack's evidence rules).
    """

    half_life_days: float = 30.0
    tau: float = 1.0
    error_rate: float = 0.05
    min_interval_days: float = 1.0
    max_interval_days: float = 180.0
    min_items: int = 4
    max_items: int = 8

    def __post_init__(self) -> None:
        if not (self.half_life_days > 0 and self.tau > 0):
            msg = f"review needs half_life_days > 0 and tau > 0, got {self.half_life_days}, {self.tau}"
            raise AdaptiveError(msg)
        if not 0 <= self.min_interval_days <= self.max_interval_days:
            msg = "review needs 0 <= min_interval_days <= max_interval_days"
            raise AdaptiveError(msg)
        if not 1 <= self.min_items <= self.max_items:
            msg = f"review needs 1 <= min_items <= max_items, got {self.min_items}, {self.max_items}"
            raise AdaptiveError(msg)
        two_sided_z(self.error_rate)

    _what: ClassVar[str] = "review setting"


def decayed_estimate(state: Evidence, now: float, settings: ReviewSettings) -> AbilityEstimate:
    r"""The estimate at ``now``: same theta, SE inflated by forgetting (see :mod:`adaptive.pathing`).

    .. math:: SE_t^2 = SE^2 + \tau^2\left(1 - 2^{-\Delta t / h}\right),\qquad
              \Delta t = \max(0, t - t_0) \text{ days}
    """
    days = max(0.0, (now - state.time) / SECONDS_PER_DAY)
    extra = settings.tau ** 2 * -math.expm1(-days * math.log(2.0) / settings.half_life_days)
    return AbilityEstimate(state.theta, math.sqrt(state.se ** 2 + extra), state.estimate.method)


def review_due_at(state: Evidence, cut: float, settings: ReviewSettings) -> float | None:
    r"""When a mastered competency is due for review (POSIX seconds); None if it is not mastered.

    .. math:: \Delta t^* = -h \log_2\!\left(1 - \frac{((\hat\theta - \theta_c)/z)^2 - SE^2}{\tau^2}
              \right)

    clamped to ``[min_interval_days, max_interval_days]``.
    """
    if not state.mastered:
        return None
    z = two_sided_z(settings.error_rate)
    room = max(state.theta - cut, 0.0) / z  # the SE at which the interval touches the cut
    frac = (room * room - state.se * state.se) / settings.tau ** 2
    if frac <= 0:
        days = 0.0
    elif frac >= 1:
        days = math.inf
    else:
        days = -settings.half_life_days * math.log2(1.0 - frac)
    days = min(max(days, settings.min_interval_days), settings.max_interval_days)
    return state.time + days * SECONDS_PER_DAY


def due_reviews(
    model: LearnerModel, cuts: Mapping[str, float], now: float, settings: ReviewSettings,
    order: Sequence[str] = (),
) -> tuple[str, ...]:
    """Mastered competencies whose review is due at ``now``, earliest due first.

    Ties go by position in ``order`` (e.g. the graph's topological order), then by id.
    """
    rank = {c: k for k, c in enumerate(order)}
    due: list[tuple[float, int, str]] = []
    for c, st in model.states().items():
        at = review_due_at(st, cuts.get(c, st.cut), settings)
        if at is not None and at <= now:
            due.append((at, rank.get(c, len(rank)), c))
    return tuple(c for _, _, c in sorted(due))


def review_settings(state: Evidence, cut: float, now: float, settings: ReviewSettings,
                    rules: EvidenceRules = EvidenceRules()) -> PolicySettings:
    """The CAT settings of a short review test of one competency.

    Its EAP prior is the decayed estimate, so the review combines the old evidence with the new
    responses; it stops as soon as the 95 % interval excludes the cut (or after ``max_items``). A
    review whose outcome (:func:`evidence_from_test` with ``source="review"``) is not ``mastered``
    reopens the competency.
    """
    prior = decayed_estimate(state, now, settings)
    return PolicySettings(
        estimator="eap", prior_mean=prior.theta, prior_sd=max(prior.se, 0.05), selection="mfi",
        se_target=None, min_items=settings.min_items, max_items=settings.max_items, cut=cut,
        mastery_method="ci", mastery_stop=True, error_rate=settings.error_rate,
        mastery_max_se=rules.max_se)
