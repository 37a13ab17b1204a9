"""Home pages: the learner's dashboard (everything to resume, newest first), and the home of
instructors and admins (their packs, what needs attention, their people)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive.pathing import CompetencyGraph
from app.analytics.recalibration import awaiting_approval
from app.analytics.services import item_report
from app.authz import Principal
from app.db import utcnow
from app.models import (
    AbilityRecord,
    Attempt,
    AttemptStatus,
    Institution,
    Job,
    JobStatus,
    LessonVisit,
    Membership,
    ModuleRow,
    PackVersion,
    Response,
    Role,
    User,
)
from app.packstore import content_of


@dataclass(frozen=True)
class ResumeCard:
    """Something the learner started."""

    module_id: int
    module_title: str
    what: str  # "assessment in progress", "studying", "assessed"
    attempt_id: int | None
    when: datetime


def resume_cards(session: Session, who: Principal, limit: int = 8) -> list[ResumeCard]:
    """Modules the learner touched, with an unfinished assessment first."""
    cards: dict[int, ResumeCard] = {}
    attempts = session.execute(
        select(Attempt.id, Attempt.module_id, Attempt.status, Attempt.started_at, ModuleRow.title)
        .join(ModuleRow, ModuleRow.id == Attempt.module_id)
        .where(Attempt.user_id == who.user_id, Attempt.institution_id == who.institution_id)
        .order_by(Attempt.id.desc()))
    for attempt_id, module_id, status, started, title in attempts:
        if module_id is None or module_id in cards:
            continue
        active = status is AttemptStatus.ACTIVE
        cards[module_id] = ResumeCard(module_id, title, "assessment in progress" if active else "assessed",
                                      attempt_id if active else None, started)
    visits = session.execute(
        select(LessonVisit.module_id, func.max(LessonVisit.last_seen), ModuleRow.title)
        .join(ModuleRow, ModuleRow.id == LessonVisit.module_id)
        .where(LessonVisit.user_id == who.user_id, LessonVisit.institution_id == who.institution_id)
        .group_by(LessonVisit.module_id, ModuleRow.title))
    for module_id, seen, title in visits:
        if module_id not in cards:
            cards[module_id] = ResumeCard(module_id, title, "studying", None, seen)
    order = {"assessment in progress": 0, "studying": 1, "assessed": 2}
    return sorted(cards.values(), key=lambda c: (order[c.what], -c.when.timestamp()))[:limit]


@dataclass(frozen=True)
class CompetencyLine:
    """The latest estimate of one competency, on the 0–100 scale, with how many estimates came before."""

    competency: str
    score: int
    low: int
    high: int
    mastery: str | None
    history: int
    when: datetime
    title: str = ""


def competency_lines(session: Session, who: Principal) -> list[CompetencyLine]:
    """The learner's latest estimate per competency (the full history stays in the database)."""
    from app.assess.services import result_view

    records = session.scalars(select(AbilityRecord).where(
        AbilityRecord.user_id == who.user_id, AbilityRecord.institution_id == who.institution_id)
        .order_by(AbilityRecord.id))
    latest: dict[str, AbilityRecord] = {}
    counts: dict[str, int] = {}
    for record in records:
        latest[record.competency] = record
        counts[record.competency] = counts.get(record.competency, 0) + 1
    # titles, in the order of the path (prerequisites first), from the pack version of each estimate
    place: dict[str, tuple[int, int, str]] = {}
    for competency, record in latest.items():
        version = session.get(PackVersion, record.pack_version_id)
        assert version is not None  # the foreign key guarantees it
        pack = content_of(session, version)
        order = CompetencyGraph.from_pairs((c.id, c.prerequisites) for c in pack.competencies).order
        title = next((c.title for c in pack.competencies if c.id == competency), competency)
        place[competency] = (version.id, order.index(competency) if competency in order else len(order),
                             title)
    lines = []
    for competency, record in sorted(latest.items(), key=lambda kv: place[kv[0]][:2]):
        view = result_view(record.theta, record.se, 0.0, record.mastery, 0)
        lines.append(CompetencyLine(competency, view.score, view.low, view.high, record.mastery,
                                    counts[competency], record.created_at, place[competency][2]))
    return lines


@dataclass(frozen=True)
class Progress:
    """Gentle progress cues: today's answers against the learner's own goal, active days this week."""

    goal: int | None
    today: int
    active_days: int  # of the last 7, today included


def progress(session: Session, who: Principal, goal: int | None) -> Progress:
    """Count today's answers and the days with any activity in the last week (UTC days)."""
    now = utcnow()
    start_today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = start_today - timedelta(days=6)
    answered = session.scalars(select(Response.created_at).join(Attempt).where(
        Attempt.user_id == who.user_id, Response.created_at >= week)).all()
    read = session.scalars(select(LessonVisit.last_seen).where(
        LessonVisit.user_id == who.user_id, LessonVisit.last_seen >= week)).all()
    days = {t.date() for t in [*answered, *read]}
    today = sum(1 for t in answered if t >= start_today)
    return Progress(goal, today, len(days))


def set_daily_goal(session: Session, who: Principal, goal: int | None) -> None:
    """Set (or clear, with None) the learner's daily goal in questions."""
    user = session.get(User, who.user_id)
    assert user is not None
    user.daily_goal = goal
    session.commit()


# ------------------------------------------------------------------------------ instructors and admins
@dataclass(frozen=True)
class VersionLine:
    """A pack version on an instructor's home: who uses it and what needs a look."""

    version_id: int
    title: str
    version: str
    learners: int
    responses: int
    flagged_items: int | None  # None: no statistics computed yet
    statistics_running: bool
    recalibrated_items: int  # items whose new parameters wait for approval in a recalibration report


@dataclass(frozen=True)
class StaffHome:
    """An instructor's or admin's home: their packs, what needs attention, their people."""

    versions: tuple[VersionLine, ...]
    flagged_attempts: int
    failed_jobs: tuple[Job, ...]
    learners: int
    simulated_learners: int
    active_learners: int  # answered something in the last 7 days
    members_by_role: dict[str, int]
    open_signup: bool


def staff_home(session: Session, who: Principal) -> StaffHome:
    """What an instructor or admin of ``who``'s institution sees first."""
    inst = who.institution_id
    versions = []
    for version in session.scalars(select(PackVersion).where(PackVersion.institution_id == inst)
                                   .order_by(PackVersion.id.desc()).limit(20)):
        learners, responses = session.execute(
            select(func.count(func.distinct(Attempt.user_id)), func.count(Response.id))
            .select_from(Attempt).join(Response, Response.attempt_id == Attempt.id)
            .where(Attempt.pack_version_id == version.id)).one()
        report = item_report(session, who, version)
        versions.append(VersionLine(
            version.id, version.title, version.version, learners, responses,
            sum(1 for row in report.rows if row.flags) if report.finished else None,
            report.running is not None, awaiting_approval(session, who, version)))
    flagged = session.scalar(select(func.count()).select_from(Attempt).where(
        Attempt.institution_id == inst, Attempt.flagged.is_(True))) or 0
    failed = tuple(session.scalars(select(Job).where(
        Job.institution_id == inst, Job.status == JobStatus.FAILED,
        Job.finished_at > utcnow() - timedelta(days=7)).order_by(Job.id.desc()).limit(5)))
    roles = dict(session.execute(
        select(Membership.role, func.count()).join(User, User.id == Membership.user_id)
        .where(Membership.institution_id == inst, User.simulated.is_(False))
        .group_by(Membership.role)).all())
    simulated = session.scalar(select(func.count()).select_from(Membership).join(User).where(
        Membership.institution_id == inst, User.simulated.is_(True))) or 0
    active = session.scalar(
        select(func.count(func.distinct(Attempt.user_id))).select_from(Attempt)
        .join(Response, Response.attempt_id == Attempt.id)
        .where(Attempt.institution_id == inst, Response.created_at > utcnow() - timedelta(days=7))) or 0
    institution = session.get(Institution, inst)
    return StaffHome(tuple(versions), flagged, failed, roles.get(Role.LEARNER, 0), simulated, active,
                     {role.value: n for role, n in roles.items()},
                     bool(institution and institution.open_signup))
