"""Seeded simulation: synthetic banks and examinees, whole CAT runs and fixed linear tests.

Everything random takes an explicit :class:`numpy.random.Generator`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from .bank import ItemBank, ItemParameters
from .cat import CatPolicy, PolicySettings, run
from .errors import AdaptiveError
from .estimation import Estimator
from .responses import ResponseData
from .types import FloatArray, IntArray

__all__ = [
    "SimulationResult",
    "draw_score",
    "linear_test",
    "responder",
    "simulate_cat",
    "simulate_responses",
    "sparse_responses",
    "sympson_hetter_control",
    "synthetic_bank",
]


def synthetic_bank(
    n_items: int,
    rng: np.random.Generator,
    *,
    model: str = "2pl",
    a_sigma: float = 0.3,
    n_categories: int = 4,
    content_areas: Sequence[str] = (),
    n_pilot: int = 0,
) -> ItemBank:
    """A random bank: a ~ lognormal(0, a_sigma), b ~ N(0, 1), c ~ Beta(5, 17) for the 3PL.

    Polytomous items get ``n_categories - 1`` sorted thresholds around their location. Items are tagged
    round-robin with ``content_areas`` when given; the last ``n_pilot`` items are pilot items.
    """
    if n_items < 1:
        msg = f"a bank needs at least one item, got {n_items}"
        raise AdaptiveError(msg)
    a = rng.lognormal(0.0, a_sigma, n_items)
    b = rng.normal(0.0, 1.0, n_items)
    c = rng.beta(5, 17, n_items) if model == "3pl" else np.zeros(n_items)
    items = []
    for j in range(n_items):
        thresholds: tuple[float, ...] = ()
        if model in ("gpcm", "grm"):
            steps = np.sort(rng.normal(0.0, 0.8, n_categories - 1))
            if model == "grm":
                steps = steps + np.arange(n_categories - 1) * 0.05  # strictly increasing
            thresholds = tuple(float(b[j] + s) for s in steps)
        tags = {"content_area": content_areas[j % len(content_areas)]} if content_areas else {}
        items.append(ItemParameters(
            id=f"i{j:05d}", model=model, a=float(a[j]),
            b=float(b[j]) if not thresholds else 0.0, c=float(c[j]), thresholds=thresholds,
            tags=tags, pilot=j >= n_items - n_pilot))
    return ItemBank.from_items(items)


def simulate_responses(
    bank: ItemBank, theta: FloatArray, rng: np.random.Generator,
    items: IntArray | None = None,
) -> IntArray:
    """Scores of each examinee on each item, ``(n_examinees, n_items)`` (or the selected items)."""
    p = bank.category_probabilities(np.asarray(theta, dtype=np.float64), items)
    cum = np.cumsum(p, axis=2)
    u = rng.random(p.shape[:2])
    return (u[:, :, None] > cum).sum(axis=2).astype(np.intp)  # type: ignore[no-any-return]


def sparse_responses(
    bank: ItemBank, theta: FloatArray, per_learner: int, rng: np.random.Generator
) -> ResponseData:
    """Long data where each learner answers ``per_learner`` random items of the bank."""
    n = theta.size
    n_items = len(bank)
    if per_learner > n_items:
        msg = f"cannot give {per_learner} items from a bank of {n_items}"
        raise AdaptiveError(msg)
    item = np.argsort(rng.random((n, n_items)), axis=1)[:, :per_learner].ravel().astype(np.intp)
    person = np.repeat(np.arange(n, dtype=np.intp), per_learner)
    score = np.empty(person.size, dtype=np.intp)
    u = rng.random(person.size)
    order = np.argsort(item, kind="stable")
    bounds = np.searchsorted(item[order], np.arange(n_items + 1))
    for j in range(n_items):
        rows = order[bounds[j]: bounds[j + 1]]
        if rows.size:
            p = bank.category_probabilities(theta[person[rows]], np.array([j]))[:, 0, :]
            score[rows] = (u[rows][:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    return ResponseData(tuple(f"p{i}" for i in range(n)), bank.ids, person, item, score)


@dataclass(frozen=True)
class SimulationResult:
    """Summary of a simulated administration.

    Attributes
    ----------
    true_theta, estimate, se : ndarray of shape (n_examinees,)
    lengths : ndarray of int, shape (n_examinees,)
        Scored items given to each examinee.
    exposure : ndarray of shape (n_items,)
        Proportion of examinees who were given each item.
    seconds_per_step : float
        Mean wall time of one select-and-update step.
    mastery : tuple of str
        Final mastery classification per examinee (empty without a cut score).
    """

    true_theta: FloatArray
    estimate: FloatArray
    se: FloatArray
    lengths: IntArray
    exposure: FloatArray
    seconds_per_step: float
    mastery: tuple[str, ...] = ()

    @property
    def rmse(self) -> float:
        """Root mean squared error of the estimates."""
        return float(np.sqrt(np.mean((self.estimate - self.true_theta) ** 2)))

    @property
    def bias(self) -> float:
        """Mean of estimate minus true theta."""
        return float(np.mean(self.estimate - self.true_theta))

    def classification_accuracy(self, cut: float) -> float:
        """Share of examinees classified on the correct side of ``cut``.

        Uses the mastery rule's decision where it decided, otherwise the side of the point estimate.
        """
        truth = self.true_theta >= cut
        if self.mastery:
            decided = np.array([m == "mastered" if m != "undecided" else e >= cut
                                for m, e in zip(self.mastery, self.estimate, strict=True)])
        else:
            decided = self.estimate >= cut
        return float(np.mean(decided == truth))

    def summary(self, cut: float | None = None) -> dict[str, Any]:
        """The JSON summary ``thetapath simulate`` prints."""
        out: dict[str, Any] = {
            "examinees": int(self.true_theta.size),
            "mean_length": float(self.lengths.mean()),
            "rmse": self.rmse,
            "bias": self.bias,
            "max_exposure": float(self.exposure.max()),
            "seconds_per_step": self.seconds_per_step,
        }
        if cut is not None:
            out["classification_accuracy"] = self.classification_accuracy(cut)
        return out


def simulate_cat(
    bank: ItemBank, policy: CatPolicy, true_theta: FloatArray, rng: np.random.Generator,
) -> SimulationResult:
    """Run a full CAT for each examinee; attempt seeds and answers both come from ``rng``."""
    true_theta = np.asarray(true_theta, dtype=np.float64)
    n = true_theta.size
    est = np.empty(n)
    se = np.empty(n)
    lengths = np.empty(n, dtype=np.intp)
    counts = np.zeros(len(bank))
    mastery: list[str] = []
    steps = 0
    elapsed = 0.0
    for e in range(n):
        theta = float(true_theta[e])
        answers = rng.random(len(bank) + 1)
        given = 0

        def respond(item_id: str, theta: float = theta, answers: FloatArray = answers) -> int:
            nonlocal given
            given += 1
            return draw_score(bank, theta, item_id, float(answers[given - 1]))

        seed = int(rng.integers(2**31))
        t0 = time.perf_counter()
        state, log = run(bank, policy, seed, respond)
        elapsed += time.perf_counter() - t0
        steps += len(log)
        final = log[-1]
        est[e], se[e] = final.estimate.theta, final.estimate.se
        lengths[e] = state.n_scored
        for iid in state.items:
            counts[bank.index(iid)] += 1
        if final.mastery is not None:
            mastery.append(final.mastery)
    return SimulationResult(true_theta, est, se, lengths, counts / n, elapsed / max(steps, 1),
                            tuple(mastery))


def linear_test(
    bank: ItemBank, items: Sequence[int] | IntArray, true_theta: FloatArray,
    estimator: Estimator, rng: np.random.Generator,
) -> SimulationResult:
    """Give everyone the same fixed form ``items`` and estimate with ``estimator`` (a baseline)."""
    idx = np.asarray(items, dtype=np.intp)
    scores = simulate_responses(bank, true_theta, rng, idx)
    n = true_theta.size
    est = np.empty(n)
    se = np.empty(n)
    t0 = time.perf_counter()
    for e in range(n):
        r = estimator.estimate(bank, idx.tolist(), scores[e].tolist())
        est[e], se[e] = r.theta, r.se
    elapsed = time.perf_counter() - t0
    exposure = np.zeros(len(bank))
    exposure[idx] = 1.0
    return SimulationResult(np.asarray(true_theta, dtype=np.float64), est, se,
                            np.full(n, idx.size, dtype=np.intp), exposure, elapsed / n)


def sympson_hetter_control(
    bank: ItemBank,
    settings: PolicySettings,
    target: float,
    rng: np.random.Generator,
    *,
    n_examinees: int = 1000,
    max_iterations: int = 25,
    margin: float = 0.04,
    tolerance: float = 0.03,
) -> dict[str, float]:
    r"""Derive Sympson–Hetter control parameters by iterated simulation (Sympson & Hetter 1985).

    Each round simulates ``n_examinees`` with abilities from N(0, 1) under the current parameters and
    counts how often each item was *selected* (given, or withheld by its lottery), :math:`P(S_j)`.
    The classic update is

    .. math:: k_j \leftarrow \min\left(1,\; \frac{r'}{\bar P(S_j)}\right),\qquad r' = r - m

    where :math:`\bar P(S_j)` averages the rounds exponentially (weight 1/2) to damp sampling noise.
    Rounds stop when no parameter moves by more than ``tolerance`` and the largest exposure is within
    the target. The margin :math:`m` absorbs the sampling error of a new group of examinees: with 1000
    of them, the largest of ~100 exposures whose expectation is :math:`r'` lies about 3 SD
    (:math:`3\sqrt{r'(1-r')/1000} \approx 0.035`) above it.

    Returns
    -------
    dict
        ``{item_id: k_j}`` for the items whose parameter is below 1.
    """
    if not 0 < target <= 1:
        msg = f"exposure target must be in (0, 1], got {target}"
        raise AdaptiveError(msg)
    aim = max(target - margin, 1e-3)
    k = np.ones(len(bank))
    p_sel_avg: FloatArray | None = None
    base = replace(settings, selection="sympson-hetter")
    for _ in range(max_iterations):
        control = {bank.ids[j]: float(k[j]) for j in np.flatnonzero(k < 1.0)}
        policy = replace(base, exposure_control=control).build()
        administered = np.zeros(len(bank))
        selected = np.zeros(len(bank))
        for theta in rng.normal(size=n_examinees):
            state, steps = run(bank, policy, int(rng.integers(2**31)),
                               responder(bank, float(theta), rng))
            given = [bank.index(i) for i in state.items]
            administered[given] += 1
            selected[given] += 1
            selected[[bank.index(i) for i in {r for s in steps for r in s.rejected}]] += 1
        p_sel = selected / n_examinees
        p_sel_avg = p_sel if p_sel_avg is None else 0.5 * p_sel_avg + 0.5 * p_sel
        k_new = np.minimum(1.0, aim / np.maximum(p_sel_avg, 1e-9))
        settled = np.abs(k_new - k).max() <= tolerance
        k = k_new
        if settled and administered.max() / n_examinees <= target:
            break
    return {bank.ids[j]: float(k[j]) for j in np.flatnonzero(k < 1.0)}


def draw_score(bank: ItemBank, theta: float, item_id: str, u: float) -> int:
    """The score at ``theta`` on an item for the uniform draw ``u`` (inverse-CDF sampling)."""
    p = bank.category_probabilities(theta, np.array([bank.index(item_id)]))[0, 0]
    return int((u > np.cumsum(p)).sum())


def responder(bank: ItemBank, theta: float, rng: np.random.Generator) -> Callable[[str], int]:
    """A simulated examinee of ability ``theta`` answering as the model says."""
    return lambda item_id: draw_score(bank, theta, item_id, float(rng.random()))
