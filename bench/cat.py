"""Benchmark: time per CAT step (update + select, one learner at a time, as in a web request).

Run from the repository root::

    .venv/bin/python bench/cat.py                       # banks of 500 and 50,000 items, 3 repeats
    .venv/bin/python bench/cat.py --banks 50000 --repeat 5 --peers ours,floor
    .venv/bin/python bench/cat.py --examinees 200 --slow-examinees 50   # a quick look

Workload (the same for every engine, in one process): a 2PL bank (a ~ lognormal(0, 0.3),
b ~ N(0, 1), seeded, 4 content areas round-robin), examinees with theta ~ N(0, 1), stop at SE < 0.3 or
40 items. Every answer comes from a uniform drawn in advance per (examinee, position): the k-th item
given to examinee e is answered correctly when ``u[e, k] < P(theta_e)``, so engines that choose the same
items see the same answers.

One *step* is one request of an attempt: record the previous answer and update the estimate (none on
the first request), check the stopping rule, select the next item (none on the last request). An
attempt of L items therefore has L + 1 steps. Only engine work is timed: the simulated answer is
computed between the timed sections. Engines:

* ``ours-mfi``   adaptive: EAP on 61 points, exact maximum information (``PolicySettings().build()``)
* ``ours-sh``    the same with Sympson–Hetter exposure control (target 0.2, parameters derived once,
                 outside the timing, by ``adaptive.simulate.sympson_hetter_control``)
* ``ours-cb``    the same with content balancing over the 4 content areas, equal targets
* ``floor``      plain numpy written here: incremental EAP on the same 61-point grid plus an exact
                 scan of a^2 P Q over every unused item (the simplest correct implementation)
* ``catsim``     catsim's MaxInfoSelector + NumericalSearchEstimator (ML with Dodd's rule; catsim 0.21
                 has no EAP) + MinErrorStopper, used interactively; logistic metric without D, as ours
* ``mirt-cat``   mirt's CATEngine (MFI, EAP on 61 Gauss–Hermite points), interactively
* ``mirt-batch`` mirt's CATEngine.run_batch_simulation (Rust backend), amortised per step; it draws
                 its own answers and uses every core (its CPU time is shown too)

``ours`` and ``mirt`` in ``--peers`` stand for all their rows. The slow interactive peers (catsim,
mirt-cat) run on the first ``--slow-examinees`` examinees only (their column ``n`` says so).
Times are the median over ``--repeat`` runs (interleaved across engines) of each run's mean and median
wall time per step and mean thread CPU time per step; on a shared machine the CPU time is the steadiest.
Before timing, the benchmark checks that ours gives the exact maximum-information item on the first few
hundred steps.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import math
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adaptive.bank import ItemBank  # noqa: E402
from adaptive.cat import CatPolicy, PolicySettings  # noqa: E402
from adaptive.simulate import sympson_hetter_control, synthetic_bank  # noqa: E402

SE_TARGET = 0.3
MAX_ITEMS = 40
GRID_POINTS = 61
GRID_SPAN = 6.0
AREAS = ("algebra", "geometry", "numbers", "statistics")
EXPOSURE_TARGET = 0.2
TIE_RTOL = 1e-12

ALL_PEERS = ("ours-mfi", "ours-sh", "ours-cb", "floor", "catsim", "mirt-cat", "mirt-batch")
GROUPS = {"ours": ("ours-mfi", "ours-sh", "ours-cb"), "mirt": ("mirt-cat", "mirt-batch")}
SLOW = frozenset({"catsim", "mirt-cat"})


# ---------------------------------------------------------------------------------------- workload
@dataclass
class Workload:
    """One bank with its examinees and pre-drawn answer uniforms."""

    n_items: int
    bank: ItemBank
    a: np.ndarray
    b: np.ndarray
    theta: np.ndarray          # (E,)
    u: np.ndarray              # (E, MAX_ITEMS)
    seed: int

    def answer(self, e: int, k: int, j: int) -> int:
        """Score of examinee ``e`` on the ``k``-th item given to them, bank position ``j``."""
        p = 1.0 / (1.0 + math.exp(-float(self.a[j]) * (float(self.theta[e]) - float(self.b[j]))))
        return int(self.u[e, k] < p)


def make_workload(n_items: int, n_examinees: int, seed: int) -> Workload:
    bank = synthetic_bank(n_items, np.random.default_rng((seed, n_items, 1)), content_areas=AREAS)
    rng = np.random.default_rng((seed, n_items, 2))
    theta = rng.normal(0.0, 1.0, n_examinees)
    u = rng.random((n_examinees, MAX_ITEMS))
    return Workload(n_items, bank, np.array(bank.a), np.array(bank.b), theta, u, seed)


@dataclass
class Run:
    """One engine's pass over the examinees."""

    n_examinees: int
    total_seconds: float
    n_steps: int
    step_seconds: np.ndarray | None      # per step; None for batch engines
    lengths: np.ndarray
    estimates: np.ndarray
    counts: np.ndarray                   # how many examinees got each item
    cpu_seconds: float                   # thread CPU time (process CPU, all threads, for batch)

    @property
    def cpu_ms(self) -> float:
        return 1e3 * self.cpu_seconds / max(self.n_steps, 1)

    @property
    def mean_ms(self) -> float:
        return 1e3 * self.total_seconds / max(self.n_steps, 1)

    @property
    def median_ms(self) -> float:
        return float("nan") if self.step_seconds is None else 1e3 * float(np.median(self.step_seconds))


@dataclass
class Row:
    name: str
    runs: list[Run] = field(default_factory=list)
    error: str | None = None
    note: str = ""


class StepClock:
    """Wall time (perf_counter) and this thread's CPU time (thread_time) of each timed step.

    On a shared machine the CPU time leaves out the time the process waited for a core.
    """

    __slots__ = ("_c", "_t", "cpu", "wall")

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self._t = self._c = 0.0

    def start(self) -> None:
        self._c = time.thread_time()
        self._t = time.perf_counter()

    def stop(self) -> None:
        t = time.perf_counter()
        c = time.thread_time()
        self.wall.append(t - self._t)
        self.cpu.append(c - self._c)

    def run(self, n: int, lengths: np.ndarray, est: np.ndarray, counts: np.ndarray) -> Run:
        return Run(n, float(sum(self.wall)), len(self.wall), np.asarray(self.wall), lengths, est, counts,
                   float(sum(self.cpu)))


# ---------------------------------------------------------------------------------------- ours
def run_ours(work: Workload, policy: CatPolicy, n: int) -> Run:
    bank = work.bank
    index = bank.index
    clock = StepClock()
    lengths = np.zeros(n, dtype=np.intp)
    est = np.zeros(n)
    counts = np.zeros(work.n_items)
    for e in range(n):
        clock.start()
        state = policy.start(seed=e)
        step = policy.step(bank, state, state.rng())
        if step.next_item is not None:
            state = policy.present(state, step)
        clock.stop()
        k = 0
        while step.next_item is not None:
            x = work.answer(e, k, index(step.next_item))
            k += 1
            clock.start()
            state = policy.record(bank, state, x)
            step = policy.step(bank, state, state.rng())
            if step.next_item is not None:
                state = policy.present(state, step)
            clock.stop()
        lengths[e] = k
        est[e] = step.estimate.theta
        for iid in state.items:
            counts[index(iid)] += 1
    return clock.run(n, lengths, est, counts)


def policies(work: Workload, sh_control: dict[str, float] | None) -> dict[str, CatPolicy]:
    base = PolicySettings(se_target=SE_TARGET, max_items=MAX_ITEMS)
    out = {"ours-mfi": base.build(),
           "ours-cb": replace(base, content_tag="content_area",
                              content_targets={v: 1.0 / len(AREAS) for v in AREAS}).build()}
    if sh_control is not None:
        out["ours-sh"] = replace(sh_settings(), exposure_control=dict(sh_control)).build()
    return out


def sh_settings() -> PolicySettings:
    """Sympson–Hetter around exact maximum information (no randomesque)."""
    return PolicySettings(se_target=SE_TARGET, max_items=MAX_ITEMS, selection="sympson-hetter",
                          randomesque_k=1)


# ---------------------------------------------------------------------------------------- floor
class Floor:
    """The simplest correct engine: incremental EAP on a grid and an exact scan of a^2 P Q."""

    def __init__(self, a: np.ndarray, b: np.ndarray) -> None:
        self.a = np.ascontiguousarray(a, dtype=np.float64)
        self.b = np.ascontiguousarray(b, dtype=np.float64)
        self.a2 = self.a * self.a
        self.grid = np.linspace(-GRID_SPAN, GRID_SPAN, GRID_POINTS)
        self.log_prior = -0.5 * self.grid * self.grid

    def summarise(self, lp: np.ndarray) -> tuple[float, float]:
        w = np.exp(lp - lp.max())
        w /= w.sum()
        theta = float(w @ self.grid)
        d = self.grid - theta
        return theta, math.sqrt(float(w @ (d * d)))

    def update(self, lp: np.ndarray, j: int, x: int) -> np.ndarray:
        z = self.a[j] * (self.grid - self.b[j])
        lp = lp - np.logaddexp(0.0, -z) if x else lp - np.logaddexp(0.0, z)
        return lp - lp.max()

    def information(self, theta: float) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.a * (theta - self.b)))
        return self.a2 * p * (1.0 - p)

    def select(self, theta: float, used: list[int]) -> int:
        info = self.information(theta)
        info[used] = -np.inf
        return int(np.argmax(info))


def run_floor(work: Workload, n: int) -> Run:
    fl = Floor(work.a, work.b)
    clock = StepClock()
    lengths = np.zeros(n, dtype=np.intp)
    est = np.zeros(n)
    counts = np.zeros(work.n_items)
    for e in range(n):
        clock.start()
        lp = fl.log_prior.copy()
        theta, se = fl.summarise(lp)
        used: list[int] = []
        j = fl.select(theta, used)
        clock.stop()
        while True:
            x = work.answer(e, len(used), j)
            clock.start()
            used.append(j)
            lp = fl.update(lp, j, x)
            theta, se = fl.summarise(lp)
            done = se < SE_TARGET or len(used) >= MAX_ITEMS
            if not done:
                j = fl.select(theta, used)
            clock.stop()
            if done:
                break
        lengths[e] = len(used)
        est[e] = theta
        counts[used] += 1
    return clock.run(n, lengths, est, counts)


# ---------------------------------------------------------------------------------------- catsim
def run_catsim(work: Workload, n: int) -> Run:
    from catsim.estimation import NumericalSearchEstimator
    from catsim.item_bank import ItemBank as CatsimBank
    from catsim.selection import MaxInfoSelector
    from catsim.stopping import MinErrorStopper

    # catsim's 4PL matrix [a, b, c, d]; its logistic has no D constant, like ours. Its validation
    # prints an empty line when the bank is valid: keep it out of the report.
    with contextlib.redirect_stdout(io.StringIO()):
        cbank = CatsimBank(np.column_stack([work.a, work.b, np.zeros(work.n_items),
                                            np.ones(work.n_items)]))
    selector = MaxInfoSelector()
    estimator = NumericalSearchEstimator()          # bounded Brent on [-6, 6], Dodd's rule
    stopper = MinErrorStopper(SE_TARGET, max_items=MAX_ITEMS)
    clock = StepClock()
    lengths = np.zeros(n, dtype=np.intp)
    est = np.zeros(n)
    counts = np.zeros(work.n_items)
    for e in range(n):
        clock.start()
        administered: list[int] = []
        responses: list[bool] = []
        theta = 0.0
        j = selector.select(item_bank=cbank, administered_items=administered, est_theta=theta)
        clock.stop()
        while True:
            x = work.answer(e, len(administered), int(j))
            clock.start()
            administered.append(int(j))
            responses.append(bool(x))
            theta = float(estimator.estimate(item_bank=cbank, administered_items=administered,
                                             response_vector=responses, est_theta=theta))
            done = stopper.stop(_item_bank=cbank, administered_items=cbank.get_items(administered),
                                theta=theta)
            if not done:
                j = selector.select(item_bank=cbank, administered_items=administered, est_theta=theta)
            clock.stop()
            if done:
                break
        lengths[e] = len(administered)
        est[e] = theta
        counts[administered] += 1
    return clock.run(n, lengths, est, counts)


# ---------------------------------------------------------------------------------------- mirt
def _mirt_engine(work: Workload) -> Any:
    from mirt.cat import CATEngine
    from mirt.models import TwoParameterLogistic

    model = TwoParameterLogistic(n_items=work.n_items)
    model.set_parameters(discrimination=work.a, difficulty=work.b)   # P = 1/(1+exp(-a(θ-b))), no D
    model._is_fitted = True   # parameters are given, not estimated (mirt does the same internally)
    return CATEngine(model, item_selection="MFI", scoring_method="EAP", se_threshold=SE_TARGET,
                     max_items=MAX_ITEMS, n_quadpts=GRID_POINTS, seed=work.seed)


def run_mirt_cat(work: Workload, n: int) -> Run:
    engine = _mirt_engine(work)
    clock = StepClock()
    lengths = np.zeros(n, dtype=np.intp)
    est = np.zeros(n)
    counts = np.zeros(work.n_items)
    for e in range(n):
        clock.start()
        engine.reset()
        state = engine.get_current_state()
        clock.stop()
        k = 0
        while not state.is_complete:
            x = work.answer(e, k, int(state.next_item))
            k += 1
            clock.start()
            state = engine.administer_item(x)
            clock.stop()
        lengths[e] = state.n_items
        est[e] = state.theta
        counts[state.items_administered] += 1
    return clock.run(n, lengths, est, counts)


def run_mirt_batch(work: Workload, n: int) -> Run:
    engine = _mirt_engine(work)
    if not engine._can_use_rust_simulation():
        msg = "mirt refuses its Rust simulation for this configuration"
        raise RuntimeError(msg)
    from mirt._backend_config import should_use_rust

    if not should_use_rust(True):
        msg = "mirt's Rust backend is unavailable or disabled"
        raise RuntimeError(msg)
    thetas = np.ascontiguousarray(work.theta[:n])
    c0, t0 = time.process_time(), time.perf_counter()
    results = engine.run_batch_simulation(thetas, n_replications=1, use_rust=True)
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    lengths = np.array([r.n_items_administered for r in results], dtype=np.intp)
    est = np.array([r.theta for r in results])
    counts = np.zeros(work.n_items)
    for r in results:
        counts[r.items_administered] += 1
    return Run(n, total, int(lengths.sum() + n), None, lengths, est, counts, cpu)


# ---------------------------------------------------------------------------------------- checks
def check_exact(work: Workload, policy: CatPolicy, min_steps: int) -> dict[str, Any]:
    """Compare our chosen item's information with the floor's maximum over unused items."""
    fl = Floor(work.a, work.b)
    bank = work.bank
    checked = mismatches = ties = 0
    worst = 0.0
    e = 0
    while checked < min_steps and e < work.theta.size:
        state = policy.start(seed=e)
        k = 0
        while True:
            step = policy.step(bank, state, state.rng())
            if step.next_item is None:
                break
            j = bank.index(step.next_item)
            info = fl.information(step.estimate.theta)
            info[[bank.index(i) for i in state.items]] = -np.inf
            best = float(info.max())
            short = (best - float(info[j])) / best
            worst = max(worst, short)
            checked += 1
            if short > TIE_RTOL:
                mismatches += 1
            elif int(np.argmax(info)) != j:
                ties += 1
            state = policy.record(bank, policy.present(state, step), work.answer(e, k, j))
            k += 1
        e += 1
    return {"steps": checked, "examinees": e, "mismatches": mismatches, "ties": ties,
            "max_rel_shortfall": worst}


# ---------------------------------------------------------------------------------------- driver
def timed(fn: Callable[[], Run]) -> Run:
    gc.collect()
    return fn()


def measure_once(row: Row, fn: Callable[[], Run]) -> None:
    """One more run of ``row``'s engine; a failure is recorded in the row, never raised."""
    if row.error is not None:
        return
    try:
        row.runs.append(timed(fn))
    except ImportError as exc:
        row.error = f"not installed ({exc})"
    except Exception as exc:  # a failing peer is reported, not fatal
        row.error = f"failed: {type(exc).__name__}: {exc}".splitlines()[0][:200]
        if os.environ.get("BENCH_DEBUG"):
            traceback.print_exc()


def summary(row: Row, floor: Row | None, truth: np.ndarray) -> dict[str, Any]:
    """Median over the runs of each run's mean / median / CPU time per step; quality from run 1."""
    if row.error is not None:
        return {"engine": row.name, "error": row.error}

    def med(values: list[float]) -> float:
        return statistics.median(values)

    r0 = row.runs[0]
    err = r0.estimates - truth[: r0.n_examinees]
    mean_ms = med([r.mean_ms for r in row.runs])
    median_ms = med([r.median_ms for r in row.runs])
    cpu_ms = med([r.cpu_ms for r in row.runs])
    out: dict[str, Any] = {
        "engine": row.name,
        "n": r0.n_examinees,
        "mean_ms": mean_ms,
        "median_ms": median_ms,
        "cpu_ms": cpu_ms,
        "run_means_ms": [r.mean_ms for r in row.runs],
        "mean_length": float(r0.lengths.mean()),
        "rmse": float(np.sqrt(np.mean(err * err))),
        "bias": float(err.mean()),
        "max_exposure": float(r0.counts.max() / r0.n_examinees),
        "note": row.note,
    }
    if floor is not None and floor.error is None and floor.runs:
        out["x_floor"] = mean_ms / med([r.mean_ms for r in floor.runs])
        out["x_floor_median"] = median_ms / med([r.median_ms for r in floor.runs])
        out["x_floor_cpu"] = cpu_ms / med([r.cpu_ms for r in floor.runs])
    if r0.step_seconds is None:
        out["cpu_per_wall"] = med([r.cpu_seconds / r.total_seconds for r in row.runs])
    return out


def print_table(rows: list[dict[str, Any]]) -> None:
    head = (f"{'engine':<11} {'n':>5} {'mean ms':>8} {'median':>8} {'cpu ms':>8} {'x floor':>7} "
            f"{'x med':>6} {'x cpu':>6} {'length':>6} {'RMSE':>6} {'bias':>7} {'max exp':>7}  note")
    print(head)
    print("-" * len(head))
    nan = float("nan")
    for s in rows:
        if "error" in s:
            print(f"{s['engine']:<11} {s['error']}")
            continue
        note = s["note"]
        if "cpu_per_wall" in s:
            note = f"{note}; CPU/wall {s['cpu_per_wall']:.2f}"
        print(f"{s['engine']:<11} {s['n']:>5} {s['mean_ms']:>8.4f} {s['median_ms']:>8.4f} "
              f"{s['cpu_ms']:>8.4f} {s.get('x_floor', nan):>7.3f} {s.get('x_floor_median', nan):>6.3f} "
              f"{s.get('x_floor_cpu', nan):>6.3f} {s['mean_length']:>6.2f} {s['rmse']:>6.4f} "
              f"{s['bias']:>+7.4f} {s['max_exposure']:>7.3f}  {note}")


def expand_peers(text: str) -> list[str]:
    out: list[str] = []
    for name in (p.strip() for p in text.split(",") if p.strip()):
        for peer in GROUPS.get(name, (name,)):
            if peer not in ALL_PEERS:
                msg = f"unknown peer {peer!r}; use {', '.join((*GROUPS, *ALL_PEERS))}"
                raise SystemExit(msg)
            if peer not in out:
                out.append(peer)
    return out


def versions() -> str:
    parts = [f"python {platform.python_version()}", f"numpy {np.__version__}"]
    for mod in ("scipy", "catsim", "mirt"):
        try:
            from importlib.metadata import version

            parts.append(f"{mod} {version(mod)}")
        except Exception:
            parts.append(f"{mod} -")
    return ", ".join(parts)


def load() -> str:
    la = os.getloadavg()
    return f"load {la[0]:.2f} {la[1]:.2f} {la[2]:.2f} on {os.cpu_count()} cores"


def bench_bank(n_items: int, args: argparse.Namespace, peers: Sequence[str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    work = make_workload(n_items, args.examinees, args.seed)
    print(f"\n== bank of {n_items} items, {args.examinees} examinees, {args.repeat} repeat(s); "
          f"built in {time.perf_counter() - t0:.1f} s; {load()}")
    report: dict[str, Any] = {"n_items": n_items, "load_start": os.getloadavg()}
    pol = policies(work, None)

    if any(p.startswith("ours") for p in peers) and args.check_steps > 0:
        chk = check_exact(work, pol["ours-mfi"], args.check_steps)
        ok = chk["mismatches"] == 0
        print(f"exact max-information check: {chk['steps']} steps ({chk['examinees']} examinees), "
              f"{chk['mismatches']} below the maximum, {chk['ties']} ties, max relative shortfall "
              f"{chk['max_rel_shortfall']:.2e} -> {'OK' if ok else 'NOT EXACT'}")
        report["exact_check"] = chk

    sh_control: dict[str, float] | None = None
    sh_note = ""
    if "ours-sh" in peers:
        n_sh = args.sh_examinees if n_items <= 5000 else min(args.sh_examinees, args.sh_examinees_large)
        t1 = time.perf_counter()
        try:
            sh_control = sympson_hetter_control(
                work.bank, sh_settings(), EXPOSURE_TARGET, np.random.default_rng((args.seed, n_items, 3)),
                n_examinees=n_sh, max_iterations=args.sh_iterations)
            sh_note = f"k<1 on {len(sh_control)} items ({n_sh} ex/iter)"
            print(f"Sympson–Hetter control derived in {time.perf_counter() - t1:.1f} s: {sh_note}")
        except Exception as exc:
            sh_note = f"failed: {type(exc).__name__}: {exc}"
            print(f"Sympson–Hetter derivation {sh_note}")
        pol = policies(work, sh_control)

    n_all = args.examinees
    n_slow = min(args.examinees, args.slow_examinees)
    runners: dict[str, tuple[Callable[[], Run], str]] = {
        "ours-mfi": (lambda: run_ours(work, pol["ours-mfi"], n_all), "EAP61 + exact MFI"),
        "ours-cb": (lambda: run_ours(work, pol["ours-cb"], n_all), "+ content balancing (4 areas)"),
        "floor": (lambda: run_floor(work, n_all), "numpy EAP61 + full a2PQ scan"),
        "catsim": (lambda: run_catsim(work, n_slow), "MaxInfo + ML (Brent, Dodd)"),
        "mirt-cat": (lambda: run_mirt_cat(work, n_slow), "CATEngine MFI + EAP61 (GH)"),
        "mirt-batch": (lambda: run_mirt_batch(work, n_all), "Rust batch, own answers, amortised"),
    }
    if sh_control is not None:
        runners["ours-sh"] = (lambda: run_ours(work, pol["ours-sh"], n_all),
                              f"+ Sympson–Hetter r=0.2, {sh_note}")
    rows: list[Row] = []
    for name in peers:
        if name in runners:
            rows.append(Row(name, note=runners[name][1]))
        else:
            rows.append(Row(name, error=f"skipped: {sh_note or 'no policy'}"))
    # repeats outermost, so a change of machine load hits every engine alike
    for rep in range(args.repeat):
        for row in rows:
            if row.error is None:
                t1 = time.perf_counter()
                measure_once(row, runners[row.name][0])
                status = row.error or f"{row.runs[-1].mean_ms:.4f} ms/step"
                print(f"  run {rep + 1} {row.name}: {status} ({time.perf_counter() - t1:.1f} s; {load()})",
                      flush=True)

    floor = next((row for row in rows if row.name == "floor"), None)
    summaries = [summary(row, floor, work.theta) for row in rows]
    print(f"\nbank {n_items} items: time per step = median over {args.repeat} runs ({load()})")
    print_table(summaries)
    report["rows"] = summaries
    report["load_end"] = os.getloadavg()
    return report


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--examinees", type=int, default=1000)
    ap.add_argument("--banks", default="500,50000", help="comma-separated bank sizes")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peers", default="ours,floor,catsim,mirt",
                    help=f"comma-separated: {', '.join((*GROUPS, *ALL_PEERS))}")
    ap.add_argument("--slow-examinees", type=int, default=100,
                    help="examinees for the slow interactive peers (catsim, mirt-cat)")
    ap.add_argument("--check-steps", type=int, default=300,
                    help="steps on which ours is checked against the exact maximum (0: skip)")
    ap.add_argument("--sh-examinees", type=int, default=500,
                    help="examinees per Sympson–Hetter iteration")
    ap.add_argument("--sh-examinees-large", type=int, default=300,
                    help="cap on --sh-examinees for banks over 5000 items")
    ap.add_argument("--sh-iterations", type=int, default=12,
                    help="at most this many Sympson–Hetter rounds (the exposure settles by about 8)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    peers = expand_peers(args.peers)
    banks = [int(x) for x in args.banks.split(",") if x.strip()]

    print("CAT step benchmark (bench/cat.py)")
    print(f"{platform.platform()}; {versions()}; {load()}")
    print(f"stop at SE < {SE_TARGET} or {MAX_ITEMS} items; peers: {', '.join(peers)}")
    reports = [bench_bank(n, args, peers) for n in banks]
    if args.json:
        args.json.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                         "banks": reports}, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
