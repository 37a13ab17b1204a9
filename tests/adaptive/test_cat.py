"""The CAT policy: replay, JSON resume, no repeats, exact selection, exposure and content control."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from adaptive import (
    AdaptiveError,
    CatState,
    ItemBank,
    PolicySettings,
    replay,
    run,
    simulate_cat,
    sympson_hetter_control,
    synthetic_bank,
)
from adaptive.selection import MaxInfo, Randomesque, top_information


def responder(bank: ItemBank, theta: float, rng: np.random.Generator):  # type: ignore[no-untyped-def]
    def respond(item_id: str) -> int:
        p = bank.category_probabilities(theta, np.array([bank.index(item_id)]))[0, 0]
        return int((rng.random() > np.cumsum(p)).sum())
    return respond


@pytest.fixture(scope="module")
def bank() -> ItemBank:
    return synthetic_bank(300, np.random.default_rng(7))


SETTINGS = [
    PolicySettings(),
    PolicySettings(selection="randomesque", randomesque_k=5, estimator="eap"),
    PolicySettings(selection="randomesque", estimator="map", se_target=0.35, max_items=15),
    PolicySettings(cut=0.3, mastery_method="sprt", mastery_stop=True, min_items=5),
]


@pytest.mark.parametrize("settings", SETTINGS)
def test_a_stored_attempt_replays_exactly(bank: ItemBank, settings: PolicySettings) -> None:
    policy = settings.build()
    state, steps = run(bank, policy, 1234, responder(bank, 0.7, np.random.default_rng(1)))
    again, steps2 = replay(bank, policy, 1234, state.items, state.scores)
    assert again == state
    assert [s.to_json() for s in steps2] == [s.to_json() for s in steps[:-1]]
    assert policy.step(bank, again, again.rng()) == steps[-1]


def test_replay_detects_a_changed_bank(bank: ItemBank) -> None:
    policy = PolicySettings().build()
    state, _ = run(bank, policy, 5, responder(bank, 0.0, np.random.default_rng(2)))
    other = synthetic_bank(300, np.random.default_rng(8))
    with pytest.raises(AdaptiveError, match="replay diverged at response 1"):
        replay(other, policy, 5, state.items, state.scores)


@pytest.mark.parametrize("settings", SETTINGS[:2])
def test_state_survives_json_and_the_attempt_resumes_identically(
    bank: ItemBank, settings: PolicySettings
) -> None:
    policy = settings.build()
    answers = np.random.default_rng(11).random(100)
    straight, _ = run(bank, policy, 99, lambda i: int(answers[len(i) % 7] > 0.4))
    # the same attempt, stored as JSON and reloaded after every single transition
    state = policy.start(99)
    while True:
        state = CatState.from_json(json.loads(json.dumps(state.to_json())))
        step = policy.step(bank, state, state.rng())
        if step.done:
            break
        state = CatState.from_json(json.loads(json.dumps(policy.present(state, step).to_json())))
        state = policy.record(bank, state, int(answers[len(step.next_item) % 7] > 0.4))
    assert state == straight


def test_items_are_never_repeated_and_the_bank_can_run_out() -> None:
    small = synthetic_bank(12, np.random.default_rng(1))
    policy = PolicySettings(se_target=0.0, max_items=40).build()
    state, steps = run(small, policy, 3, lambda _: 1)
    assert len(state.items) == len(set(state.items)) == 12
    assert steps[-1].stop_reason == "bank_exhausted"


def test_stops_at_the_se_target_or_the_length_limit(bank: ItemBank) -> None:
    policy = PolicySettings(se_target=0.4, min_items=3, max_items=30).build()
    for theta in (-2.0, 0.0, 2.0):
        state, steps = run(bank, policy, 1, responder(bank, theta, np.random.default_rng(4)))
        last = steps[-1]
        assert last.stop_reason == "se_target"
        assert last.estimate.se < 0.4 <= steps[-2].estimate.se
        assert state.n_scored >= 3
    capped = PolicySettings(se_target=0.01, max_items=7).build()
    state, steps = run(bank, capped, 1, responder(bank, 0.0, np.random.default_rng(4)))
    assert steps[-1].stop_reason == "max_items" and state.n_scored == 7


def test_pending_and_out_of_range_answers_are_refused(bank: ItemBank) -> None:
    policy = PolicySettings().build()
    state = policy.start(1)
    with pytest.raises(AdaptiveError, match="no pending item"):
        policy.record(bank, state, 1)
    step = policy.step(bank, state, state.rng())
    pending = policy.present(state, step)
    with pytest.raises(AdaptiveError, match="still waiting for an answer"):
        policy.step(bank, pending, pending.rng())
    with pytest.raises(AdaptiveError, match=r"out of range 0\.\.1"):
        policy.record(bank, pending, 2)


def test_max_info_chooses_the_exact_maximum_over_unused_items() -> None:
    rng = np.random.default_rng(5)
    mixed = ItemBank.from_items(
        [replace(synthetic_bank(400, rng, model="3pl").item(j), id=f"t{j}") for j in range(400)]
        + [replace(synthetic_bank(50, rng, model="gpcm").item(j), id=f"g{j}") for j in range(50)]
        + [replace(synthetic_bank(50, rng, model="grm").item(j), id=f"r{j}") for j in range(50)])
    for _ in range(200):
        theta = float(rng.normal(scale=1.5))
        blocked = rng.choice(len(mixed), size=int(rng.integers(0, 60)), replace=False)
        choice = MaxInfo().select(mixed, theta, blocked.astype(np.intp), None, rng,
                                  np.empty(0, dtype=np.intp))
        info = mixed.information(theta)[0]
        info[blocked] = -np.inf
        assert choice.item is not None
        assert info[choice.item] == pytest.approx(info.max(), rel=1e-12)


def test_randomesque_picks_uniformly_among_the_k_best(bank: ItemBank) -> None:
    rng = np.random.default_rng(9)
    blocked = np.array([0, 5, 9], dtype=np.intp)
    best, _ = top_information(bank, 0.4, 5, blocked)
    info = bank.information(0.4)[0]
    info[blocked] = -np.inf
    assert set(best.tolist()) == set(np.argsort(-info)[:5].tolist())
    picks = [Randomesque(5).select(bank, 0.4, blocked, None, rng, blocked).item for _ in range(2000)]
    counts = np.bincount(np.asarray(picks), minlength=len(bank))[best]
    assert set(picks) == set(best.tolist())
    assert counts.min() > 300  # each of 5 expected 400 times


def test_pilot_items_are_seeded_at_their_rate_and_never_scored() -> None:
    rng = np.random.default_rng(12)
    bank = synthetic_bank(200, rng, n_pilot=40)
    policy = PolicySettings(se_target=None, max_items=20, pilot_rate=0.2).build()
    plain = PolicySettings(se_target=None, max_items=20).build()
    n_pilot = 0
    n_total = 0
    for e in range(200):
        state, steps = run(bank, policy, e, responder(bank, 0.0, rng))
        n_pilot += sum(state.pilot)
        n_total += len(state.pilot)
        assert state.n_scored == 20
        assert all(bank.pilot[bank.index(i)] == p for i, p in zip(state.items, state.pilot, strict=True))
        # the estimate depends on scored responses only
        ids, scores = state.scored()
        scratch = policy.estimator.estimate(bank, [bank.index(i) for i in ids], list(scores))
        assert steps[-1].estimate.theta == pytest.approx(scratch.theta, abs=1e-12)
    # each step seeds a pilot with p = 0.2: expected share 0.2 of all administered items
    assert n_pilot / n_total == pytest.approx(0.2, abs=0.03)
    state, _ = run(bank, plain, 0, responder(bank, 0.0, rng))
    assert not any(state.pilot)


def test_content_balancing_meets_target_proportions() -> None:
    rng = np.random.default_rng(21)
    bank = synthetic_bank(600, rng, content_areas=("algebra", "geometry", "statistics"))
    targets = {"algebra": 0.5, "geometry": 0.3, "statistics": 0.2}
    policy = PolicySettings(se_target=0.3, min_items=10, max_items=30, content_tag="content_area",
                            content_targets=targets).build()
    areas = bank.tags["content_area"]
    totals = dict.fromkeys(targets, 0)
    for e in range(300):
        state, _ = run(bank, policy, e, responder(bank, float(rng.normal()), rng))
        given = [areas[bank.index(i)] for i in state.items]
        for area, share in targets.items():
            # per test, each area is within one item of its target share
            assert abs(given.count(area) - share * len(given)) <= 1.0
            totals[area] += given.count(area)
    n = sum(totals.values())
    for area, share in targets.items():
        assert abs(totals[area] / n - share) <= 0.05


@pytest.mark.slow
def test_sympson_hetter_keeps_exposure_below_the_target() -> None:
    rng = np.random.default_rng(2026)
    bank = synthetic_bank(250, rng)
    settings = PolicySettings(se_target=0.3, max_items=12, randomesque_k=1)
    unconstrained = simulate_cat(bank, settings.build(), rng.normal(size=1000), rng)
    assert unconstrained.exposure.max() > 0.5  # without control the best items go to nearly everyone
    control = sympson_hetter_control(bank, settings, 0.2, rng, n_examinees=1000)
    controlled = replace(settings, selection="sympson-hetter", exposure_control=control)
    result = simulate_cat(bank, controlled.build(), rng.normal(size=1000), rng)
    assert result.exposure.max() <= 0.2
    assert result.rmse < 0.45  # precision is kept


def test_policy_settings_round_trip_and_name_bad_values() -> None:
    s = PolicySettings(selection="sympson-hetter", exposure_control={"i1": 0.5}, cut=0.2)
    assert PolicySettings.from_json(json.loads(json.dumps(s.to_json()))) == s
    with pytest.raises(AdaptiveError, match="unknown CAT setting"):
        PolicySettings.from_json({"se": 0.3})
    with pytest.raises(AdaptiveError, match="unknown selection 'best'"):
        PolicySettings(selection="best").build()
    with pytest.raises(AdaptiveError, match="min_items <= max_items"):
        PolicySettings(min_items=10, max_items=5).build()
    with pytest.raises(AdaptiveError, match="in \\[0, 1\\]"):
        PolicySettings(selection="sympson-hetter", exposure_control={"i1": 1.5}).build()


def test_ties_are_broken_by_bank_order_so_replays_never_depend_on_sorting() -> None:
    # uncalibrated items often share default parameters: the choice among equals must be fixed
    same = ItemBank.from_arrays([1.0] * 12, [0.0] * 12, ids=[f"q{j:02d}" for j in range(12)])
    policy = PolicySettings(se_target=0.0, max_items=12).build()
    state, _ = run(same, policy, 1, lambda _: 1)
    assert list(state.items) == [f"q{j:02d}" for j in range(12)]
    best, _ = top_information(same, 0.0, 4, np.array([2], dtype=np.intp))
    assert best.tolist() == [0, 1, 3, 4]


def test_a_long_test_stores_the_refined_eap_not_the_coarse_grid_summary() -> None:
    """400 items drive the posterior SD to about 0.09, well below the 0.2 grid step, where the coarse
    rule is biased; the stored estimate matches a dense grid."""
    from adaptive import EAP

    bank = synthetic_bank(1000, np.random.default_rng(8))
    policy = PolicySettings(se_target=None, min_items=400, max_items=400).build()
    rng = np.random.default_rng(8)
    state, _ = run(bank, policy, 3, lambda i: int(rng.random() < 0.6))
    assert state.estimate is not None and state.estimate.se < 0.1
    ids, scores = state.scored()
    idx = [bank.index(i) for i in ids]
    dense = np.linspace(-6.0, 6.0, 20001)
    log_post = bank.log_likelihood(dense, idx, list(scores)) - 0.5 * dense**2
    w = np.exp(log_post - log_post.max())
    mean = float((dense * w).sum() / w.sum())
    assert abs(state.estimate.theta - mean) < 1e-3
    coarse = EAP().summarise(np.asarray(state.log_posterior))
    assert abs(coarse.theta - mean) > 5e-3  # what the stored estimate would be without refinement
    again, _ = replay(bank, policy, 3, list(state.items), list(state.scores))
    assert again == state


@pytest.mark.parametrize("settings", [
    PolicySettings(cut=0.0, mastery_stop=True, se_target=None, min_items=10, max_items=20,
                   mastery_max_se=0.6),
    PolicySettings(se_target=0.3, max_items=40),
    PolicySettings(cut=0.3, mastery_method="sprt", mastery_stop=True, min_items=5),
], ids=["mastery-by-interval", "se-target", "sprt"])
def test_the_forecast_of_items_to_go_tracks_the_real_length_far_better_than_the_maximum(
    bank: ItemBank, settings: PolicySettings,
) -> None:
    """The learner's "about N more" comes from the stopping rule: on simulated learners it is close to
    what the test really gave, always within what the test can still give, and it changes nothing."""
    policy = settings.build()
    rng = np.random.default_rng(11)
    errors, naive = [], []
    for learner in range(60):
        respond = responder(bank, float(rng.normal()), rng)
        state = policy.start(learner)
        forecasts = []
        while not (step := policy.step(bank, state, state.rng())).done:
            state = policy.present(state, step)
            limit = settings.max_items - state.n_scored
            before = state.to_json()
            forecast = policy.forecast(bank, state, limit)
            assert state.to_json() == before and 1 <= forecast <= limit
            forecasts.append((state.n_scored, forecast))
            state = policy.record(bank, state, respond(step.next_item))  # type: ignore[arg-type]
        for given, forecast in forecasts:
            errors.append(abs(forecast - (state.n_scored - given)))
            naive.append(abs(settings.max_items - state.n_scored))
    assert np.mean(errors) < 0.6 * np.mean(naive)
    assert np.median(errors) <= 2
