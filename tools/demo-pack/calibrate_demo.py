"""Give the demo pack's items IRT parameters from a seeded simulation (see ../README.md).

Every non-pilot item carries ``x-gen``: the generating values its author chose by judgement (``a`` and
``b`` for a 0/1 item, ``a`` and ``thresholds`` for a partial-credit item). For each competency this
script

1. draws 2,000 simulated learners, theta ~ N(0, 1), from a generator seeded with ``SEED`` and the
   competency id;
2. simulates every learner's score on every item of the competency with the engine
   (``adaptive.simulate.simulate_responses``) under the generating values;
3. calibrates the 0/1 items with the engine's marginal maximum likelihood (``calibrate(data, "2pl")``);
4. calibrates the partial-credit items with ``calibrate(data, "gpcm")`` on the same learners' responses,
   with the calibrated 0/1 items held fixed as anchors (a 2PL item is exactly a GPCM item with one
   threshold), so that both kinds of item share one scale even when there are only two or three
   partial-credit items;
5. writes the calibrated values, rounded to three decimals, into the item's ``irt:`` line.

The item files are edited as text (the ``irt:`` line after ``x-gen:`` is replaced or inserted), so
comments and layout stay as the author wrote them. The output is the same on every run.

Usage (from the repository root)::

    .venv/bin/python tools/demo-pack/calibrate_demo.py [--check]

``--check`` changes nothing and exits with status 1 if any ``irt:`` line would change.
"""

from __future__ import annotations

import argparse
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from adaptive import ItemBank, ItemParameters, ResponseData, calibrate
from adaptive.simulate import simulate_responses

PACK = Path(__file__).resolve().parents[2] / "content" / "packs" / "data-literacy"
SEED = 20240917
N_LEARNERS = 2000


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
    """The item's generating parameters as the engine's ItemParameters."""
    gen = item["x-gen"]
    if "thresholds" in gen:
        return ItemParameters(id=item["id"], model="gpcm", a=float(gen["a"]),
                              thresholds=tuple(float(t) for t in gen["thresholds"]))
    return ItemParameters(id=item["id"], model="2pl", a=float(gen["a"]), b=float(gen["b"]))


def calibrate_competency(competency: str, items: list[dict[str, Any]]) -> dict[str, str]:
    """Simulate and calibrate one competency's items; return the new ``irt`` flow mapping by id."""
    rng = np.random.default_rng([SEED, zlib.crc32(competency.encode())])
    truth = ItemBank.from_items(generating_item(it) for it in items)
    theta = rng.normal(size=N_LEARNERS)
    scores = simulate_responses(truth, theta, rng)
    learners = [f"{competency}-{i:04d}" for i in range(N_LEARNERS)]
    ids = list(truth.ids)
    dich = [j for j, m in enumerate(truth.models) if m == "2pl"]
    poly = [j for j, m in enumerate(truth.models) if m == "gpcm"]
    out: dict[str, str] = {}
    fit = calibrate(ResponseData.from_dense(scores[:, dich], learners, [ids[j] for j in dich]), "2pl")
    if fit.excluded:
        msg = f"{competency}: items {fit.excluded} got identical responses; revise their x-gen"
        raise SystemExit(msg)
    for j in dich:
        k = fit.bank.index(ids[j])
        out[ids[j]] = (f"{{model: 2pl, a: {_r(fit.bank.a[k])}, b: {_r(fit.bank.b[k])}}}")
    if poly:
        anchors = ItemBank.from_items(
            ItemParameters(id=fit.bank.ids[k], model="gpcm", a=float(fit.bank.a[k]),
                           thresholds=(float(fit.bank.b[k]),))
            for k in range(len(fit.bank)))
        cols = dich + poly
        data = ResponseData.from_dense(scores[:, cols], learners, [ids[j] for j in cols])
        pfit = calibrate(data, "gpcm", anchors=anchors)
        for j in poly:
            k = pfit.bank.index(ids[j])
            n_thr = truth.n_categories[j] - 1
            thr = ", ".join(_r(t) for t in pfit.bank.thresholds[k, :n_thr])
            out[ids[j]] = f"{{model: gpcm, a: {_r(pfit.bank.a[k])}, thresholds: [{thr}]}}"
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
    args = parser.parse_args(argv)
    files = load_items()
    by_competency: dict[str, list[dict[str, Any]]] = {}
    for items in files.values():
        for it in items:
            if "x-gen" in it:
                by_competency.setdefault(it["competency"], []).append(it)
    irt: dict[str, str] = {}
    for competency in sorted(by_competency):
        result = calibrate_competency(competency, by_competency[competency])
        irt.update(result)
        print(f"{competency}: {len(result)} items calibrated from {N_LEARNERS} simulated learners")
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
