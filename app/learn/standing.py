"""Where you stand: the learner's competency map, estimates, history, path, reviews and credentials.

It reads the learner model and path of :mod:`app.pathing.services` and words each estimate as the
assessment's result does (:func:`app.assess.services.result_view`), so it sits above both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from adaptive.pathing import PathInputs, dashboard
from app.assess.services import result_view
from app.authz import Principal
from app.models import PackVersion
from app.packstore import content_of
from app.pathing.services import SOURCE_WORDS, path_inputs
from content import ContentPack


@dataclass(frozen=True)
class MapNode:
    """A competency box on the competency map (SVG coordinates)."""

    id: str
    title: str
    mastery: str
    review_due: bool
    x: float
    y: float


@dataclass(frozen=True)
class MapEdge:
    """A prerequisite arrow from one box to another."""

    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class CompetencyStanding:
    """One competency: the estimate now (confidence decays with time), what it means, its history."""

    id: str
    title: str
    mastery: str
    score: int
    low: int
    high: int
    cut: int
    explanation: str
    source: str
    review_due: bool
    review_due_on: str | None
    history: tuple[tuple[str, str, int, int, int], ...]  # date, source, score, low, high
    module_id: int | None


@dataclass(frozen=True)
class CredentialProgress:
    """How far the learner is towards one credential."""

    title: str
    credit: str
    have: int
    need: int
    missing: tuple[str, ...]
    earned: bool


@dataclass(frozen=True)
class Standing:
    """The learner's competency dashboard for one pack version."""

    version_id: int
    pack_title: str
    nodes: tuple[MapNode, ...]
    edges: tuple[MapEdge, ...]
    width: int
    height: int
    competencies: tuple[CompetencyStanding, ...]
    path: tuple[tuple[int, str], ...]  # module row id, title
    due_reviews: tuple[CompetencyStanding, ...]
    credentials: tuple[CredentialProgress, ...]


_BOX_W, _BOX_H, _COL_W, _ROW_H = 170, 46, 210, 64


def _day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d %b %Y")


def _explain(title: str, mastery: str, score: int, low: int, high: int, source: str) -> str:
    if source == "prior":
        return (f"We have no evidence about {title} yet: take the module's assessment or test out to "
                "find out where you stand.")
    sure = ("quite sure" if high - low <= 30 else "fairly sure" if high - low <= 50
            else "not very sure yet")
    state = {"mastered": "you have mastered it",
             "not_mastered": "you have not mastered it yet",
             }.get(mastery, "it is too close to call whether you have mastered it")
    return (f"Your estimate for {title} is {score} on a 0–100 scale, most likely between {low} and "
            f"{high}: {state}. We are {sure} of this; confidence fades as time passes since your "
            f"last {SOURCE_WORDS.get(source, source)}.")


def _built_on(c: str, titles: dict[str, str], inputs: PathInputs, mastered: set[str]) -> str:
    """Why a competency can be "not yet" while one that builds on it is mastered, in words.

    Each competency is judged on its own evidence; the path does not infer one from another, so the
    learner is told what the mismatch most likely means and how to settle it.
    """
    if c in mastered:
        return ""
    above = [d for d in inputs.graph.descendants(c) if d in mastered]
    if not above:
        return ""
    verb = "builds" if len(above) == 1 else "build"
    return (f" You have mastered {' and '.join(titles[d] for d in above)}, which {verb} on {titles[c]}, so "
            f"you probably know more of {titles[c]} than this estimate shows: each competency is "
            f"judged on its own questions. A test-out of its module would settle it.")


def standing_page(session: Session, who: Principal, version: PackVersion) -> Standing:
    """Everything on the learner's competency dashboard for a pack version."""
    inputs = path_inputs(session, who, version)
    data = dashboard(inputs)
    pack = content_of(session, version)
    titles = {c.id: c.title for c in pack.competencies}
    module_rows = {m.key: m for m in version.modules}
    first_module: dict[str, int | None] = {}
    for m in pack.modules:
        for c in m.competencies:
            first_module.setdefault(c, module_rows[m.id].id if m.id in module_rows else None)
    # layout: a column per depth (longest chain of prerequisites), in topological order
    depth: dict[str, int] = {}
    for c in inputs.graph.order:
        prereqs = pack.competency(c).prerequisites
        depth[c] = 1 + max((depth[p] for p in prereqs), default=-1)
    rows: dict[int, int] = {}
    pos: dict[str, tuple[float, float]] = {}
    for c in inputs.graph.order:
        row = rows.get(depth[c], 0)
        rows[depth[c]] = row + 1
        pos[c] = (10 + depth[c] * _COL_W, 10 + row * _ROW_H)
    views = {v.competency: v for v in data.competencies}
    nodes = tuple(MapNode(c, titles[c], views[c].mastery if views[c].source != "prior" else "unknown",
                          views[c].review_due, *pos[c]) for c in inputs.graph.order)
    edges = tuple(MapEdge(pos[p][0] + _BOX_W, pos[p][1] + _BOX_H / 2, pos[c][0], pos[c][1] + _BOX_H / 2)
                  for c in inputs.graph.order for p in pack.competency(c).prerequisites)
    standings = []
    mastered = {c for c in inputs.graph.order if inputs.model.mastered(c)}
    for c in inputs.graph.order:
        v = views[c]
        cut = inputs.cuts[c]
        shown = result_view(v.theta, v.se_now, cut, v.mastery, 0)
        history = tuple(
            (_day(e.time), SOURCE_WORDS.get(e.source, e.source),
             *(lambda r: (r.score, r.low, r.high))(result_view(e.theta, e.se, cut, e.mastery, 0)))
            for e in inputs.model.history_of(c))
        standings.append(CompetencyStanding(
            c, titles[c], v.mastery if v.source != "prior" else "unknown", shown.score, shown.low,
            shown.high, shown.cut, _explain(titles[c], v.mastery, shown.score, shown.low, shown.high,
                                            v.source) + _built_on(c, titles, inputs, mastered),
            v.source, v.review_due, _day(v.review_due_at) if v.review_due_at else None, history,
            first_module.get(c)))
    credentials = _credentials(pack, {c: views[c].se for c in mastered}, titles)
    width = 20 + (max(depth.values(), default=0) + 1) * _COL_W
    height = 20 + max(rows.values(), default=1) * _ROW_H
    by_id = {s.id: s for s in standings}
    return Standing(version.id, version.title, nodes, edges, width, height, tuple(standings),
                    tuple((module_rows[m].id, module_rows[m].title) for m in data.path if m in module_rows),
                    tuple(by_id[c] for c in data.due_reviews), credentials)


def _credentials(
    pack: ContentPack, mastered: dict[str, float], titles: dict[str, str]
) -> tuple[CredentialProgress, ...]:
    """Progress towards each credential: competencies mastered (within the rule's SE bound; ``mastered``
    holds each decision's SE) and stacked credentials earned."""
    rules = {r.id: r for r in pack.credentials}
    earned = set(pack.earned_credentials(mastered))

    def is_earned(rule_id: str) -> bool:
        return rule_id in earned

    out = []
    for rule in pack.credentials:
        parts = [(c, rule.counts(c, mastered), titles.get(c, c) + (
                      " (mastered, but not measured precisely enough for this credential yet: taking "
                      "its assessment again adds evidence)" if c in mastered else ""))
                 for c in rule.competencies] + \
                [(r, is_earned(r), rules[r].title) for r in rule.credentials]
        credit = "no credit"
        if rule.credit is not None:
            level = f", {rule.credit.level}" if rule.credit.level else ""
            credit = f"{rule.credit.value:g} {rule.credit.unit}{level}"
        out.append(CredentialProgress(rule.title, credit, sum(1 for _, ok, _ in parts if ok), len(parts),
                                      tuple(name for _, ok, name in parts if not ok), is_earned(rule.id)))
    return tuple(out)
