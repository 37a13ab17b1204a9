"""Recommendations: rank the modules not yet mastered by expected gain, plan the path ahead, and
store each decision with its inputs so it replays exactly (the ranking formula is in the
:mod:`adaptive.pathing` docstring)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from scipy.special import ndtr

from ..errors import AdaptiveError
from ..jsonsettings import from_json as _from_json
from ..types import AbilityEstimate
from .graph import CompetencyGraph
from .learner import LearnerModel
from .review import ReviewSettings, decayed_estimate

__all__ = [
    "ModuleSpec",
    "PathDecision",
    "PathInputs",
    "Recommendation",
    "decide",
    "plan_path",
    "recommend",
    "replay_decision",
]


def _words(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


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
    are broken by topological position, module order, then id (see the :mod:`adaptive.pathing` docstring).
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
