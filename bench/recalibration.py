"""Benchmark: a recalibration report from a million responses (issue 11).

Run from the repository root::

    .venv/bin/python bench/recalibration.py            # 5,000 learners x 197 items: 985,000 responses
    .venv/bin/python bench/recalibration.py --learners 500 --repeat 1   # a quick look

Set-up (untimed): as ``bench/analytics.py`` (the demo pack, every learner answers every scored item,
scores drawn from the items' own models), and each attempt gets the state and policy a real one
stores (its responses in order, pilot items marked, the module's CAT settings), so that the job's
rescoring of finished attempts has real work to do. Every pilot item has every learner's answer, so
every pilot item is estimated.

Timed, each the median over ``--repeat`` runs:

1. **the recalibration job** as a worker runs it (``app.jobs.services.run``): read the first answers,
   one MML fit per competency with its calibrated 2PL items as anchors, fit before and after, every
   finished attempt that met a new item scored again with the old and the new parameters, Sympson–Hetter
   simulation for the modules where the exposure target can be met (none in the demo pack: its tests
   are too long for its target), the report written;
2. **the peer**: the engine's own MML fits alone, ``adaptive.calibrate`` on the same responses already
   in memory, one call per competency with the same anchors, in the same run. The job's time is
   reported as a multiple of it: what reading, checking and reporting cost on top of the fit.

Target from the issue: recalibration of 1 M responses in at most 10 s of job time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from itertools import groupby
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, select, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from adaptive import CatState, ItemBank, calibrate  # noqa: E402
from app import db  # noqa: E402
from app.analytics.exports import first_scores  # noqa: E402
from app.analytics.recalibration import ANCHOR_MODEL, RECALIBRATION  # noqa: E402
from app.jobs import services as jobs  # noqa: E402
from app.jobs.workers import sessions  # noqa: E402
from app.models import Attempt, Job, JobStatus, ModuleRow, PackVersion, Response  # noqa: E402
from app.packstore import content_of, pack_bank  # noqa: E402
from bench.analytics import _setup  # noqa: E402
from content import ContentPack  # noqa: E402
from content.policy import assessment_policy  # noqa: E402


def _version(s: Session, version_id: int) -> tuple[PackVersion, ContentPack, ItemBank]:
    version = s.get(PackVersion, version_id)
    assert version is not None
    return version, content_of(s, version), pack_bank(s, version)[0]


def _real_attempts(app: object, version_id: int) -> int:
    """Give every attempt the state and policy of a finished real one; returns how many."""
    with app.app_context():  # type: ignore[attr-defined]
        s = db.session()
        _, pack, bank = _version(s, version_id)
        policies, competency = {}, {}
        for row in s.scalars(select(ModuleRow).where(ModuleRow.pack_version_id == version_id)):
            module = pack.module(row.key)
            c = pack.competency(module.competencies[0])
            files = set(module.item_files)
            n = sum(1 for it in pack.items if it.file in files and it.max_score > 0 and not it.pilot)
            policies[row.id] = assessment_policy(c.assessment, n, pack.evidence).to_json()
            competency[row.id] = c.id
        module_of = {r.id: r.module_id for r in s.execute(select(Attempt.id, Attempt.module_id))}
        rows = s.execute(select(Response.attempt_id, Response.item, Response.score)
                         .order_by(Response.attempt_id, Response.position))
        changes = []
        for attempt_id, group in groupby(rows, key=lambda r: r.attempt_id):
            answered = list(group)
            items = tuple(r.item for r in answered)
            state = CatState(seed=attempt_id, items=items, scores=tuple(int(r.score) for r in answered),
                             pilot=tuple(bool(bank.pilot[bank.index(i)]) for i in items))
            module = module_of[attempt_id]
            changes.append({"id": attempt_id, "state": state.to_json(), "policy": policies[module],
                            "competency": competency[module]})
        s.execute(update(Attempt), changes)
        s.commit()
        return len(changes)


def _peer_fit(app: object, version_id: int) -> float:
    """Seconds for the engine's MML fits alone, on responses already in memory."""
    with app.app_context():  # type: ignore[attr-defined]
        s = db.session()
        version, pack, bank = _version(s, version_id)
        data = first_scores(s, version)
        work = []
        for c in pack.competencies:
            params = [bank.item(bank.index(it.id)) for it in pack.items
                      if it.competency == c.id and it.id in bank.ids and it.id in data.items]
            anchors = [p for p in params if not p.pilot and p.model == ANCHOR_MODEL]
            pilots = [p for p in params if p.pilot and p.n_categories == 2]
            if anchors and pilots:
                work.append((data.select_items([*(p.id for p in anchors), *(p.id for p in pilots)]),
                             ItemBank.from_items(anchors)))
    t0 = time.perf_counter()
    for subset, anchor_bank in work:
        calibrate(subset, ANCHOR_MODEL, anchors=anchor_bank)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=5000)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261207)
    args = parser.parse_args()
    print(f"# {platform.python_version()}, load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        app, version_id, _item, responses = _setup(Path(folder), args.learners, args.items, args.seed)
        attempts = _real_attempts(app, version_id)
        print(f"set-up: {responses:,} responses of {args.learners:,} learners in {attempts:,} attempts "
              f"in {time.perf_counter() - t0:.1f} s (untimed)")
        job_times, peer_times = [], []
        report = None
        for _ in range(args.repeat):
            with app.app_context():
                s = db.session()
                s.execute(delete(Job))
                s.commit()
                job = jobs.enqueue(s, RECALIBRATION, {"pack_version_id": version_id})
                s.commit()
                t0 = time.perf_counter()
                assert jobs.run(sessions(app), job.id)
                job_times.append(time.perf_counter() - t0)
                s.expire_all()
                done = s.get(Job, job.id)
                assert done is not None and done.status is JobStatus.DONE, done.error if done else None
                report = done.result
            peer_times.append(_peer_fit(app, version_id))
    assert report is not None
    job_s, peer_s = statistics.median(job_times), statistics.median(peer_times)
    decisions = report["decisions"]
    print(f"report: {len(report['items'])} pilot items estimated "
          f"({sum(1 for e in report['items'] if e['unstable'])} unstable), "
          f"{decisions['attempts']:,} of the finished attempts would change decision")
    print(f"recalibration job   {job_s:8.2f} s   (target <= 10 s)  x{job_s / peer_s:.1f} the fits alone")
    print(f"MML fits (peer)     {peer_s:8.2f} s")
    print(f"runs: job {[round(t, 2) for t in job_times]}, fits {[round(t, 2) for t in peer_times]}")


if __name__ == "__main__":
    main()
