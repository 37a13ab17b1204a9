"""Issuing credentials without a manual step: a job per credited mastery decision.

When an attempt ends in a credited mastery (``app.assess``), a ``credentials`` job is asked for in the
same transaction. It reads the learner's latest evidence per competency of the pack version (the
learner model's own rule: the latest decision counts), finds the credentials whose rules that
evidence meets (``ContentPack.earned_credentials``: parts before the stacks built on them), and, in
the job's finishing transaction, signs and stores each one not issued yet. Signing happens there
too, so a worker that dies before the end leaves nothing, and the retry issues each credential once
(the unique learner, version and rule makes a second store impossible).

Only credited decisions count: an attempt that did not meet the evidence rules (too few questions,
too imprecise at the cut, answers that fit no consistent level) is never ``mastered`` in the
learner's evidence, so it cannot earn a credential.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import xapi
from app.authz import Principal
from app.credentials import proofs, vcjwt
from app.credentials.documents import MeasuredCompetency, achievement_credential, iso
from app.credentials.keys import signing_key
from app.credentials.status import entry, free_index
from app.db import utcnow
from app.jobs.services import JobContext, JobError, enqueue, job_kind
from app.models import AbilityRecord, Credential, Institution, Job, PackVersion, User
from app.packstore import content_of

CREDENTIALS = "credentials"


def request_credentials(session: Session, user_id: int, version: PackVersion, reason: str) -> Job:
    """Ask for the learner's credentials of ``version`` to be issued where earned (in the caller's
    transaction); ``reason`` (an attempt id, say) makes asking twice for the same cause one job."""
    return enqueue(session, CREDENTIALS, {"user_id": user_id, "pack_version_id": version.id},
                   key=f"{CREDENTIALS}:{user_id}:{version.id}:{reason}",
                   institution_id=version.institution_id)


def latest_evidence(session: Session, user_id: int, version_id: int) -> dict[str, AbilityRecord]:
    """The learner's latest evidence per competency of a version (what the learner model decides by)."""
    latest: dict[str, AbilityRecord] = {}
    for record in session.scalars(select(AbilityRecord).where(
            AbilityRecord.user_id == user_id, AbilityRecord.pack_version_id == version_id)
            .order_by(AbilityRecord.created_at, AbilityRecord.id)):
        latest[record.competency] = record
    return latest


def credential_url(credential_id: str) -> str:
    """The credential's id: its public page under BASE_URL, or a URN without one."""
    base = current_app.config.get("BASE_URL")
    return f"{base}/credentials/{credential_id}" if base else f"urn:uuid:{credential_id}"


@job_kind(CREDENTIALS, "Credentials")
def _issue(ctx: JobContext) -> Mapping[str, Any]:
    user = ctx.session.get(User, ctx.payload["user_id"])
    version = ctx.session.get(PackVersion, ctx.payload["pack_version_id"])
    if user is None or version is None:
        msg = "The learner or the pack version was deleted before the credentials could be issued."
        raise JobError(msg)
    institution = ctx.session.get(Institution, version.institution_id)
    assert institution is not None  # the foreign key guarantees it
    pack = content_of(ctx.session, version)
    evidence = latest_evidence(ctx.session, user.id, version.id)
    mastered = {c: record.se for c, record in evidence.items() if record.mastery == "mastered"}
    earned = pack.earned_credentials(mastered)
    issued = set(ctx.session.scalars(select(Credential.rule).where(
        Credential.user_id == user.id, Credential.pack_version_id == version.id)))
    todo = [r for r in earned if r not in issued]
    measured = {c: MeasuredCompetency(c, r.theta, r.se, r.cut, len(r.items), r.created_at, r.source)
                for c, r in evidence.items()}
    rules = {r.id: r for r in pack.credentials}
    user_id, email, version_id, institution_id = user.id, user.email, version.id, institution.id
    issuer_name, slug = institution.name, institution.slug

    def store(s: Session) -> None:
        made: dict[str, dict[str, Any]] = {}
        for rule_id in todo:
            if s.scalar(select(Credential.id).where(  # issued meanwhile by another job
                    Credential.user_id == user_id, Credential.pack_version_id == version_id,
                    Credential.rule == rule_id)) is not None:
                continue
            rule = rules[rule_id]
            key = signing_key(s, institution_id)
            credential_id = str(uuid.uuid4())
            index = free_index(s, institution_id)
            now = utcnow()
            document = achievement_credential(
                credential_id=credential_url(credential_id),
                issuer=key.issuer(issuer_name),
                institution=slug, pack=pack, rule=rule, measured=[measured[c] for c in rule.competencies],
                email=email, salt=secrets.token_hex(16), issued_at=now)
            parts = [made[p] if p in made else _stored(s, user_id, version_id, p) for p in rule.credentials]
            document["credentialStatus"] = entry(slug, index)
            document["evidence"] += [{"id": part["id"], "type": ["Evidence"], "name": part["name"],
                                      "narrative": f"The credential {part['name']}, issued on "
                                                   f"{part['validFrom'][:10]}, is part of this one."}
                                     for part in parts]
            signed = proofs.sign(document, key.private_key, key.verification_method, iso(now))
            token = vcjwt.encode(document, key.private_key, key.verification_method)
            s.add(Credential(id=credential_id, institution_id=institution_id, user_id=user_id,
                             pack_version_id=version_id, rule=rule_id, document=signed, jwt=token,
                             issued_at=now, status_index=index,
                             valid_until=(now + timedelta(days=rule.expires_after_days)
                                          if rule.expires_after_days is not None else None)))
            s.flush()
            made[rule_id] = signed
            version_row = s.get(PackVersion, version_id)
            assert version_row is not None  # read in this job; versions are never deleted
            xapi.earned(s, user_id, version_row, rule_id, rule.title, signed["id"])

    if todo:
        ctx.then(store)
    return {"earned": list(earned), "issued": todo}


def _stored(session: Session, user_id: int, version_id: int, rule_id: str) -> dict[str, Any]:
    document = session.scalar(select(Credential.document).where(
        Credential.user_id == user_id, Credential.pack_version_id == version_id, Credential.rule == rule_id))
    if document is None:
        msg = f"the part {rule_id!r} of a stacked credential was not issued"
        raise JobError(msg)
    return dict(document)


def credentials_of(session: Session, user_id: int) -> list[Credential]:
    """A learner's credentials, newest first."""
    return list(session.scalars(select(Credential).where(Credential.user_id == user_id)
                                .order_by(Credential.issued_at.desc())))


def issued_credentials(session: Session, who: Principal) -> list[tuple[Credential, User]]:
    """The credentials ``who``'s institution issued, newest first, with their learners."""
    return [(row[0], row[1]) for row in session.execute(
        select(Credential, User).join(User, User.id == Credential.user_id)
        .where(Credential.institution_id == who.institution_id)
        .order_by(Credential.issued_at.desc()))]
