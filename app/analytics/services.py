"""Item statistics of a pack version from its learners' responses, computed as a background job.

The job reads every learner's first answer to each item of the version (pilot items included; see
``exports.first_responses``) and keeps the classical statistics of
``adaptive.statistics.item_statistics`` in its result. The page reads the newest finished job, so it
never waits for a computation; asking again while nothing new was answered returns the same job.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adaptive import ItemBank, ResponseData, eap_scores
from adaptive.statistics import empirical_reliability, item_fit, item_statistics, marginal_reliability
from app.analytics.exports import first_scores
from app.authz import Principal, scoped
from app.errors import NotFound
from app.jobs.services import JobContext, JobError, enqueue, job_kind
from app.models import Attempt, Job, JobStatus, PackVersion, Response
from app.packstore import content_of, markdown, pack_bank
from content import Item

ITEM_STATISTICS = "item-statistics"

# Flags need this many responses to an item before they mean anything.
FLAG_MIN_RESPONSES = 30
TOO_EASY = 0.95  # proportion correct above this: the item tells almost nobody apart
TOO_HARD = 0.05
LOW_DISCRIMINATION = 0.10  # item-rest correlation below this: the item barely follows ability
# infit or outfit mean-square outside this range: the answers fit the item's parameters badly
# (0.7-1.3 is the usual range for multiple-choice tests; Wright & Linacre 1994)
FIT_RANGE = (0.7, 1.3)


def _statistics_url(job: Job) -> str:
    return url_for("analytics.items", version_id=job.payload["pack_version_id"])


def _key_prefix(version_id: int) -> str:
    return f"{ITEM_STATISTICS}:{version_id}:"


def last_response_id(session: Session, version_id: int) -> int:
    """The newest response to a version so far (0 without any): keys of jobs that read them all."""
    return session.scalar(select(func.max(Response.id)).join(Attempt)
                          .where(Attempt.pack_version_id == version_id)) or 0


def request_item_statistics(session: Session, version: PackVersion, user_id: int | None) -> Job:
    """Ask for a version's item statistics; asking again before new responses arrive reuses the job."""
    return enqueue(session, ITEM_STATISTICS, {"pack_version_id": version.id},
                   key=f"{_key_prefix(version.id)}{last_response_id(session, version.id)}",
                   institution_id=version.institution_id, created_by_id=user_id)


def ask_item_statistics(session: Session, who: Principal, version_id: int) -> Job:
    """An instructor asks for a version's item statistics from every response so far."""
    version = scoped(session, PackVersion, version_id, who)
    job = request_item_statistics(session, version, who.user_id)
    session.commit()
    return job


def job_version(ctx: JobContext, doing: str) -> PackVersion:
    """The pack version a job is about; JobError if it was deleted before ``doing`` could happen."""
    version = ctx.session.get(PackVersion, ctx.payload["pack_version_id"])
    if version is None:
        msg = f"This pack version was deleted before {doing}."
        raise JobError(msg)
    return version


@job_kind(ITEM_STATISTICS, "Item statistics", result_url=_statistics_url)
def _item_statistics(ctx: JobContext) -> Mapping[str, Any]:
    version = job_version(ctx, "its statistics could be computed")
    ctx.progress(5, "reading the responses")
    last = last_response_id(ctx.session, version.id)  # first: later answers count as new, never lost
    data = first_scores(ctx.session, version, up_to=last)
    bank, _items = pack_bank(ctx.session, version)
    ctx.progress(40, "computing the statistics")
    if not data.n_responses:
        return {"responses": 0, "learners": 0, "last_response_id": last, "statistics": None}
    stats = item_statistics(data, bank).to_json()
    ctx.progress(60, "fitting the items to the learners' abilities")
    fit, competencies = _fit_by_competency(data, bank, content_of(ctx.session, version).items)
    return {"responses": data.n_responses, "learners": len(data.learners), "last_response_id": last,
            "statistics": stats, "fit": fit, "competencies": competencies}


# Ability groups for the observed item characteristic curve: learners binned by their EAP estimate.
THETA_BINS = (-1.5, -0.5, 0.5, 1.5)


def _fit_by_competency(everything: ResponseData, bank: ItemBank, items: Sequence[Item],
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Infit/outfit and the observed curve per item, reliability per competency.

    Each competency is scored on its own: a learner's EAP ability from their answers to its items
    (N(0, 1) prior), which the fit of those items is then judged against.
    """
    by_competency: dict[str, list[str]] = {}
    for it in items:
        by_competency.setdefault(it.competency, []).append(it.id)
    top = {it.id: max(it.max_score, 1) for it in items}
    fit: dict[str, Any] = {}
    competencies: dict[str, Any] = {}
    for competency, ids in by_competency.items():
        data = everything.select_items(ids)
        if not data.n_responses:
            continue
        scores = eap_scores(bank, data)
        item_fits = item_fit(data, bank, scores.theta)
        groups = np.searchsorted(THETA_BINS, scores.theta[data.person])  # each response's group
        maximum = np.array([top[i] for i in data.items], dtype=float)[data.item]
        cells = data.item * (len(THETA_BINS) + 1) + groups
        size = len(data.items) * (len(THETA_BINS) + 1)
        counts = np.bincount(cells, minlength=size).reshape(len(data.items), -1)
        sums = np.bincount(cells, weights=data.score / maximum, minlength=size).reshape(counts.shape)
        for j, item_id in enumerate(item_fits.items):
            row = data.item_index(item_id)
            observed = [{"n": int(n), "mean": float(total / n) if n else None}
                        for n, total in zip(counts[row], sums[row], strict=True)]
            fit[item_id] = {
                "infit": _finite(item_fits.infit[j]), "outfit": _finite(item_fits.outfit[j]),
                "infit_t": _finite(item_fits.infit_t[j]), "outfit_t": _finite(item_fits.outfit_t[j]),
                "observed": observed}
        positions = [bank.index(i) for i in data.items]
        competencies[competency] = {
            "learners": len(data.learners),
            "empirical_reliability": _finite(empirical_reliability(scores.theta, scores.sd))
            if len(data.learners) >= 2 else None,  # a spread needs two learners
            "marginal_reliability": _finite(marginal_reliability(bank, positions))}
    return fit, competencies


def _finite(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class ItemRow:
    """One item of a version as the statistics page shows it."""

    id: str
    competency: str
    type: str
    pilot: bool
    a: float | None
    b: float | None
    responses: int
    proportion_correct: float | None
    point_biserial: float | None
    infit: float | None
    outfit: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class ItemReport:
    """The newest statistics of a version, the job computing newer ones, and the items' rows."""

    finished: Job | None
    running: Job | None
    rows: tuple[ItemRow, ...]
    competencies: tuple[tuple[str, str], ...]  # (id, title) in pack order
    # per competency: title, learners, empirical reliability, marginal reliability
    reliability: tuple[tuple[str, int, float | None, float | None], ...]
    responses: int
    learners: int
    new_responses: int  # answered since the statistics were computed


SORT_KEYS = ("id", "competency", "responses", "proportion_correct", "point_biserial", "infit", "outfit",
             "a", "b")


def _flags(n: int, p: float | None, pbis: float | None, fit: Mapping[str, Any] | None = None,
           ) -> tuple[str, ...]:
    if n < FLAG_MIN_RESPONSES:
        return ()
    out = []
    fit = fit or {}
    mean_squares = [m for m in (fit.get("infit"), fit.get("outfit")) if m is not None]
    if any(m > FIT_RANGE[1] for m in mean_squares):
        out.append("answers less predictable than its parameters say")
    elif any(m < FIT_RANGE[0] for m in mean_squares):
        out.append("answers more predictable than its parameters say")
    if p is not None and p > TOO_EASY:
        out.append("too easy for these learners")
    if p is not None and p < TOO_HARD:
        out.append("too hard for these learners")
    if pbis is not None and pbis < LOW_DISCRIMINATION:
        out.append("barely follows ability")
    return tuple(out)


def item_report(session: Session, who: Principal, version: PackVersion, *, sort: str = "id",
                descending: bool = False, competency: str | None = None,
                flagged_only: bool = False) -> ItemReport:
    """The statistics page's data for ``version`` (already loaded within ``who``'s institution)."""
    jobs = list(session.scalars(
        select(Job).where(Job.key.like(f"{_key_prefix(version.id)}%"),
                          Job.institution_id == who.institution_id)
        .order_by(Job.id.desc()).limit(20)))
    finished = next((j for j in jobs if j.status is JobStatus.DONE), None)
    running = next((j for j in jobs if not j.finished), None)
    if running is not None and finished is not None and running.id < finished.id:
        running = None
    pack = content_of(session, version)
    titles = {c.id: c.title for c in pack.competencies}
    result = finished.result if finished is not None and finished.result else {}
    stats = result.get("statistics") or {}
    index = {item_id: n for n, item_id in enumerate(stats.get("items", []))}
    fits = result.get("fit") or {}
    rows = []
    for item in pack.items:
        if item.max_score == 0 or (competency and item.competency != competency):
            continue
        n = index.get(item.id)
        count = stats["n_responses"][n] if n is not None else 0
        p = stats["proportion_correct"][n] if n is not None else None
        pbis = stats["point_biserial"][n] if n is not None else None
        params = item.parameters()
        fit = fits.get(item.id) or {}
        row = ItemRow(item.id, titles.get(item.competency, item.competency), item.type, item.pilot,
                      None if item.pilot else params.a, None if item.pilot else params.b, count, p,
                      pbis, fit.get("infit"), fit.get("outfit"), _flags(count, p, pbis, fit))
        if flagged_only and not row.flags:
            continue
        rows.append(row)
    key = sort if sort in SORT_KEYS else "id"
    present = [r for r in rows if getattr(r, key) is not None]
    missing = [r for r in rows if getattr(r, key) is None]  # always last, whatever the direction
    present.sort(key=lambda r: getattr(r, key), reverse=descending)
    last = int(result.get("last_response_id", 0))
    new = session.scalar(select(func.count(Response.id)).join(Attempt).where(
        Attempt.pack_version_id == version.id, Response.id > last)) or 0
    per_competency = result.get("competencies") or {}
    reliability = tuple((c.title, per_competency[c.id]["learners"],
                         per_competency[c.id]["empirical_reliability"],
                         per_competency[c.id]["marginal_reliability"])
                        for c in pack.competencies if c.id in per_competency)
    return ItemReport(finished, running, tuple(present + missing),
                      tuple((c.id, c.title) for c in pack.competencies), reliability,
                      int(result.get("responses", 0)), int(result.get("learners", 0)), new)


# Where the observed curve's ability groups sit on the chart (the groups split at THETA_BINS).
GROUP_CENTRES = (-2.0, -1.0, 0.0, 1.0, 2.0)
THETA_GRID = tuple(round(-4 + 0.1 * k, 1) for k in range(81))


@dataclass(frozen=True)
class ItemDetail:
    """One item for its instructor: what it asks, its parameters, its statistics and its curves."""

    version: PackVersion
    row: ItemRow
    stem_html: str
    key: str
    model: str
    parameters: tuple[tuple[str, str], ...]
    fit: Mapping[str, Any] | None
    expected: tuple[tuple[float, float], ...]  # theta, expected score as a share of the maximum
    information: tuple[tuple[float, float], ...]
    observed: tuple[tuple[float, float | None, int], ...]  # group centre, observed share, learners


def item_detail(session: Session, who: Principal, version_id: int, item_id: str) -> ItemDetail:
    """An item of a version in ``who``'s institution, with the newest statistics; NotFound if none."""
    version = scoped(session, PackVersion, version_id, who)
    item = next((it for it in content_of(session, version).items
                 if it.id == item_id and it.max_score > 0), None)
    if item is None:
        msg = "This pack version has no such scored item."
        raise NotFound(msg)
    report = item_report(session, who, version)
    row = next(r for r in report.rows if r.id == item.id)
    result = report.finished.result if report.finished is not None and report.finished.result else {}
    fit = (result.get("fit") or {}).get(item.id)
    bank, _items = pack_bank(session, version)
    position = np.array([bank.index(item.id)])
    grid = np.array(THETA_GRID)
    expected = bank.expected_score(grid, position)[:, 0] / item.max_score
    information = bank.information(grid, position)[:, 0]
    params = item.parameters()
    shown = [("model", params.model), ("a", f"{params.a:.3f}")]
    if params.thresholds:
        shown.append(("thresholds", ", ".join(f"{t:.3f}" for t in params.thresholds)))
    else:
        shown += [("b", f"{params.b:.3f}"), ("c", f"{params.c:.3f}")]
    observed = tuple((centre, group["mean"], group["n"])
                     for centre, group in zip(GROUP_CENTRES, (fit or {}).get("observed", []), strict=False))
    return ItemDetail(version, row, markdown(item.stem), _key_text(item), params.model, tuple(shown), fit,
                      tuple(zip(THETA_GRID, expected.tolist(), strict=True)),
                      tuple(zip(THETA_GRID, information.tolist(), strict=True)), observed)


def _key_text(item: Item) -> str:
    """The key in words, with option texts (an instructor's page: never shown to learners)."""
    texts = {c.id: c.text for c in (*item.options, *item.sources, *item.targets)}
    key = item.key
    if isinstance(key, tuple):
        return "; ".join(" → ".join(texts.get(str(part), str(part)) for part in k) if isinstance(k, tuple)
                         else texts.get(str(k), str(k)) for k in key)
    if key is None:
        return ", ".join(item.accepted) or "—"
    return texts.get(str(key), str(key))
