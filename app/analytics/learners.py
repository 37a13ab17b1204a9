"""How a version's learners are doing: estimates per competency, mastery, a funnel per module, time on
task, and what test-outs and placements found. Aggregates only: no learner is named, and only the
institution's own learners count (the version belongs to it)."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.authz import Principal, scoped
from app.models import (
    AbilityRecord,
    Attempt,
    AttemptStatus,
    LessonVisit,
    LtiContext,
    LtiContextMember,
    LtiPlatform,
    ModuleRow,
    PackVersion,
    Response,
    User,
)
from app.packstore import content_of

# estimate histogram: bins of half a logit from -3 to 3, the two ends open
EDGES = tuple(x / 2 for x in range(-6, 7))


@dataclass(frozen=True)
class CompetencyLine:
    """The latest estimate of each learner in one competency."""

    title: str
    learners: int
    mastered: int
    not_mastered: int
    undecided: int
    histogram: tuple[int, ...]  # learners in each band of ``band_names()``
    mean: float | None


@dataclass(frozen=True)
class FunnelLine:
    """One module: how many learners got how far, and how long it took."""

    title: str
    enrolled: int  # opened a lesson or started an assessment
    read: int
    started: int
    finished: int
    mastered: int
    median_seconds_per_answer: float | None
    median_minutes_per_attempt: float | None


@dataclass(frozen=True)
class CourseLine:
    """A course of a learning platform (its roster read by an LTI roster sync): how many of its learners
    began this version, finished an assessment of it, and mastered a module of it."""

    title: str
    learners: int
    began: int
    finished: int
    mastered: int


@dataclass(frozen=True)
class LearnerReport:
    """The learner analytics of one version."""

    version: PackVersion
    competencies: tuple[CompetencyLine, ...]
    modules: tuple[FunnelLine, ...]
    outcomes: tuple[tuple[str, int, int, int], ...]  # kind, finished, mastered, not mastered
    courses: tuple[CourseLine, ...] = ()


def _bin(theta: float) -> int:
    return sum(theta >= edge for edge in EDGES[1:-1])


def band_names() -> tuple[tuple[str, str], ...]:
    """Each band of the histogram: a short label (its lower edge) and its name in words."""
    inner = [(f"{EDGES[k]:g}", f"{EDGES[k]:g} to {EDGES[k + 1]:g}") for k in range(1, len(EDGES) - 2)]
    return ((f"<{EDGES[1]:g}", f"below {EDGES[1]:g}"), *inner,
            (f"{EDGES[-2]:g}+", f"{EDGES[-2]:g} and above"))


def learner_report(session: Session, who: Principal, version_id: int) -> LearnerReport:
    """The learner analytics of a version of ``who``'s institution (NotFound elsewhere)."""
    version = scoped(session, PackVersion, version_id, who)
    pack = content_of(session, version)
    latest: dict[tuple[int, str], AbilityRecord] = {}
    for record in session.scalars(select(AbilityRecord).where(
            AbilityRecord.pack_version_id == version.id).order_by(AbilityRecord.id)):
        latest[(record.user_id, record.competency)] = record
    competencies = []
    for competency in pack.competencies:
        records = [r for (_u, c), r in latest.items() if c == competency.id]
        counts = Counter(r.mastery for r in records)
        bins = Counter(_bin(r.theta) for r in records)
        competencies.append(CompetencyLine(
            competency.title, len(records), counts["mastered"], counts["not_mastered"],
            counts["undecided"] + counts[None], tuple(bins[k] for k in range(len(EDGES) - 1)),
            statistics.fmean(r.theta for r in records) if records else None))
    modules = []
    for row in sorted(version.modules, key=lambda m: m.position):
        modules.append(_funnel(session, row))
    outcomes = []
    for kind, words in (("testout", "Test-outs"), ("placement", "Placement tests"), ("review", "Reviews")):
        done = Counter(session.scalars(select(Attempt.mastery).where(
            Attempt.pack_version_id == version.id, Attempt.kind == kind,
            Attempt.status == AttemptStatus.COMPLETED)))
        outcomes.append((words, sum(done.values()), done["mastered"], done["not_mastered"]))
    return LearnerReport(version, tuple(competencies), tuple(modules), tuple(outcomes),
                         _courses(session, version))


def _courses(session: Session, version: PackVersion) -> tuple[CourseLine, ...]:
    """The institution's courses with a roster: how far their learners got in this version."""
    module_ids = [m.id for m in version.modules]
    began = set(session.scalars(select(LessonVisit.user_id).where(LessonVisit.module_id.in_(module_ids)))) | \
        set(session.scalars(select(Attempt.user_id).where(Attempt.module_id.in_(module_ids))))
    attempts = session.execute(select(Attempt.user_id, Attempt.status, Attempt.mastery).where(
        Attempt.module_id.in_(module_ids), Attempt.kind == "assessment")).all()
    finished = {a.user_id for a in attempts if a.status is AttemptStatus.COMPLETED}
    mastered = {a.user_id for a in attempts if a.mastery == "mastered"}
    out = []
    for context in session.scalars(select(LtiContext).join(LtiPlatform).where(
            LtiPlatform.institution_id == version.institution_id, LtiContext.synced_at.is_not(None))
            .order_by(LtiContext.title)):
        learners = set(session.scalars(select(LtiContextMember.user_id).where(
            LtiContextMember.context_id == context.id, LtiContextMember.learner.is_(True))))
        out.append(CourseLine(context.title, len(learners), len(learners & began), len(learners & finished),
                              len(learners & mastered)))
    return tuple(out)


def _funnel(session: Session, row: ModuleRow) -> FunnelLine:
    read = set(session.scalars(select(LessonVisit.user_id).where(LessonVisit.module_id == row.id)))
    attempts = session.execute(select(Attempt.user_id, Attempt.status, Attempt.started_at,
                                      Attempt.finished_at, Attempt.mastery).where(
        Attempt.module_id == row.id, Attempt.kind == "assessment")).all()
    started = {a.user_id for a in attempts}
    finished = {a.user_id for a in attempts if a.status is AttemptStatus.COMPLETED}
    mastered = {a.user_id for a in attempts if a.mastery == "mastered"}
    # time on task of people only: simulated learners answer in no time at all
    people = set(session.scalars(select(User.id).where(User.id.in_(started), User.simulated.is_(False))))
    seconds = [x for x in session.scalars(select(Response.seconds).join(Attempt).where(
        Attempt.module_id == row.id, Attempt.kind == "assessment", Attempt.user_id.in_(people)))
        if x is not None]
    minutes = [(a.finished_at - a.started_at).total_seconds() / 60 for a in attempts
               if a.finished_at is not None and a.user_id in people]
    return FunnelLine(row.title, len(read | started), len(read), len(started), len(finished),
                      len(mastered), statistics.median(seconds) if seconds else None,
                      statistics.median(minutes) if minutes else None)
