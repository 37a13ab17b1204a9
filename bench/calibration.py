"""Benchmark: 2PL item calibration (marginal maximum likelihood) on simulated sparse data.

Run from the repository root::

    .venv/bin/python bench/calibration.py                         # both scenarios, 3 repeats
    .venv/bin/python bench/calibration.py --scenario large --repeat 1
    .venv/bin/python bench/calibration.py --scenario small --engines ours,mirt-q21 --repeat 5

Workload (seeded, generated once per scenario and shared by every engine): abilities N(0, 1),
a ~ lognormal(0, 0.3), b ~ N(0, 1), responses from the 2PL (logistic metric).

* ``small``: 5,000 learners x 200 items, every item answered (1 M responses);
* ``large``: 100,000 learners x 1,000 items, each learner answering 50 random items (5 M responses).

Engines (each run in its own subprocess, so its peak RSS is its own):

* ``ours``      adaptive.calibration.calibrate(model="2pl"): EM on 61 nodes in [-6, 6], SQUAREM,
                float64, tol 1e-4, standard errors included
* ``ours-q21``  the same with 21 nodes
* ``mirt-q21``  PyPI ``mirt`` (Rust backend) ``fit_mirt(X, "2PL")``, its default 21 quadrature points
                and defaults otherwise (its standard errors included); X is the dense learners x items
                matrix with NaN for missing
* ``mirt-q61``  the same with ``n_quadpts=61``
* ``girth``     ``girth.twopl_mml`` on the dense items x learners matrix, missing tagged by
                ``tag_missing_data``
* ``pyirt``     pyirt 0.3.4 through ``calibrate(engine="pyirt")``: its default 11 nodes and 10 EM
                cycles, tol 1e-3 on the largest parameter change (not met in 10 cycles, so reported
                as not converged); bounds widened and estimates rescaled to the N(0, 1) metric, see
                adaptive.calibration

Time is wall time from the loaded long-format arrays to the estimates, including each engine's own
input conversion (dense matrix, tuples); data loading and imports are excluded. Peak RSS is the
worker's ``ru_maxrss`` (imports and data included; pyirt's steps run in the worker).
Engines exceeding ``--timeout`` seconds (default 600) are killed and reported as "did not finish"
(then not repeated). RMSE of a and b is against the generating values. The table shows the median
over ``--repeat`` runs, and ratios against ``ours``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SCENARIOS: dict[str, dict[str, int]] = {
    "small": {"learners": 5_000, "items": 200, "per_learner": 200},
    "large": {"learners": 100_000, "items": 1_000, "per_learner": 50},
}
ENGINES = ("ours", "ours-q21", "mirt-q21", "mirt-q61", "girth", "pyirt")
DEFAULT_ENGINES = ("ours", "ours-q21", "mirt-q21", "mirt-q61", "girth", "pyirt")


# ------------------------------------------------------------------------------------ data


def simulate(name: str, seed: int, path: Path) -> None:
    """Write the scenario's responses and true parameters to ``path`` (npz)."""
    spec = SCENARIOS[name]
    n_p, n_i, k = spec["learners"], spec["items"], spec["per_learner"]
    rng = np.random.default_rng(seed)
    theta = rng.normal(size=n_p)
    a = np.exp(rng.normal(0.0, 0.3, n_i))
    b = rng.normal(0.0, 1.0, n_i)
    item = np.empty((n_p, k), dtype=np.int32)
    for lo in range(0, n_p, 10_000):
        hi = min(lo + 10_000, n_p)
        if k == n_i:
            item[lo:hi] = np.arange(n_i)[None, :]
        else:
            item[lo:hi] = np.argsort(rng.random((hi - lo, n_i)), axis=1)[:, :k]
    person = np.repeat(np.arange(n_p, dtype=np.int32), k)
    flat = item.ravel()
    p = 1.0 / (1.0 + np.exp(-a[flat] * (theta[person] - b[flat])))
    score = (rng.random(p.size) < p).astype(np.int8)
    np.savez(path, person=person, item=flat, score=score, a=a, b=b, theta=theta,
             shape=np.array([n_p, n_i]))


# ---------------------------------------------------------------------------------- workers


def _dense(person: np.ndarray, item: np.ndarray, score: np.ndarray, n_p: int, n_i: int,
           *, transpose: bool = False, missing: float = np.nan) -> np.ndarray:
    out = np.full((n_i, n_p) if transpose else (n_p, n_i), missing)
    if transpose:
        out[item, person] = score
    else:
        out[person, item] = score
    return out


def run_worker(engine: str, data_path: Path, out_path: Path) -> None:
    """Fit one engine on the data; write estimates, time and peak RSS as JSON."""
    d = np.load(data_path)
    person, item, score = d["person"], d["item"], d["score"]
    n_p, n_i = (int(v) for v in d["shape"])
    info: dict[str, Any] = {"engine": engine}
    if engine in ("ours", "ours-q21", "pyirt"):
        from adaptive.calibration import calibrate
        from adaptive.responses import ResponseData

        t0 = time.perf_counter()
        data = ResponseData(tuple(f"p{i}" for i in range(n_p)), tuple(f"i{j}" for j in range(n_i)),
                            person.astype(np.intp), item.astype(np.intp), score.astype(np.intp))
        if engine == "pyirt":
            fit = calibrate(data, "2pl", engine="pyirt", n_quadrature=11, max_iter=10, tol=1e-3)
        else:
            fit = calibrate(data, "2pl", n_quadrature=21 if engine == "ours-q21" else 61)
        seconds = time.perf_counter() - t0
        pos = {iid: j for j, iid in enumerate(fit.bank.ids)}
        a_est = np.array([fit.bank.a[pos[f"i{j}"]] if f"i{j}" in pos else np.nan
                          for j in range(n_i)])
        b_est = np.array([fit.bank.b[pos[f"i{j}"]] if f"i{j}" in pos else np.nan
                          for j in range(n_i)])
        info.update(iterations=fit.iterations, converged=fit.converged,
                    log_likelihood=fit.log_likelihood, se_method=fit.se_method)
    elif engine.startswith("mirt"):
        import mirt

        t0 = time.perf_counter()
        x = _dense(person, item, score, n_p, n_i)
        res = mirt.fit_mirt(x, "2PL", n_quadpts=21 if engine == "mirt-q21" else 61)
        seconds = time.perf_counter() - t0
        a_est = np.asarray(res.model.discrimination, dtype=np.float64).ravel()
        b_est = np.asarray(res.model.difficulty, dtype=np.float64).ravel()
        info.update(iterations=int(res.n_iterations), converged=bool(res.converged),
                    log_likelihood=float(res.log_likelihood), se_method=str(res.se_method))
    elif engine == "girth":
        from girth import twopl_mml
        from girth.utilities.utils import tag_missing_data

        t0 = time.perf_counter()
        x = _dense(person, item, score, n_p, n_i, transpose=True, missing=-1).astype(int)
        res = twopl_mml(tag_missing_data(x, [0, 1]))
        seconds = time.perf_counter() - t0
        a_est = np.asarray(res["Discrimination"], dtype=np.float64)
        b_est = np.asarray(res["Difficulty"], dtype=np.float64)
    else:
        msg = f"unknown engine {engine}"
        raise SystemExit(msg)
    info["seconds"] = seconds
    info["rmse_a"] = float(np.sqrt(np.nanmean((a_est - d["a"]) ** 2)))
    info["rmse_b"] = float(np.sqrt(np.nanmean((b_est - d["b"]) ** 2)))
    info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    out_path.write_text(json.dumps(info))


def run_engine(engine: str, data_path: Path, timeout: float) -> dict[str, Any]:
    """Run one engine in a subprocess with a time limit."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out_path = Path(fh.name)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", engine,
           "--data", str(data_path), "--out", str(out_path)]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # the worker and any helpers it forked
        proc.communicate()
        out_path.unlink(missing_ok=True)
        return {"engine": engine, "status": f"did not finish in {timeout:.0f} s",
                "seconds": time.perf_counter() - started}
    try:
        if proc.returncode != 0:
            last = (err or "").strip().splitlines()[-1:] or ["no message"]
            return {"engine": engine, "status": f"failed: {last[0][:120]}"}
        info: dict[str, Any] = json.loads(out_path.read_text())
        info["status"] = "ok"
        return info
    finally:
        out_path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------- report


def _median(runs: list[dict[str, Any]], key: str) -> float:
    vals = [float(r[key]) for r in runs if r.get("status") == "ok" and key in r]
    return statistics.median(vals) if vals else float("nan")


def _fmt(value: float, spec: str) -> str:
    return "-" if value != value else format(value, spec)


def report(name: str, results: dict[str, list[dict[str, Any]]]) -> str:
    spec = SCENARIOS[name]
    n_resp = spec["learners"] * spec["per_learner"]
    lines = [f"\nscenario {name}: {spec['learners']:,} learners x {spec['items']:,} items, "
             f"{spec['per_learner']} answered each ({n_resp:,} responses)"]
    head = (f"{'engine':<10} {'runs':>4} {'time s':>9} {'x ours':>7} {'peak RSS MB':>12} "
            f"{'x ours':>7} {'RMSE a':>7} {'RMSE b':>7} {'iter':>5}  status")
    lines += [head, "-" * len(head)]
    ref_t = _median(results.get("ours", []), "seconds")
    ref_m = _median(results.get("ours", []), "peak_rss_mb")
    for engine, runs in results.items():
        ok = [r for r in runs if r.get("status") == "ok"]
        t, m = _median(runs, "seconds"), _median(runs, "peak_rss_mb")
        status = "ok" if ok and len(ok) == len(runs) else runs[-1].get("status", "?")
        if ok and len(ok) < len(runs):
            status = f"{len(ok)} of {len(runs)} ok, then {status}"
        if not ok and "did not finish" in status:
            t_txt = f">{runs[-1]['seconds']:.0f}"
        else:
            t_txt = _fmt(t, ".1f")
        lines.append(
            f"{engine:<10} {len(ok):>4} {t_txt:>9} {_fmt(t / ref_t, '.2f'):>7} {_fmt(m, '.0f'):>12} "
            f"{_fmt(m / ref_m, '.2f'):>7} {_fmt(_median(runs, 'rmse_a'), '.4f'):>7} "
            f"{_fmt(_median(runs, 'rmse_b'), '.4f'):>7} {_fmt(_median(runs, 'iterations'), '.0f'):>5}"
            f"  {status}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("small", "large", "both"), default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--engines", default=",".join(DEFAULT_ENGINES),
                        help=f"comma-separated subset of {', '.join(ENGINES)}")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds before an engine is stopped (reported as did not finish)")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args.worker, args.data, args.out)
        return 0
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}")
    if "ours" in engines:
        engines.remove("ours")
    engines.insert(0, "ours")
    names = ["small", "large"] if args.scenario == "both" else [args.scenario]
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.2f}; repeat {args.repeat}, timeout {args.timeout:.0f} s")
    everything: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            path = Path(tmp) / f"{name}.npz"
            simulate(name, args.seed, path)
            results: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
            for rep in range(args.repeat):
                for engine in engines:
                    runs = results[engine]
                    if runs and any("did not finish" in r.get("status", "") for r in runs):
                        continue  # once out of time, not again
                    info = run_engine(engine, path, args.timeout)
                    runs.append(info)
                    print(f"  [{name} {rep + 1}/{args.repeat}] {engine}: "
                          f"{info.get('status')} {info.get('seconds', float('nan')):.1f} s",
                          flush=True)
            print(report(name, results), flush=True)
            everything[name] = results
    if args.json:
        args.json.write_text(json.dumps(everything, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
