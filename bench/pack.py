"""Benchmark: validate and import a 5,000-item content pack (target: at most 5 s).

Run from the repository root::

    .venv/bin/python bench/pack.py                   # 50 modules x 100 items, median of 3 runs
    .venv/bin/python bench/pack.py --modules 10 --items 500 --repeat 5

The pack is generated in a temporary folder with the test suite's generator (every item type, tricky
strings, Markdown lessons with tables, math and images; 80 % of the items calibrated). One run is
``content.load_pack(folder)``: safe reading of every file, YAML parsing with positions, every validation
rule, Markdown rendering and sanitising of the lessons, and building the frozen ContentPack. The export
of the loaded pack to canonical form and its content hash are timed separately.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from content import canonical_files, load_pack
from tests.content.packs import generated_files, write_folder

TARGET_SECONDS = 5.0


def main() -> None:
    """Generate the pack, time validate + import, print the median."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--modules", type=int, default=50)
    parser.add_argument("--items", type=int, default=100, help="items per module")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = generated_files(n_modules=args.modules, items_per_module=args.items, seed=1)
    size = sum(len(data) for data in files.values())
    with tempfile.TemporaryDirectory() as tmp:
        root = write_folder(Path(tmp) / "pack", files)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            pack = load_pack(root)
            times.append(time.perf_counter() - started)
        started = time.perf_counter()
        canonical_files(pack)
        digest = pack.content_hash
        export_seconds = time.perf_counter() - started
    median = statistics.median(times)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"python {platform.python_version()} on {platform.machine()}, load average {load:.2f}")
    print(f"pack: {len(pack.items):,} items in {len(pack.modules)} modules, {len(files)} files, "
          f"{size / 1e6:.1f} MB")
    print(f"validate + import: median {median:.2f} s of {args.repeat} "
          f"({', '.join(f'{t:.2f}' for t in times)}); target <= {TARGET_SECONDS:.0f} s: "
          f"{'ok' if median <= TARGET_SECONDS else 'MISSED'}")
    print(f"canonical export + content hash: {export_seconds:.2f} s (sha256:{digest[:16]}...)")


if __name__ == "__main__":
    main()
