"""What an instructor can take away from a pack version: responses, the item bank, learners' results.

* **Responses** as long CSV, ``learner,item,score,max_score,pilot,attempt_kind,answered_at``: the
  format ``thetapath calibrate`` reads (it ignores the extra columns). One row per learner and item: a
  later attempt's answer to an item the learner had already answered is left out, as calibration
  needs and as the item statistics count them.
* **The item bank** as JSON, the format ``thetapath calibrate --anchor`` and ``simulate --bank`` read:
  the parameters the version's assessments use (pilot items flagged, with provisional values).
* **Results** as CSV, ``learner,competency,theta,se,mastery,source,items,recorded_at``: each
  learner's latest estimate of each competency.
* **xAPI statements** as JSON lines (``app.xapi``), whose actors carry the stable pseudonym an LRS
  receives, not the per-export one.

Learners are never named. Each export pseudonymises them with a keyed hash (HMAC-SHA-256 under a
random key made for that export and then forgotten): within one file a learner keeps one pseudonym,
and two files cannot be joined on it, nor can anyone turn it back into a person.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import secrets
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive import ResponseData
from app.models import AbilityRecord, Attempt, PackVersion, Response, XapiStatement
from app.packstore import pack_bank


@dataclass(frozen=True)
class FirstResponse:
    """A learner's first answer to an item of a version."""

    user_id: int
    item: str
    score: int
    max_score: int
    pilot: bool
    attempt_kind: str
    answered_at: datetime
    response_id: int


def first_responses(session: Session, version: PackVersion) -> list[FirstResponse]:
    """Every learner's first answer to each item of ``version``, in the order they were given."""
    rows = session.execute(
        select(Attempt.user_id, Response.item, Response.score, Response.max_score, Response.pilot,
               Attempt.kind, Response.created_at, Response.id).join(Attempt)
        .where(Attempt.pack_version_id == version.id, Attempt.institution_id == version.institution_id)
        .order_by(Response.id)).all()
    seen: set[tuple[int, str]] = set()
    out = []
    for row in rows:
        if (row[0], row[1]) not in seen:
            seen.add((row[0], row[1]))
            out.append(FirstResponse(*row))
    return out


def first_scores(session: Session, version: PackVersion, up_to: int | None = None) -> ResponseData:
    """The same first answers as :func:`first_responses`, as engine data (learners are user ids),
    read without building a Python object per answer: what the analytics jobs compute on.

    ``up_to`` leaves out answers after that response id.
    """
    query = (select(Attempt.user_id, Response.item, Response.score).join(Attempt)
             .where(Attempt.pack_version_id == version.id,
                    Attempt.institution_id == version.institution_id).order_by(Response.id))
    if up_to is not None:
        query = query.where(Response.id <= up_to)
    rows = session.connection().execute(query).all()  # Core rows: no ORM work per answer
    if not rows:
        empty = np.zeros(0, dtype=np.intp)
        return ResponseData((), (), empty, empty.copy(), empty.copy())
    users, items, scores = zip(*rows, strict=True)
    user_ids, person = _codes(users)
    item_ids, item = _codes(items)
    _, first = np.unique(person * len(item_ids) + item, return_index=True)
    first.sort()  # in the order they were given
    return ResponseData(tuple(str(u) for u in user_ids), tuple(str(i) for i in item_ids),
                        person[first], item[first], np.asarray(scores, dtype=np.intp)[first])


def _codes(values: Sequence[Hashable]) -> tuple[list[Any], np.ndarray]:
    """The distinct values in the order first seen, and each value's position among them."""
    index: dict[Hashable, int] = {}
    codes = np.fromiter((index.setdefault(v, len(index)) for v in values), dtype=np.intp,
                        count=len(values))
    return list(index), codes


def pseudonymiser() -> Callable[[int], str]:
    """A learner id → pseudonym function under a key of its own, which is never stored."""
    key = secrets.token_bytes(32)

    def pseudonym(user_id: int) -> str:
        return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()[:16]

    return pseudonym


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def responses_csv(session: Session, version: PackVersion) -> str:
    """The version's responses as long CSV (see the module docstring); a header only when none."""
    who = pseudonymiser()
    return _csv(("learner", "item", "score", "max_score", "pilot", "attempt_kind", "answered_at"),
                ((who(r.user_id), r.item, r.score, r.max_score, int(r.pilot), r.attempt_kind,
                  _time(r.answered_at)) for r in first_responses(session, version)))


def bank_json(session: Session, version: PackVersion) -> str:
    """The parameters the version's assessments use, as an item bank in JSON."""
    bank, _items = pack_bank(session, version)
    return json.dumps(bank.to_json(), indent=2) + "\n"


def results_csv(session: Session, version: PackVersion) -> str:
    """Each learner's latest estimate of each competency of the version, as CSV."""
    records = session.scalars(
        select(AbilityRecord).where(AbilityRecord.pack_version_id == version.id,
                                    AbilityRecord.institution_id == version.institution_id)
        .order_by(AbilityRecord.id))
    latest: dict[tuple[int, str], AbilityRecord] = {}
    for record in records:
        latest[(record.user_id, record.competency)] = record
    who = pseudonymiser()
    return _csv(("learner", "competency", "theta", "se", "mastery", "source", "items", "recorded_at"),
                ((who(r.user_id), r.competency, f"{r.theta:.4f}", f"{r.se:.4f}", r.mastery or "",
                  r.source, len(r.items), _time(r.created_at)) for r in latest.values()))


def xapi_jsonl(session: Session, version: PackVersion) -> str:
    """The version's xAPI statements (``app.xapi``), one JSON document per line, oldest first."""
    rows = session.scalars(select(XapiStatement.statement).where(
        XapiStatement.pack_version_id == version.id,
        XapiStatement.institution_id == version.institution_id)
        .order_by(XapiStatement.created_at, XapiStatement.id))
    return "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)


EXPORTS: dict[str, tuple[str, str, Callable[[Session, PackVersion], str]]] = {
    "responses": ("responses.csv", "text/csv", responses_csv),
    "bank": ("bank.json", "application/json", bank_json),
    "results": ("results.csv", "text/csv", results_csv),
    "xapi": ("xapi.jsonl", "application/x-ndjson", xapi_jsonl),
}
"""Each export: its file name (after the pack id and version), media type and maker."""


def export_name(version: PackVersion, what: str) -> str:
    """``<pack>-<version>-<file>``, e.g. ``data-literacy-1.0.0-responses.csv``."""
    return f"{version.pack.slug}-{version.version}-{EXPORTS[what][0]}"
