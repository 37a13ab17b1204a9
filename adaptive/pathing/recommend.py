r"""Adaptive learning paths: per-competency evidence, the next module, placement, test-out, review.

Everything here is a pure function of plain, JSON-serialisable inputs, so every path decision can be
stored with its inputs and replayed exactly (:func:`replay_decision`), like a CAT decision
(:func:`adaptive.replay`). Times are POSIX seconds (UTC floats); the app converts its datetimes.

The pieces::

    graph = CompetencyGraph.from_pairs([("a", ()), ("b", ("a",))])      # validated DAG
    model = LearnerModel().record(evidence)                             # history -> current states
    inputs = PathInputs(graph, modules, cuts, model, now)
    decide(inputs)          # PathDecision: ranked Recommendations with reasons and warnings
    dashboard(inputs)       # per-competency state, the path ahead, due reviews

Evidence and mastery
    Each finished test of a competency (placement, module assessment, test-out, review) becomes an
    :class:`Evidence` record: estimate, SE, items answered, the mastery decision of the test's own
    classification rule at the competency's cut score, time, source and pack version. A competency's
    state is its latest evidence; the history is kept.
Decay and review (SE inflation)
    Confidence in an estimate decays with the time :math:`\Delta t` (days) since its evidence: the
    ability may have drifted by an amount whose variance grows towards :math:`\tau^2` with half-life
    :math:`h`, and the point estimate is kept:

    .. math:: SE_t^2 = SE^2 + \tau^2\left(1 - 2^{-\Delta t / h}\right)

    A mastered competency is due for review when the 95 % interval of the decayed estimate reaches the
    cut, :math:`\hat\theta - z\,SE_t = \theta_c`, i.e. after

    .. math:: \Delta t^* = -h \log_2\!\left(1 - \frac{((\hat\theta - \theta_c)/z)^2 - SE^2}{\tau^2}\right)

    clamped to ``[min_interval_days, max_interval_days]`` (the maximum when the argument of the
    logarithm is :math:`\le 0`: decay alone never reaches the cut; the minimum when the evidence was
    already inside the interval, as after a short SPRT decision). The review test
    (:func:`review_settings`, at least 4 items) starts from the decayed estimate as its prior, so a
    confirmed review keeps the old evidence and adds the new: for a learner who has kept the competency
    the next interval is typically longer than the last (expanding spacing; in the tests the median
    grows from 21 to about 27 days).
Ranking
    With :math:`p_c = \Phi((\hat\theta_c - \theta_c)/SE_{c,t})` the probability that competency
    :math:`c` is already above its cut and :math:`D_c` the competencies not yet mastered that build on
    :math:`c` (transitively), a module :math:`m` covering the not-yet-mastered competencies
    :math:`C_m` has the expected gain

    .. math:: g(m) = \sum_{c \in C_m} (1 - p_c)\,(1 + |D_c|)

    (the chance there is something to learn, times the competency itself plus everything it leads to).
    Modules whose prerequisites are all mastered come first, by gain; then the others (choosable, with
    a warning). Ties go to the module whose earliest competency comes first in the graph's topological
    order, then to the module listed first, then to the smaller id.
"""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar

import numpy as np
from scipy.special import ndtr, ndtri

from ..bank import ItemBank
from ..cat import CatPolicy, PolicySettings, run
from ..errors import AdaptiveError
from ..estimation import EAP
from ..integrity import (
    CreditDecision,
    EvidenceRules,
    PastAttempt,
    RetakePolicy,
    credit_decision,
    retake_allowed,
)
from ..jsonsettings import JsonSettings as _JsonSettings
from ..jsonsettings import from_json as _from_json
from ..selection import ContentBalanced, MaxInfo, Randomesque, Selector
from ..simulate import draw_score, responder
from ..stopping import AllOf, AnyOf, MaxItems, MinItems, Stopper
from ..types import AbilityEstimate, CatState, CatStep

__all__ = [
    "SECONDS_PER_DAY",
    "CompetencyGraph",
    "CompetencyView",
    "Dashboard",
    "EveryCompetencyClassified",
    "Evidence",
    "LearnerModel",
    "ModuleSpec",
    "PathDecision",
    "PathInputs",
    "PlacementSettings",
    "Recommendation",
    "ReviewSettings",
    "SimulatedDecision",
    "TestOutSettings",
    "WalkResult",
    "classify",
    "competency_estimates",
    "credited_evidence",
    "dashboard",
    "decayed_estimate",
    "decide",
    "due_reviews",
    "evidence_from_test",
    "placement_outcome",
    "placement_policy",
    "plan_path",
    "recommend",
    "replay_decision",
    "review_due_at",
    "review_settings",
    "simulate_test",
    "simulate_walk",
]

SECONDS_PER_DAY = 86_400.0
SOURCES = ("prior", "placement", "assessment", "testout", "review")
_MASTERY = ("mastered", "not_mastered", "undecided")


def _z(error_rate: float) -> float:
    """Two-sided normal quantile :math:`z = \\Phi^{-1}(1 - \\alpha/2)` (1.96 for 0.05)."""
    if not 0.0 < error_rate < 1.0:
        msg = f"error rate must be in (0, 1), got {error_rate}"
        raise AdaptiveError(msg)
    return float(ndtri(1.0 - error_rate / 2.0))


def _words(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


# ============================================================================ the competency graph
@dataclass(frozen=True, eq=False)
class CompetencyGraph:
    """Competencies and their prerequisites, validated as a directed acyclic graph.

    Build it with :meth:`from_pairs`. ``order`` is a topological order (prerequisites first); among
    competencies that are free at the same time the one declared first comes first.

    Attributes
    ----------
    prerequisites : mapping of str to tuple of str
        Direct prerequisites of each competency, in declaration order.
    order : tuple of str
        Topological order.
    """

    prerequisites: Mapping[str, tuple[str, ...]]
    order: tuple[str, ...] = field(init=False)
    _rank: dict[str, int] = field(init=False, repr=False)
    _dependants: dict[str, tuple[str, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        prereq = {str(c): tuple(str(p) for p in ps) for c, ps in self.prerequisites.items()}
        for c, ps in prereq.items():
            for p in ps:
                if p not in prereq:
                    msg = f"competency {c!r} has the unknown prerequisite {p!r}"
                    raise AdaptiveError(msg)
            if len(set(ps)) != len(ps):
                msg = f"competency {c!r} lists a prerequisite twice: {list(ps)}"
                raise AdaptiveError(msg)
        cycle = _find_cycle(prereq)
        if cycle:
            msg = f"prerequisites form a cycle: {' -> '.join(cycle)} (each needs the next)"
            raise AdaptiveError(msg)
        declared = {c: k for k, c in enumerate(prereq)}
        dependants: dict[str, list[str]] = {c: [] for c in prereq}
        for c, ps in prereq.items():
            for p in ps:
                dependants[p].append(c)
        # Kahn's algorithm, the earliest-declared free competency first
        waiting = {c: len(ps) for c, ps in prereq.items()}
        free = sorted((c for c, n in waiting.items() if n == 0), key=declared.__getitem__)
        order: list[str] = []
        while free:
            c = free.pop(0)
            order.append(c)
            for d in dependants[c]:
                waiting[d] -= 1
                if waiting[d] == 0:
                    free.append(d)
            free.sort(key=declared.__getitem__)
        object.__setattr__(self, "prerequisites", prereq)
        object.__setattr__(self, "order", tuple(order))
        object.__setattr__(self, "_rank", {c: k for k, c in enumerate(order)})
        object.__setattr__(self, "_dependants", {c: tuple(ds) for c, ds in dependants.items()})

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, Sequence[str]]]) -> CompetencyGraph:
        """Build from ``(competency id, prerequisite ids)`` pairs, in declaration order.

        Raises
        ------
        AdaptiveError
            For a duplicate competency, an unknown prerequisite, or a cycle (named in the message).
        """
        prereq: dict[str, tuple[str, ...]] = {}
        for cid, ps in pairs:
            if cid in prereq:
                msg = f"competency {cid!r} is declared twice"
                raise AdaptiveError(msg)
            prereq[cid] = tuple(ps)
        return cls(prereq)

    def __contains__(self, competency: object) -> bool:
        return competency in self.prerequisites

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CompetencyGraph) and self.prerequisites == other.prerequisites

    def __hash__(self) -> int:
        return hash(tuple(self.prerequisites.items()))

    def rank(self, competency: str) -> int:
        """Position of ``competency`` in :attr:`order`."""
        try:
            return self._rank[competency]
        except KeyError:
            msg = f"unknown competency {competency!r}"
            raise AdaptiveError(msg) from None

    def dependants(self, competency: str) -> tuple[str, ...]:
        """Competencies that list ``competency`` as a direct prerequisite."""
        self.rank(competency)
        return self._dependants[competency]

    def ancestors(self, competency: str) -> tuple[str, ...]:
        """Every competency ``competency`` builds on, transitively, in topological order."""
        return self._closure(competency, self.prerequisites)

    def descendants(self, competency: str) -> tuple[str, ...]:
        """Every competency that builds on ``competency``, transitively, in topological order."""
        return self._closure(competency, self._dependants)

    def _closure(self, competency: str, edges: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
        self.rank(competency)
        seen: set[str] = set()
        stack = list(edges[competency])
        while stack:
            c = stack.pop()
            if c not in seen:
                seen.add(c)
                stack.extend(edges[c])
        return tuple(sorted(seen, key=self._rank.__getitem__))

    def to_json(self) -> list[dict[str, Any]]:
        """``[{"id": ..., "prerequisites": [...]}, ...]`` in declaration order."""
        return [{"id": c, "prerequisites": list(ps)} for c, ps in self.prerequisites.items()]

    @classmethod
    def from_json(cls, data: Sequence[Mapping[str, Any]]) -> CompetencyGraph:
        """Rebuild from :meth:`to_json`."""
        return cls.from_pairs((str(d["id"]), tuple(d.get("prerequisites", ()))) for d in data)


def _find_cycle(prereq: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The first cycle met by a depth-first search in declaration order (``[a, b, a]``), or []."""
    colour: dict[str, int] = dict.fromkeys(prereq, 0)  # 0 new, 1 on the stack, 2 done
    for root in prereq:
        if colour[root]:
            continue
        path = [root]
        iters = [iter(prereq[root])]
        colour[root] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                colour[path.pop()] = 2
                iters.pop()
            elif colour[nxt] == 1:
                return [*path[path.index(nxt):], nxt]
            elif colour[nxt] == 0:
                colour[nxt] = 1
                path.append(nxt)
                iters.append(iter(prereq[nxt]))
    return []


# ============================================================================ evidence and the model
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
    z = _z(error_rate)
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


# ============================================================================ decay and review
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
        _z(self.error_rate)

    _what: ClassVar[str] = "review setting"


def decayed_estimate(state: Evidence, now: float, settings: ReviewSettings) -> AbilityEstimate:
    r"""The estimate at ``now``: same theta, SE inflated by forgetting (see the module docstring).

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
    z = _z(settings.error_rate)
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


# ============================================================================ placement
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
        _z(self.error_rate)

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


# ============================================================================ test-out
@dataclass(frozen=True, slots=True)
class TestOutSettings(_JsonSettings):
    """Test-out of a competency (recognition of prior learning).

    How many items a credited decision needs, and its SE bound, come from the pack's
    :class:`~adaptive.integrity.EvidenceRules`; how often a learner may try again from its
    :class:`~adaptive.integrity.RetakePolicy`.

    Attributes
    ----------
    mastery_method : str
        ``"ci"`` (stop when the 95 % interval excludes the cut) or ``"sprt"``.
    error_rate, sprt_delta : float
        The classification's error rate and SPRT indifference half-width.
    max_items : int
        A test that reaches ``max_items`` undecided is not passed.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class

    mastery_method: str = "ci"
    error_rate: float = 0.05
    sprt_delta: float = 0.3
    max_items: int = 20

    def __post_init__(self) -> None:
        if self.mastery_method not in ("ci", "sprt"):
            msg = f"unknown test-out mastery method {self.mastery_method!r}; use ci or sprt"
            raise AdaptiveError(msg)

    def policy_settings(self, cut: float, competency: str | None = None, tag: str = "competency",
                        rules: EvidenceRules = EvidenceRules()) -> PolicySettings:
        """The CAT settings: N(0, 1) prior, maximum information, stop on classification at ``cut``.

        The test runs at least ``rules.min_items`` items and stops on *mastered* only once the SE is
        within ``rules.max_se`` too, so it never ends on a mastery that could not be credited.
        With ``competency``, only items whose ``tag`` is that competency are given (so the test can run
        on a whole pack's bank); without it, on every item of the bank it runs on.
        """
        return PolicySettings(
            estimator="eap", selection="mfi", se_target=None,
            min_items=min(rules.min_items, self.max_items), max_items=self.max_items,
            cut=float(cut), mastery_method=self.mastery_method, mastery_stop=True,
            sprt_delta=self.sprt_delta, error_rate=self.error_rate, mastery_max_se=rules.max_se,
            content_tag=None if competency is None else tag,
            content_targets={} if competency is None else {competency: 1.0})

    _what: ClassVar[str] = "test-out setting"


# ============================================================================ recommendations
@dataclass(frozen=True, slots=True)
class ModuleSpec:
    """A module and the competencies it teaches."""

    id: str
    competencies: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"id": self.id, "competencies": list(self.competencies)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModuleSpec:
        """Rebuild from :meth:`to_json`."""
        return cls(str(data["id"]), tuple(str(c) for c in data["competencies"]))


@dataclass(frozen=True, eq=False)
class PathInputs:
    """Everything a path decision depends on: plain data, stored with the decision.

    Attributes
    ----------
    graph : CompetencyGraph
    modules : tuple of ModuleSpec
        In the pack's order (the second tie-break).
    cuts : mapping of str to float
        The cut score of every competency of the graph.
    model : LearnerModel
    now : float
        POSIX seconds.
    titles : mapping of str to str
        Display names of competencies for the reasons (ids otherwise).
    review : ReviewSettings
    """

    graph: CompetencyGraph
    modules: tuple[ModuleSpec, ...]
    cuts: Mapping[str, float]
    model: LearnerModel
    now: float
    titles: Mapping[str, str] = field(default_factory=dict)
    review: ReviewSettings = field(default_factory=ReviewSettings)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for m in self.modules:
            if m.id in seen:
                msg = f"module {m.id!r} is listed twice"
                raise AdaptiveError(msg)
            seen.add(m.id)
            if not m.competencies:
                msg = f"module {m.id!r} teaches no competency"
                raise AdaptiveError(msg)
            for c in m.competencies:
                if c not in self.graph:
                    msg = f"module {m.id!r} teaches {c!r}, which is not in the competency graph"
                    raise AdaptiveError(msg)
        missing = [c for c in self.graph.order if c not in self.cuts]
        if missing:
            msg = f"no cut score for competency {missing[0]!r}"
            raise AdaptiveError(msg)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PathInputs) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(self.now)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"graph": self.graph.to_json(), "modules": [m.to_json() for m in self.modules],
                "cuts": dict(self.cuts), "model": self.model.to_json(), "now": self.now,
                "titles": dict(self.titles), "review": self.review.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PathInputs:
        """Rebuild from :meth:`to_json`."""
        d = _from_json(cls, data, "path input")
        return cls(graph=CompetencyGraph.from_json(d["graph"]),
                   modules=tuple(ModuleSpec.from_json(m) for m in d["modules"]),
                   cuts={str(k): float(v) for k, v in d["cuts"].items()},
                   model=LearnerModel.from_json(d["model"]), now=float(d["now"]),
                   titles={str(k): str(v) for k, v in d.get("titles", {}).items()},
                   review=ReviewSettings.from_json(d.get("review", {})))

    def name(self, competency: str) -> str:
        """The display name of ``competency``."""
        return self.titles.get(competency, competency)

    def probability_mastered(self, competency: str) -> float:
        r""":math:`p_c = \Phi((\hat\theta_c - \theta_c)/SE_{c,t})` at ``now``.

        A competency without evidence has the prior N(0, 1).
        """
        st = self.model.state(competency)
        est = (AbilityEstimate(0.0, 1.0) if st is None
               else decayed_estimate(st, self.now, self.review))
        return float(ndtr((est.theta - self.cuts[competency]) / est.se))


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One module in the ranked list.

    Attributes
    ----------
    module : str
    rank : int
        1 is the recommendation.
    score : float
        Expected gain :math:`g(m)`.
    ready : bool
        Every prerequisite is mastered.
    competencies : tuple of str
        The module's competencies not yet mastered.
    mastered_prerequisites, missing_prerequisites : tuple of str
        Prerequisites (outside the module) mastered and not yet mastered, in topological order.
    unlocks : tuple of str
        Competencies not yet mastered that build directly on the module's.
    reason : str
        Why, for the learner, in a tutor's words (one or two sentences).
    warnings : tuple of str
        At most one calm note, shown if the learner opens this module before its prerequisites are
        mastered (the field keeps its name so stored decisions still read).
    """

    module: str
    rank: int
    score: float
    ready: bool
    competencies: tuple[str, ...]
    mastered_prerequisites: tuple[str, ...]
    missing_prerequisites: tuple[str, ...]
    unlocks: tuple[str, ...]
    reason: str
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"module": self.module, "rank": self.rank, "score": self.score, "ready": self.ready,
                "competencies": list(self.competencies),
                "mastered_prerequisites": list(self.mastered_prerequisites),
                "missing_prerequisites": list(self.missing_prerequisites),
                "unlocks": list(self.unlocks), "reason": self.reason, "warnings": list(self.warnings)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recommendation:
        """Rebuild from :meth:`to_json`."""
        d = _from_json(cls, data, "recommendation")
        return cls(module=str(d["module"]), rank=int(d["rank"]), score=float(d["score"]),
                   ready=bool(d["ready"]), competencies=tuple(d["competencies"]),
                   mastered_prerequisites=tuple(d["mastered_prerequisites"]),
                   missing_prerequisites=tuple(d["missing_prerequisites"]),
                   unlocks=tuple(d["unlocks"]), reason=str(d["reason"]),
                   warnings=tuple(d.get("warnings", ())))


def _assess(inputs: PathInputs, module: ModuleSpec, mastered: Callable[[str], bool],
            p: Callable[[str], float]) -> Recommendation | None:
    """The unranked recommendation for one module, None when all its competencies are mastered."""
    g = inputs.graph
    todo = tuple(c for c in module.competencies if not mastered(c))
    if not todo:
        return None
    own = set(module.competencies)
    prereqs = sorted({q for c in module.competencies for q in g.prerequisites[c]} - own, key=g.rank)
    have = tuple(q for q in prereqs if mastered(q))
    missing = tuple(q for q in prereqs if not mastered(q))
    unlocks = tuple(sorted({d for c in todo for d in g.dependants(c) if d not in own and not mastered(d)},
                           key=g.rank))
    score = 0.0
    for c in todo:
        ahead = sum(1 for d in g.descendants(c) if not mastered(d))
        score += (1.0 - p(c)) * (1.0 + ahead)
    name = inputs.name
    what = _words([name(c) for c in todo])
    verb = "builds" if len(todo) == 1 else "build"
    after = (f" After it, you can go on to {_words([name(d) for d in unlocks])}." if unlocks else "")
    warnings: tuple[str, ...] = ()
    if missing:
        needed = _words([name(q) for q in missing])
        reason = f"{what} {verb} on {needed}, which you have not mastered yet; it will be easier after that."
        warnings = (f"{what} {verb} on {needed}, which you have not mastered yet. You can study it "
                    f"now all the same; if it feels hard, come back to it after {needed}.",)
    elif have:
        pron = "it" if len(have) == 1 else "them"
        reason = f"You have mastered {_words([name(q) for q in have])}, and {what} {verb} on {pron}.{after}"
    else:
        needs = "needs" if len(todo) == 1 else "need"
        reason = f"A good place to start: {what} {needs} nothing you have not met already.{after}"
    return Recommendation(module.id, 0, score, not missing, todo, have, missing, unlocks, reason, warnings)


def _ranked(inputs: PathInputs, mastered: Callable[[str], bool],
            p: Callable[[str], float]) -> tuple[Recommendation, ...]:
    g = inputs.graph
    recs = []
    for pos, m in enumerate(inputs.modules):
        r = _assess(inputs, m, mastered, p)
        if r is not None:
            first = min(g.rank(c) for c in m.competencies)
            recs.append(((not r.ready, -round(r.score, 12), first, pos, m.id), r))
    recs.sort(key=lambda kr: kr[0])
    return tuple(replace(r, rank=k + 1) for k, (_, r) in enumerate(recs))


def recommend(inputs: PathInputs) -> tuple[Recommendation, ...]:
    """Rank the modules not yet mastered: ready ones by expected gain, then the others with warnings.

    Modules whose competencies are all mastered (e.g. by placement or test-out) are skipped. The
    learner may choose any listed module; a module that is not ready carries its ``warnings``. Ties
    are broken by topological position, module order, then id (see the module docstring).
    """
    return _ranked(inputs, inputs.model.mastered, inputs.probability_mastered)


def plan_path(inputs: PathInputs) -> tuple[str, ...]:
    """The path ahead: the modules in the order the learner would meet them following every
    recommendation, assuming each recommended module ends mastered."""
    done: set[str] = set()
    path: list[str] = []

    def mastered(c: str) -> bool:
        return c in done or inputs.model.mastered(c)

    def p(c: str) -> float:
        return 1.0 if c in done else inputs.probability_mastered(c)

    while True:
        ranked = _ranked(inputs, mastered, p)
        if not ranked:
            return tuple(path)
        top = ranked[0]
        path.append(top.module)
        done.update(top.competencies)


@dataclass(frozen=True, eq=False)
class PathDecision:
    """A stored recommendation: its inputs and its output, which :func:`replay_decision` recomputes."""

    inputs: PathInputs
    recommendations: tuple[Recommendation, ...]
    engine: str = "pathing-1"

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"engine": self.engine, "inputs": self.inputs.to_json(),
                "recommendations": [r.to_json() for r in self.recommendations]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PathDecision:
        """Rebuild from :meth:`to_json`."""
        d = _from_json(cls, data, "path decision")
        return cls(PathInputs.from_json(d["inputs"]),
                   tuple(Recommendation.from_json(r) for r in d["recommendations"]),
                   str(d.get("engine", "pathing-1")))

    @property
    def recommended(self) -> str | None:
        """The top module, or None when everything is mastered."""
        return self.recommendations[0].module if self.recommendations else None


def decide(inputs: PathInputs) -> PathDecision:
    """The recommendation with its inputs, ready to store."""
    return PathDecision(inputs, recommend(inputs))


def replay_decision(decision: PathDecision | Mapping[str, Any]) -> PathDecision:
    """Recompute a stored decision from its inputs and check it matches exactly.

    Raises
    ------
    AdaptiveError
        Naming the first rank where the recomputed list differs.
    """
    stored = decision if isinstance(decision, PathDecision) else PathDecision.from_json(decision)
    again = decide(stored.inputs)
    a = [r.to_json() for r in stored.recommendations]
    b = [r.to_json() for r in again.recommendations]
    if a != b:
        k = next((k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        msg = (f"path decision replay diverged at rank {k + 1}: stored "
               f"{a[k]['module'] if k < len(a) else None!r}, engine now gives "
               f"{b[k]['module'] if k < len(b) else None!r}")
        raise AdaptiveError(msg)
    return again


# ============================================================================ dashboard
@dataclass(frozen=True, slots=True)
class CompetencyView:
    """One competency on the learner's dashboard (at ``now``)."""

    competency: str
    mastery: str
    theta: float
    se: float
    se_now: float
    probability_mastered: float
    source: str
    last_evidence: float | None
    review_due_at: float | None
    review_due: bool

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The data of the learner's competency dashboard."""

    competencies: tuple[CompetencyView, ...]
    recommendations: tuple[Recommendation, ...]
    path: tuple[str, ...]
    skipped: tuple[str, ...]
    due_reviews: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"competencies": [c.to_json() for c in self.competencies],
                "recommendations": [r.to_json() for r in self.recommendations],
                "path": list(self.path), "skipped": list(self.skipped),
                "due_reviews": list(self.due_reviews)}


def dashboard(inputs: PathInputs) -> Dashboard:
    """Per-competency state (topological order), the ranked modules, the path ahead, skipped modules
    (all competencies mastered) and the reviews due at ``now``."""
    views = []
    for c in inputs.graph.order:
        st = inputs.model.state(c)
        if st is None:
            views.append(CompetencyView(c, "undecided", 0.0, 1.0, 1.0, inputs.probability_mastered(c),
                                        "prior", None, None, False))
            continue
        now_est = decayed_estimate(st, inputs.now, inputs.review)
        due_at = review_due_at(st, inputs.cuts[c], inputs.review)
        views.append(CompetencyView(c, st.mastery, st.theta, st.se, now_est.se,
                                    inputs.probability_mastered(c), st.source, st.time, due_at,
                                    due_at is not None and due_at <= inputs.now))
    skipped = tuple(m.id for m in inputs.modules
                    if all(inputs.model.mastered(c) for c in m.competencies))
    return Dashboard(tuple(views), recommend(inputs), plan_path(inputs), skipped,
                     due_reviews(inputs.model, inputs.cuts, inputs.now, inputs.review, inputs.graph.order))


# ============================================================================ simulation helpers
def simulate_test(
    bank: ItemBank, policy: CatPolicy, theta: float, rng: np.random.Generator,
) -> tuple[CatState, CatStep, float]:
    """Run one attempt for a learner of ability ``theta``; returns the state, last step and seconds.

    The attempt seed and every answer come from ``rng``.
    """
    respond = responder(bank, theta, rng)
    t0 = _time.perf_counter()
    state, steps = run(bank, policy, int(rng.integers(2**31)), respond)
    return state, steps[-1], _time.perf_counter() - t0


@dataclass(frozen=True, slots=True)
class SimulatedDecision:
    """A mastery decision made during a simulated walk, with the learner's true ability at the time."""

    competency: str
    source: str
    true_theta: float
    cut: float
    mastery: str
    items: int
    time: float

    @property
    def wrong(self) -> bool:
        """A decided classification on the wrong side of the cut (undecided is never wrong)."""
        if self.mastery == "mastered":
            return self.true_theta < self.cut
        if self.mastery == "not_mastered":
            return self.true_theta >= self.cut
        return False


@dataclass(frozen=True, eq=False)
class WalkResult:
    """What happened on one simulated learner's path.

    Attributes
    ----------
    decisions : tuple of SimulatedDecision
        Every competency decision (placement, test-out, assessment, review), in order.
    studied : tuple of str
        Modules studied, in order.
    model : LearnerModel
        The final evidence history.
    path_decisions : tuple of PathDecision
        Every recommendation made, with its inputs (each replays exactly).
    decision_seconds : tuple of float
        Wall time of each :func:`decide` call.
    """

    decisions: tuple[SimulatedDecision, ...]
    studied: tuple[str, ...]
    model: LearnerModel
    path_decisions: tuple[PathDecision, ...]
    decision_seconds: tuple[float, ...]


def simulate_walk(
    bank: ItemBank,
    graph: CompetencyGraph,
    modules: Sequence[ModuleSpec],
    cuts: Mapping[str, float],
    true_theta: Mapping[str, float],
    rng: np.random.Generator,
    *,
    assessment: Mapping[str, PolicySettings],
    placement: PlacementSettings | None = PlacementSettings(),
    testout: TestOutSettings | None = None,
    review: ReviewSettings | None = ReviewSettings(),
    rules: EvidenceRules = EvidenceRules(),
    retakes: RetakePolicy = RetakePolicy(),
    gain: float = 0.8,
    max_modules: int | None = None,
    tag: str = "competency",
) -> WalkResult:
    r"""One simulated learner walks a pack's path (a seeded simulation for tests and benchmarks).

    1. At time 0 a placement test (unless ``placement`` is None) records starting evidence.
    2. Then, one module a day, the learner follows the recommendation: with ``testout`` settings they
       first try to test out of each competency (when :func:`~adaptive.integrity.retake_allowed`
       under ``retakes``); otherwise they study
       it — the true ability rises by ``gain`` logits — and take the module assessment
       (``assessment[c]``, restricted to the competency's items). A competency not mastered comes back
       in the recommendations and is studied again; at most ``max_modules`` modules
       (``3 × modules`` by default).
    3. With ``review`` settings, each mastered competency is reviewed at its due time; the true ability
       has drifted meanwhile by :math:`N(0, \tau^2(1 - 2^{-\Delta t/h}))`, as the decay model assumes.

    Every decision is credited under ``rules`` (:func:`~adaptive.integrity.credit_decision`).
    Abilities are per competency (``true_theta``); answers follow the bank's model.
    """
    theta = {c: float(true_theta[c]) for c in graph.order}
    titles: dict[str, str] = {}
    rev = review or ReviewSettings()
    model = LearnerModel()
    decisions: list[SimulatedDecision] = []
    path_decisions: list[PathDecision] = []
    seconds: list[float] = []
    studied: list[str] = []
    attempts: dict[str, list[PastAttempt]] = {}
    now = 0.0

    def note(ev: Evidence) -> None:
        nonlocal model
        model = model.record(ev)
        decisions.append(SimulatedDecision(ev.competency, ev.source, theta[ev.competency], ev.cut,
                                           ev.mastery, len(ev.items), ev.time))

    def single(c: str, settings: PolicySettings) -> CatPolicy:
        return replace(settings, content_tag=tag, content_targets={c: 1.0}).build()

    if placement is not None:
        policy = placement_policy(cuts, placement)
        respond = _responder(bank, theta, tag, rng)
        state, _ = run(bank, policy, int(rng.integers(2**31)), respond)
        for ev in placement_outcome(bank, state, cuts, now, placement, rules=rules):
            note(ev)
    limit = 3 * len(modules) if max_modules is None else max_modules
    for _ in range(limit):
        now += SECONDS_PER_DAY
        inputs = PathInputs(graph, tuple(modules), cuts, model, now, titles, rev)
        t0 = _time.perf_counter()
        decision = decide(inputs)
        seconds.append(_time.perf_counter() - t0)
        path_decisions.append(decision)
        if not decision.recommendations:
            break
        top = decision.recommendations[0]
        for c in top.competencies:
            if testout is not None and retake_allowed(attempts.get(c, []), now, retakes).allowed:
                state, step, _ = simulate_test(
                    bank, testout.policy_settings(cuts[c], c, tag, rules).build(), theta[c], rng)
                ev, _ = credited_evidence(bank, c, state, step, cuts[c], now, "testout", rules=rules)
                attempts.setdefault(c, []).append(PastAttempt(now, now, ev.mastered))
                note(ev)
                if ev.mastered:
                    continue
            theta[c] += gain
            state, step, _ = simulate_test(bank, single(c, assessment[c]), theta[c], rng)
            note(credited_evidence(bank, c, state, step, cuts[c], now, "assessment", rules=rules)[0])
        studied.append(top.module)
    if review is not None:
        for c, st in sorted(model.states().items(), key=lambda kv: graph.rank(kv[0])):
            at = review_due_at(st, cuts[c], review)
            if at is None:
                continue
            days = (at - st.time) / SECONDS_PER_DAY
            var = review.tau ** 2 * -math.expm1(-days * math.log(2.0) / review.half_life_days)
            theta[c] += float(rng.normal(0.0, math.sqrt(var)))
            settings = review_settings(st, cuts[c], at, review, rules)
            state, step, _ = simulate_test(bank, single(c, settings), theta[c], rng)
            note(credited_evidence(bank, c, state, step, cuts[c], at, "review", rules=rules,
                                   prior_items=len(st.items), prior_sd=settings.prior_sd)[0])
    return WalkResult(tuple(decisions), tuple(studied), model, tuple(path_decisions), tuple(seconds))


def _responder(
    bank: ItemBank, theta: Mapping[str, float], tag: str, rng: np.random.Generator,
) -> Callable[[str], int]:
    """Answers of a learner whose ability on each item is that of the item's competency."""
    values = bank.tags[tag]

    def respond(item_id: str) -> int:
        c = values[bank.index(item_id)]
        return draw_score(bank, theta[c] if c is not None else 0.0, item_id, float(rng.random()))

    return respond
