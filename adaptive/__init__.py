"""Thetapath's IRT engine: pure numpy/scipy, no web, no database, no file paths.

The public API that ``content`` and ``app`` use (everything else is internal):

Item banks
    :class:`ItemBank` (validated read-only parameter arrays; ``from_items``, ``from_arrays``,
    ``from_json``/``to_json`` for BANK.json), :class:`ItemParameters` (one item), :mod:`adaptive.irt`
    for the model functions (1PL/2PL/3PL, GPCM, GRM).
Estimation
    :class:`EAP` (incremental, normal prior), :class:`MAP`, :class:`WLE`; each returns an
    :class:`AbilityEstimate` ``(theta, se)``.
Adaptive testing
    :class:`PolicySettings` (plain JSON settings, as a pack stores them) ``.build()`` →
    :class:`CatPolicy` with ``start(seed)``, ``step(bank, state, rng) -> CatStep``,
    ``present(state, step)``, ``record(bank, state, score)``; :class:`CatState` round-trips through
    JSON so an attempt can be stored and resumed; :func:`replay` recomputes a stored attempt exactly.
    Selection (:class:`MaxInfo`, :class:`Randomesque`, :class:`SympsonHetter`,
    :class:`ContentBalanced`) and stopping rules (:mod:`adaptive.stopping`) compose.
Calibration and statistics
    :func:`calibrate` (marginal maximum likelihood EM, fixed anchors, or the pyirt backend) on
    :class:`ResponseData` (:func:`read_responses_csv` parses ``learner,item,score`` text) returns a
    :class:`CalibrationResult` whose ``bank`` is an :class:`ItemBank`; :func:`eap_scores` scores
    learners on a calibrated bank. :func:`item_statistics` (proportion correct, point-biserial),
    :func:`item_fit` (infit/outfit), :func:`sx2_item_fit`, :func:`marginal_reliability` and
    :func:`information_curves` describe how items behave.
Simulation
    :func:`synthetic_bank`, :func:`simulate_cat`, :func:`linear_test`,
    :func:`sympson_hetter_control`.
Learning paths (:mod:`adaptive.pathing`)
    :class:`CompetencyGraph` (validated prerequisite DAG), :class:`Evidence` and :class:`LearnerModel`
    (per-competency estimates and mastery decisions with history), :class:`PathInputs` →
    :func:`recommend` / :func:`decide` (:class:`PathDecision`, replayed by :func:`replay_decision`),
    :func:`plan_path`, :func:`dashboard`; :func:`placement_policy` and :func:`placement_outcome`;
    :class:`TestOutSettings`; :class:`ReviewSettings`,
    :func:`decayed_estimate`, :func:`review_due_at`, :func:`due_reviews`, :func:`review_settings`;
    :func:`evidence_from_test`, :func:`credited_evidence`; :func:`simulate_walk` for seeded path
    simulations.
Trustworthy evidence (:mod:`adaptive.integrity`, :mod:`adaptive.personfit`)
    :class:`EvidenceRules` and :func:`credit_decision` (minimum items, SE bound, classification,
    person fit) decide whether a mastery decision may be credited; :func:`person_fit` (Snijders'
    :math:`l_z^*`) flags response patterns that no ability explains; :class:`RetakePolicy`,
    :func:`retake_allowed` and :func:`recent_exclusions` are the one retake rule for every
    credit-bearing attempt.

Errors are :class:`AdaptiveError` and its children; each names the item and the field involved.
"""

from __future__ import annotations

from .bank import ItemBank, ItemParameters
from .calibration import CalibrationResult, Priors, calibrate, eap_scores
from .cat import CatPolicy, PolicySettings, replay, run
from .errors import (
    AdaptiveError,
    CalibrationError,
    EstimationError,
    InvalidItemParameters,
    InvalidResponses,
    NoItemsAvailable,
)
from .estimation import EAP, MAP, WLE, Estimator
from .integrity import (
    CreditDecision,
    EvidenceRules,
    PastAttempt,
    RetakeDecision,
    RetakePolicy,
    credit_decision,
    recent_exclusions,
    retake_allowed,
)
from .pathing import (
    CompetencyGraph,
    Evidence,
    LearnerModel,
    ModuleSpec,
    PathDecision,
    PathInputs,
    PlacementSettings,
    Recommendation,
    ReviewSettings,
    TestOutSettings,
    credited_evidence,
    dashboard,
    decayed_estimate,
    decide,
    due_reviews,
    evidence_from_test,
    placement_outcome,
    placement_policy,
    plan_path,
    recommend,
    replay_decision,
    review_due_at,
    review_settings,
    simulate_walk,
)
from .personfit import PersonFit, lz, lz_star, person_fit
from .responses import ResponseData, read_responses_csv
from .selection import ContentBalanced, MaxInfo, Randomesque, SympsonHetter
from .simulate import (
    SimulationResult,
    linear_test,
    simulate_cat,
    sparse_responses,
    sympson_hetter_control,
    synthetic_bank,
)
from .statistics import (
    information_curves,
    item_fit,
    item_statistics,
    marginal_reliability,
    sx2_item_fit,
)
from .stopping import Mastery
from .types import AbilityEstimate, CatState, CatStep

__all__ = [
    "EAP",
    "MAP",
    "WLE",
    "AbilityEstimate",
    "AdaptiveError",
    "CalibrationError",
    "CalibrationResult",
    "CatPolicy",
    "CatState",
    "CatStep",
    "CompetencyGraph",
    "ContentBalanced",
    "CreditDecision",
    "EstimationError",
    "Estimator",
    "Evidence",
    "EvidenceRules",
    "InvalidItemParameters",
    "InvalidResponses",
    "ItemBank",
    "ItemParameters",
    "LearnerModel",
    "Mastery",
    "MaxInfo",
    "ModuleSpec",
    "NoItemsAvailable",
    "PastAttempt",
    "PathDecision",
    "PathInputs",
    "PersonFit",
    "PlacementSettings",
    "PolicySettings",
    "Priors",
    "Randomesque",
    "Recommendation",
    "ResponseData",
    "RetakeDecision",
    "RetakePolicy",
    "ReviewSettings",
    "SimulationResult",
    "SympsonHetter",
    "TestOutSettings",
    "calibrate",
    "credit_decision",
    "credited_evidence",
    "dashboard",
    "decayed_estimate",
    "decide",
    "due_reviews",
    "eap_scores",
    "evidence_from_test",
    "information_curves",
    "item_fit",
    "item_statistics",
    "linear_test",
    "lz",
    "lz_star",
    "marginal_reliability",
    "person_fit",
    "placement_outcome",
    "placement_policy",
    "plan_path",
    "read_responses_csv",
    "recent_exclusions",
    "recommend",
    "replay",
    "replay_decision",
    "retake_allowed",
    "review_due_at",
    "review_settings",
    "run",
    "simulate_cat",
    "simulate_walk",
    "sparse_responses",
    "sx2_item_fit",
    "sympson_hetter_control",
    "synthetic_bank",
]
