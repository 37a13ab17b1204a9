"""Adaptive learning paths in the app: the learner model from stored evidence, recommendations.

Every recommendation a learner is shown is stored with all its inputs (``path_decision``), so it can
be replayed exactly with ``adaptive.pathing.replay_decision``. The assessment (``app.assess``) records
the evidence this module reads and the learner pages (``app.learn``) show what it decides; it imports
neither, so both can import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive.pathing import (
    CompetencyGraph,
    Evidence,
    LearnerModel,
    ModuleSpec,
    PathInputs,
    PlacementSettings,
    Recommendation,
    ReviewSettings,
    TestOutSettings,
    decide,
)
from app.authz import Principal
from app.db import utcnow
from app.models import AbilityRecord, PackVersion, PathDecisionRecord
from app.packstore import content_of

PLACEMENT = PlacementSettings()
"""Placement: 2 to 4 questions per competency, content balanced; it sets starting points."""

REVIEW = ReviewSettings()
"""Spaced review: the SE inflates towards 1 logit with a 30-day half-life (see adaptive.pathing)."""

TESTOUT = TestOutSettings()
"""Test-out: stop when the 95 % interval excludes the competency's cut, at most 20 items; how many items
a credited decision needs and how often a learner may retry come from the pack (``evidence`` and
``retakes``, :mod:`adaptive.integrity`)."""


@dataclass(frozen=True)
class PathView:
    """What the catalogue shows of a pack's path for one learner."""

    recommended: Recommendation | None
    by_module: dict[str, Recommendation]
    mastered: frozenset[str]
    has_evidence: bool
    skip_reasons: dict[str, str]  # module id -> why it can be skipped


SOURCE_WORDS = {"assessment": "module assessment", "testout": "test-out (prior learning)",
                "placement": "placement test", "review": "review", "prior": "no evidence yet"}
"""How each source of evidence (``Evidence.source``) reads in a sentence."""


def learner_model(session: Session, who: Principal, version: PackVersion) -> LearnerModel:
    """The learner's evidence for this pack version's competencies, oldest first."""
    records = session.scalars(select(AbilityRecord).where(
        AbilityRecord.user_id == who.user_id, AbilityRecord.institution_id == who.institution_id,
        AbilityRecord.pack_version_id == version.id).order_by(AbilityRecord.id))
    return LearnerModel().record(*(
        Evidence(competency=r.competency, theta=r.theta, se=r.se, mastery=r.mastery or "undecided",
                 time=r.created_at.timestamp(), source=r.source, cut=r.cut, items=tuple(r.items),
                 pack_version=version.version)
        for r in records))


def path_inputs(session: Session, who: Principal, version: PackVersion) -> PathInputs:
    """Everything a path decision for this learner and pack version depends on, as of now."""
    pack = content_of(session, version)
    graph = CompetencyGraph.from_pairs((c.id, c.prerequisites) for c in pack.competencies)
    return PathInputs(
        graph=graph,
        modules=tuple(ModuleSpec(m.id, m.competencies) for m in pack.modules),
        cuts={c.id: c.assessment.cut for c in pack.competencies},
        model=learner_model(session, who, version),
        now=utcnow().timestamp(),
        titles={c.id: c.title for c in pack.competencies},
        review=REVIEW)


def path_view(session: Session, who: Principal, version: PackVersion) -> PathView:
    """Rank the pack's modules for the learner and store the decision when it changed (one commit)."""
    inputs = path_inputs(session, who, version)
    decision = decide(inputs)
    last = session.scalar(select(PathDecisionRecord).where(
        PathDecisionRecord.user_id == who.user_id, PathDecisionRecord.pack_version_id == version.id)
        .order_by(PathDecisionRecord.id.desc()).limit(1))
    ranked = decision.to_json()["recommendations"]
    if last is None or last.decision.get("recommendations") != ranked:
        session.add(PathDecisionRecord(user_id=who.user_id, institution_id=who.institution_id,
                                       pack_version_id=version.id, decision=decision.to_json()))
        session.commit()
    recs = decision.recommendations
    mastered = frozenset(c for c in inputs.graph.order if inputs.model.mastered(c))
    ready = [r for r in recs if r.ready]
    reasons = {}
    for m in inputs.modules:
        if all(c in mastered for c in m.competencies):
            sources = sorted({SOURCE_WORDS.get(st.source, st.source) for c in m.competencies
                              if (st := inputs.model.state(c)) is not None})
            names = ", ".join(inputs.name(c) for c in m.competencies)
            reasons[m.id] = f"You can skip it: your {' and '.join(sources)} showed you have mastered {names}."
    return PathView(ready[0] if ready else None, {r.module: r for r in recs}, mastered,
                    bool(inputs.model.states()), reasons)
