"""Revocation: each institution's Bitstring Status List (W3C VC Bitstring Status List v1.0).

Every credential gets a bit at a random place in its institution's list of ``LIST_BITS`` bits (the
size the specification recommends, so that a list says little about any one holder); revoking it
sets the bit. The list is published as a signed ``BitstringStatusListCredential`` at
``/credentials/status/<institution>``: the bits gzipped, as multibase base64url (``u…``). Without a
``BASE_URL`` the list's id is a URN: this site's own verifier reads its lists from the database
either way, and a credential of another issuer whose list cannot be read here is reported as such.
"""

from __future__ import annotations

import base64
import gzip
import secrets
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.authz import Principal, scoped
from app.credentials import proofs
from app.credentials.documents import iso
from app.credentials.keys import signing_key
from app.db import begin_write, utcnow
from app.errors import ServiceError
from app.models import Credential, Institution

LIST_BITS = 131_072


def list_url(slug: str) -> str:
    """The id of an institution's revocation list."""
    base = current_app.config.get("BASE_URL")
    return f"{base}/credentials/status/{slug}" if base else f"urn:thetapath:status:{slug}"


def entry(slug: str, index: int) -> dict[str, Any]:
    """The ``credentialStatus`` of the credential at ``index`` of an institution's list."""
    url = list_url(slug)
    return {"id": f"{url}#{index}", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
            "statusListIndex": str(index), "statusListCredential": url}


def free_index(session: Session, institution_id: int) -> int:
    """A random place in the institution's list that no credential has yet."""
    taken = set(session.scalars(select(Credential.status_index).where(
        Credential.institution_id == institution_id, Credential.status_index.is_not(None))))
    if len(taken) >= LIST_BITS:
        msg = "This institution's revocation list is full."
        raise ServiceError(msg)
    while True:
        index = secrets.randbelow(LIST_BITS)
        if index not in taken:
            return index


def encode(revoked: set[int]) -> str:
    """The list's ``encodedList``: the bits (bit 0 the first, most significant, of the first byte),
    gzipped, as multibase base64url without padding."""
    bits = bytearray(LIST_BITS // 8)
    for index in revoked:
        bits[index // 8] |= 0x80 >> (index % 8)
    return "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bits), mtime=0)).decode().rstrip("=")


def decode(encoded: str) -> bytes:
    """The bits of an ``encodedList``."""
    raw = encoded[1:] if encoded.startswith("u") else encoded
    return gzip.decompress(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))


def is_set(bits: bytes, index: int) -> bool:
    """Whether the bit at ``index`` is set."""
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(session: Session, institution: Institution) -> dict[str, Any]:
    """The institution's signed revocation list, as of now (one commit if its key is made now)."""
    revoked = {i for i in session.scalars(select(Credential.status_index).where(
        Credential.institution_id == institution.id, Credential.revoked_at.is_not(None)))
               if i is not None}
    key = signing_key(session, institution.id)
    session.commit()
    url = list_url(institution.slug)
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": key.did,
        "validFrom": iso(utcnow()),
        "credentialSubject": {"id": f"{url}#list", "type": "BitstringStatusList",
                              "statusPurpose": "revocation", "encodedList": encode(revoked)},
    }
    return proofs.sign(document, key.private_key, key.verification_method, iso(utcnow()))


def revoke(session: Session, who: Principal, credential_id: str, reason: str) -> Credential:
    """Revoke a credential of the admin's institution, with a reason (one commit)."""
    begin_write(session)
    credential = scoped(session, Credential, credential_id, who)
    reason = " ".join(reason.split())
    if not reason:
        msg = "Say why the credential is revoked: the learner sees the reason."
        raise ServiceError(msg)
    if credential.revoked_at is None:
        credential.revoked_at = utcnow()
        credential.revoked_reason = reason[:500]
        credential.revoked_by_id = who.user_id
    session.commit()
    return credential


def revoked_here(session: Session, document: dict[str, Any]) -> bool | None:
    """For a credential issued here (found by its id and status entry): whether it is revoked. None for
    a credential that is not this site's."""
    status = document.get("credentialStatus")
    if not isinstance(status, dict):
        return None
    identifier = str(document.get("id", ""))
    credential_id = identifier.rsplit("/", 1)[-1].removeprefix("urn:uuid:")
    credential = session.get(Credential, credential_id) if len(credential_id) == 36 else None
    if credential is None or credential.status_index is None:
        return None
    institution = session.get(Institution, credential.institution_id)
    if institution is None or status != entry(institution.slug, credential.status_index):
        return None
    return credential.revoked_at is not None
