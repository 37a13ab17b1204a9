"""A learner's transcript: a CLR 2.0 ``ClrCredential`` of every credential one institution issued them.

The transcript bundles the learner's Open Badges credentials from the institution (revoked ones left
out) as they were issued, each with its own eddsa-rdfc-2022 proof, so each still verifies on its own;
lists their achievements; and links each part of a stacked credential to the stack (an ``isPartOf``
association). It is made on demand, dated now, and signed by the institution as a VC-JWT (EdDSA), the
CLR 2.0 proof format that needs no JSON-LD processing: the CLR 2.0 context is published by 1EdTech
only on its own site, which nothing here may fetch, and a Data Integrity proof over terms that cannot
be expanded would sign nothing. The JSON form is the same credential, to read; its achievements carry
their own proofs, and the JWT is the transcript's.

Verification (:mod:`app.credentials.verify`) checks the JWT and then every credential inside.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.credentials import vcjwt
from app.credentials.documents import identity, iso
from app.credentials.issuance import credentials_of
from app.credentials.keys import signing_key
from app.db import utcnow
from app.models import Credential, Institution, User

CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
CONTEXTS = ["https://www.w3.org/ns/credentials/v2", CLR_CONTEXT,
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]


def transcript_credentials(session: Session, user_id: int, institution_id: int) -> list[Credential]:
    """What a transcript holds: the learner's credentials from the institution, not revoked, oldest first."""
    return [c for c in reversed(credentials_of(session, user_id))
            if c.institution_id == institution_id and c.revoked_at is None]


def clr_credential(*, credentials: list[dict[str, Any]], issuer: dict[str, Any], learner: dict[str, Any],
                   name: str, issued_at: datetime) -> dict[str, Any]:
    """The unsigned ``ClrCredential`` of the signed ``credentials``; ``learner`` is the subject's
    identity object."""
    achievements = {c["credentialSubject"]["achievement"]["id"]: c["credentialSubject"]["achievement"]
                    for c in credentials}
    associations = [{"type": "Association", "associationType": "isPartOf", "sourceId": part["id"],
                     "targetId": whole["id"]}
                    for whole in achievements.values() for part in whole.get("related", [])
                    if part["id"] in achievements]
    subject: dict[str, Any] = {"type": ["ClrSubject"], "identifier": [learner],
                               "achievement": list(achievements.values()),
                               "verifiableCredential": credentials}
    if associations:
        subject["association"] = associations
    return {"@context": list(CONTEXTS), "id": f"urn:uuid:{uuid.uuid4()}",
            "type": ["VerifiableCredential", "ClrCredential"], "name": name,
            "description": f"Every credential {issuer['name']} has issued to this learner and not revoked, "
                           "each with its own proof.",
            "issuer": issuer, "validFrom": iso(issued_at), "awardedDate": iso(issued_at),
            "credentialSubject": subject}


def transcript(session: Session, user: User, institution: Institution) -> tuple[dict[str, Any], str] | None:
    """The learner's signed transcript from the institution, as JSON and as its VC-JWT (None when the
    institution has issued them nothing that stands)."""
    held = transcript_credentials(session, user.id, institution.id)
    if not held:
        return None
    key = signing_key(session, institution.id)
    document = clr_credential(
        credentials=[c.document for c in held], issuer=key.issuer(institution.name),
        learner=identity(user.email, secrets.token_hex(16)),
        name=f"Comprehensive Learner Record from {institution.name}", issued_at=utcnow())
    return document, vcjwt.encode(document, key.private_key, key.verification_method)
