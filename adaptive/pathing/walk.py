"""Seeded simulations of learners walking a pack's path, for the tests and the benchmarks."""

from __future__ import annotations

import math
import time as _time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..bank import ItemBank
from ..cat import CatPolicy, PolicySettings, run
from ..integrity import EvidenceRules, PastAttempt, RetakePolicy, retake_allowed
from ..simulate import draw_score, responder
from ..types import CatState, CatStep
from .graph import CompetencyGraph
from .learner import SECONDS_PER_DAY, Evidence, LearnerModel, credited_evidence
from .placement import PlacementSettings, placement_outcome, placement_policy
from .recommend import ModuleSpec, PathDecision, PathInputs, decide
from .review import ReviewSettings, review_due_at, review_settings
from .testout import TestOutSettings

__all__ = ["SimulatedDecision", "WalkResult", "simulate_test", "simulate_walk"]


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
