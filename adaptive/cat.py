"""The computerized adaptive test as a pure, replayable policy.

One attempt goes ``start -> step -> present -> record -> step -> ...``::

    policy = PolicySettings(se_target=0.3, max_items=40).build()
    state = policy.start(seed=attempt_seed)
    step = policy.step(bank, state, state.rng())      # CatStep: next item, estimate, stop reason
    state = policy.present(state, step)               # the item is now pending
    state = policy.record(bank, state, score)         # the learner answered; EAP updated in O(grid)

Every function is pure: the state is plain data (:class:`CatState`, JSON round-trip), and the
randomness of step ``n`` comes from ``default_rng((seed, n))``, so a stored attempt replays exactly
(:func:`replay`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from .bank import ItemBank
from .errors import AdaptiveError, EstimationError
from .estimation import EAP, REFINE_BELOW, Estimator, estimator_from_name
from .selection import ContentBalanced, MaxInfo, Randomesque, Selector, SympsonHetter
from .stopping import (
    SPRT,
    AllOf,
    AnyOf,
    Classified,
    ConfidenceInterval,
    MasteryRule,
    MaxItems,
    MinItems,
    StandardErrorBelow,
    Stopper,
)
from .types import AbilityEstimate, CatState, CatStep, IntArray

__all__ = ["CatPolicy", "PolicySettings", "replay", "run"]


@dataclass(frozen=True, eq=False)
class CatPolicy:
    """How one adaptive test runs: estimate, maybe stop, otherwise pick the next item.

    Parameters
    ----------
    estimator : Estimator
        EAP (updated incrementally), MAP or WLE.
    selector : Selector
        See :mod:`adaptive.selection`.
    stopper : Stopper
        See :mod:`adaptive.stopping`.
    mastery : MasteryRule, optional
        When given, every step reports the mastery classification at its cut score.
    pilot_rate : float
        Probability that a step presents an unused pilot item (unscored) instead of an operational
        one, while pilot items remain.
    """

    estimator: Estimator = field(default_factory=EAP)
    selector: Selector = field(default_factory=MaxInfo)
    stopper: Stopper = field(
        default_factory=lambda: AnyOf(StandardErrorBelow(0.3), MaxItems(40)))
    mastery: MasteryRule | None = None
    pilot_rate: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.pilot_rate < 1.0:
            msg = f"pilot rate must be in [0, 1), got {self.pilot_rate}"
            raise AdaptiveError(msg)

    # ------------------------------------------------------------------ transitions
    def start(self, seed: int) -> CatState:
        """A fresh attempt: no responses, the prior as the estimate."""
        if isinstance(self.estimator, EAP):
            log_prior = self.estimator.log_prior()
            return CatState(seed=int(seed), log_posterior=tuple(log_prior.tolist()),
                            estimate=self.estimator.summarise(log_prior))
        return CatState(seed=int(seed))

    def _scored(self, bank: ItemBank, state: CatState) -> tuple[list[int], list[int]]:
        ids, scores = state.scored()
        return [bank.index(i) for i in ids], list(scores)

    def current_estimate(self, bank: ItemBank, state: CatState) -> AbilityEstimate:
        """The estimate for ``state`` (stored one if present, else computed from the responses)."""
        if state.estimate is not None:
            return state.estimate
        items, scores = self._scored(bank, state)
        return self.estimator.estimate(bank, items, scores)

    def step(self, bank: ItemBank, state: CatState, rng: np.random.Generator) -> CatStep:
        """Decide: stop (with the reason) or the next item. Pure; ``state`` is not changed.

        Raises
        ------
        AdaptiveError
            When an item is still pending (record its answer first).
        """
        if state.pending is not None:
            msg = f"item {state.pending!r} is still waiting for an answer; record it before stepping"
            raise AdaptiveError(msg)
        items, scores = self._scored(bank, state)
        estimate = self.current_estimate(bank, state)
        mastery = (self.mastery.classify(bank, items, scores, estimate).value
                   if self.mastery is not None else None)
        reason = self.stopper.stop_reason(bank, items, scores, estimate)
        if reason is not None:
            return CatStep(estimate, None, reason, mastery)
        used = [bank.index(i) for i in state.items] + [bank.index(i) for i in state.excluded]
        blocked: IntArray = np.asarray(used, dtype=np.intp)
        if self.pilot_rate > 0 and rng.random() < self.pilot_rate:
            pilots = np.flatnonzero(bank.pilot)
            pilots = pilots[~np.isin(pilots, blocked)]
            if pilots.size:
                j = int(pilots[rng.integers(pilots.size)])
                return CatStep(estimate, bank.ids[j], None, mastery, pilot=True)
        allowed = ~bank.pilot if bank.pilot.any() else None
        choice = self.selector.select(bank, estimate.theta, blocked, allowed, rng,
                                      np.asarray(items, dtype=np.intp))
        rejected = tuple(bank.ids[j] for j in choice.rejected)
        if choice.item is None:
            return CatStep(estimate, None, "bank_exhausted", mastery, rejected=rejected)
        return CatStep(estimate, bank.ids[choice.item], None, mastery, rejected=rejected)

    def forecast(self, bank: ItemBank, state: CatState, limit: int) -> int:
        """About how many more items this test gives, the pending one included (0 to ``limit``).

        A projection for the learner's progress indicator, not a promise. The estimate is held where it
        is; each further item is the one the selector would choose there, scored with its most likely
        score, and the standard error shrinks by that item's information at the estimate. The stopping
        rule is asked after every projected item, as :meth:`step` asks it, so the forecast follows
        whatever rule the policy has (standard error, mastery by interval or SPRT, placement per
        competency). ``limit`` is the most items the test can still give.
        """
        items, scores = self._scored(bank, state)
        estimate = self.current_estimate(bank, state)
        theta = estimate.theta
        # the estimate is held, so every item's information and likely score are computed once
        info = bank.information(theta).ravel()
        likely = bank.category_probabilities(theta)[0].argmax(axis=1)
        used = np.zeros(len(bank), dtype=bool)
        used[[bank.index(i) for i in (*state.items, *state.excluded)]] = True
        if bank.pilot.any():
            used |= bank.pilot  # pilot items are seeded by chance, never chosen; they add no precision
        # only a content-balanced selector's choice depends on what came before; the others choose
        # the most informative item at the held estimate (exposure lotteries are not projected)
        order = iter(np.argsort(-info, kind="stable"))
        balanced = isinstance(self.selector, ContentBalanced)
        rng = np.random.default_rng(0)
        precision = estimate.se ** -2 if estimate.se > 0 else np.inf

        def given(j: int) -> bool:
            """Project item ``j`` as answered; True when the test would then stop."""
            nonlocal precision
            used[j] = True
            if bank.pilot[j]:
                return False
            items.append(j)
            scores.append(int(likely[j]))
            precision += float(info[j])
            return self.stopper.stop_reason(
                bank, items, scores, AbilityEstimate(theta, float(precision ** -0.5))) is not None

        n = 0
        if state.pending is not None:
            n = 1
            if given(bank.index(state.pending)):
                return n
        while n < limit:
            if balanced:
                j = self.selector.select(bank, theta, np.flatnonzero(used), None, rng,
                                         np.asarray(items, dtype=np.intp)).item
            else:
                j = next((int(k) for k in order if not used[k]), None)
            if j is None:
                return n
            n += 1
            if given(j):
                return n
        return limit

    def present(self, state: CatState, step: CatStep) -> CatState:
        """The state once ``step.next_item`` is shown: it is pending, lost lotteries are excluded."""
        if step.next_item is None:
            msg = f"the test has stopped ({step.stop_reason}); there is no item to present"
            raise AdaptiveError(msg)
        return _replace(state, pending=step.next_item, excluded=state.excluded + step.rejected)

    def record(self, bank: ItemBank, state: CatState, score: int) -> CatState:
        """Record the answer to the pending item and update the estimate.

        EAP is updated incrementally (one item on the grid); MAP and WLE are recomputed from the scored
        responses. Pilot items are recorded but change nothing else.
        """
        if state.pending is None:
            msg = "there is no pending item to record an answer for"
            raise AdaptiveError(msg)
        j = bank.index(state.pending)
        top = int(bank.n_categories[j]) - 1
        if not (isinstance(score, int | np.integer) and 0 <= int(score) <= top):
            msg = f"score {score!r} for item {state.pending!r} is out of range 0..{top}"
            raise AdaptiveError(msg)
        score = int(score)
        is_pilot = bool(bank.pilot[j])
        new = _replace(state, items=(*state.items, state.pending), scores=(*state.scores, score),
                       pilot=(*state.pilot, is_pilot), pending=None)
        if is_pilot:
            return new
        if isinstance(self.estimator, EAP):
            if len(state.log_posterior) != self.estimator.n_points:
                msg = "stored posterior does not match the estimator's grid; replay the attempt"
                raise EstimationError(msg)
            log_post = self.estimator.update(bank, np.asarray(state.log_posterior), j, score)
            estimate = self.estimator.summarise(log_post)
            grid = self.estimator.grid()
            if estimate.se < REFINE_BELOW * float(grid[1] - grid[0]):
                # a long test: the coarse grid's summary is biased (see EAP.summarise); the refined
                # estimate from the responses is deterministic, so replay stays exact
                items, scores = self._scored(bank, new)
                estimate = self.estimator.estimate(bank, items, scores)
            return _replace(new, log_posterior=tuple(log_post.tolist()), estimate=estimate)
        items, scores = self._scored(bank, new)
        return _replace(new, estimate=self.estimator.estimate(bank, items, scores))


_STATE_FIELDS = tuple(f.name for f in fields(CatState))


def _replace(state: CatState, **changes: Any) -> CatState:
    """``dataclasses.replace`` without its per-call introspection (this is on every request)."""
    values = {name: getattr(state, name) for name in _STATE_FIELDS}
    values.update(changes)
    return CatState(**values)


def run(
    bank: ItemBank, policy: CatPolicy, seed: int, respond: Callable[[str], int],
) -> tuple[CatState, list[CatStep]]:
    """Run a whole attempt, asking ``respond(item_id)`` for each score.

    Returns the final state and every step (the last one has ``next_item=None``).
    """
    state = policy.start(seed)
    steps: list[CatStep] = []
    while True:
        step = policy.step(bank, state, state.rng())
        steps.append(step)
        if step.done:
            return state, steps
        state = policy.present(state, step)
        state = policy.record(bank, state, respond(step.next_item))  # type: ignore[arg-type]


def replay(
    bank: ItemBank, policy: CatPolicy, seed: int, items: Sequence[str], scores: Sequence[int],
) -> tuple[CatState, list[CatStep]]:
    """Recompute a stored attempt from its seed and responses, checking every decision.

    Raises
    ------
    AdaptiveError
        If the engine would now choose a different item than the one stored at some step (the bank
        or the policy changed since the attempt ran).
    """
    if len(items) != len(scores):
        msg = f"{len(items)} stored items but {len(scores)} scores"
        raise AdaptiveError(msg)
    state = policy.start(seed)
    steps: list[CatStep] = []
    for n, (item, score) in enumerate(zip(items, scores, strict=True)):
        step = policy.step(bank, state, state.rng())
        steps.append(step)
        if step.next_item != item:
            msg = (f"replay diverged at response {n + 1}: stored item {item!r}, engine chose "
                   f"{step.next_item!r} ({step.stop_reason or 'continuing'})")
            raise AdaptiveError(msg)
        state = policy.record(bank, policy.present(state, step), score)
    return state, steps


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """The plain, JSON-storable settings from which a :class:`CatPolicy` is built.

    These are the assessment settings of a content pack (per competency) and what an attempt stores
    so that it replays with the same policy.
    """

    estimator: str = "eap"
    prior_mean: float = 0.0
    prior_sd: float = 1.0
    selection: str = "mfi"
    randomesque_k: int = 5
    exposure_control: Mapping[str, float] = field(default_factory=dict)
    content_tag: str | None = None
    content_targets: Mapping[str, float] = field(default_factory=dict)
    se_target: float | None = 0.3
    min_items: int = 1
    max_items: int = 40
    cut: float | None = None
    mastery_method: str = "ci"
    mastery_stop: bool = False
    sprt_delta: float = 0.3
    error_rate: float = 0.05
    pilot_rate: float = 0.0
    mastery_max_se: float | None = None

    def build(self) -> CatPolicy:
        """Build the policy; raise :class:`AdaptiveError` naming the wrong setting."""
        estimator = estimator_from_name(self.estimator, prior_mean=self.prior_mean,
                                        prior_sd=self.prior_sd)
        selector: Selector
        if self.selection == "mfi":
            selector = MaxInfo()
        elif self.selection == "randomesque":
            selector = Randomesque(self.randomesque_k)
        elif self.selection == "sympson-hetter":
            selector = SympsonHetter(Randomesque(self.randomesque_k) if self.randomesque_k > 1
                                     else MaxInfo(), dict(self.exposure_control))
        else:
            msg = (f"unknown selection {self.selection!r}; use mfi, randomesque or "
                   "sympson-hetter")
            raise AdaptiveError(msg)
        if self.content_tag is not None:
            selector = ContentBalanced(selector, self.content_tag, dict(self.content_targets))
        if not 1 <= self.min_items <= self.max_items:
            msg = f"need 1 <= min_items <= max_items, got {self.min_items} and {self.max_items}"
            raise AdaptiveError(msg)
        mastery: MasteryRule | None = None
        if self.cut is not None:
            if self.mastery_method == "ci":
                from scipy.stats import norm

                mastery = ConfidenceInterval(self.cut, z=float(norm.ppf(1 - self.error_rate / 2)))
            elif self.mastery_method == "sprt":
                mastery = SPRT(self.cut, self.sprt_delta, self.error_rate, self.error_rate)
            else:
                msg = f"unknown mastery method {self.mastery_method!r}; use ci or sprt"
                raise AdaptiveError(msg)
        rules: list[Stopper] = []
        if self.se_target is not None:
            rules.append(AllOf(MinItems(self.min_items), StandardErrorBelow(self.se_target)))
        if mastery is not None and self.mastery_stop:
            rules.append(Classified(mastery, self.min_items, self.mastery_max_se, self.prior_sd))
        rules.append(MaxItems(self.max_items))
        return CatPolicy(estimator=estimator, selector=selector, stopper=AnyOf(*rules),
                         mastery=mastery, pilot_rate=self.pilot_rate)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON."""
        out = asdict(self)
        out["exposure_control"] = dict(self.exposure_control)
        out["content_targets"] = dict(self.content_targets)
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PolicySettings:
        """Read settings, rejecting unknown keys by name."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            msg = f"unknown CAT setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            raise AdaptiveError(msg)
        return cls(**dict(data))
