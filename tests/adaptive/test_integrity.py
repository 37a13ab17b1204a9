"""Trustworthy evidence: credited decisions, the retake rule and withheld items (issue 9)."""

from __future__ import annotations

import numpy as np
import pytest

from adaptive import ItemBank, ItemParameters, PolicySettings, run
from adaptive.errors import AdaptiveError
from adaptive.estimation import MAP
from adaptive.integrity import (
    CreditDecision,
    EvidenceRules,
    PastAttempt,
    RetakePolicy,
    batch_decisions,
    credit_decision,
    recent_exclusions,
    retake_allowed,
)
from adaptive.pathing import TestOutSettings
from adaptive.simulate import draw_score
from adaptive.stopping import se_at

DAY = 86_400.0


def three_pl_bank(n: int = 40, seed: int = 3) -> ItemBank:
    """Four-option items: a guessing asymptote of 1/4, difficulties spread over the scale."""
    rng = np.random.default_rng(seed)
    return ItemBank.from_items(
        ItemParameters(id=f"i{k}", model="3pl", a=float(rng.uniform(0.9, 1.8)),
                       b=float(rng.uniform(-2.0, 2.0)), c=0.25)
        for k in range(n))


# ------------------------------------------------------------------ retakes
def test_retakes_wait_double_after_each_failure_and_reset_after_credit() -> None:
    p = RetakePolicy(wait_days=1.0, backoff=2.0, max_wait_days=5.0, max_per_period=100)
    assert retake_allowed([], 0.0, p).allowed
    one = [PastAttempt(0.0, 0.0, False)]
    assert not retake_allowed(one, 0.5 * DAY, p).allowed
    d = retake_allowed(one, 1.0 * DAY, p)
    assert d.allowed and d.next_allowed_at == 1.0 * DAY and d.failures == 1
    three = [PastAttempt(t, t, False) for t in (0.0, 2 * DAY, 10 * DAY)]
    d3 = retake_allowed(list(reversed(three)), 11 * DAY, p)  # the order of the list does not matter
    assert not d3.allowed and d3.next_allowed_at == 14 * DAY and "waits 4 days" in d3.reason
    five = [PastAttempt(k * 100 * DAY, k * 100 * DAY, False) for k in range(5)]
    assert retake_allowed(five, 404 * DAY, p).next_allowed_at == 405 * DAY  # capped at 5 days
    credited = [*three, PastAttempt(12 * DAY, 12 * DAY, True)]
    assert retake_allowed(credited, 12 * DAY, p).allowed


def test_at_most_so_many_attempts_start_in_a_period_whatever_their_outcome() -> None:
    p = RetakePolicy(max_per_period=3, period_days=7.0)
    starts = [PastAttempt(t * DAY, t * DAY + 600, True) for t in (0.0, 1.0, 2.0)]
    d = retake_allowed(starts, 3 * DAY, p)
    assert not d.allowed and d.next_allowed_at == 7 * DAY and "at most 3 attempts" in d.reason
    assert retake_allowed(starts, 7 * DAY, p).allowed
    # an unfinished attempt counts as started
    assert not retake_allowed([*starts[1:], PastAttempt(2.5 * DAY, None, False)], 3 * DAY, p).allowed


def test_retake_settings_are_checked_and_described() -> None:
    with pytest.raises(AdaptiveError, match="unknown retake setting"):
        RetakePolicy.from_json({"wait": 3})
    with pytest.raises(AdaptiveError, match="backoff >= 1"):
        RetakePolicy(backoff=0.5)
    text = RetakePolicy().describe()
    assert "1 day" in text and "30 days" in text and "3 attempts" in text


def test_recent_items_are_withheld_newest_first_as_far_as_the_bank_allows() -> None:
    pool = [f"i{k}" for k in range(30)]
    now = 100 * DAY
    recent = [(now - 1 * DAY, pool[:12]), (now - 5 * DAY, pool[12:24]), (now - 60 * DAY, pool[24:])]
    excluded, kept = recent_exclusions(pool, recent, now, 10)  # type: ignore[misc]
    assert set(excluded) == set(pool[:12]) and kept == 1  # the second attempt would leave 6 < 10
    excluded, kept = recent_exclusions(pool, recent, now, 5)  # type: ignore[misc]
    assert set(excluded) == set(pool[:24]) and kept == 2  # the 60-day-old one is outside the window
    assert recent_exclusions(pool, [(now, pool[:25])], now, 10) is None  # the bank has run out


# ------------------------------------------------------------------ credited decisions
def test_mastery_is_credited_only_with_enough_items_precision_and_fit() -> None:
    bank = three_pl_bank()
    easy = sorted(bank.ids, key=lambda i: bank.b[bank.index(i)])
    rules = EvidenceRules()
    est = run_estimate(bank, easy[:12], [1] * 12)
    ok = credit_decision(bank, easy[:12], [1] * 12, est, "mastered", rules, cut=-1.5)
    assert ok.credited and ok.mastery == "mastered" and not ok.reasons
    few = credit_decision(bank, easy[:4], [1] * 4, est, "mastered", rules, cut=-1.5)
    assert not few.credited and few.mastery == "undecided" and "at least 10" in few.reasons[0]
    # precision is judged at the cut: items far from it measure it poorly
    far = credit_decision(bank, easy[:12], [1] * 12, est, "mastered", EvidenceRules(max_se=0.3),
                          cut=4.0, prior_sd=None)
    assert se_at(bank, [bank.index(i) for i in easy[:12]], 4.0) > 0.3
    assert not far.credited and "precisely enough" in far.reasons[0]
    # right on the hardest items, wrong on the easiest: no ability explains it
    hard_first = easy[::-1][:20] + easy[:20]
    reversed_pattern = [1] * 20 + [0] * 20
    est = run_estimate(bank, hard_first, reversed_pattern)
    flagged = credit_decision(bank, hard_first, reversed_pattern, est, "mastered", rules, cut=-3.0)
    assert flagged.flagged and not flagged.credited and flagged.fit is not None and flagged.fit < -1.645
    assert CreditDecision.from_json(flagged.to_json()) == flagged  # as stored with an attempt
    assert any("does not fit" in r for r in flagged.reasons)
    # a failed attempt is never credited, but its flag is still reported
    assert credit_decision(bank, hard_first, reversed_pattern, est, "not_mastered", rules,
                           cut=0.0).flagged


def run_estimate(bank: ItemBank, ids: list[str], scores: list[int]):  # type: ignore[no-untyped-def]
    from adaptive import EAP

    return EAP().estimate(bank, [bank.index(i) for i in ids], scores)


def test_a_random_guesser_ends_near_the_bottom_and_never_tests_out() -> None:
    """Four-option 3PL items; 400 test-outs answered by coin flips of 1/4, and 400 honest masters."""
    bank = three_pl_bank()
    rules = EvidenceRules()
    policy = TestOutSettings().policy_settings(0.0, rules=rules).build()
    rng = np.random.default_rng(11)
    credited, thetas = 0, []
    for seed in range(400):
        state, steps = run(bank, policy, seed, lambda _: int(rng.random() < 0.25))
        ids, scores = state.scored()
        last = steps[-1]
        assert len(ids) >= rules.min_items or last.mastery != "mastered"
        credited += credit_decision(bank, ids, scores, last.estimate, last.mastery, rules, cut=0.0).credited
        thetas.append(last.estimate.theta)
    assert credited == 0
    assert np.median(thetas) < -1.0  # near the bottom of the scale
    masters = 0
    for seed in range(400):
        state, steps = run(bank, policy, 10_000 + seed,
                           lambda i: draw_score(bank, 1.5, i, float(rng.random())))
        ids, scores = state.scored()
        last = steps[-1]
        masters += credit_decision(bank, ids, scores, last.estimate, last.mastery, rules, cut=0.0).credited
    assert masters / 400 >= 0.85  # honest learners well above the cut are still recognised


@pytest.mark.parametrize("method", ["ci", "sprt"])
def test_batch_decisions_agree_with_credit_decision_test_by_test(method: str) -> None:
    """Many finished tests at once (fixed forms of 3 to 30 items, some all right, some random) decide
    exactly as :func:`credit_decision` does one by one, given the same estimates and fit flags."""
    bank = three_pl_bank()
    rng = np.random.default_rng(20261207)
    settings = PolicySettings(cut=0.2, mastery_method=method, sprt_delta=0.4)
    rule = settings.build().mastery
    assert rule is not None
    rules = EvidenceRules(min_items=8, max_se=0.45)
    person, item, score, theta, se, flagged, expected = [], [], [], [], [], [], []
    for t in range(300):
        given = rng.choice(len(bank), size=int(rng.integers(3, 31)), replace=False)
        ability = float(rng.normal(0.3, 1.2))
        scores = [1 if t % 10 == 0 else draw_score(bank, ability, bank.ids[j], float(rng.random()))
                  for j in given]
        estimate = MAP().estimate(bank, list(given), scores) if t % 2 else \
            settings.build().estimator.estimate(bank, list(given), scores)
        mastery = rule.classify(bank, list(given), scores, estimate).value
        decision = credit_decision(bank, [bank.ids[j] for j in given], scores, estimate, mastery, rules,
                                   cut=settings.cut or 0.0, prior_sd=1.0)
        person += [t] * len(given)
        item += list(given)
        score += scores
        theta.append(estimate.theta)
        se.append(estimate.se)
        flagged.append(decision.flagged)
        expected.append(decision.mastery)
    got = batch_decisions(bank, np.array(person), np.array(item), np.array(score), np.array(theta),
                          np.array(se), rule, rules, cut=0.2, prior_sd=1.0, flagged=np.array(flagged))
    assert got == expected
    assert {"mastered", "not_mastered", "undecided"} <= set(expected)  # every branch was taken
