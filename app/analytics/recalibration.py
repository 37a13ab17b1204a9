"""Recalibration of a pack version's pilot items from live responses: a report job, then approval
into a new parameter version, and rolling back to any earlier one.

The report is computed against the parameters in use (:func:`app.packstore.parameters_in_use`).
Each competency is calibrated on its own (its items measure its ability): marginal maximum
likelihood (``adaptive.calibrate``) with the competency's calibrated 2PL items held fixed as anchors,
which puts the new items on the scale the assessments already use and estimates the learners'
ability distribution too. A pilot item is estimated once it has ``RECALIBRATION_MIN_RESPONSES``
answers (first answers only, as everywhere in analytics); the report says how many the others have
and how many they need. Only 2PL anchors link for now: the engine holds anchors of one model at a
time, and the demo pack mixes 3PL, 2PL and GPCM items; answers to the others are left out of this fit.

The report also says, for each new item, its infit and outfit under the provisional parameters and
under the new ones (both against the learners' abilities from the new fit); how many learners'
mastery decisions would change if their finished attempts were scored with the new parameters (the
calibrated items then count); and, for each module whose competency sets an ``exposure_target``
and whose bank changes, Sympson–Hetter parameters derived by simulation on the new bank.

Approving writes a :class:`~app.models.ParameterVersion` in one transaction: the job writes nothing
but its report, so a worker killed mid-job leaves no partial version, and the unique job id makes two
approvals of one report a single version. New attempts use the version activated last; every
attempt keeps the one it started with.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from flask import current_app, url_for
from sqlalchemy import Text, cast, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from adaptive import AdaptiveError, ItemBank, PolicySettings, ResponseData, calibrate
from adaptive.calibration.scoring import eap_scores
from adaptive.integrity import EvidenceRules, batch_decisions
from adaptive.simulate import sympson_hetter_control
from adaptive.statistics import item_fit
from app.analytics.exports import first_scores
from app.analytics.services import FIT_RANGE, job_version, last_response_id
from app.authz import Principal, scoped
from app.db import begin_write, utcnow
from app.errors import NotFound, ServiceError
from app.jobs.services import JobContext, enqueue, job_kind
from app.models import Attempt, AttemptStatus, Job, JobStatus, PackVersion, ParameterVersion
from app.packstore import (
    content_of,
    pack_bank,
    parameters_digest,
    parameters_in_use,
    with_overrides,
)
from content import ContentPack
from content.policy import assessment_policy

RECALIBRATION = "recalibration"
ANCHOR_MODEL = "2pl"
# Sympson–Hetter simulation: simulated learners per round, and rounds (each simulated learner takes
# one test per round, about 5–15 ms)
SH_EXAMINEES = 250
SH_ROUNDS = 6
# an estimate is proposed only if it is plausible and pinned down: a discrimination in this range,
# and standard errors of a and b at most this
A_RANGE = (0.2, 4.0)
MAX_SE = 1.0


def _report_url(job: Job) -> str:
    return url_for("analytics.recalibration", version_id=job.payload["pack_version_id"])


def ask_recalibration(session: Session, who: Principal, version_id: int) -> Job:
    """An instructor asks for a recalibration report of a version (one commit); asking again before
    new answers arrive (or other parameters are put in use) returns the same job."""
    version = scoped(session, PackVersion, version_id, who)
    needed = int(current_app.config["RECALIBRATION_MIN_RESPONSES"])
    key = (f"{RECALIBRATION}:{version.id}:{last_response_id(session, version.id)}:"
           f"{parameters_in_use(session, version).id or 0}:{needed}")
    job = enqueue(session, RECALIBRATION, {"pack_version_id": version.id}, key=key,
                  institution_id=version.institution_id, created_by_id=who.user_id)
    session.commit()
    return job


def _misfit(infit: float | None, outfit: float | None) -> bool:
    return any(m is not None and not FIT_RANGE[0] <= m <= FIT_RANGE[1] for m in (infit, outfit))


def _unstable(a: float, se_a: float | None, se_b: float | None) -> bool:
    """An estimate the answers cannot pin down yet (typically too few answers, or all of one kind at
    each ability): it is reported, and it waits for more answers instead of being proposed."""
    return (not A_RANGE[0] <= a <= A_RANGE[1] or se_a is None or se_b is None
            or se_a > MAX_SE or se_b > MAX_SE)


def proposed_parameters(items: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The parameters a report proposes: its stable estimates, as a parameter version stores them."""
    return {e["item"]: {"model": ANCHOR_MODEL, "a": e["a"], "b": e["b"]}
            for e in items if not e.get("unstable")}


def _value(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


@job_kind(RECALIBRATION, "Recalibration", result_url=_report_url)
def _recalibrate(ctx: JobContext) -> Mapping[str, Any]:
    version = job_version(ctx, "it could be recalibrated")
    needed = int(current_app.config["RECALIBRATION_MIN_RESPONSES"])
    pack = content_of(ctx.session, version)
    base = parameters_in_use(ctx.session, version)
    bank, _items = pack_bank(ctx.session, version, base)
    base_row = ctx.session.get(ParameterVersion, base.id) if base.id is not None else None
    ctx.progress(5, "reading the responses")
    everything = first_scores(ctx.session, version)
    counts = Counter(dict(zip(everything.items, np.bincount(everything.item,
                                                            minlength=len(everything.items)).tolist(),
                              strict=True)))
    competencies, estimated, waiting = [], [], []
    for n, competency in enumerate(pack.competencies):
        ctx.progress(10 + 60 * n / len(pack.competencies), f"calibrating {competency.title}")
        params = [bank.item(bank.index(it.id)) for it in pack.items
                  if it.competency == competency.id and it.id in bank.ids]
        anchors = [p for p in params if not p.pilot and p.model == ANCHOR_MODEL]
        pilots = [p for p in params if p.pilot and p.n_categories == 2]
        ready = [p for p in pilots if counts[p.id] >= needed]
        waiting += [{"item": p.id, "competency": competency.title, "responses": counts[p.id]}
                    for p in pilots if counts[p.id] < needed]
        line: dict[str, Any] = {"competency": competency.title, "anchors": len(anchors),
                                "estimated": 0, "note": None}
        competencies.append(line)
        if not ready:
            continue
        if not anchors:
            line["note"] = (f"no calibrated {ANCHOR_MODEL.upper()} item to link its pilot items to; "
                            "they keep their provisional values")
            continue
        data = everything.select_items([*(p.id for p in anchors), *(p.id for p in ready)])
        try:
            result = calibrate(data, ANCHOR_MODEL, anchors=ItemBank.from_items(anchors))
        except AdaptiveError as err:
            line["note"] = f"could not be calibrated: {err}"
            continue
        line.update(population_mean=result.population_mean, population_sd=result.population_sd,
                    learners=len(data.learners), warnings=list(result.warnings))
        fitted = [p for p in ready if p.id in result.bank.ids]
        for p in ready:
            if p not in fitted:  # every answer the same: nothing to estimate from
                line["note"] = f"{p.id}: every answer scored the same; it cannot be estimated yet"
        if not fitted:
            continue
        line["estimated"] = len(fitted)
        data = data.select_items([*(p.id for p in anchors), *(p.id for p in fitted)])
        theta = eap_scores(result.bank, data).theta
        before = item_fit(data, ItemBank.from_items([*anchors, *fitted]), theta)
        after = item_fit(data, result.bank, theta)
        for p in fitted:
            j, k = result.bank.index(p.id), before.items.index(p.id)
            fit = {"infit_before": _value(before.infit[k]), "outfit_before": _value(before.outfit[k]),
                   "infit": _value(after.infit[k]), "outfit": _value(after.outfit[k])}
            errors = result.standard_errors(p.id)
            a, b = float(result.bank.a[j]), float(result.bank.b[j])
            estimated.append({"item": p.id, "competency": competency.title, "responses": counts[p.id],
                              "a_before": p.a, "b_before": p.b, "a": a, "b": b, **errors, **fit,
                              "misfit": _misfit(fit["infit"], fit["outfit"]),
                              "unstable": _unstable(a, errors["se_a"], errors["se_b"])})
    proposal = proposed_parameters(estimated)
    decisions: dict[str, Any] = {"attempts": 0, "learners": 0, "changes": {}}
    exposure: dict[str, Any] = {}
    exposure_notes: list[str] = []
    if proposal:
        overrides = {**(base_row.parameters if base_row else {}), **proposal}
        scored = [it for it in pack.items if it.max_score > 0]
        new_bank = with_overrides(scored, overrides)
        ctx.progress(70, "scoring finished attempts with the new parameters")
        decisions = _changed_decisions(ctx.session, version, pack.evidence, bank, new_bank, set(proposal))
        ctx.progress(85, "simulating exposure control")
        exposure, exposure_notes = _exposure_control(pack, new_bank, set(proposal), ctx.job.id)
    return {"min_responses": needed, "competencies": competencies, "items": estimated,
            "waiting": waiting, "decisions": decisions, "exposure": exposure,
            "exposure_notes": exposure_notes,
            "based_on": {"id": base.id, "number": base_row.number if base_row else 0}}


def _changed_decisions(session: Session, version: PackVersion, rules: EvidenceRules, old: ItemBank,
                       new: ItemBank, changed: set[str]) -> dict[str, Any]:
    """How many finished attempts (and learners) would end in another decision with ``new``.

    Each attempt that met a changed item is scored again with the parameters in use and with the new
    ones, by the same rules: its scored responses (every item operational in that bank), the EAP
    estimate under its own prior, the classification at its cut by its own rule (interval or SPRT),
    then the pack's evidence rules (:func:`adaptive.integrity.batch_decisions`); a flagged attempt
    stays flagged. So the difference is the parameters' alone. The attempts of one module share a
    policy, and are scored together.
    """
    assert old.ids == new.ids  # the same items, other parameters
    # only what is needed: the policy as stored text (attempts of a module share it), the responses
    rows = session.execute(select(Attempt.user_id, Attempt.flagged,
                                  cast(Attempt.policy, Text).label("policy"),
                                  Attempt.state["items"].label("items"),
                                  Attempt.state["scores"].label("scores"))
                           .where(Attempt.pack_version_id == version.id,
                                  Attempt.status == AttemptStatus.COMPLETED,
                                  Attempt.kind != "placement"))
    groups: dict[str, list[Any]] = {}
    for row in rows:
        if not changed.isdisjoint(row.items or ()):
            groups.setdefault(row.policy, []).append(row)
    index = {iid: j for j, iid in enumerate(old.ids)}
    attempts, learners = 0, set()
    changes: Counter[str] = Counter()
    for policy, group in groups.items():
        settings = PolicySettings.from_json(json.loads(policy))
        rule = settings.build().mastery
        if rule is None:
            continue
        person = np.repeat(np.arange(len(group)), [len(row.items) for row in group])
        item = np.fromiter((index[i] for row in group for i in row.items), dtype=np.intp,
                           count=person.size)
        score = np.fromiter((x for row in group for x in row.scores), dtype=np.intp, count=person.size)
        flagged = np.array([row.flagged for row in group], dtype=bool)
        before, after = (_decisions(bank, len(group), person, item, score, settings, rule, rules, flagged)
                         for bank in (old, new))
        for row, b, a in zip(group, before, after, strict=True):
            if b != a:
                attempts += 1
                learners.add(row.user_id)
                changes[f"{b} → {a}"] += 1
    return {"attempts": attempts, "learners": len(learners), "changes": dict(changes.most_common())}


def _decisions(bank: ItemBank, n_tests: int, person: Any, item: Any, score: Any,
               settings: PolicySettings, rule: Any, rules: EvidenceRules, flagged: Any) -> list[str]:
    """The credited decisions of ``n_tests`` tests from their responses (``item``: positions in
    ``bank``), counting those to items operational in ``bank``."""
    keep = ~bank.pilot[item]
    person, item, score = person[keep], item[keep], score[keep]
    data = ResponseData(tuple(map(str, range(n_tests))), bank.ids, person, item, score)
    estimates = eap_scores(bank, data, mean=settings.prior_mean, sd=settings.prior_sd)
    return batch_decisions(bank, person, item, score, estimates.theta, estimates.sd, rule, rules,
                           cut=settings.cut or 0.0, prior_sd=settings.prior_sd, flagged=flagged)


def _exposure_control(pack: ContentPack, bank: ItemBank, changed: set[str], seed: int,
                      ) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Sympson–Hetter parameters for each module whose bank changes and whose competency sets an
    exposure target, simulated on the new parameters (seeded by the job, so a rerun agrees), and
    notes on the modules where the target cannot be met.

    A test of up to ``max_items`` questions from ``n`` gives each question to ``max_items / n`` of
    the learners on average; a lower target could only be met by ending tests early for want of
    questions, which would cost precision and credit, so such a module keeps randomesque selection.
    """
    out: dict[str, dict[str, float]] = {}
    notes: list[str] = []
    for module in pack.modules:
        competency = pack.competency(module.competencies[0])
        target = competency.assessment.exposure_target
        files = set(module.item_files)
        ids = [it.id for it in pack.items if it.file in files and it.max_score > 0]
        if target is None or changed.isdisjoint(ids):
            continue
        module_bank = ItemBank.from_items(bank.item(bank.index(i)) for i in ids)
        operational = int((~module_bank.pilot).sum()) or len(ids)
        settings = assessment_policy(competency.assessment, operational, pack.evidence,
                                     exposure_control={})
        share = settings.max_items / operational
        if share > target:
            notes.append(f"{module.title}: its assessment asks up to {settings.max_items} of "
                         f"{operational} questions, so each is seen by {share:.0%} of learners on "
                         f"average, above the exposure target of {target:.0%}; it keeps drawing among "
                         "the most informative questions (add questions or lower max_items to meet "
                         "the target)")
            continue
        out[module.id] = sympson_hetter_control(
            module_bank, settings, float(target), np.random.default_rng([seed, len(out)]),
            n_examinees=SH_EXAMINEES, max_iterations=SH_ROUNDS)
    return out, notes


def latest_report(session: Session, who: Principal, version_id: int) -> tuple[PackVersion, Job | None]:
    """The version and its newest recalibration job (finished or not), within ``who``'s institution."""
    version = scoped(session, PackVersion, version_id, who)
    jobs = session.scalars(select(Job).where(Job.kind == RECALIBRATION,
                                             Job.institution_id == who.institution_id)
                           .order_by(Job.id.desc()).limit(50))
    job = next((j for j in jobs if j.payload.get("pack_version_id") == version.id), None)
    return version, job


def awaiting_approval(session: Session, who: Principal, version: PackVersion) -> int:
    """How many items the version's newest report proposes parameters for, if it waits for approval
    (finished, computed on the parameters in use, not approved); 0 otherwise."""
    _version, job = latest_report(session, who, version.id)
    if job is None or job.status is not JobStatus.DONE or not job.result:
        return 0
    if (job.result.get("based_on", {}).get("id") != parameters_in_use(session, version).id
            or approved_version(session, job) is not None):
        return 0
    return len(proposed_parameters(job.result.get("items", [])))


# ------------------------------------------------------------------------------ parameter versions
def parameter_versions(session: Session, version: PackVersion) -> tuple[list[ParameterVersion], int | None]:
    """A version's parameter versions, newest first, and the id of the one in use."""
    rows = list(session.scalars(select(ParameterVersion)
                                .where(ParameterVersion.pack_version_id == version.id)
                                .order_by(ParameterVersion.number.desc())))
    return rows, parameters_in_use(session, version).id


def approved_version(session: Session, job: Job) -> ParameterVersion | None:
    """The parameter version a report was approved into, if it was."""
    return session.scalar(select(ParameterVersion).where(ParameterVersion.job_id == job.id))


def approve(session: Session, who: Principal, version_id: int, job_id: int) -> ParameterVersion:
    """Approve a finished recalibration report into a new parameter version, in use at once.

    One transaction; approving a report that was approved already (two admins at once) returns the
    version it made. A report computed on parameters no longer in use is refused: its changes were
    measured against other parameters.
    """
    begin_write(session)
    version = scoped(session, PackVersion, version_id, who)
    job = session.get(Job, job_id)
    if (job is None or job.kind != RECALIBRATION or job.institution_id != who.institution_id
            or job.payload.get("pack_version_id") != version.id):
        msg = "There is no such recalibration report of this pack version."
        raise NotFound(msg)
    done = approved_version(session, job)
    if done is not None:
        return done
    report = job.result or {}
    proposal = proposed_parameters(report.get("items", []))
    if job.status is not JobStatus.DONE or not proposal:
        msg = "This report gives no new parameters, so there is nothing to approve."
        raise ServiceError(msg)
    rows, in_use = parameter_versions(session, version)
    based_on = report["based_on"]
    if based_on["id"] != in_use:
        now = next((r.number for r in rows if r.id == in_use), 0)
        msg = (f"This report was computed on parameter version {based_on['number']}, and version {now} "
               "is in use now. Recalibrate again and approve the new report.")
        raise ServiceError(msg)
    base = next((r for r in rows if r.id == in_use), None)
    if not rows:  # the pack's own parameters become version 0, so that a rollback can return to them
        session.add(ParameterVersion(
            pack_version_id=version.id, institution_id=version.institution_id, number=0,
            parameters={}, exposure={}, digest=parameters_digest({}, {}),
            summary={"note": "the parameters in the pack"}, activated_at=version.imported_at))
    parameters = {**(base.parameters if base else {}), **proposal}
    exposure = {**(base.exposure if base else {}), **report.get("exposure", {})}
    now_at = utcnow()
    row = ParameterVersion(
        pack_version_id=version.id, institution_id=version.institution_id,
        number=(rows[0].number if rows else 0) + 1, parameters=parameters, exposure=exposure,
        digest=parameters_digest(parameters, exposure), job_id=job.id, created_by_id=who.user_id,
        activated_by_id=who.user_id, created_at=now_at, activated_at=now_at,
        summary={"items": sorted(proposal),
                 "decisions": report.get("decisions", {}).get("attempts", 0),
                 "learners": report.get("decisions", {}).get("learners", 0)})
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        done = approved_version(session, job)
        if done is not None:  # the same report, approved by someone else at the same moment
            return done
        msg = ("Another recalibration of this pack version was approved at the same moment. Reload the "
               "page to see which parameters are in use now.")
        raise ServiceError(msg) from None
    return row


def use_version(session: Session, who: Principal, version_id: int, number: int) -> ParameterVersion:
    """Put an earlier (or later) parameter version back in use for new attempts (one commit)."""
    begin_write(session)
    version = scoped(session, PackVersion, version_id, who)
    row = session.scalar(select(ParameterVersion).where(ParameterVersion.pack_version_id == version.id,
                                                        ParameterVersion.number == number))
    if row is None:
        msg = f"This pack version has no parameter version {number}."
        raise NotFound(msg)
    row.activated_at = utcnow()
    row.activated_by_id = who.user_id
    session.commit()
    return row


def decision_words(changes: Mapping[str, int]) -> Sequence[str]:
    """The report's decision changes in words (``"mastered → undecided": 3`` …)."""
    words = {"mastered": "mastered", "not_mastered": "not mastered", "undecided": "undecided"}
    out = []
    for change, n in changes.items():
        before, after = change.split(" → ")
        out.append(f"{n} from {words.get(before, before)} to {words.get(after, after)}")
    return out
