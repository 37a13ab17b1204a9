"""Placement: a short content-balanced adaptive test across a pack's competencies, and the starting
evidence it gives each of them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

from ..bank import ItemBank
from ..cat import CatPolicy
from ..errors import AdaptiveError
from ..estimation import EAP
from ..integrity import EvidenceRules, credit_decision
from ..jsonsettings import JsonSettings as _JsonSettings
from ..selection import ContentBalanced, MaxInfo, Randomesque, Selector
from ..stopping import AllOf, AnyOf, MaxItems, MinItems, Stopper
from ..types import AbilityEstimate, CatState
from .learner import Evidence, classify, competency_estimates, two_sided_z

__all__ = ["EveryCompetencyClassified", "PlacementSettings", "placement_outcome", "placement_policy"]


@dataclass(frozen=True, slots=True)
class PlacementSettings(_JsonSettings):
    """A short content-balanced adaptive test across a pack's competencies at enrolment.

    Attributes
    ----------
    items_per_competency : int
        The test stops after ``items_per_competency × competencies`` items at most.
    min_per_competency : int
        No competency is decided on fewer items.
    error_rate : float
        :math:`\\alpha` of the per-competency interval at the cut.
    selection : str
        ``"mfi"`` or ``"randomesque"`` (``randomesque_k``) within the competency due next.
    tag : str
        The item tag naming the competency.
    """

    items_per_competency: int = 4
    min_per_competency: int = 2
    error_rate: float = 0.05
    selection: str = "mfi"
    randomesque_k: int = 3
    tag: str = "competency"

    def __post_init__(self) -> None:
        if not 1 <= self.min_per_competency <= self.items_per_competency:
            msg = (f"placement needs 1 <= min_per_competency <= items_per_competency, got "
                   f"{self.min_per_competency}, {self.items_per_competency}")
            raise AdaptiveError(msg)
        two_sided_z(self.error_rate)

    _what: ClassVar[str] = "placement setting"


@dataclass(frozen=True, eq=False)
class EveryCompetencyClassified:
    """Stop once every competency's own EAP interval excludes its cut (``"classified"``)."""

    tag: str
    cuts: Mapping[str, float]
    error_rate: float
    min_per_competency: int

    def stop_reason(
        self, bank: ItemBank, items: Sequence[int], scores: Sequence[int],
        estimate: AbilityEstimate,
    ) -> str | None:
        """``"classified"`` when every competency is decided on at least its minimum of items."""
        ids = [bank.ids[j] for j in items]
        per = competency_estimates(bank, ids, scores, tag=self.tag)
        for c, cut in self.cuts.items():
            if c not in per or len(per[c][1]) < self.min_per_competency:
                return None
            if classify(per[c][0], cut, self.error_rate) == "undecided":
                return None
        return "classified"


def placement_policy(
    cuts: Mapping[str, float], settings: PlacementSettings = PlacementSettings(),
) -> CatPolicy:
    """The placement test: content balanced over the competencies of ``cuts`` (equal targets).

    Items are chosen by maximum information at the overall EAP within the competency furthest below
    its share; the test stops when every competency is classified (:class:`EveryCompetencyClassified`)
    or after ``items_per_competency`` per competency. It replays with :func:`adaptive.replay` from the
    same cuts and settings.
    """
    if not cuts:
        msg = "placement needs at least one competency"
        raise AdaptiveError(msg)
    base: Selector
    if settings.selection == "mfi":
        base = MaxInfo()
    elif settings.selection == "randomesque":
        base = Randomesque(settings.randomesque_k)
    else:
        msg = f"unknown placement selection {settings.selection!r}; use mfi or randomesque"
        raise AdaptiveError(msg)
    n = len(cuts)
    stopper: Stopper = AnyOf(
        AllOf(MinItems(n * settings.min_per_competency),
              EveryCompetencyClassified(settings.tag, dict(cuts), settings.error_rate,
                                        settings.min_per_competency)),
        MaxItems(n * settings.items_per_competency))
    return CatPolicy(estimator=EAP(), selector=ContentBalanced(base, settings.tag, dict.fromkeys(cuts, 1.0)),
                     stopper=stopper)


def placement_outcome(
    bank: ItemBank, state: CatState, cuts: Mapping[str, float], now: float,
    settings: PlacementSettings = PlacementSettings(), pack_version: str = "",
    rules: EvidenceRules = EvidenceRules(),
) -> tuple[Evidence, ...]:
    """Starting evidence for every competency of ``cuts`` from a finished placement test.

    Each competency gets its own EAP (its own responses only, N(0, 1) prior) and the interval rule at
    its cut; it is marked mastered only when that decision may be credited under ``rules`` (enough
    items, SE bound, person fit: :func:`~adaptive.integrity.credit_decision`). With the default rules
    a short placement test therefore sets starting points, and a test-out confirms mastery. A
    competency that got no item keeps the prior (undecided). Records come in the order of ``cuts``.
    """
    ids, scores = state.scored()
    per = competency_estimates(bank, ids, scores, tag=settings.tag)
    by_item = dict(zip(ids, scores, strict=True))
    out = []
    for c, cut in cuts.items():
        est, used = per.get(c, (AbilityEstimate(0.0, 1.0), ()))
        mastery = classify(est, cut, settings.error_rate)
        if len(used) < settings.min_per_competency:
            mastery = "undecided"
        mastery = credit_decision(bank, used, [by_item[i] for i in used], est, mastery, rules,
                                  cut=cut).mastery
        out.append(Evidence(c, est.theta, est.se, mastery, float(now), "placement", float(cut), used,
                            pack_version))
    return tuple(out)
