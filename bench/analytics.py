"""Benchmark: item analytics of a pack version with many responses (issue 11).

Run from the repository root::

    .venv/bin/python bench/analytics.py                        # 5,000 learners x 197 items: 985,000 responses
    .venv/bin/python bench/analytics.py --learners 500 --repeat 3   # a quick look
    .venv/bin/python bench/analytics.py --json /tmp/analytics.json

Set-up (untimed): an SQLite database in a temporary folder, migrated; the demo pack imported (its
first ``--items`` scored items are used: it has 197); ``--learners`` simulated learners with
abilities N(0, 1) who each answer every one of those items, scores drawn from the items' own models
(seeded), written with one bulk insert (one attempt per learner and module).

Timed, each the median over ``--repeat`` runs:

1. **the statistics job**: the ``item-statistics`` job as a worker runs it (claim, read every
   response, classical statistics, EAP per competency, infit/outfit and the observed curves,
   reliability, the result written), through ``app.jobs.services.run``;
2. **the items page**: ``GET /author/versions/<id>/items`` for an instructor, through the app's
   test client, which reads the job's stored result (the page never computes);
3. **an item's page**: ``GET /author/versions/<id>/items/<item>`` with its two SVG charts;
4. **the peer**: a bare Flask endpoint returning a short string, through the same test client in the
   same run: the floor of any page here. Pages are reported as times and as multiples of it.

Targets from the issue: the items page within 1 s with 200 items and 1 M responses (precomputed by a
job, read per version).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from sqlalchemy import delete, insert, select  # noqa: E402

from adaptive.simulate import draw_score  # noqa: E402
from app import create_app, db  # noqa: E402
from app.accounts.services import create_user  # noqa: E402
from app.analytics.services import request_item_statistics  # noqa: E402
from app.db import utcnow  # noqa: E402
from app.jobs import services as jobs  # noqa: E402
from app.jobs.workers import sessions  # noqa: E402
from app.migrate import upgrade  # noqa: E402
from app.models import (  # noqa: E402
    Attempt,
    Institution,
    Job,
    JobStatus,
    Membership,
    ModuleRow,
    PackVersion,
    Response,
    Role,
    User,
)
from app.packstore import content_of, import_pack, pack_bank  # noqa: E402

PACK = ROOT / "content" / "packs" / "data-literacy"
PASSWORD = "a benchmark password"


def _setup(folder: Path, learners: int, n_items: int, seed: int) -> tuple[Flask, int, str, int]:
    app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite'}", "SECRET_KEY": "bench",
                      "TESTING": True, "WTF_CSRF_ENABLED": False, "JOBS_IN_PROCESS": False,
                      "SESSION_COOKIE_SECURE": False})
    app.instance_path = str(folder)
    with app.extensions["thetapath.engine"].begin() as conn:
        upgrade(conn)
    rng = np.random.default_rng(seed)
    with app.app_context(), app.test_request_context():
        s = db.session()
        inst = Institution(slug="bench", name="Bench University", open_signup=False)
        s.add(inst)
        s.flush()
        create_user(s, name="Instructor", email="instructor@example.org", password=PASSWORD,
                    institution=inst, role=Role.INSTRUCTOR)
        s.commit()
        version = import_pack(s, inst, PACK, None).version
        pack = content_of(s, version)
        bank, _ = pack_bank(s, version)
        items = [it for it in pack.items if it.max_score > 0][:n_items]
        module_of = {}
        for row in s.scalars(select(ModuleRow).where(ModuleRow.pack_version_id == version.id)):
            for it in pack.items:
                if it.file in pack.module(row.key).item_files:
                    module_of[it.id] = row.id
        users = [{"name": f"Learner {n}", "email": f"l{n}@bench.invalid", "password_hash": "!",
                  "simulated": True} for n in range(learners)]
        s.execute(insert(User), users)
        ids = list(s.scalars(select(User.id).where(User.simulated.is_(True)).order_by(User.id)))
        s.execute(insert(Membership), [{"user_id": u, "institution_id": inst.id, "role": Role.LEARNER,
                                        "created_at": utcnow()} for u in ids])
        modules = sorted({module_of[it.id] for it in items})
        attempts = [{"user_id": u, "institution_id": inst.id, "module_id": m, "pack_version_id": version.id,
                     "competency": "bench", "kind": "assessment", "policy": {}, "seed": 0, "state": {},
                     "status": "completed"} for u in ids for m in modules]
        s.execute(insert(Attempt), attempts)
        attempt_of = {(a.user_id, a.module_id): a.id for a in s.execute(
            select(Attempt.id, Attempt.user_id, Attempt.module_id))}
        theta = rng.normal(size=len(ids))
        now = utcnow()
        batch: list[dict[str, Any]] = []
        for p, user in enumerate(ids):
            draws = rng.random(len(items))
            for j, item in enumerate(items):
                batch.append({"attempt_id": attempt_of[(user, module_of[item.id])], "position": j,
                              "item": item.id, "answer": None,
                              "score": draw_score(bank, float(theta[p]), item.id, float(draws[j])),
                              "max_score": item.max_score, "pilot": item.pilot, "theta": 0.0, "se": 1.0,
                              "token": f"{p}-{j}", "created_at": now})
            if len(batch) >= 50_000:
                s.execute(insert(Response), batch)
                batch = []
        if batch:
            s.execute(insert(Response), batch)
        s.commit()
        return app, version.id, items[len(items) // 2].id, len(ids) * len(items)


def _median_page(client: Any, url: str, repeat: int) -> tuple[float, int]:
    times = []
    size = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = client.get(url)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 200, (url, r.status_code)
        size = len(r.data)
    return statistics.median(times), size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=5000)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print(f"# {platform.python_version()}, load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as folder:
        t0 = time.perf_counter()
        app, version_id, item_id, responses = _setup(Path(folder), args.learners, args.items, args.seed)
        print(f"set-up: {responses:,} responses of {args.learners:,} learners to "
              f"{responses // args.learners} items "
              f"in {time.perf_counter() - t0:.1f} s (untimed)")
        job_times = []
        for _ in range(args.repeat):
            with app.app_context():
                s = db.session()
                s.execute(delete(Job))
                s.commit()
                version = s.get(PackVersion, version_id)
                assert version is not None
                job = request_item_statistics(s, version, None)
                s.commit()
                t0 = time.perf_counter()
                assert jobs.run(sessions(app), job.id)
                job_times.append(time.perf_counter() - t0)
                s.expire_all()
                done = s.get(Job, job.id)
                assert done is not None and done.status is JobStatus.DONE, done.error if done else None
        bare = Flask("bare")
        bare.add_url_rule("/", "bare", lambda: "ok")
        client = app.test_client()
        r = client.post("/login", data={"email": "instructor@example.org", "password": PASSWORD})
        assert r.status_code in (302, 303)
        items_page, items_size = _median_page(client, f"/author/versions/{version_id}/items", args.repeat * 3)
        item_page, item_size = _median_page(client, f"/author/versions/{version_id}/items/{item_id}",
                                            args.repeat * 3)
        floor, _ = _median_page(bare.test_client(), "/", args.repeat * 30)
    job_s = statistics.median(job_times)
    print(f"statistics job      {job_s:8.2f} s   ({responses / job_s / 1e6:.2f} M responses/s)")
    print(f"items page          {items_page * 1000:8.1f} ms  x{items_page / floor:,.0f} bare Flask, "
          f"{items_size / 1024:.0f} KiB  (target <= 1000 ms)")
    print(f"item page           {item_page * 1000:8.1f} ms  x{item_page / floor:,.0f} bare Flask, "
          f"{item_size / 1024:.0f} KiB")
    print(f"bare Flask (peer)   {floor * 1000:8.3f} ms")
    if args.json:
        args.json.write_text(json.dumps({
            "responses": responses, "learners": args.learners, "items": args.items,
            "job_seconds": job_times, "items_page_seconds": items_page, "item_page_seconds": item_page,
            "bare_flask_seconds": floor}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
