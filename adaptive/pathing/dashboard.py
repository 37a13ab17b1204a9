"""The learner's dashboard data: each competency's state now, the ranked modules, the path ahead,
the modules already mastered and the reviews due."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from .recommend import PathInputs, Recommendation, plan_path, recommend
from .review import decayed_estimate, due_reviews, review_due_at

__all__ = ["CompetencyView", "Dashboard", "dashboard"]


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
