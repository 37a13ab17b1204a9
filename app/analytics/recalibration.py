"""Recalibration of a pack version's pilot items from live responses, as a background job (a report).

Each competency is calibrated on its own (its items measure its ability): marginal maximum likelihood
(``adaptive.calibrate``) with the competency's calibrated 2PL items held fixed as anchors, which puts
the new items on the scale the assessments already use and estimates the learners' ability
distribution too. A pilot item is estimated once it has ``RECALIBRATION_MIN_RESPONSES`` answers (first
answers only, as everywhere in analytics); the report says how many the others have and how many they
need. Only 2PL anchors link for now: the engine holds anchors of one model at a time, and the demo pack
mixes 3PL, 2PL and GPCM items; answers to the others are left out of this fit.

This is the report only: approving it into a new parameter version, rolling back and Sympson–Hetter
per version come next (issue 11).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
from flask import current_app, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from adaptive import AdaptiveError, ItemBank, calibrate
from app.analytics.exports import first_scores
from app.analytics.services import job_version
from app.authz import Principal, scoped
from app.jobs.services import JobContext, enqueue, job_kind
from app.models import Job, PackVersion
from app.packstore import content_of

RECALIBRATION = "recalibration"
ANCHOR_MODEL = "2pl"


def _report_url(job: Job) -> str:
    return url_for("analytics.recalibration", version_id=job.payload["pack_version_id"])


def ask_recalibration(session: Session, who: Principal, version_id: int) -> Job:
    """An instructor asks for a recalibration report of a version (one commit)."""
    version = scoped(session, PackVersion, version_id, who)
    job = enqueue(session, RECALIBRATION, {"pack_version_id": version.id},
                  institution_id=version.institution_id, created_by_id=who.user_id)
    session.commit()
    return job


@job_kind(RECALIBRATION, "Recalibration", result_url=_report_url)
def _recalibrate(ctx: JobContext) -> Mapping[str, Any]:
    version = job_version(ctx, "it could be recalibrated")
    needed = int(current_app.config["RECALIBRATION_MIN_RESPONSES"])
    pack = content_of(ctx.session, version)
    ctx.progress(5, "reading the responses")
    everything = first_scores(ctx.session, version)
    counts = Counter(dict(zip(everything.items, np.bincount(everything.item,
                                                            minlength=len(everything.items)).tolist(),
                              strict=True)))
    competencies, estimated, waiting = [], [], []
    for n, competency in enumerate(pack.competencies):
        ctx.progress(10 + 85 * n / len(pack.competencies), f"calibrating {competency.title}")
        items = [it for it in pack.items if it.competency == competency.id]
        anchors = [it for it in items if it.irt is not None and it.irt.model == ANCHOR_MODEL]
        pilots = [it for it in items if it.pilot and it.max_score == 1]
        ready = [it for it in pilots if counts[it.id] >= needed]
        waiting += [{"item": it.id, "competency": competency.title, "responses": counts[it.id]}
                    for it in pilots if counts[it.id] < needed]
        line: dict[str, Any] = {"competency": competency.title, "anchors": len(anchors),
                                "estimated": len(ready), "note": None}
        competencies.append(line)
        if not ready:
            continue
        if not anchors:
            line["note"] = (f"no calibrated {ANCHOR_MODEL.upper()} item to link its pilot items to; "
                            "they keep their provisional values")
            continue
        data = everything.select_items([*(it.id for it in anchors), *(it.id for it in ready)])
        try:
            result = calibrate(data, ANCHOR_MODEL,
                               anchors=ItemBank.from_items(it.parameters() for it in anchors))
        except AdaptiveError as err:
            line["note"] = f"could not be calibrated: {err}"
            continue
        line.update(population_mean=result.population_mean, population_sd=result.population_sd,
                    learners=len(data.learners), warnings=list(result.warnings))
        for it in ready:
            if it.id not in result.bank.ids:  # every answer the same: nothing to estimate from
                line["note"] = f"{it.id}: every answer scored the same; it cannot be estimated yet"
                continue
            j = result.bank.index(it.id)
            before = it.parameters()
            estimated.append({"item": it.id, "competency": competency.title, "responses": counts[it.id],
                              "a_before": before.a, "b_before": before.b,
                              "a": float(result.bank.a[j]), "b": float(result.bank.b[j]),
                              **result.standard_errors(it.id)})
    return {"min_responses": needed, "competencies": competencies, "items": estimated,
            "waiting": waiting}


def latest_report(session: Session, who: Principal, version_id: int) -> tuple[PackVersion, Job | None]:
    """The version and its newest recalibration job (finished or not), within ``who``'s institution."""
    version = scoped(session, PackVersion, version_id, who)
    jobs = session.scalars(select(Job).where(Job.kind == RECALIBRATION,
                                             Job.institution_id == who.institution_id)
                           .order_by(Job.id.desc()).limit(50))
    job = next((j for j in jobs if j.payload.get("pack_version_id") == version.id), None)
    return version, job
