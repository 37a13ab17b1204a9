r"""Trustworthy evidence: when a mastery decision may grant credit, and how often a learner may retry.

A decision that grants credit or lets a learner skip a module (a module assessment, a test-out, a
placement test, a review) is *credited* only when all of these hold (:func:`credit_decision`):

1. the test's own classification at the cut (SPRT or confidence interval, at its stated error rate)
   says ``mastered``;
2. at least :attr:`EvidenceRules.min_items` scored items were answered;
3. the standard error of measurement *at the cut* (:func:`adaptive.stopping.se_at`: the items'
   information there plus the prior's precision) is at most :attr:`EvidenceRules.max_se`, so the
   decision rests on measurement that is precise where it is made (an all-right pattern has a wide
   posterior at the top of the scale but is well measured at the cut);
4. the response pattern fits the model: Snijders' :math:`l_z^*` person-fit statistic
   (:mod:`adaptive.personfit`) is not below :attr:`EvidenceRules.fit_threshold`. A pattern that no
   ability explains (right on hard items and wrong on easy ones, a constant option position) is
   *flagged* and never credited, whatever the estimate.

An attempt that reached ``mastered`` but failed 2–4 ends ``undecided``: no credit, with the reasons
in plain words.

Retakes (:class:`RetakePolicy`, :func:`retake_allowed`) follow one rule for every credit-bearing
attempt kind: after :math:`k` consecutive attempts without credit the next waits
:math:`\min(w\,b^{k-1}, w_{max})` days, and at most ``max_per_period`` attempts start in any
``period_days``. Items the learner answered in recent attempts are not asked again as far as the bank
allows (:func:`recent_exclusions`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .bank import ItemBank
from .errors import AdaptiveError
from .estimation import MAP
from .jsonsettings import JsonSettings
from .personfit import person_fit
from .stopping import SPRT, ConfidenceInterval, MasteryRule, se_at
from .types import AbilityEstimate, BoolArray, FloatArray, IntArray

__all__ = [
    "CreditDecision",
    "EvidenceRules",
    "PastAttempt",
    "RetakeDecision",
    "RetakePolicy",
    "batch_decisions",
    "credit_decision",
    "recent_exclusions",
    "retake_allowed",
]

SECONDS_PER_DAY = 86_400.0


# ============================================================================ crediting a decision
@dataclass(frozen=True, slots=True)
class EvidenceRules(JsonSettings):
    """What a mastery decision needs before it grants credit or lets a learner skip a module.

    Attributes
    ----------
    min_items : int
        Scored items at the least (pilot items do not count).
    max_se : float
        The standard error of measurement at the cut at the most (logits).
    fit_threshold : float
        An attempt whose :math:`l_z^*` falls below this is flagged (one-sided, the 5 % point of
        N(0, 1)). On a fixed form that sets aside about 5 % of honest patterns; in adaptive tests the
        statistic is conservative (simulated honest learners: 0.7 % flagged, random answerers 52 %;
        see ``tests/adaptive/test_personfit.py``).
    """

    min_items: int = 10
    max_se: float = 0.6
    fit_threshold: float = -1.645

    _what: ClassVar[str] = "evidence rule"

    def __post_init__(self) -> None:
        if not (isinstance(self.min_items, int) and 1 <= self.min_items <= 200):
            msg = f"evidence rule min_items must be a whole number from 1 to 200, got {self.min_items!r}"
            raise AdaptiveError(msg)
        if not (math.isfinite(self.max_se) and self.max_se > 0):
            msg = f"evidence rule max_se must be a positive number, got {self.max_se!r}"
            raise AdaptiveError(msg)
        if not math.isfinite(self.fit_threshold):
            msg = f"evidence rule fit_threshold must be a finite number, got {self.fit_threshold!r}"
            raise AdaptiveError(msg)


@dataclass(frozen=True, slots=True)
class CreditDecision:
    """The outcome of one finished test of one competency, and whether it may be credited.

    Attributes
    ----------
    mastery : str
        ``"mastered"`` only when credited; a test that classified mastery without enough evidence
        ends ``"undecided"``; otherwise the test's own ``"not_mastered"`` / ``"undecided"``.
    credited : bool
    flagged : bool
        The response pattern does not fit the model (person fit).
    fit : float or None
        :math:`l_z^*` (None when too few items or an all-right/all-wrong pattern).
    n_items : int
        Scored items answered.
    reasons : tuple of str
        Why a mastery classification was not credited, in plain words (empty when credited).
    """

    mastery: str
    credited: bool
    flagged: bool
    fit: float | None
    n_items: int
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (stored with the attempt)."""
        return {"mastery": self.mastery, "credited": self.credited, "flagged": self.flagged,
                "fit": self.fit, "n_items": self.n_items, "reasons": list(self.reasons)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CreditDecision:
        """Rebuild from :meth:`to_json`."""
        fit = data.get("fit")
        return cls(str(data["mastery"]), bool(data["credited"]), bool(data["flagged"]),
                   None if fit is None else float(fit), int(data.get("n_items", 0)),
                   tuple(str(r) for r in data.get("reasons", ())))


def credit_decision(
    bank: ItemBank, items: Sequence[str], scores: Sequence[int], estimate: AbilityEstimate,
    mastery: str | None, rules: EvidenceRules = EvidenceRules(), *, cut: float,
    prior_sd: float | None = 1.0, prior_items: int = 0,
) -> CreditDecision:
    """Apply :class:`EvidenceRules` to a finished test's scored responses and its classification.

    Parameters
    ----------
    bank : ItemBank
    items, scores : sequences
        The scored (non-pilot) responses, in order.
    estimate : AbilityEstimate
        The test's final estimate.
    mastery : str or None
        The test's own classification at the cut (None is taken as ``"undecided"``).
    rules : EvidenceRules
    cut : float
        The cut score the decision was made at.
    prior_sd : float or None
        The SD of the test's prior (its precision counts at the cut, as in the stopping rule).
    prior_items : int
        Scored items behind the test's prior that count towards ``min_items``: a review's prior is
        the evidence it confirms, so its items count; every other test starts from N(0, 1) and 0.

    The person-fit statistic is computed at the MAP estimate with a N(0, 1) prior (Snijders'
    correction needs a modal estimate, not an EAP), for every outcome, so an instructor sees flags on
    failed attempts too.
    """
    if len(items) != len(scores):
        msg = f"{len(items)} items but {len(scores)} scores"
        raise AdaptiveError(msg)
    outcome = mastery or "undecided"
    positions = [bank.index(i) for i in items]
    n = len(positions)
    fit_value: float | None = None
    flagged = False
    if n:
        modal = MAP().estimate(bank, positions, list(scores))
        fit = person_fit(bank, positions, list(scores), modal.theta, threshold=rules.fit_threshold,
                         estimator="map", prior_sd=1.0, min_items=rules.min_items)
        fit_value = None if not math.isfinite(fit.value) else float(fit.value)
        flagged = bool(fit.flagged)
    if outcome != "mastered":
        return CreditDecision(outcome, False, flagged, fit_value, n)
    reasons: list[str] = []
    if n + prior_items < rules.min_items:
        reasons.append(f"only {n} scored question{'s' if n != 1 else ''} were answered; "
                       f"a decision that grants credit needs at least {rules.min_items}")
    precision = se_at(bank, positions, cut, prior_sd)
    if not precision <= rules.max_se:
        reasons.append(f"the questions did not yet measure precisely enough around the required level "
                       f"(standard error {precision:.2f} there, at most {rules.max_se:.2f} is needed)")
    if flagged:
        reasons.append("the pattern of answers does not fit any level of competency (for example, "
                       "right on hard questions but wrong on easy ones), so it could not be scored "
                       "reliably")
    if reasons:
        return CreditDecision("undecided", False, flagged, fit_value, n, tuple(reasons))
    return CreditDecision("mastered", True, False, fit_value, n)


def batch_decisions(
    bank: ItemBank, person: IntArray, item: IntArray, score: IntArray, theta: FloatArray,
    se: FloatArray, rule: MasteryRule, rules: EvidenceRules = EvidenceRules(), *, cut: float,
    prior_sd: float | None = 1.0, flagged: BoolArray | None = None,
) -> list[str]:
    """:func:`credit_decision` of many finished tests at once, given their estimates and fit flags.

    For telling how many decisions new item parameters would change, over every finished attempt of
    a pack version: the classification (confidence interval or SPRT, as ``rule``), the minimum of
    scored items and the standard error at the cut are computed for all tests together; the
    person-fit flag (the one step that needs a modal estimate per test) is given, as the tests'
    stored flags.

    Parameters
    ----------
    bank : ItemBank
    person, item, score : ndarray of int, shape (n_responses,)
        Each scored response: its test (0..len(theta)-1), its item's position in ``bank``, its score.
    theta, se : ndarray of shape (n_tests,)
        Each test's final estimate.
    rule : ConfidenceInterval or SPRT
        The tests' mastery rule.
    rules, cut, prior_sd
        As for :func:`credit_decision`.
    flagged : ndarray of bool, optional
        Tests whose response pattern was flagged (never credited).

    Returns
    -------
    list of str
        ``"mastered"``, ``"not_mastered"`` or ``"undecided"`` per test, as :func:`credit_decision`
        would decide it (:attr:`CreditDecision.mastery`).
    """
    n_tests = int(np.asarray(theta).size)
    counts = np.bincount(person, minlength=n_tests)
    if isinstance(rule, ConfidenceInterval):
        low, high = theta - rule.z * se, theta + rule.z * se
        outcome = np.where(low > rule.cut, 2, np.where(high < rule.cut, 0, 1))
    elif isinstance(rule, SPRT):
        nodes = np.array([rule.cut - rule.delta, rule.cut + rule.delta])
        with np.errstate(divide="ignore"):
            log_p = np.log(bank.category_probabilities(nodes))  # (2, n_items, K)
        ratio = np.bincount(person, weights=log_p[1, item, score] - log_p[0, item, score],
                            minlength=n_tests)
        outcome = np.where(ratio >= math.log((1 - rule.beta) / rule.alpha), 2,
                           np.where(ratio <= math.log(rule.beta / (1 - rule.alpha)), 0, 1))
        outcome = np.where(counts > 0, outcome, 1)
    else:
        msg = f"no batch classification for {type(rule).__name__}"
        raise AdaptiveError(msg)
    at_cut = np.asarray(bank.information(np.array([float(cut)]))).reshape(-1)  # per item
    info = np.asarray(np.bincount(person, weights=at_cut[item], minlength=n_tests), dtype=np.float64)
    if prior_sd is not None:
        info = info + 1.0 / (prior_sd * prior_sd)
    with np.errstate(divide="ignore"):
        precision = np.where(info > 0, 1.0 / np.sqrt(info), np.inf)
    credited = (counts >= rules.min_items) & (precision <= rules.max_se)
    if flagged is not None:
        credited &= ~flagged
    names = ("not_mastered", "undecided", "mastered")
    return [names[o] if o != 2 or ok else "undecided" for o, ok in zip(outcome.tolist(), credited.tolist(),
                                                                        strict=True)]


# ============================================================================ retakes
@dataclass(frozen=True, slots=True)
class RetakePolicy(JsonSettings):
    r"""One retake rule for every credit-bearing attempt kind (assessment, test-out, placement, review).

    Attributes
    ----------
    wait_days, backoff, max_wait_days : float
        After :math:`k` consecutive attempts without credit, the next waits
        :math:`\min(w\,b^{k-1}, w_{max})` days from the last one.
    max_per_period, period_days
        At most ``max_per_period`` attempts may start within any ``period_days``.
    exclude_days : float
        Items answered in attempts that finished within this many days are not asked again, as far
        as the bank allows (:func:`recent_exclusions`).
    """

    wait_days: float = 1.0
    backoff: float = 2.0
    max_wait_days: float = 30.0
    max_per_period: int = 3
    period_days: float = 7.0
    exclude_days: float = 30.0

    _what: ClassVar[str] = "retake setting"

    def __post_init__(self) -> None:
        if not (self.wait_days >= 0 and self.backoff >= 1 and self.max_wait_days >= self.wait_days):
            msg = "retakes need wait_days >= 0, backoff >= 1 and max_wait_days >= wait_days"
            raise AdaptiveError(msg)
        if not (isinstance(self.max_per_period, int) and self.max_per_period >= 1
                and self.period_days >= 0 and self.exclude_days >= 0):
            msg = "retakes need max_per_period >= 1 (a whole number), period_days >= 0, exclude_days >= 0"
            raise AdaptiveError(msg)

    def describe(self) -> str:
        """The policy in plain words, as a module page states it before a learner starts."""
        wait = _days(self.wait_days)
        return (f"If an attempt does not show mastery, the next one can start after {wait}; each "
                f"further unsuccessful attempt doubles the wait, up to {_days(self.max_wait_days)}. "
                f"At most {self.max_per_period} attempts can start in any {_days(self.period_days)}, "
                "and a new attempt avoids the questions you answered in the last "
                f"{_days(self.exclude_days)}.")


def _days(d: float) -> str:
    if d < 1:
        hours = d * 24
        return f"{hours:g} hour{'s' if hours != 1 else ''}"
    return f"{d:g} day{'s' if d != 1 else ''}"


@dataclass(frozen=True, slots=True)
class PastAttempt:
    """A previous attempt: when it started and finished, and whether it was credited."""

    started: float
    finished: float | None
    credited: bool


@dataclass(frozen=True, slots=True)
class RetakeDecision:
    """Whether an attempt may start now, and from when it may.

    Attributes
    ----------
    allowed : bool
    next_allowed_at : float
        POSIX seconds; ``now`` or earlier when allowed.
    failures : int
        Consecutive finished attempts without credit since the last credited one.
    reason : str
    """

    allowed: bool
    next_allowed_at: float
    failures: int
    reason: str

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        return {"allowed": self.allowed, "next_allowed_at": self.next_allowed_at,
                "failures": self.failures, "reason": self.reason}


def retake_allowed(
    attempts: Sequence[PastAttempt], now: float, policy: RetakePolicy = RetakePolicy(),
) -> RetakeDecision:
    r"""The waiting-period and rate rule against brute-forcing a credit-bearing test.

    With :math:`k` consecutive finished attempts without credit, the last finishing at :math:`t_k`,
    the next may start at :math:`t_k + \min(w\,b^{k-1}, w_{max})` days; and at most
    ``max_per_period`` attempts may start within any window of ``period_days``. Each attempt of a
    learner below the cut is credited with probability about :math:`\alpha` at most, so doubling
    waits allow about :math:`\log_2(D/w) + 1` tries in :math:`D` days before the wait reaches
    :math:`w_{max}`.
    """
    ends = sorted((a.finished, a.credited) for a in attempts if a.finished is not None)
    failures = 0
    last = -math.inf
    for finished, credited in ends:
        failures = 0 if credited else failures + 1
        last = finished
    at = -math.inf
    reason = "no unsuccessful attempt since the last successful one"
    if failures:
        wait = min(policy.wait_days * policy.backoff ** (failures - 1), policy.max_wait_days)
        at = last + wait * SECONDS_PER_DAY
        plural = "s" if failures > 1 else ""
        reason = (f"after {failures} unsuccessful attempt{plural} the next one waits {_days(wait)}"
                  if now < at else f"the {_days(wait)} wait after {failures} unsuccessful "
                  f"attempt{plural} is over")
    window = policy.period_days * SECONDS_PER_DAY
    starts = sorted(a.started for a in attempts if a.started > now - window)
    if len(starts) >= policy.max_per_period:
        # the oldest start inside the window must leave it before another may start
        rate_at = starts[len(starts) - policy.max_per_period] + window
        if rate_at > at:
            at = rate_at
            if now < at:
                reason = (f"at most {policy.max_per_period} attempts can start in "
                          f"{_days(policy.period_days)}")
    if now >= at:
        return RetakeDecision(True, min(now, at) if math.isfinite(at) else now, failures, reason)
    return RetakeDecision(False, at, failures, reason)


def recent_exclusions(
    available: Sequence[str], recent: Sequence[tuple[float, Sequence[str]]], now: float, need: int,
    policy: RetakePolicy = RetakePolicy(),
) -> tuple[tuple[str, ...], int] | None:
    """Items to withhold from a new attempt because the learner answered them recently.

    Parameters
    ----------
    available : sequence of str
        The operational items the new attempt could use.
    recent : sequence of (finished time, item ids)
        The learner's finished attempts on the same items.
    now : float
    need : int
        Fresh items the new attempt needs at the least (a credited decision's ``min_items``).

    Returns
    -------
    (excluded, kept_attempts) or None
        The items of the most recent attempts within ``exclude_days``, newest first, as many whole
        attempts as leave at least ``need`` fresh items; ``kept_attempts`` counts them. None when even
        the most recent attempt alone leaves fewer than ``need``: the bank has run out for now.
    """
    pool = set(available)
    horizon = now - policy.exclude_days * SECONDS_PER_DAY
    within = sorted(((t, tuple(ids)) for t, ids in recent if t >= horizon), key=lambda r: -r[0])
    excluded: set[str] = set()
    kept = 0
    for _, ids in within:
        trial = excluded | (set(ids) & pool)
        if len(pool - trial) < need:
            if kept == 0:
                return None
            break
        excluded = trial
        kept += 1
    return tuple(sorted(excluded)), kept
