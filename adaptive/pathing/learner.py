"""The learner model: per-competency evidence, mastery decisions, and evidence made from finished tests.

Each finished test of a competency (placement, module assessment, test-out, review) becomes an
:class:`Evidence` record; a :class:`LearnerModel` is the history of them, and a competency's state is
its latest evidence. :func:`classify` is the engine's confidence-interval rule at a cut score.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scipy.special import ndtri

from ..bank import ItemBank
from ..errors import AdaptiveError
from ..estimation import EAP
from ..integrity import CreditDecision, EvidenceRules, credit_decision
from ..jsonsettings import from_json as _from_json
from ..types import AbilityEstimate, CatState, CatStep

__all__ = [
    "SECONDS_PER_DAY",
    "SOURCES",
    "Evidence",
    "LearnerModel",
    "classify",
    "competency_estimates",
    "credited_evidence",
    "evidence_from_test",
    "two_sided_z",
]

SECONDS_PER_DAY = 86_400.0
SOURCES = ("prior", "placement", "assessment", "testout", "review")
_MASTERY = ("mastered", "not_mastered", "undecided")


def two_sided_z(error_rate: float) -> float:
    """Two-sided normal quantile :math:`z = \\Phi^{-1}(1 - \\alpha/2)` (1.96 for 0.05)."""
    if not 0.0 < error_rate < 1.0:
        msg = f"error rate must be in (0, 1), got {error_rate}"
        raise AdaptiveError(msg)
    return float(ndtri(1.0 - error_rate / 2.0))


@dataclass(frozen=True, slots=True)
class Evidence:
    """One finished test of one competency: the estimate and the mastery decision, with provenance.

    A passed test-out is a recognition of prior learning; this record is its evidence.

    Attributes
    ----------
    competency : str
    theta, se : float
        The estimate from the test's responses to this competency's items.
    mastery : str
        ``"mastered"``, ``"not_mastered"`` or ``"undecided"``: the test's classification at ``cut``.
    time : float
        When the test finished (POSIX seconds).
    source : str
        ``"prior"``, ``"placement"``, ``"assessment"``, ``"testout"`` or ``"review"``.
    cut : float
        The cut score the decision was made at.
    items : tuple of str
        The scored items answered for this competency.
    pack_version : str
        The content pack version whose calibration produced the estimate.
    """

    competency: str
    theta: float
    se: float
    mastery: str
    time: float
    source: str
    cut: float = 0.0
    items: tuple[str, ...] = ()
    pack_version: str = ""

    def __post_init__(self) -> None:
        if self.mastery not in _MASTERY:
            msg = f"evidence for {self.competency!r}: mastery must be one of {_MASTERY}, got {self.mastery!r}"
            raise AdaptiveError(msg)
        if self.source not in SOURCES:
            msg = f"evidence for {self.competency!r}: source must be one of {SOURCES}, got {self.source!r}"
            raise AdaptiveError(msg)
        if not (math.isfinite(self.theta) and math.isfinite(self.se) and self.se > 0):
            msg = (f"evidence for {self.competency!r}: need finite theta and se > 0, got {self.theta}, "
                   f"{self.se}")
            raise AdaptiveError(msg)
        if not (math.isfinite(self.time) and math.isfinite(self.cut)):
            msg = f"evidence for {self.competency!r}: time and cut must be finite"
            raise AdaptiveError(msg)

    @property
    def mastered(self) -> bool:
        """True when the decision was ``mastered``."""
        return self.mastery == "mastered"

    @property
    def estimate(self) -> AbilityEstimate:
        """The estimate as an :class:`AbilityEstimate`."""
        return AbilityEstimate(self.theta, self.se)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"competency": self.competency, "theta": self.theta, "se": self.se,
                "mastery": self.mastery, "time": self.time, "source": self.source, "cut": self.cut,
                "items": list(self.items), "pack_version": self.pack_version}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evidence:
        """Rebuild from :meth:`to_json`."""
        d = _from_json(cls, data, "evidence")
        return cls(competency=str(d["competency"]), theta=float(d["theta"]), se=float(d["se"]),
                   mastery=str(d["mastery"]), time=float(d["time"]), source=str(d["source"]),
                   cut=float(d.get("cut", 0.0)), items=tuple(str(i) for i in d.get("items", ())),
                   pack_version=str(d.get("pack_version", "")))


def classify(estimate: AbilityEstimate, cut: float, error_rate: float = 0.05) -> str:
    r"""The engine's confidence-interval rule at ``cut``.

    .. math:: \hat\theta - z\,SE > \theta_c \Rightarrow \text{mastered},\quad
              \hat\theta + z\,SE < \theta_c \Rightarrow \text{not mastered},\quad
              z = \Phi^{-1}(1 - \alpha/2)
    """
    z = two_sided_z(error_rate)
    if estimate.theta - z * estimate.se > cut:
        return "mastered"
    if estimate.theta + z * estimate.se < cut:
        return "not_mastered"
    return "undecided"


@dataclass(frozen=True, slots=True)
class LearnerModel:
    """A learner's evidence history; each competency's state is its latest evidence.

    "Latest" is the greatest ``time``; among equal times the one recorded last.
    """

    history: tuple[Evidence, ...] = ()

    def record(self, *evidence: Evidence) -> LearnerModel:
        """A model with ``evidence`` appended (the model itself is never changed)."""
        return LearnerModel((*self.history, *evidence))

    def state(self, competency: str) -> Evidence | None:
        """The latest evidence for ``competency`` (None before any)."""
        best: Evidence | None = None
        for ev in self.history:
            if ev.competency == competency and (best is None or ev.time >= best.time):
                best = ev
        return best

    def states(self) -> dict[str, Evidence]:
        """Latest evidence per competency."""
        out: dict[str, Evidence] = {}
        for ev in self.history:
            prev = out.get(ev.competency)
            if prev is None or ev.time >= prev.time:
                out[ev.competency] = ev
        return out

    def history_of(self, competency: str) -> tuple[Evidence, ...]:
        """Every record for ``competency``, in time order (stable)."""
        return tuple(sorted((ev for ev in self.history if ev.competency == competency),
                            key=lambda ev: ev.time))

    def mastered(self, competency: str) -> bool:
        """True when the latest evidence says mastered."""
        st = self.state(competency)
        return st is not None and st.mastered

    def to_json(self) -> list[dict[str, Any]]:
        """The history as a list of evidence records."""
        return [ev.to_json() for ev in self.history]

    @classmethod
    def from_json(cls, data: Sequence[Mapping[str, Any]]) -> LearnerModel:
        """Rebuild from :meth:`to_json`."""
        return cls(tuple(Evidence.from_json(d) for d in data))


# ============================================================================ evidence from tests
def competency_estimates(
    bank: ItemBank, items: Sequence[str], scores: Sequence[int], *, tag: str = "competency",
    estimator: EAP | None = None,
) -> dict[str, tuple[AbilityEstimate, tuple[str, ...]]]:
    r"""EAP per competency from the responses to that competency's items only.

    Returns ``{competency: (estimate, item ids)}`` for every tag value met in ``items``. Each
    competency's posterior uses only its own responses and the prior of ``estimator`` (N(0, 1) by
    default):

    .. math:: \pi_c(\theta) \propto \pi(\theta) \prod_{j \in c} P_{j x_j}(\theta)
    """
    if tag not in bank.tags:
        msg = f"per-competency estimates need the item tag {tag!r}, which the bank lacks"
        raise AdaptiveError(msg)
    est = estimator or EAP()
    values = bank.tags[tag]
    groups: dict[str, tuple[list[int], list[int], list[str]]] = {}
    for iid, x in zip(items, scores, strict=True):
        j = bank.index(iid)
        c = values[j]
        if c is None or bool(bank.pilot[j]):
            continue
        pos, sc, ids = groups.setdefault(c, ([], [], []))
        pos.append(j)
        sc.append(int(x))
        ids.append(iid)
    return {c: (est.estimate(bank, pos, sc), tuple(ids)) for c, (pos, sc, ids) in groups.items()}


def evidence_from_test(
    competency: str, state: CatState, step: CatStep, cut: float, now: float, source: str,
    pack_version: str = "", *, credit: CreditDecision | None = None,
) -> Evidence:
    """The evidence of a finished single-competency test (module assessment, test-out, review).

    With ``credit`` (:func:`~adaptive.integrity.credit_decision` of the same test) its decision is
    the evidence's: mastery only when credited. Without it the decision is the test's own
    (``step.mastery``, from its classification rule at ``cut``), or the confidence-interval rule
    (:func:`classify`) when the test had none. A passed test-out (``mastery == "mastered"``) is the
    recognition of prior learning.
    """
    if credit is not None:
        mastery = credit.mastery
    else:
        mastery = step.mastery if step.mastery is not None else classify(step.estimate, cut)
    ids, _ = state.scored()
    return Evidence(competency, step.estimate.theta, step.estimate.se, mastery, float(now), source,
                    float(cut), ids, pack_version)


def credited_evidence(
    bank: ItemBank, competency: str, state: CatState, step: CatStep, cut: float, now: float,
    source: str, pack_version: str = "", rules: EvidenceRules = EvidenceRules(),
    prior_items: int = 0, prior_sd: float = 1.0,
) -> tuple[Evidence, CreditDecision]:
    """:func:`evidence_from_test` after :func:`~adaptive.integrity.credit_decision` of the test.

    ``prior_items`` and ``prior_sd`` describe the test's prior: for a review, the evidence it
    confirms (its items count, its precision counts at the cut); N(0, 1) and no items otherwise.
    """
    ids, scores = state.scored()
    mastery = step.mastery if step.mastery is not None else classify(step.estimate, cut)
    credit = credit_decision(bank, ids, scores, step.estimate, mastery, rules, cut=cut,
                             prior_sd=prior_sd, prior_items=prior_items)
    return (evidence_from_test(competency, state, step, cut, now, source, pack_version, credit=credit),
            credit)
