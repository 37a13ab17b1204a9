"""The adaptive assessment: start, answer, finish. One action, one commit; learners see views only.

Everything a learner may see leaves this module as a view object built here: stems and options as
sanitised HTML, never a key, an item parameter or an upcoming item. The engine's state, the policy and
the seed are stored with the attempt, and every response with the estimate after it, so an attempt
replays exactly (``adaptive.replay``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from blinker import Namespace
from flask import url_for
from scipy.stats import norm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adaptive import CatPolicy, CatState, CatStep, ItemBank, PolicySettings
from adaptive.integrity import (
    CreditDecision,
    PastAttempt,
    RetakeDecision,
    RetakePolicy,
    credit_decision,
    recent_exclusions,
    retake_allowed,
)
from adaptive.pathing import (
    PlacementSettings,
    credited_evidence,
    placement_outcome,
    placement_policy,
    review_settings,
)
from app import xapi as xapi_statements
from app.authz import Principal, require_live, scoped
from app.credentials.issuance import request_credentials
from app.db import utcnow
from app.errors import ServiceError
from app.models import AbilityRecord, Attempt, AttemptStatus, ModuleRow, PackVersion, Response
from app.packstore import (
    content_of,
    exposure_control,
    lesson_html,
    markdown,
    module_bank,
    pack_bank,
    parameters_in_use,
    parameters_of,
)
from app.pathing.services import PLACEMENT, REVIEW, TESTOUT, learner_model
from content import ContentPack, InvalidAnswer, Item, score
from content.policy import assessment_policy
from content.presentation import option_order

Z95 = 1.959963984540054

attempt_completed = Namespace().signal("attempt-completed")
"""Sent (with the session, and ``attempt=``) in the transaction that completes an attempt, after its
evidence, xAPI statements and credential request: a receiver adds what must be stored with the
completion itself (``app.lti.grades`` asks for the score to be sent to a learning platform)."""



class AssessError(ServiceError):
    """A learner-facing problem with an answer: the message says what happened and what to do."""


class TooSoon(ServiceError):
    """An attempt was started again before the retake policy allows it."""

    status = 429


class AlreadyAnswered(AssessError):
    """The answer was already recorded (double submit, back button, second tab)."""

    status = 409


# Every attempt kind (assessment, test-out, review, placement) can grant mastery, so every one follows
# the pack's evidence, retake and feedback rules.
_KIND_WORDS = {"assessment": "assessment", "testout": "test-out", "review": "review",
               "placement": "placement test"}


# ------------------------------------------------------------------------------------------ views
@dataclass(frozen=True)
class Option:
    """An option as the learner sees it: an opaque per-attempt id and its text."""

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
    """What the learner learns about the answer they just gave.

    In a credit-bearing attempt only what they chose (``verdict`` is ``"recorded"``); right answers
    come after the attempt, in :class:`ReviewItem`.
    """

    verdict: str  # "right", "partly right", "not right", "not scored", "recorded"
    score: int
    max_score: int
    html: str
    chosen_html: str = ""


@dataclass(frozen=True)
class ReviewItem:
    """One question of a finished attempt: what was asked, chosen and right, and why."""

    number: int
    stem_html: str
    chosen_html: str
    right_html: str
    verdict: str
    feedback_html: str


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
    pilot: int = 0
    flagged: bool = False
    reasons: tuple[str, ...] = ()
    next_try: str | None = None


@dataclass(frozen=True)
class PlacementFinding:
    """What a placement test found for one competency, and what to do about it."""

    title: str
    mastery: str | None  # "mastered", "not_mastered" or None/"undecided"
    score: int
    low: int
    high: int
    advice: str
    module_id: int | None = None
    module_title: str | None = None


@dataclass(frozen=True)
class AttemptView:
    """One screen of an attempt."""

    attempt_id: int
    module_id: int | None
    module_title: str
    answered: int
    max_items: int
    kind: str = "assessment"
    to_go: int = 0  # about how many questions are left, the one on screen included (a forecast)
    version_id: int | None = None
    item: ItemView | None = None
    feedback: FeedbackView | None = None
    result: ResultView | None = None
    review: tuple[ReviewItem, ...] = ()
    placement: tuple[PlacementFinding, ...] = ()
    notice: str | None = None
    errors: tuple[str, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------------------- helpers
def _attempt(session: Session, who: Principal, attempt_id: int, *, lock: bool = False) -> Attempt:
    """The caller's own attempt; with ``lock``, one answer at a time (a row lock on PostgreSQL)."""
    if lock:
        session.scalar(select(Attempt).where(Attempt.id == attempt_id).with_for_update())
    return scoped(session, Attempt, attempt_id, who, own=True)


def shows_answers(pack: ContentPack, attempt_kind: str, module_key: str | None) -> bool:
    """Whether right answers are shown after each answer (formative practice) or only at the end.

    Only a module assessment whose module sets ``feedback: immediate`` shows them at once (the
    validator allows that only for modules that count towards no credential); test-outs, placement
    tests and reviews never do.
    """
    if attempt_kind != "assessment" or module_key is None:
        return False
    return pack.module(module_key).feedback == "immediate"


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
    pack: ContentPack


def _context(session: Session, attempt: Attempt) -> _Context:
    if attempt.kind == "placement":
        version = session.get(PackVersion, attempt.pack_version_id)
        assert version is not None  # the foreign key guarantees it
        bank, items = pack_bank(session, version, parameters_of(session, attempt))
        cuts = {str(k): float(v) for k, v in attempt.policy["cuts"].items()}
        placement = PlacementSettings.from_json(attempt.policy["placement"])
        return _Context(version, None, f"{version.title}: placement", bank, items,
                        placement_policy(cuts, placement), len(cuts) * placement.items_per_competency,
                        0.0, content_of(session, version))
    module = session.get(ModuleRow, attempt.module_id)
    assert module is not None  # the foreign key guarantees it
    bank, items = module_bank(session, module.pack_version, module.key, parameters_of(session, attempt))
    settings = PolicySettings.from_json(attempt.policy)
    return _Context(module.pack_version, module, module.title, bank, items, settings.build(),
                    settings.max_items, settings.cut or 0.0, content_of(session, module.pack_version))


# ------------------------------------------------------------------------------ option identifiers
@dataclass(frozen=True)
class OptionCodes:
    """The opaque ids of one item's options in one attempt, both ways.

    Each id is an HMAC of the option's own id under the attempt's random salt, so it says nothing
    about the authored order or the shuffled one, and differs between attempts and items.
    """

    out: dict[tuple[str, str], str]  # (role, real id) -> opaque; role "o" option, "s"/"t" matching
    back: dict[tuple[str, str], str]  # (role, opaque) -> real id

    def option(self, real: str) -> str:
        """The opaque id of a choice or ordering item's option."""
        return self.out[("o", real)]

    def source(self, real: str) -> str:
        """The opaque id of a matching item's source."""
        return self.out[("s", real)]

    def target(self, real: str) -> str:
        """The opaque id of a matching item's target."""
        return self.out[("t", real)]


def attempt_salt(attempt: Attempt) -> str:
    """The secret behind an attempt's option ids (attempts from before salts fall back to their seed)."""
    return attempt.option_salt or f"attempt-{attempt.id}-{attempt.seed}"


def option_codes(salt: str, item: Item) -> OptionCodes:
    """The opaque option ids of ``item`` under an attempt's ``salt`` (:func:`attempt_salt`)."""
    key = salt.encode()
    out: dict[tuple[str, str], str] = {}
    for role, choices in (("o", item.options), ("s", item.sources), ("t", item.targets)):
        for c in choices:
            digest = hmac.new(key, f"{item.id}\x00{role}\x00{c.id}".encode(), hashlib.sha256).digest()
            out[(role, c.id)] = base64.b32encode(digest[:10]).decode().lower()
    return OptionCodes(out, {(role, code): real for (role, real), code in out.items()})


Render = Callable[[str], str]


def _renderer(ctx: _Context, item: Item) -> Render:
    """Markdown of one item as HTML, its images pointed at the pack version's served assets
    (relative to the item file, as in a lesson)."""
    prefix = f"{url_for('learn.catalogue')}assets/{ctx.version.id}/"
    return lambda text: lesson_html(ctx.pack, item.file, markdown(text), prefix)


def _item_view(attempt: Attempt, item: Item, number: int, md: Render) -> ItemView:
    order = option_order(item, attempt.seed)
    codes = option_codes(attempt_salt(attempt), item)
    text = {("o", c.id): c.text for c in item.options}
    text.update({("s", c.id): c.text for c in item.sources})
    text.update({("t", c.id): c.text for c in item.targets})

    def opts(role: str, ids: Sequence[str]) -> tuple[Option, ...]:
        return tuple(Option(codes.out[(role, i)], md(text[(role, i)])) for i in ids)

    return ItemView(attempt_id=attempt.id, number=number, token=attempt.pending_token or "",
                    type=item.type, stem_html=md(item.stem), options=opts("o", order.options),
                    sources=opts("s", order.sources), targets=opts("t", order.targets))


def _verdict(points: int, top: int, pilot: bool) -> str:
    if pilot:
        return "not scored"
    if points >= top:
        return "right"
    return "partly right" if points > 0 else "not right"


def _chosen_html(item: Item, answer: Any, md: Render) -> str:
    """What the learner answered, in words (never the key)."""
    def text(choices: Sequence[Any], ident: str) -> str:
        html = next((md(c.text) for c in choices if c.id == ident), "").strip()
        # one paragraph reads inline, inside a list item or beside an arrow
        if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
            return html[3:-4]
        return html

    if item.type == "single_choice":
        return text(item.options, str(answer))
    if item.type == "multiple_choice":
        return "<ul>" + "".join(f"<li>{text(item.options, a)}</li>" for a in answer) + "</ul>"
    if item.type == "ordering":
        return "<ol>" + "".join(f"<li>{text(item.options, a)}</li>" for a in answer) + "</ol>"
    if item.type == "matching":
        return "<ul>" + "".join(f"<li>{text(item.sources, s)} → {text(item.targets, t)}</li>"
                                for s, t in answer.items()) + "</ul>"
    return md(f"`{answer}`") if str(answer).strip() else ""


def _right_html(item: Item, md: Render) -> str:
    """The right answer, in words: shown only once an attempt is over (or in formative practice)."""
    key = item.key
    if item.type == "single_choice":
        return _chosen_html(item, key, md)
    if item.type in ("multiple_choice", "ordering") and isinstance(key, tuple):
        return _chosen_html(item, list(key), md)
    if item.type == "matching" and isinstance(key, tuple):
        return _chosen_html(item, dict(key), md)  # type: ignore[arg-type]
    if item.type == "numeric":
        return md(f"{key:g}" if isinstance(key, float) else str(key))
    if item.type == "short_text" and item.accepted:
        return md(item.accepted[0])
    return ""


def _explanation_html(item: Item, answer: Any, points: int, md: Render) -> str:
    parts = [item.feedback.correct if points >= item.max_score else item.feedback.incorrect]
    chosen = {answer} if isinstance(answer, str) else set(answer) if isinstance(answer, list) else set()
    parts += [text for option_id, text in item.feedback.options if option_id in chosen]
    return "".join(md(p) for p in parts if p)


def _feedback(item: Item, answer: Any, points: int, pilot: bool, reveal: bool, md: Render) -> FeedbackView:
    if not reveal:
        return FeedbackView("recorded", 0, item.max_score, "", _chosen_html(item, answer, md))
    return FeedbackView(_verdict(points, item.max_score, pilot), points, item.max_score,
                        _explanation_html(item, answer, points, md), _chosen_html(item, answer, md))


def result_view(theta: float, se: float, cut: float, mastery: str | None, answered: int, *,
                pilot: int = 0, credit: CreditDecision | None = None,
                next_try: str | None = None) -> ResultView:
    """Express an estimate in plain terms on a 0–100 scale (the percentile of a typical learner group).

    The wording never contradicts itself: a mastery decision is only ever credited on a precise
    enough estimate, and the certainty sentence of a credited one never calls it rough.
    """
    def pct(x: float) -> int:
        return round(100 * float(norm.cdf(x)))

    low, high = pct(theta - Z95 * se), pct(theta + Z95 * se)
    if se < 0.3:
        certainty = "We are quite sure of this: the range is narrow."
    elif se < 0.5 or mastery == "mastered":
        certainty = "We are fairly sure of this; more answers would narrow the range."
    else:
        certainty = "This is still a rough estimate; more answers would make it much more precise."
    where = pct(theta)
    summary = (f"Your estimated competency is {where} on a 0–100 scale: you would likely do better "
               f"than about {where} in 100 typical learners. Most likely it lies between {low} and {high}.")
    flagged = credit is not None and credit.flagged
    reasons = credit.reasons if credit is not None else ()
    if flagged:
        summary = ("The pattern of answers does not fit any level of competency: for example right "
                   "answers to hard questions and wrong ones to easy questions, or answers that do "
                   "not depend on the question. It does not count towards mastery or credit.")
        certainty = ("Read the module's lessons, then answer each question on its own merits in a "
                     "new attempt. Your instructor can see that this attempt was set aside.")
    elif mastery == "mastered":
        summary += " That is above the level this module asks for: you have mastered it."
    elif mastery == "not_mastered":
        summary += " That is below the level this module asks for: reviewing the lessons will help."
    elif reasons:
        summary += (" It looks above the level this module asks for, but the evidence is not yet "
                    "enough to count: " + "; ".join(reasons) + ".")
    elif mastery is not None:
        summary += (" It is too close to the level this module asks for to say yet whether you have "
                    "mastered it.")
    return ResultView(where, low, high, pct(cut), mastery, answered, summary, certainty, pilot,
                      flagged, reasons, next_try)


def _present(attempt: Attempt, state: CatState, step: CatStep, policy: CatPolicy) -> CatState:
    """Show ``step.next_item``: it becomes pending with a fresh submission token."""
    state = policy.present(state, step)
    attempt.pending_token = secrets.token_urlsafe(24)
    attempt.presented_at = utcnow()
    return state


def _finish(session: Session, attempt: Attempt, state: CatState, step: CatStep, ctx: _Context) -> None:
    """Close the attempt, decide whether it may be credited, and add its evidence to the history.

    Every kind goes through the pack's evidence rules (:func:`adaptive.integrity.credit_decision`):
    mastery only with enough scored items, a small enough SE and a response pattern that fits the
    model. A flagged attempt is never credited and is marked for the instructor. A credited test-out
    is recorded as recognition of prior learning: its evidence is the estimate, the SE, the items
    answered, the time and the pack version. A placement test adds starting evidence for every
    competency of the pack (mastered only where that is credited too).
    """
    rules = ctx.pack.evidence
    now = utcnow().timestamp()
    ids, scores = state.scored()
    if attempt.kind == "placement":
        cuts = {str(k): float(v) for k, v in attempt.policy["cuts"].items()}
        evidence = placement_outcome(ctx.bank, state, cuts, now,
                                     PlacementSettings.from_json(attempt.policy["placement"]),
                                     ctx.version.version, rules)
        credit = credit_decision(ctx.bank, ids, scores, step.estimate, None, rules, cut=0.0)
        credit = replace(credit, credited=any(e.mastered for e in evidence))
    else:
        prior_items = len(_reviewed_items(session, attempt)) if attempt.kind == "review" else 0
        ev, credit = credited_evidence(ctx.bank, attempt.competency, state, step, ctx.cut, now,
                                       attempt.kind, ctx.version.version, rules, prior_items,
                                       float(attempt.policy.get("prior_sd", 1.0)))
        evidence = (ev,)
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
    attempt.mastery = credit.mastery if attempt.kind != "placement" else step.mastery
    attempt.credit = credit.to_json()
    attempt.flagged = credit.flagged
    attempt.person_fit = credit.fit
    attempt.finished_at = utcnow()
    xapi = _recorder(session, attempt, ctx)
    xapi.completed(step.estimate.theta, step.estimate.se, attempt.mastery)
    for e in evidence:
        if e.mastered and credit.credited:
            xapi.mastered(e.competency, ctx.pack.competency(e.competency).title, e.theta, e.se)
    if credit.credited and any(e.mastered for e in evidence) and ctx.pack.credentials:
        request_credentials(session, attempt.user_id, ctx.version, f"attempt-{attempt.id}")
    attempt_completed.send(session, attempt=attempt)


def _recorder(session: Session, attempt: Attempt, ctx: _Context) -> xapi_statements.Recorder:
    return xapi_statements.Recorder(session, attempt, ctx.version, ctx.module.key if ctx.module else None,
                                    ctx.title)


def _reviewed_items(session: Session, attempt: Attempt) -> tuple[str, ...]:
    """The items behind the evidence a review attempt started from (they count towards its minimum)."""
    record = session.scalar(select(AbilityRecord).where(
        AbilityRecord.user_id == attempt.user_id, AbilityRecord.pack_version_id == attempt.pack_version_id,
        AbilityRecord.competency == attempt.competency, AbilityRecord.created_at <= attempt.started_at)
        .order_by(AbilityRecord.created_at.desc(), AbilityRecord.id.desc()).limit(1))
    return tuple(record.items) if record is not None else ()


# --------------------------------------------------------------------------------------- actions
def _history(session: Session, who: Principal, *, module_id: int | None,
             version_id: int | None = None) -> list[PastAttempt]:
    """The learner's credit-bearing attempts on a module (every kind) or a pack's placement tests."""
    where = [Attempt.user_id == who.user_id]
    if module_id is not None:
        where.append(Attempt.module_id == module_id)
    else:
        where += [Attempt.pack_version_id == version_id, Attempt.kind == "placement"]
    rows = session.execute(select(Attempt.started_at, Attempt.finished_at, Attempt.mastery,
                                  Attempt.credit).where(*where)).all()
    out = []
    for started, finished, mastery, credit in rows:
        # attempts from before the evidence rules were stored count by their mastery decision
        credited = bool(credit.get("credited")) if credit else mastery == "mastered"
        out.append(PastAttempt(started.timestamp(), finished.timestamp() if finished else None,
                               credited))
    return out


def retake(session: Session, who: Principal, module: ModuleRow) -> RetakeDecision:
    """Whether the learner may start a new attempt on ``module`` now (any kind: one policy)."""
    policy = content_of(session, module.pack_version).retakes
    return retake_allowed(_history(session, who, module_id=module.id), utcnow().timestamp(), policy)


def retake_placement(session: Session, who: Principal, version: PackVersion) -> RetakeDecision:
    """Whether the learner may start a new placement test of ``version`` now (the same policy)."""
    return retake_allowed(_history(session, who, module_id=None, version_id=version.id),
                          utcnow().timestamp(), content_of(session, version).retakes)


def when(timestamp: float) -> str:
    """A moment as learners read it (UTC)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d %b %Y, %H:%M UTC")


def retake_note(decision: RetakeDecision) -> str | None:
    """From when a new attempt may start, and why; None when one may start now."""
    if decision.allowed:
        return None
    return f"You can start a new attempt from {when(decision.next_allowed_at)} ({decision.reason})."


def _refuse(decision: RetakeDecision, what: str) -> TooSoon:
    return TooSoon(f"Not yet: {decision.reason}. You can start a new {what} from "
                   f"{when(decision.next_allowed_at)}.")


def _recently_seen(session: Session, who: Principal, version_id: int, bank: ItemBank,
                   policy: RetakePolicy, need: int) -> tuple[str, ...]:
    """Items of the bank the learner answered in recent attempts, to keep out of a new one.

    Raises AssessError when even the latest attempt leaves too few fresh items for a decision that
    could be credited (the bank has run out for now).
    """
    rows = session.execute(select(Attempt.id, Attempt.finished_at, Response.item).join(
        Response, Response.attempt_id == Attempt.id).where(
        Attempt.user_id == who.user_id, Attempt.pack_version_id == version_id,
        Attempt.status == AttemptStatus.COMPLETED)).all()
    per: dict[int, tuple[float, list[str]]] = {}
    for attempt_id, finished, item in rows:
        per.setdefault(attempt_id, (finished.timestamp() if finished else 0.0, []))[1].append(item)
    operational = [i for i, p in zip(bank.ids, bank.pilot, strict=True) if not p]
    now = utcnow().timestamp()
    out = recent_exclusions(operational, list(per.values()), now, need, policy)
    if out is None:
        latest = max(t for t, _ in per.values())
        msg = ("You have already answered most of this module's questions in your latest attempt, "
               "so a new attempt could not be fair yet. Study the lessons meanwhile; a new attempt "
               f"can start from {when(latest + policy.exclude_days * 86_400.0)}, or ask your "
               "instructor to add questions.")
        raise TooSoon(msg)
    return out[0]


def start_placement(session: Session, who: Principal, version_id: int) -> int:
    """Start (or resume) the placement test of a pack version: a short adaptive test across all its
    competencies whose decisive results become the learner's starting point."""
    version = scoped(session, PackVersion, version_id, who)
    require_live(who, version.published_at)
    active = session.scalar(select(Attempt.id).where(
        Attempt.user_id == who.user_id, Attempt.pack_version_id == version.id,
        Attempt.kind == "placement", Attempt.status == AttemptStatus.ACTIVE))
    if active is not None:
        return active
    pack = content_of(session, version)
    decision = retake_placement(session, who, version)
    if not decision.allowed:
        raise _refuse(decision, "placement test")
    cuts = {c.id: c.assessment.cut for c in pack.competencies}
    settings = PLACEMENT
    policy = placement_policy(cuts, settings)
    parameters = parameters_in_use(session, version)
    bank, _ = pack_bank(session, version, parameters)
    seed = secrets.randbits(31)
    state = policy.start(seed)
    attempt = Attempt(user_id=who.user_id, institution_id=who.institution_id, module_id=None,
                      pack_version_id=version.id, competency="*", kind="placement",
                      parameter_version_id=parameters.id,
                      policy={"cuts": cuts, "placement": settings.to_json()}, seed=seed,
                      state=state.to_json(), option_salt=secrets.token_hex(16))
    session.add(attempt)
    session.flush()
    state = _present(attempt, state, policy.step(bank, state, state.rng()), policy)
    attempt.state = state.to_json()
    session.commit()
    return attempt.id


def start(session: Session, who: Principal, module_id: int, *, kind: str = "assessment") -> int:
    """Start the module's assessment, test-out or review, or return the learner's unfinished one.

    A new attempt follows the pack's retake policy (waiting period after attempts without credit, a
    limit per period) and leaves out the questions the learner answered recently, as far as the bank
    allows.
    """
    module = scoped(session, ModuleRow, module_id, who)
    require_live(who, module.pack_version.published_at)
    active = session.scalar(select(Attempt.id).where(
        Attempt.user_id == who.user_id, Attempt.module_id == module.id, Attempt.kind == kind,
        Attempt.status == AttemptStatus.ACTIVE))
    if active is not None:
        return active
    pack = content_of(session, module.pack_version)
    content_module = pack.module(module.key)
    competency = pack.competency(content_module.competencies[0])
    parameters = parameters_in_use(session, module.pack_version)
    bank, _ = module_bank(session, module.pack_version, module.key, parameters)
    if not len(bank):
        msg = "This module has no questions to assess it yet."
        raise AssessError(msg)
    decision = retake(session, who, module)
    if not decision.allowed:
        raise _refuse(decision, _KIND_WORDS[kind])
    rules = pack.evidence
    if kind == "testout":
        settings = TESTOUT.policy_settings(competency.assessment.cut, rules=rules)
    elif kind == "review":
        state_now = learner_model(session, who, module.pack_version).state(competency.id)
        if state_now is None:
            msg = f"There is nothing to review yet: {competency.title} has no evidence."
            raise AssessError(msg)
        settings = review_settings(state_now, competency.assessment.cut, utcnow().timestamp(), REVIEW,
                                   rules)
    else:
        settings = assessment_policy(competency.assessment, int((~bank.pilot).sum()) or len(bank),
                                     rules, exposure_control(session, module.key, parameters))
    excluded = _recently_seen(session, who, module.pack_version_id, bank, pack.retakes,
                              min(rules.min_items, settings.max_items))
    policy = settings.build()
    seed = secrets.randbits(31)
    state = replace(policy.start(seed), excluded=excluded)
    attempt = Attempt(user_id=who.user_id, institution_id=who.institution_id, module_id=module.id,
                      pack_version_id=module.pack_version_id, competency=competency.id, kind=kind,
                      parameter_version_id=parameters.id,
                      policy=settings.to_json(), seed=seed, state=state.to_json(),
                      option_salt=secrets.token_hex(16))
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
    """The current screen of an attempt: the pending item, or the result with the review of its items."""
    attempt = _attempt(session, who, attempt_id)
    ctx = _context(session, attempt)
    state = CatState.from_json(attempt.state)
    base = AttemptView(attempt_id=attempt.id, module_id=ctx.module.id if ctx.module else None,
                       module_title=ctx.title, answered=len(state.items), max_items=ctx.max_items,
                       kind=attempt.kind, version_id=ctx.version.id, notice=notice)
    if attempt.status is AttemptStatus.COMPLETED:
        return replace(base, result=_result(session, who, attempt, ctx), review=_review(attempt, ctx),
                       placement=_placement_findings(session, attempt, ctx))
    assert state.pending is not None
    item = ctx.items[state.pending]
    to_go = ctx.policy.forecast(ctx.bank, state, ctx.max_items - state.n_scored)
    return replace(base, item=_item_view(attempt, item, len(state.items) + 1, _renderer(ctx, item)),
                   to_go=to_go)


def _result(session: Session, who: Principal, attempt: Attempt, ctx: _Context) -> ResultView:
    state = CatState.from_json(attempt.state)
    credit = CreditDecision.from_json(attempt.credit) if attempt.credit else None
    next_try = None
    if attempt.kind == "placement":
        next_try = retake_note(retake_placement(session, who, ctx.version))
    elif not (credit and credit.credited) and ctx.module is not None:
        next_try = retake_note(retake(session, who, ctx.module))
    return result_view(attempt.theta or 0.0, attempt.se or 1.0, ctx.cut, attempt.mastery,
                       state.n_scored, pilot=len(state.items) - state.n_scored, credit=credit,
                       next_try=next_try)


_ADVICE = {
    "mastered": "You already know this. Test out of {module} to have it recognised and skip it.",
    "not_mastered": "Start here: {module} teaches it from the beginning.",
    None: "Not clear yet from a few questions: {module} and its assessment will tell.",
}


def _placement_findings(session: Session, attempt: Attempt,
                        ctx: _Context) -> tuple[PlacementFinding, ...]:
    """A finished placement's evidence per competency, in the pack's path order, with advice."""
    if attempt.kind != "placement":
        return ()
    records = {r.competency: r for r in session.scalars(
        select(AbilityRecord).where(AbilityRecord.attempt_id == attempt.id))}
    modules = {m.key: m for m in ctx.version.modules}
    found = []
    for c in ctx.pack.competencies:
        record = records.get(c.id)
        if record is None:
            continue
        module = next((modules[m.id] for m in ctx.pack.modules if c.id in m.competencies
                       and m.id in modules), None)
        shown = result_view(record.theta, record.se, record.cut, record.mastery, 0)
        mastery = record.mastery if record.mastery in ("mastered", "not_mastered") else None
        advice = _ADVICE[mastery].format(module=module.title if module else "its module")
        found.append(PlacementFinding(c.title, mastery, shown.score, shown.low, shown.high, advice,
                                      module.id if module else None, module.title if module else None))
    return tuple(found)


def _review(attempt: Attempt, ctx: _Context) -> tuple[ReviewItem, ...]:
    """The items of this finished attempt with the learner's answers and the right ones."""
    out = []
    for r in attempt.responses:
        item = ctx.items.get(r.item)
        if item is None:
            continue
        md = _renderer(ctx, item)
        out.append(ReviewItem(r.position + 1, md(item.stem), _chosen_html(item, r.answer, md),
                              _right_html(item, md), _verdict(r.score, r.max_score, r.pilot),
                              _explanation_html(item, r.answer, r.score, md)))
    return tuple(out)


def _one(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    if len(values) > 1:
        msg = "The answer was sent twice for the same part of the question; please answer again."
        raise AssessError(msg)
    return values[0]


_UNKNOWN = {what: (f"That answer names {what} this question does not have (the page may be out of "
                   "date); please answer again.")
            for what in ("an option", "a position for an option", "a match for an item", "a match")}


def parse_answer(item: Item, form: dict[str, list[str]], codes: OptionCodes) -> Any:
    """Turn submitted form fields into the answer shape the item type scores; AssessError if not.

    Option fields carry the attempt's opaque ids (``codes``): an id this question does not have, the
    same id twice, or a field for another option is refused, and nothing is recorded.
    """
    values = form.get("answer", [])
    kind = item.type
    if kind in ("numeric", "short_text"):
        if not values or not values[0].strip():
            msg = "Please give an answer before submitting."
            raise AssessError(msg)
        return _one(form, "answer")
    if kind == "single_choice":
        if not values or not values[0].strip():
            msg = "Please choose an answer before submitting."
            raise AssessError(msg)
        real = codes.back.get(("o", _one(form, "answer")))
        if real is None:
            raise AssessError(_UNKNOWN["an option"])
        return real
    if kind == "multiple_choice":
        if not values:
            msg = "Please choose at least one option."
            raise AssessError(msg)
        if len(set(values)) != len(values):
            msg = "The same option was sent twice; please answer again."
            raise AssessError(msg)
        chosen = [codes.back.get(("o", v)) for v in values]
        if None in chosen:
            raise AssessError(_UNKNOWN["an option"])
        return [c for c in chosen if c is not None]
    if kind == "ordering":
        expected = {f"rank-{codes.out[('o', o.id)]}": o.id for o in item.options}
        if any(k.startswith("rank-") and k not in expected for k in form):
            raise AssessError(_UNKNOWN["a position for an option"])
        ranks: dict[str, int] = {}
        for name, option_id in expected.items():
            raw = _one(form, name)
            if not raw.isdigit():
                msg = "Please give every option a position."
                raise AssessError(msg)
            ranks[option_id] = int(raw)
        if sorted(ranks.values()) != list(range(1, len(item.options) + 1)):
            msg = f"Use each position from 1 to {len(item.options)} exactly once."
            raise AssessError(msg)
        return [option_id for option_id, _ in sorted(ranks.items(), key=lambda kv: kv[1])]
    if kind == "matching":
        expected = {f"match-{codes.out[('s', s.id)]}": s.id for s in item.sources}
        if any(k.startswith("match-") and k not in expected for k in form):
            raise AssessError(_UNKNOWN["a match for an item"])
        answer = {}
        for name, source_id in expected.items():
            raw = _one(form, name)
            if not raw:
                msg = "Please match every item on the left."
                raise AssessError(msg)
            target = codes.back.get(("t", raw))
            if target is None:
                raise AssessError(_UNKNOWN["a match"])
            answer[source_id] = target
        return answer
    msg = "This kind of question cannot be answered here."
    raise AssessError(msg)


def submit(session: Session, who: Principal, attempt_id: int, token: str,
           form: dict[str, list[str]]) -> AttemptView:
    """Score the answer to the pending item, record it with the new estimate, pick the next item.

    A token that does not match the item on screen (a second submission) raises AlreadyAnswered and
    writes nothing; so does losing the race to a concurrent identical request (unique constraints).
    An answer that does not fit the question raises AssessError and writes nothing either.
    """
    attempt = _attempt(session, who, attempt_id, lock=True)
    if attempt.status is AttemptStatus.COMPLETED or not token or token != attempt.pending_token:
        msg = "That answer was already recorded; here is where you are now."
        raise AlreadyAnswered(msg)
    ctx = _context(session, attempt)
    state = CatState.from_json(attempt.state)
    assert state.pending is not None
    item = ctx.items[state.pending]
    answer = parse_answer(item, form, option_codes(attempt_salt(attempt), item))
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
    position = len(state.items) - 1
    session.add(Response(attempt_id=attempt.id, position=position, item=item.id,
                         answer=answer, score=points, max_score=item.max_score, pilot=pilot,
                         theta=estimate.theta, se=estimate.se,
                         seconds=None if seconds is None or not math.isfinite(seconds) else seconds,
                         token=token))
    _recorder(session, attempt, ctx).answered(position, item.id, points, item.max_score,
                                              estimate.theta, estimate.se)
    xapi_statements.ask_delivery(session, attempt.institution_id, f"{attempt.id}:{position}")
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
    reveal = shows_answers(ctx.pack, attempt.kind, ctx.module.key if ctx.module else None)
    return replace(view(session, who, attempt.id),
                   feedback=_feedback(item, answer, points, pilot, reveal, _renderer(ctx, item)))
