"""Benchmark: adaptive learning paths on the demo pack (issue 6), at a larger scale than the tests.

Run from the repository root::

    .venv/bin/python bench/paths.py                          # 300 walkers, 300 masters, 3 repeats
    .venv/bin/python bench/paths.py --walkers 100 --masters 100 --repeat 1    # a quick look
    .venv/bin/python bench/paths.py --json /tmp/paths.json                   # also keep the numbers

Three figures, each the median over ``--repeat`` runs (run ``r`` uses seed ``--seed + r``):

1. **Misclassification on the path.** Walkers with per-competency abilities ~ MVN(-0.3, 1, rho 0.6)
   walk the demo pack (:func:`adaptive.pathing.simulate_walk`): placement, then one recommended module
   a day (half of them try a test-out first), studying raises the true ability by 0.8 logits and the
   module assessment uses the pack's own settings; finally every mastered competency is reviewed at its
   due time after a drift drawn from the decay model. Every decision is compared with the true ability
   at its time: *misclassified* = decided on the wrong side of the cut (mastered below it or not
   mastered above it) over decided decisions; *false mastery* = mastered decisions below the cut;
   *undecided* decisions leave the competency open and are not errors.
2. **Test-out against a fixed placement test of equal accuracy.** Masters of everything:
   theta_c - cut_c ~ N(1.5, 0.5²), rho 0.6, truncated at 0.5. The adaptive test-out (interval rule,
   min 3 / max 20 items per competency) runs for each of the 7 competencies. *Equal accuracy* is
   matched like this: the fixed test classifies with the same rule (the 95 % interval of the EAP must
   exclude the cut, so it guards against false passes in the same way); for each length n per
   competency its form is the n items most informative at the cut + t, t in {0, 0.5, 1, 1.5} (the best
   t is kept); the matched length is the smallest n whose pass rate on the same masters reaches the
   adaptive test-out's. If even the whole bank (25 items) does not, 25 is reported as a lower bound
   (marked ``>=``). Both tests' false-pass rates for learners just below the cut (cut - 0.6 .. cut)
   are printed too, so the speed is not bought with false passes.
3. **Time per path decision**: :func:`adaptive.pathing.decide` on the demo pack (7 competencies,
   7 modules) with a learner model of 20 evidence records, median of many calls (thread CPU time and
   wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from adaptive import EAP, AbilityEstimate, ItemBank  # noqa: E402
from adaptive.pathing import (  # noqa: E402
    CompetencyGraph,
    Evidence,
    LearnerModel,
    ModuleSpec,
    PathInputs,
    SimulatedDecision,
    TestOutSettings,
    classify,
    credited_evidence,
    decide,
    simulate_test,
    simulate_walk,
)
from adaptive.types import FloatArray  # noqa: E402
from content import load_pack  # noqa: E402
from content.policy import assessment_policy  # noqa: E402

PACK = ROOT / "content" / "packs" / "data-literacy"
TARGETS = (0.0, 0.5, 1.0, 1.5)


class Pack:
    """The demo pack as engine inputs."""

    def __init__(self) -> None:
        pack = load_pack(PACK)
        self.version = pack.version
        self.bank = ItemBank.from_items(i.parameters() for i in pack.items if i.max_score > 0)
        self.graph = CompetencyGraph.from_pairs((c.id, c.prerequisites) for c in pack.competencies)
        self.modules = tuple(ModuleSpec(m.id, m.competencies) for m in pack.modules)
        self.cuts = {c.id: float(c.assessment.cut) for c in pack.competencies}
        self.titles = {c.id: c.title for c in pack.competencies}
        self.rules = pack.evidence
        self.retakes = pack.retakes
        values = self.bank.tags["competency"]
        self.assessment = {
            c.id: assessment_policy(c.assessment, sum(1 for j in range(len(self.bank)) if values[j] == c.id
                                                      and not self.bank.pilot[j]), self.rules)
            for c in pack.competencies}
        self.items = {c: np.array([j for j in range(len(self.bank))
                                   if values[j] == c and not self.bank.pilot[j]]) for c in self.cuts}


def correlated(mean: float, sd: float, rho: float, k: int, n: int, rng: np.random.Generator) -> FloatArray:
    cov = sd * sd * (rho * np.ones((k, k)) + (1 - rho) * np.eye(k))
    return np.asarray(rng.multivariate_normal(np.full(k, mean), cov, size=n), dtype=np.float64)


# ------------------------------------------------------------------ 1. walking the paths
def walk(p: Pack, n: int, rng: np.random.Generator) -> dict[str, Any]:
    order = p.graph.order
    decisions: list[SimulatedDecision] = []
    seconds: list[float] = []
    studied = finished = 0
    for e, theta in enumerate(correlated(-0.3, 1.0, 0.6, len(order), n, rng)):
        r = simulate_walk(p.bank, p.graph, p.modules, p.cuts, dict(zip(order, theta, strict=True)), rng,
                          assessment=p.assessment, testout=TestOutSettings() if e % 2 else None,
                          rules=p.rules, retakes=p.retakes)
        decisions += r.decisions
        seconds += r.decision_seconds
        studied += len(r.studied)
        finished += not r.path_decisions[-1].recommendations
    out: dict[str, Any] = {"walkers": n, "completed": finished / n, "modules_studied": studied / n}
    for source in ("all", "placement", "testout", "assessment", "review"):
        ds = [d for d in decisions if source == "all" or d.source == source]
        decided = [d for d in ds if d.mastery != "undecided"]
        out[source] = {
            "decisions": len(ds),
            "misclassified": sum(d.wrong for d in decided) / max(len(decided), 1),
            "false_mastery": sum(d.mastery == "mastered" and d.true_theta < d.cut for d in ds)
            / max(sum(d.mastery == "mastered" for d in ds), 1),
            "undecided": 1 - len(decided) / max(len(ds), 1),
            "mean_items": float(np.mean([d.items for d in ds])) if ds else 0.0,
        }
    out["decide_ms_in_walk"] = 1000 * statistics.median(seconds)
    return out


# ------------------------------------------------------------------ 2. test-out vs a fixed test
def masters(p: Pack, n: int, rng: np.random.Generator) -> FloatArray:
    k = len(p.cuts)
    out = np.empty((0, k))
    while out.shape[0] < n:
        draw = correlated(1.5, 0.5, 0.6, k, n, rng)
        out = np.vstack([out, draw[(draw >= 0.5).all(axis=1)]])
    return np.asarray(out[:n] + np.array(list(p.cuts.values())), dtype=np.float64)


def testout(p: Pack, thetas: FloatArray, settings: TestOutSettings,
            rng: np.random.Generator) -> tuple[float, float]:
    """Mean items over all competencies per learner, and the pass rate per competency test."""
    items = np.zeros(thetas.shape[0])
    passes = []
    for k, c in enumerate(p.cuts):
        policy = settings.policy_settings(p.cuts[c], c, rules=p.rules).build()
        for e in range(thetas.shape[0]):
            state, step, _ = simulate_test(p.bank, policy, float(thetas[e, k]), rng)
            items[e] += state.n_scored
            ev, _ = credited_evidence(p.bank, c, state, step, p.cuts[c], 0.0, "testout", rules=p.rules)
            passes.append(ev.mastered)
    return float(items.mean()), float(np.mean(passes))


def fixed_pass_rate(p: Pack, thetas: FloatArray, n: int, target: float, rng: np.random.Generator) -> float:
    passes = []
    for k, c in enumerate(p.cuts):
        idx = p.items[c]
        info = p.bank.information(p.cuts[c] + target, idx)[0]
        form = idx[np.argsort(-info, kind="stable")[:n]]
        prob = p.bank.category_probabilities(thetas[:, k], form)
        scores = (rng.random(prob.shape[:2])[:, :, None] > np.cumsum(prob, axis=2)).sum(axis=2)
        for e in range(thetas.shape[0]):
            est = EAP().estimate(p.bank, form.tolist(), scores[e].tolist())
            passes.append(classify(est, p.cuts[c]) == "mastered")
    return float(np.mean(passes))


def compare(p: Pack, n: int, rng: np.random.Generator) -> dict[str, Any]:
    thetas = masters(p, n, rng)
    below = np.column_stack([rng.uniform(cut - 0.6, cut, n) for cut in p.cuts.values()])
    out: dict[str, Any] = {"masters": n}
    for method in ("ci", "sprt"):
        settings = TestOutSettings(mastery_method=method)
        items, rate = testout(p, thetas, settings, rng)
        _, false_pass = testout(p, below, settings, rng)
        out[method] = {"mean_items": items, "pass_rate": rate, "false_pass_below_cut": false_pass}
    aim = out["ci"]["pass_rate"]
    bank_size = min(len(v) for v in p.items.values())
    matched, best_t, bound, reached = bank_size, TARGETS[0], True, 0.0
    for length in range(1, bank_size + 1):
        rates = [fixed_pass_rate(p, thetas, length, t, rng) for t in TARGETS]
        best_t, reached = TARGETS[int(np.argmax(rates))], max(rates)
        if reached >= aim:
            matched, bound = length, False
            break
    fixed: dict[str, Any] = {
        "items_per_competency": matched, "lower_bound": bound, "form_at_cut_plus": best_t,
        "total_items": matched * len(p.cuts), "pass_rate": reached,
        "false_pass_below_cut": fixed_pass_rate(p, below, matched, best_t, rng),
    }
    out["fixed"] = fixed
    out["ratio"] = out["ci"]["mean_items"] / fixed["total_items"]
    return out


# ------------------------------------------------------------------ 3. time per decision
def decision_time(p: Pack, calls: int, rng: np.random.Generator) -> dict[str, float]:
    history = []
    for k in range(20):
        c = p.graph.order[k % len(p.graph.order)]
        theta = float(rng.normal(0.3, 1.0))
        history.append(Evidence(c, theta, 0.4, classify(AbilityEstimate(theta, 0.4), p.cuts[c]),
                                float(k * 86_400), "assessment", p.cuts[c], (), p.version))
    inputs = PathInputs(p.graph, p.modules, p.cuts, LearnerModel(tuple(history)), 30 * 86_400.0,
                        p.titles)
    wall, cpu = [], []
    for _ in range(calls):
        t0, c0 = time.perf_counter(), time.thread_time()
        decide(inputs)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
    return {"calls": calls, "wall_ms": 1000 * statistics.median(wall),
            "cpu_ms": 1000 * statistics.median(cpu)}


def median_of(runs: list[Any]) -> Any:
    """Element-wise median of nested dicts of numbers (flags: any run; other values: the first run)."""
    first = runs[0]
    if isinstance(first, dict):
        return {k: median_of([r[k] for r in runs]) for k in first}
    if isinstance(first, bool):
        return any(runs)  # a lower bound in any run stays a lower bound
    if not isinstance(first, int | float):
        return first
    return statistics.median(runs)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--walkers", type=int, default=300)
    ap.add_argument("--masters", type=int, default=300)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    print(f"# bench/paths.py  python {platform.python_version()}  numpy {np.__version__}  "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    p = Pack()
    print(f"# pack data-literacy {p.version}: {len(p.cuts)} competencies, {len(p.modules)} modules, "
          f"{len(p.bank)} items; repeats {args.repeat}, seeds {args.seed}..{args.seed + args.repeat - 1}")
    runs = []
    for r in range(args.repeat):
        rng = np.random.default_rng(args.seed + r)
        t0 = time.perf_counter()
        res: dict[str, Any] = {"walk": walk(p, args.walkers, rng), "testout": compare(p, args.masters, rng),
                               "decide": decision_time(p, args.calls, rng)}
        res["seconds"] = time.perf_counter() - t0
        runs.append(res)
        print(f"#   repeat {r + 1}: {res['seconds']:.1f} s", flush=True)
    med = median_of(runs)

    w = med["walk"]
    print(f"\n## 1. Walking the paths ({w['walkers']} walkers; completed {w['completed']:.1%}, "
          f"{w['modules_studied']:.1f} modules studied each)")
    print(f"{'decisions':<12}{'n':>8}{'misclassified':>15}{'false mastery':>15}{'undecided':>11}{'items':>8}")
    for source in ("all", "placement", "testout", "assessment", "review"):
        s = w[source]
        print(f"{source:<12}{s['decisions']:>8.0f}{s['misclassified']:>15.2%}{s['false_mastery']:>15.2%}"
              f"{s['undecided']:>11.1%}{s['mean_items']:>8.1f}")

    t = med["testout"]
    f = t["fixed"]
    ge = ">=" if f["lower_bound"] else ""
    print(f"\n## 2. Test-out of every module vs a fixed placement test of equal accuracy "
          f"({t['masters']} masters of everything)")
    print(f"{'test':<34}{'items (7 comp.)':>16}{'pass rate':>11}{'false pass <cut':>17}")
    for key, name in (("ci", "adaptive test-out, CI (default)"), ("sprt", "adaptive test-out, SPRT")):
        print(f"{name:<34}{t[key]['mean_items']:>16.1f}{t[key]['pass_rate']:>11.1%}"
              f"{t[key]['false_pass_below_cut']:>17.1%}")
    label = f"fixed, {ge}{f['items_per_competency']}/comp. @cut+{f['form_at_cut_plus']:g}"
    print(f"{label:<34}{ge + str(f['total_items']):>16}{f['pass_rate']:>11.1%}"
          f"{f['false_pass_below_cut']:>17.1%}")
    print(f"adaptive / fixed items: {'<=' if f['lower_bound'] else ''}{t['ratio']:.2f}")

    d = med["decide"]
    print(f"\n## 3. Time per path decision (decide(), demo pack, 20 evidence records): "
          f"{d['wall_ms']:.3f} ms wall, {d['cpu_ms']:.3f} ms CPU (median of {d['calls']}); "
          f"inside the walks {w['decide_ms_in_walk']:.3f} ms")
    if args.json:
        args.json.write_text(json.dumps({"median": med, "runs": runs}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
