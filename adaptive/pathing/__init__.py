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

The modules, one decision each::

    graph.py       CompetencyGraph: the prerequisite DAG, topological order, ancestors, descendants
    learner.py     Evidence, LearnerModel, classify; evidence from a finished test (credited or not)
    review.py      ReviewSettings: SE inflation with time, when a review is due, the review test
    placement.py   PlacementSettings: the placement test and the starting evidence it gives
    testout.py     TestOutSettings: the test-out of one competency (recognition of prior learning)
    recommend.py   PathInputs -> ranked Recommendations, plan_path, PathDecision, decide, replay_decision
    dashboard.py   Dashboard: per-competency state now, the path ahead, skipped modules, due reviews
    walk.py        simulate_walk / simulate_test: seeded learners walking a path (tests, benchmarks)
"""

from __future__ import annotations

from .dashboard import CompetencyView, Dashboard, dashboard
from .graph import CompetencyGraph
from .learner import (
    SECONDS_PER_DAY,
    Evidence,
    LearnerModel,
    classify,
    competency_estimates,
    credited_evidence,
    evidence_from_test,
)
from .placement import EveryCompetencyClassified, PlacementSettings, placement_outcome, placement_policy
from .recommend import (
    ModuleSpec,
    PathDecision,
    PathInputs,
    Recommendation,
    decide,
    plan_path,
    recommend,
    replay_decision,
)
from .review import ReviewSettings, decayed_estimate, due_reviews, review_due_at, review_settings
from .testout import TestOutSettings
from .walk import SimulatedDecision, WalkResult, simulate_test, simulate_walk

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
