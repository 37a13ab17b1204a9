"""Catalogue, module and lesson views for learners (scoped to the caller's institution)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.assess.services import ResultView, result_view, retake, retake_note
from app.authz import Principal, require_live, scoped
from app.db import utcnow
from app.errors import NotFound
from app.models import Attempt, AttemptStatus, LessonVisit, ModuleRow, PackVersion
from app.packstore import content_of, latest_versions, lesson_html, markdown, module_bank
from app.pathing.services import PLACEMENT, TESTOUT, path_view
from content import Asset
from content.policy import assessment_policy


@dataclass(frozen=True)
class ModuleCard:
    """A module in the catalogue, with the learner's progress."""

    id: int
    title: str
    summary: str
    minutes: int | None
    lessons_read: int
    lessons: int
    status: str  # "not started", "in progress", "assessed", "mastered"
    recommended: bool = False
    warnings: tuple[str, ...] = ()
    skip_reason: str | None = None


@dataclass(frozen=True)
class PackCard:
    """A pack (its newest version) in the catalogue."""

    title: str
    version: str
    description_html: str
    modules: tuple[ModuleCard, ...]
    version_id: int = 0
    recommended_title: str | None = None
    recommended_reason: str | None = None
    placement: str = "offer"  # "offer", "resume" or "done"
    placement_attempt: int | None = None
    placement_items: tuple[int, int] = (0, 0)  # fewest and most questions the placement test asks


@dataclass(frozen=True)
class LessonLink:
    """A lesson in a module's table of contents."""

    position: int
    title: str
    read: bool


@dataclass(frozen=True)
class ModulePage:
    """Everything on a module's page."""

    id: int
    title: str
    summary: str
    outcomes: tuple[str, ...]
    lessons: tuple[LessonLink, ...]
    active_attempt: int | None
    last_result: ResultView | None
    last_attempt: int | None
    pack_title: str
    mastered: bool = False
    warnings: tuple[str, ...] = ()
    retake_allowed: bool = True
    retake_note: str | None = None
    policy: tuple[str, ...] = ()  # the evidence, feedback and retake rules, in plain words
    min_items: int = 10
    testout_max_items: int = 20
    assessment_items: tuple[int, int] = (10, 20)  # fewest and most questions of the assessment


@dataclass(frozen=True)
class LessonPage:
    """One lesson, rendered."""

    module_id: int
    module_title: str
    position: int
    count: int
    title: str
    html: str
    previous: int | None
    next: int | None


def catalogue(session: Session, who: Principal) -> list[PackCard]:
    """The newest published version of every pack of the institution, with the learner's progress per
    module."""
    read = dict(session.execute(
        select(LessonVisit.module_id, func.count()).where(LessonVisit.user_id == who.user_id)
        .group_by(LessonVisit.module_id)).all())
    attempts: dict[int, str] = {}
    for module_id, attempt_status in session.execute(
            select(Attempt.module_id, Attempt.status).where(
                Attempt.user_id == who.user_id, Attempt.kind == "assessment")):
        if module_id is None:
            continue
        if attempt_status is AttemptStatus.COMPLETED:
            attempts[module_id] = "assessed"
        else:
            attempts.setdefault(module_id, "in progress")
    cards = []
    for version in latest_versions(session, who.institution_id):
        path = path_view(session, who, version)
        modules = []
        for m in version.modules:
            rec = path.by_module.get(m.key)
            status = ("mastered" if rec is None else
                      attempts.get(m.id, "in progress" if read.get(m.id) else "not started"))
            modules.append(ModuleCard(
                m.id, m.title, m.summary, m.minutes, read.get(m.id, 0), m.n_lessons, status,
                recommended=path.recommended is not None and path.recommended.module == m.key,
                warnings=rec.warnings if rec is not None else (),
                skip_reason=path.skip_reasons.get(m.key)))
        best = next((c for c in modules if c.recommended), None)
        placement = session.execute(select(Attempt.id, Attempt.status).where(
            Attempt.user_id == who.user_id, Attempt.pack_version_id == version.id,
            Attempt.kind == "placement").order_by(Attempt.id.desc()).limit(1)).first()
        state = ("offer" if placement is None and not path.has_evidence else
                 "resume" if placement is not None and placement[1] is AttemptStatus.ACTIVE else "done")
        n = len(content_of(session, version).competencies)
        cards.append(PackCard(version.title, version.version, markdown(version.description),
                              tuple(modules), version.id, best.title if best else None,
                              path.recommended.reason if path.recommended else None, state,
                              placement[0] if placement is not None else None,
                              (n * PLACEMENT.min_per_competency, n * PLACEMENT.items_per_competency)))
    return cards


def module_page(session: Session, who: Principal, module_id: int) -> ModulePage:
    """A module's outcomes, lessons (read or not) and assessment status."""
    row = scoped(session, ModuleRow, module_id, who)
    require_live(who, row.pack_version.published_at)
    module = content_of(session, row.pack_version).module(row.key)
    read = set(session.scalars(select(LessonVisit.position).where(
        LessonVisit.user_id == who.user_id, LessonVisit.module_id == row.id)))
    attempts = list(session.scalars(select(Attempt).where(
        Attempt.user_id == who.user_id, Attempt.module_id == row.id).order_by(Attempt.id)))
    active = next((a.id for a in attempts if a.status is AttemptStatus.ACTIVE), None)
    done = [a for a in attempts if a.status is AttemptStatus.COMPLETED and a.kind == "assessment"]
    last = done[-1] if done else None
    result = None
    if last is not None and last.theta is not None and last.se is not None:
        cut = float(last.policy.get("cut") or 0.0)
        result = result_view(last.theta, last.se, cut, last.mastery,
                             len([p for p in last.state.get("pilot", []) if not p]))
    lessons = tuple(LessonLink(i, lesson.title, i in read) for i, lesson in enumerate(module.lessons))
    path = path_view(session, who, row.pack_version)
    rec = path.by_module.get(row.key)
    retry = retake(session, who, row)
    pack = content_of(session, row.pack_version)
    rules = pack.evidence
    feedback = ("In this module's assessment you see after each answer whether it was right, with "
                "the right answer (practice that counts towards no credential)."
                if module.feedback == "immediate" else
                "During an assessment, test-out or review you see what you chose but not whether it "
                "was right; the right answers to that attempt's questions are shown when it is over.")
    policy = (
        f"A result counts as mastery (and towards credentials) only after at least {rules.min_items} "
        f"scored questions, when the estimate is precise enough and when the answers fit a consistent "
        "level of competency; answering without reading the questions is detected and not credited.",
        feedback,
        pack.retakes.describe(),
    )
    bank, _ = module_bank(session, row.pack_version, row.key)
    settings = assessment_policy(pack.competency(module.competencies[0]).assessment,
                                 int((~bank.pilot).sum()) or len(bank), rules)
    return ModulePage(row.id, row.title, row.summary, module.outcomes, lessons, active, result,
                      last.id if last else None, row.pack_version.title,
                      mastered=rec is None, warnings=rec.warnings if rec else (),
                      retake_allowed=retry.allowed,
                      retake_note=retake_note(retry), policy=policy, min_items=rules.min_items,
                      testout_max_items=TESTOUT.max_items,
                      assessment_items=(settings.min_items, settings.max_items))


def lesson_page(session: Session, who: Principal, module_id: int, position: int, *,
                asset_prefix: str) -> LessonPage:
    """Render a lesson and record that the learner opened it (one commit).

    Images point at ``{asset_prefix}{version id}/{path in the pack}``.
    """
    row = scoped(session, ModuleRow, module_id, who)
    require_live(who, row.pack_version.published_at)
    pack = content_of(session, row.pack_version)
    module = pack.module(row.key)
    if not 0 <= position < len(module.lessons):
        msg = "This module has no such lesson."
        raise NotFound(msg)
    lesson = module.lessons[position]
    visit = session.scalar(select(LessonVisit).where(
        LessonVisit.user_id == who.user_id, LessonVisit.module_id == row.id,
        LessonVisit.position == position))
    if visit is None:
        session.add(LessonVisit(user_id=who.user_id, institution_id=who.institution_id,
                                module_id=row.id, position=position))
    else:
        visit.last_seen = utcnow()
    session.commit()
    count = len(module.lessons)
    return LessonPage(row.id, row.title, position, count, lesson.title,
                      lesson_html(pack, lesson.path, lesson.html,
                                  f"{asset_prefix}{row.pack_version_id}/"),
                      position - 1 if position > 0 else None,
                      position + 1 if position + 1 < count else None)


def asset(session: Session, who: Principal, version_id: int, path: str) -> Asset:
    """An image or other file of a pack version of the caller's institution."""
    version = scoped(session, PackVersion, version_id, who)
    for item in content_of(session, version).assets:
        if item.path == path:
            return item
    msg = "There is no such file here."
    raise NotFound(msg)
