"""Give the demo pack's items IRT parameters from a seeded simulation (see ../README.md).

Every non-pilot item carries ``x-gen``: the generating values its author chose by judgement (``a`` and
``b`` for a 0/1 item, plus the lower asymptote ``c`` for a single-choice item, which a learner can
guess; ``a`` and ``thresholds`` for a partial-credit item). For each competency this script

1. draws 2,000 simulated learners, theta ~ N(0, 1), from a generator seeded with ``SEED`` and the
   competency id;
2. simulates every learner's score on every item of the competency with the engine
   (``adaptive.simulate.simulate_responses``) under the generating values: a 3PL for single-choice
   items (``c`` = 1/number of options), a 2PL for the other 0/1 items (numeric and short-text answers
   cannot be guessed; the chance of guessing an all-or-nothing multiple-choice set, 1/(2^n - 1), or a
   whole ordering, 1/n!, is negligible), a GPCM for partial-credit items;
3. calibrates the 2PL and partial-credit items together with the engine's marginal maximum likelihood,
   ``calibrate(data, "gpcm")`` (a 2PL item is exactly a GPCM item with one threshold, so one call
   fits both, on the N(0, 1) scale of the simulated learners);
4. calibrates the single-choice items with ``calibrate(data, "3pl", anchors=...,
   priors=Priors(c_beta=...))`` on the same learners' responses, with the calibrated 2PL items held
   fixed as anchors (a 2PL item is exactly a 3PL item with ``c = 0``): the engine takes one model per
   call, so the anchors put the 3PL items on the same scale. The prior on ``c`` is
   Beta(1 + 16/n, 1 + 16 (n - 1)/n) for n options, whose mode is 1/n (Beta(5, 13) for four options):
   its weight of 16 pseudo-responses (the engine's default, Beta(5, 17), weighs 20) leaves ``c`` to
   the data where low-ability learners meet the item (harder items), and keeps it near 1/n where they
   do not (very easy items, whose lower asymptote the data cannot see);
5. writes the calibrated values, rounded to three decimals, into the item's ``irt:`` line.

The item files are edited as text (the ``irt:`` line after ``x-gen:`` is replaced or inserted), so
comments and layout stay as the author wrote them. The output is the same on every run.

Usage (from the repository root)::

    .venv/bin/python tools/demo-pack/calibrate_demo.py [--check] [--report]

``--check`` changes nothing and exits with status 1 if any ``irt:`` line would change. ``--report``
also prints how far the calibrated values are from the generating ones (the numbers in ../README.md).
"""

from __future__ import annotations

import argparse
import sys
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from adaptive import CalibrationResult, ItemBank, ItemParameters, Priors, ResponseData, calibrate
from adaptive.simulate import simulate_responses

PACK = Path(__file__).resolve().parents[2] / "content" / "packs" / "data-literacy"
SEED = 20240917
N_LEARNERS = 2000
C_PRIOR_WEIGHT = 16.0
"""alpha + beta - 2 of the Beta prior on a single-choice item's ``c``: its weight in pseudo-responses."""
MIN_ANCHORS = 3
"""Fewest 2PL items a competency needs to link its 3PL items to the scale."""


def c_prior(n_options: int) -> tuple[float, float]:
    """Beta prior on ``c`` for an item with ``n_options`` options: mode 1/n, weight C_PRIOR_WEIGHT."""
    chance = 1.0 / n_options
    return 1.0 + C_PRIOR_WEIGHT * chance, 1.0 + C_PRIOR_WEIGHT * (1.0 - chance)


def load_items() -> dict[Path, list[dict[str, Any]]]:
    """Items of every item file named in pack.yaml, by file."""
    pack = yaml.safe_load((PACK / "pack.yaml").read_text(encoding="utf-8"))
    out: dict[Path, list[dict[str, Any]]] = {}
    for module in pack["modules"]:
        for rel in module["items"]:
            path = PACK / rel
            out[path] = yaml.safe_load(path.read_text(encoding="utf-8"))["items"]
    return out


def generating_item(item: dict[str, Any]) -> ItemParameters:
    """The item's generating parameters as the engine's ItemParameters.

    A single-choice item must state its guessing level ``c`` in ``x-gen`` (the judgement is the
    author's, normally 1/number of options); no other item type may, because the pack scores only
    single-choice items as guessable (see ../README.md).
    """
    gen = item["x-gen"]
    if "thresholds" in gen:
        return ItemParameters(id=item["id"], model="gpcm", a=float(gen["a"]),
                              thresholds=tuple(float(t) for t in gen["thresholds"]))
    if (item["type"] == "single_choice") != ("c" in gen):
        which = "needs" if item["type"] == "single_choice" else "must not have"
        msg = f"{item['id']}: a {item['type']} item {which} a guessing level c in x-gen"
        raise SystemExit(msg)
    if "c" in gen:
        return ItemParameters(id=item["id"], model="3pl", a=float(gen["a"]), b=float(gen["b"]),
                              c=float(gen["c"]))
    return ItemParameters(id=item["id"], model="2pl", a=float(gen["a"]), b=float(gen["b"]))


@dataclass
class Recovery:
    """Calibrated minus generating values, by model and parameter (for ``--report``)."""

    errors: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    se_c: list[tuple[float, float, float]] = field(default_factory=list)  # (b_gen, SE(c), prior SD)
    abc: list[tuple[float, float, float]] = field(default_factory=list)  # 3PL errors in a, b, c

    def add(self, truth: ItemParameters, fitted: ItemParameters) -> None:
        model = truth.model
        self.errors[(model, "a")].append(fitted.a - truth.a)
        if model == "gpcm":
            self.errors[(model, "thresholds")].extend(
                f - t for f, t in zip(fitted.thresholds, truth.thresholds, strict=True))
            return
        self.errors[(model, "b")].append(fitted.b - truth.b)
        if model == "3pl":
            self.errors[(model, "c")].append(fitted.c - truth.c)
            self.abc.append((fitted.a - truth.a, fitted.b - truth.b, fitted.c - truth.c))

    def lines(self) -> list[str]:
        out = []
        for (model, name), errs in sorted(self.errors.items()):
            e = np.abs(np.array(errs))
            out.append(f"  {model:4} {name:10} n={e.size:3}  median |est - gen| {np.median(e):.3f}  "
                       f"90th percentile {np.quantile(e, 0.9):.3f}  largest {e.max():.3f}")
        if len(self.abc) > 2:
            r = np.corrcoef(np.array(self.abc).T)
            out.append(f"  3pl  correlation of the errors: c with b {r[2, 1]:.2f}, c with a {r[2, 0]:.2f}, "
                       f"a with b {r[0, 1]:.2f}")
        if self.se_c:
            rows = np.array(self.se_c)
            for lo, hi in ((-np.inf, -1.0), (-1.0, 0.5), (0.5, np.inf)):
                sel = rows[(rows[:, 0] >= lo) & (rows[:, 0] < hi)]
                if sel.size:
                    out.append(f"  3pl  SE(c) / prior SD for generating b in [{lo:g}, {hi:g}): "
                               f"median {np.median(sel[:, 1] / sel[:, 2]):.2f} ({len(sel)} items)")
        return out


def _fitted(fit: CalibrationResult, competency: str, what: str) -> None:
    """Stop on a calibration that cannot be used as it is; print the engine's other warnings."""
    if fit.excluded:
        msg = f"{competency}: items {fit.excluded} got identical responses; revise their x-gen"
        raise SystemExit(msg)
    if not fit.converged:
        msg = f"{competency}: the {what} calibration did not converge"
        raise SystemExit(msg)
    for note in fit.warnings:
        print(f"{competency} ({what}): {note}", file=sys.stderr)


def calibrate_competency(competency: str, items: list[dict[str, Any]],
                         recovery: Recovery | None = None) -> dict[str, str]:
    """Simulate and calibrate one competency's items; return the new ``irt`` flow mapping by id."""
    rng = np.random.default_rng([SEED, zlib.crc32(competency.encode())])
    truth = ItemBank.from_items(generating_item(it) for it in items)
    theta = rng.normal(size=N_LEARNERS)
    scores = simulate_responses(truth, theta, rng)
    learners = [f"{competency}-{i:04d}" for i in range(N_LEARNERS)]
    ids = list(truth.ids)

    def responses(cols: list[int]) -> ResponseData:
        return ResponseData.from_dense(scores[:, cols], learners, [ids[j] for j in cols])

    dich = [j for j, m in enumerate(truth.models) if m == "2pl"]
    poly = [j for j, m in enumerate(truth.models) if m == "gpcm"]
    guess: dict[int, list[int]] = defaultdict(list)  # single-choice items by number of options
    for j, m in enumerate(truth.models):
        if m == "3pl":
            guess[len(items[j]["options"])].append(j)
    if guess and len(dich) < MIN_ANCHORS:
        msg = (f"{competency}: {len(dich)} 0/1 items without guessing; at least {MIN_ANCHORS} are "
               "needed as anchors for the single-choice (3PL) items")
        raise SystemExit(msg)
    fitted: dict[str, ItemParameters] = {}
    out: dict[str, str] = {}
    # 2PL and partial-credit items in one free call: a 2PL item is a GPCM item with one threshold
    rest = dich + poly
    fit = calibrate(responses(rest), "gpcm",
                    categories={ids[j]: int(truth.n_categories[j]) for j in rest})
    _fitted(fit, competency, "2pl/gpcm")
    for j in dich:
        k = fit.bank.index(ids[j])
        fitted[ids[j]] = ItemParameters(id=ids[j], model="2pl", a=float(fit.bank.a[k]),
                                        b=float(fit.bank.thresholds[k, 0]))
    for j in poly:
        fitted[ids[j]] = fit.bank.item(fit.bank.index(ids[j]))
    # single-choice items as 3PL, anchored on the 2PL items (a 2PL item is a 3PL item with c = 0)
    anchors = ItemBank.from_items(
        ItemParameters(id=ids[j], model="3pl", a=fitted[ids[j]].a, b=fitted[ids[j]].b, c=0.0)
        for j in dich)
    for n_options, group in sorted(guess.items()):
        prior = c_prior(n_options)
        gfit = calibrate(responses(dich + group), "3pl", anchors=anchors,
                         priors=Priors(c_beta=prior))
        _fitted(gfit, competency, f"3pl, {n_options} options")
        al, be = prior
        prior_sd = float(np.sqrt(al * be / ((al + be) ** 2 * (al + be + 1.0))))
        for j in group:
            k = gfit.bank.index(ids[j])
            fitted[ids[j]] = gfit.bank.item(k)
            if recovery is not None:
                recovery.se_c.append((truth.item(j).b, float(gfit.se_c[k]), prior_sd))
    for j, iid in enumerate(ids):
        p = fitted[iid]
        if recovery is not None:
            recovery.add(truth.item(j), p)
        if p.model == "gpcm":
            thr = ", ".join(_r(t) for t in p.thresholds)
            out[iid] = f"{{model: gpcm, a: {_r(p.a)}, thresholds: [{thr}]}}"
        elif p.model == "3pl":
            out[iid] = f"{{model: 3pl, a: {_r(p.a)}, b: {_r(p.b)}, c: {_r(p.c)}}}"
        else:
            out[iid] = f"{{model: 2pl, a: {_r(p.a)}, b: {_r(p.b)}}}"
    return out


def _r(value: float) -> str:
    text = f"{round(float(value), 3):.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def rewrite(path: Path, irt: dict[str, str]) -> str:
    """The item file's text with each calibrated item's ``irt:`` line set."""
    lines = path.read_text(encoding="utf-8").splitlines()
    out: list[str] = []
    current: str | None = None
    for line in lines:
        stripped = line.strip()
        if line.startswith("  - id: "):
            current = stripped.removeprefix("- id: ").strip()
        if current in irt and line.startswith("    irt: "):
            continue  # replaced after x-gen
        out.append(line)
        if current in irt and line.startswith("    x-gen: "):
            out.append(f"    irt: {irt[current]}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Calibrate every competency and write (or, with --check, compare) the item files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report whether files would change")
    parser.add_argument("--report", action="store_true",
                        help="also print calibrated minus generating values")
    args = parser.parse_args(argv)
    files = load_items()
    by_competency: dict[str, list[dict[str, Any]]] = {}
    for items in files.values():
        for it in items:
            if "x-gen" in it:
                by_competency.setdefault(it["competency"], []).append(it)
    recovery = Recovery() if args.report else None
    irt: dict[str, str] = {}
    for competency in sorted(by_competency):
        result = calibrate_competency(competency, by_competency[competency], recovery)
        irt.update(result)
        print(f"{competency}: {len(result)} items calibrated from {N_LEARNERS} simulated learners")
    if recovery is not None:
        print("recovery (calibrated minus generating values):")
        print("\n".join(recovery.lines()))
    changed = []
    for path in files:
        text = rewrite(path, irt)
        if text != path.read_text(encoding="utf-8"):
            changed.append(path.relative_to(PACK))
            if not args.check:
                path.write_text(text, encoding="utf-8")
    verb = "would change" if args.check else "updated"
    print(f"{verb}: {', '.join(map(str, changed)) or 'nothing'}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
