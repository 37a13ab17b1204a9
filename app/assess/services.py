"""The adaptive assessment: start, answer, finish. One action, one commit; learners see views only.

Everything a learner may see leaves this module as a view object built here: stems and options as
sanitised HTML, never a key, an item parameter or an upcoming item. The engine's state, the policy and
the seed are stored with the attempt, and every response with the estimate after it, so an attempt
replays exactly (``adaptive.replay``).
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from scipy.stats import norm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adaptive import CatPolicy, CatState, CatStep, ItemBank, PolicySettings
from adaptive.pathing import (
    Evidence,
    PlacementSettings,
    RetryDecision,
    TestOutAttempt,
    placement_outcome,
    placement_policy,
    review_settings,
    testout_allowed,
)
from app.authz import Principal, scoped
from app.db import utcnow
from app.errors import ServiceError
from app.models import AbilityRecord, Attempt, AttemptStatus, ModuleRow, PackVersion, Response
from app.packstore import content_of, markdown, module_bank, pack_bank
from app.paths import REVIEW, TESTOUT, learner_model
from content import AssessmentSettings, InvalidAnswer, Item, score

Z95 = 1.959963984540054



class AssessError(ServiceError):
    """A learner-facing problem with an answer: the message says what happened and what to do."""


class TooSoon(ServiceError):
    """A test-out was tried again before its waiting period ended."""

    status = 429


class AlreadyAnswered(AssessError):
    """The answer was already recorded (double submit, back button, second tab)."""

    status = 409


# ------------------------------------------------------------------------------------------ views
@dataclass(frozen=True)
class Option:
    """An option as the learner sees it."""

    id: str
    html: str


@dataclass(frozen=True)
class ItemView:
    """The item on screen: its wording and controls, nothing that gives the answer away."""

    attempt_id: int
    number: int
    token: str
    type: str
    stem_html: str
    options: tuple[Option, ...] = ()
    sources: tuple[Option, ...] = ()
    targets: tuple[Option, ...] = ()


@dataclass(frozen=True)
class FeedbackView:
    """What the learner learns about the answer they just gave."""

    verdict: str  # "right", "partly right", "not right", "not scored"
    score: int
    max_score: int
    html: str


@dataclass(frozen=True)
class ResultView:
    """The estimate on the learner-friendly 0–100 scale (percentile in the reference group)."""

    score: int
    low: int
    high: int
    cut: int
    mastery: str | None
    answered: int
    summary: str
    certainty: str


@dataclass(frozen=True)
class AttemptView:
    """One screen of an attempt."""

    attempt_id: int
    module_id: int | None
    module_title: str
    answered: int
    max_items: int
    kind: str = "assessment"
    version_id: int | None = None
    item: ItemView | None = None
    feedback: FeedbackView | None = None
    result: ResultView | None = None
    notice: str | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------------------- helpers
def _attempt(session: Session, who: Principal, attempt_id: int, *, lock: bool = False) -> Attempt:
    """The caller's own attempt; with ``lock``, one answer at a time (a row lock on PostgreSQL)."""
    if lock:
        session.scalar(select(Attempt).where(Attempt.id == attempt_id).with_for_update())
    return scoped(session, Attempt, attempt_id, who, own=True)


def _settings(pack_settings: AssessmentSettings, n_items: int) -> PolicySettings:
    """The engine's policy from the pack's assessment settings for the module's competency."""
    max_items = min(int(pack_settings.max_items), n_items)
    return PolicySettings(
        estimator="eap",
        # exposure control for a pack without simulated Sympson–Hetter parameters: pick among the
        # three most informative items, so no single item goes to every learner
        selection="randomesque" if pack_settings.exposure_target is not None else "mfi",
        randomesque_k=3,
        se_target=float(pack_settings.se_target),
        min_items=max(1, min(int(pack_settings.min_items), max_items)),
        max_items=max_items,
        cut=float(pack_settings.cut),
        mastery_method=str(pack_settings.mastery_method),
        pilot_rate=float(pack_settings.pilot_rate),
    )


@dataclass(frozen=True)
class _Context:
    """What an attempt runs on: its bank and items, the policy rebuilt from the stored settings."""

    version: PackVersion
    module: ModuleRow | None
    title: str
    bank: ItemBank
    items: dict[str, Item]
    policy: CatPolicy
    max_items: int
    cut: float


def _context(session: Session, attempt: Attempt) -> _Context:
    if attempt.kind == "placement":
        version = session.get(PackVersion, attempt.pack_version_id)
        assert version is not None  # the foreign key guarantees it
        bank, items = pack_bank(session, version)
        cuts = {str(k): float(v) for k, v in attempt.policy["cuts"].items()}
        placement = PlacementSettings.from_json(attempt.policy["placement"])
        return _Context(version, None, f"{version.title}: placement", bank, items,
                        placement_policy(cuts, placement), len(cuts) * placement.items_per_competency,
                        0.0)
    module = session.get(ModuleRow, attempt.module_id)
    assert module is not None  # the foreign key guarantees it
    bank, items = module_bank(session, module.pack_version, module.key)
    settings = PolicySettings.from_json(attempt.policy)
    return _Context(module.pack_version, module, module.title, bank, items, settings.build(),
                    settings.max_items, settings.cut or 0.0)


def _item_view(attempt: Attempt, item: Item, number: int) -> ItemView:
    def opts(choices: Any) -> tuple[Option, ...]:
        return tuple(Option(c.id, markdown(c.text)) for c in choices)

    return ItemView(attempt_id=attempt.id, number=number, token=attempt.pending_token or "",
                    type=item.type, stem_html=markdown(item.stem), options=opts(item.options),
                    sources=opts(item.sources), targets=opts(item.targets))


def _feedback(item: Item, answer: Any, points: int, pilot: bool) -> FeedbackView:
    top = item.max_score
    if pilot:
        verdict = "not scored"
    elif points >= top:
        verdict = "right"
    elif points > 0:
        verdict = "partly right"
    else:
        verdict = "not right"
    parts = [item.feedback.correct if points >= top else item.feedback.incorrect]
    chosen = {answer} if isinstance(answer, str) else set(answer) if isinstance(answer, list) else set()
    parts += [text for option_id, text in item.feedback.options if option_id in chosen]
    html = "".join(markdown(p) for p in parts if p)
    return FeedbackView(verdict, points, top, html)


def result_view(theta: float, se: float, cut: float, mastery: str | None, answered: int) -> ResultView:
    """Express an estimate in plain terms on a 0–100 scale (the percentile of a typical learner group)."""
    def pct(x: float) -> int:
        return round(100 * float(norm.cdf(x)))

    low, high = pct(theta - Z95 * se), pct(theta + Z95 * se)
    if se < 0.3:
        certainty = "We are quite sure of this: the range is narrow."
    elif se < 0.5:
        certainty = "We are fairly sure of this; more answers would narrow the range."
    else:
        certainty = "This is still a rough estimate; more answers would make it much more precise."
    where = pct(theta)
    summary = (f"Your estimated competency is {where} on a 0–100 scale: you would likely do better "
               f"than about {where} in 100 typical learners. Most likely it lies between {low} and {high}.")
    if mastery == "mastered":
        summary += " That is above the level this module asks for: you have mastered it."
    elif mastery == "not_mastered":
        summary += " That is below the level this module asks for: reviewing the lessons will help."
    elif mastery is not None:
        summary += (" It is too close to the level this module asks for to say yet whether you have "
                    "mastered it.")
    return ResultView(where, low, high, pct(cut), mastery, answered, summary, certainty)


def _present(attempt: Attempt, state: CatState, step: CatStep, policy: CatPolicy) -> CatState:
    """Show ``step.next_item``: it becomes pending with a fresh submission token."""
    state = policy.present(state, step)
    attempt.pending_token = secrets.token_urlsafe(24)
    attempt.presented_at = utcnow()
    return state


def _finish(session: Session, attempt: Attempt, state: CatState, step: CatStep, ctx: _Context) -> None:
    """Close the attempt and add its evidence to the learner's history.

    A passed test-out is recorded as recognition of prior learning: its evidence is the estimate, the
    SE, the items answered, the time and the pack version. A placement test adds starting evidence for
    every competency of the pack (mastered only where it was decisive).
    """
    if attempt.kind == "placement":
        cuts = {str(k): float(v) for k, v in attempt.policy["cuts"].items()}
        evidence = placement_outcome(ctx.bank, state, cuts, utcnow().timestamp(),
                                     PlacementSettings.from_json(attempt.policy["placement"]),
                                     ctx.version.version)
    else:
        items, _ = state.scored()
        evidence = (Evidence(attempt.competency, step.estimate.theta, step.estimate.se,
                             step.mastery or "undecided", utcnow().timestamp(), attempt.kind,
                             ctx.cut, tuple(items), ctx.version.version),)
    for e in evidence:
        session.add(AbilityRecord(
            user_id=attempt.user_id, institution_id=attempt.institution_id,
            pack_version_id=ctx.version.id, competency=e.competency, theta=e.theta, se=e.se,
            mastery=e.mastery, source=e.source, cut=e.cut, items=list(e.items), attempt_id=attempt.id))
    attempt.status = AttemptStatus.COMPLETED
    attempt.pending_token = None
    attempt.theta = step.estimate.theta
    attempt.se = step.estimate.se
    attempt.stop_reason = step.stop_reason
    attempt.mastery = step.mastery
    attempt.finished_at = utcnow()


# --------------------------------------------------------------------------------------- actions
def testout_retry(session: Session, who: Principal, module: ModuleRow) -> RetryDecision:
    """Whether the learner may start a test-out of ``module`` now (a waiting period after failures)."""
    finished = session.execute(select(Attempt.finished_at, Attempt.mastery).where(
        Attempt.user_id == who.user_id, Attempt.module_id == module.id, Attempt.kind == "testout",
        Attempt.status == AttemptStatus.COMPLETED)).all()
    return testout_allowed(
        [TestOutAttempt(f.timestamp(), m == "mastered") for f, m in finished if f is not None],
        utcnow().timestamp(), TESTOUT)


def start_placement(session: Session, who: Principal, version_id: int) -> int:
    """Start (or resume) the placement test of a pack version: a short adaptive test across all its
    competencies whose decisive results become the learner's starting point."""
    version = scoped(session, PackVersion, version_id, who)
    active = session.scalar(select(Attempt.id).where(
        Attempt.user_id == who.user_id, Attempt.pack_version_id == version.id,
        Attempt.kind == "placement", Attempt.status == AttemptStatus.ACTIVE))
    if active is not None:
        return active
    pack = content_of(session, version)
    cuts = {c.id: c.assessment.cut for c in pack.competencies}
    settings = PlacementSettings()
    policy = placement_policy(cuts, settings)
    bank, _ = pack_bank(session, version)
    seed = secrets.randbits(31)
    state = policy.start(seed)
    attempt = Attempt(user_id=who.user_id, institution_id=who.institution_id, module_id=None,
                      pack_version_id=version.id, competency="*", kind="placement",
                      policy={"cuts": cuts, "placement": settings.to_json()}, seed=seed,
                      state=state.to_json())
    session.add(attempt)
    session.flush()
    state = _present(attempt, state, policy.step(bank, state, state.rng()), policy)
    attempt.state = state.to_json()
    session.commit()
    return attempt.id


def start(session: Session, who: Principal, module_id: int, *, kind: str = "assessment") -> int:
    """Start the module's assessment or test-out, or return the learner's unfinished one (resume)."""
    module = scoped(session, ModuleRow, module_id, who)
    active = session.scalar(select(Attempt.id).where(
        Attempt.user_id == who.user_id, Attempt.module_id == module.id, Attempt.kind == kind,
        Attempt.status == AttemptStatus.ACTIVE))
    if active is not None:
        return active
    pack = content_of(session, module.pack_version)
    content_module = pack.module(module.key)
    competency = pack.competency(content_module.competencies[0])
    bank, _ = module_bank(session, module.pack_version, module.key)
    if not len(bank):
        msg = "This module has no questions to assess it yet."
        raise AssessError(msg)
    if kind == "testout":
        retry = testout_retry(session, who, module)
        if not retry.allowed:
            msg = f"Not yet: {retry.reason}."
            raise TooSoon(msg)
        settings = TESTOUT.policy_settings(competency.assessment.cut)
    elif kind == "review":
        state_now = learner_model(session, who, module.pack_version).state(competency.id)
        if state_now is None:
            msg = f"There is nothing to review yet: {competency.title} has no evidence."
            raise AssessError(msg)
        settings = review_settings(state_now, competency.assessment.cut, utcnow().timestamp(), REVIEW)
    else:
        settings = _settings(competency.assessment, int((~bank.pilot).sum()) or len(bank))
    policy = settings.build()
    seed = secrets.randbits(31)
    state = policy.start(seed)
    attempt = Attempt(user_id=who.user_id, institution_id=who.institution_id, module_id=module.id,
                      pack_version_id=module.pack_version_id, competency=competency.id, kind=kind,
                      policy=settings.to_json(), seed=seed, state=state.to_json())
    session.add(attempt)
    session.flush()
    step = policy.step(bank, state, state.rng())
    if step.done:  # nothing to ask (cannot happen with a non-empty bank, kept for safety)
        _finish(session, attempt, state, step, _context(session, attempt))
    else:
        state = _present(attempt, state, step, policy)
    attempt.state = state.to_json()
    session.commit()
    return attempt.id


def view(session: Session, who: Principal, attempt_id: int, *, notice: str | None = None) -> AttemptView:
    """The current screen of an attempt: the pending item, or the result."""
    attempt = _attempt(session, who, attempt_id)
    ctx = _context(session, attempt)
    state = CatState.from_json(attempt.state)
    base = AttemptView(attempt_id=attempt.id, module_id=ctx.module.id if ctx.module else None,
                       module_title=ctx.title, answered=len(state.items), max_items=ctx.max_items,
                       kind=attempt.kind, version_id=ctx.version.id, notice=notice)
    if attempt.status is AttemptStatus.COMPLETED:
        return replace(base, result=_result(attempt, ctx))
    assert state.pending is not None
    return replace(base, item=_item_view(attempt, ctx.items[state.pending], len(state.items) + 1))


def _result(attempt: Attempt, ctx: _Context) -> ResultView:
    state = CatState.from_json(attempt.state)
    return result_view(attempt.theta or 0.0, attempt.se or 1.0, ctx.cut, attempt.mastery,
                       state.n_scored)


def parse_answer(item: Item, form: dict[str, list[str]]) -> Any:
    """Turn submitted form fields into the answer shape the item type scores; AssessError if incomplete."""
    values = form.get("answer", [])
    kind = item.type
    if kind in ("single_choice", "numeric", "short_text"):
        if not values or not values[0].strip():
            msg = "Please give an answer before submitting."
            raise AssessError(msg)
        return values[0]
    if kind == "multiple_choice":
        if not values:
            msg = "Please choose at least one option."
            raise AssessError(msg)
        return values
    if kind == "ordering":
        ranks: dict[str, int] = {}
        for option in item.options:
            raw = (form.get(f"rank-{option.id}") or [""])[0]
            if not raw.isdigit():
                msg = "Please give every option a position."
                raise AssessError(msg)
            ranks[option.id] = int(raw)
        if sorted(ranks.values()) != list(range(1, len(item.options) + 1)):
            msg = f"Use each position from 1 to {len(item.options)} exactly once."
            raise AssessError(msg)
        return [option_id for option_id, _ in sorted(ranks.items(), key=lambda kv: kv[1])]
    if kind == "matching":
        answer = {}
        for source in item.sources:
            raw = (form.get(f"match-{source.id}") or [""])[0]
            if not raw:
                msg = "Please match every item on the left."
                raise AssessError(msg)
            answer[source.id] = raw
        return answer
    msg = "This kind of question cannot be answered here."
    raise AssessError(msg)


def submit(session: Session, who: Principal, attempt_id: int, token: str,
           form: dict[str, list[str]]) -> AttemptView:
    """Score the answer to the pending item, record it with the new estimate, pick the next item.

    A token that does not match the item on screen (a second submission) raises AlreadyAnswered and
    writes nothing; so does losing the race to a concurrent identical request (unique constraints).
    """
    attempt = _attempt(session, who, attempt_id, lock=True)
    if attempt.status is AttemptStatus.COMPLETED or not token or token != attempt.pending_token:
        msg = "That answer was already recorded; here is where you are now."
        raise AlreadyAnswered(msg)
    ctx = _context(session, attempt)
    state = CatState.from_json(attempt.state)
    assert state.pending is not None
    item = ctx.items[state.pending]
    answer = parse_answer(item, form)
    try:
        points = score(item, answer)
    except InvalidAnswer as err:
        msg = "That answer does not fit this question; please answer again."
        raise AssessError(msg) from err
    policy = ctx.policy
    pilot = bool(ctx.bank.pilot[ctx.bank.index(item.id)])
    state = policy.record(ctx.bank, state, points)
    step = policy.step(ctx.bank, state, state.rng())
    presented = attempt.presented_at
    seconds = (utcnow() - presented).total_seconds() if presented else None
    estimate = step.estimate
    session.add(Response(attempt_id=attempt.id, position=len(state.items) - 1, item=item.id,
                         answer=answer, score=points, max_score=item.max_score, pilot=pilot,
                         theta=estimate.theta, se=estimate.se,
                         seconds=None if seconds is None or not math.isfinite(seconds) else seconds,
                         token=token))
    if step.done:
        _finish(session, attempt, state, step, ctx)
    else:
        state = _present(attempt, state, step, policy)
    attempt.state = state.to_json()
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        msg = "That answer was already recorded; here is where you are now."
        raise AlreadyAnswered(msg) from None
    return replace(view(session, who, attempt.id), feedback=_feedback(item, answer, points, pilot))
