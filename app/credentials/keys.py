"""Each institution's Ed25519 signing keys, sealed at rest, made at its set-up and rotated on demand.

A private key is stored only sealed with NaCl's SecretBox (XSalsa20-Poly1305) under a key derived
from the instance's ``CREDENTIAL_KEY`` (an environment variable, or a file made once in the
instance folder), so a copy of the database alone signs nothing. Rotation retires the signing key
and makes a new one; retired keys stay, so credentials they signed still verify.

An institution's DID is ``did:web`` when the site has a public https address (``BASE_URL``), with its
DID document served by the app, and ``did:key`` otherwise (the embedded demo), which verifies with
nothing else. Its keys are known here under both.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import nacl.exceptions
import nacl.secret
import nacl.signing
import nacl.utils
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.credentials.proofs import did_document, did_key_method, did_web, multikey, public_key_of
from app.db import utcnow
from app.errors import ServiceError
from app.models import Institution, IssuerKey


class KeyUnavailable(ServiceError):
    """A sealed key cannot be opened: the instance's CREDENTIAL_KEY is not the one it was sealed with."""

    status = 500


@dataclass(frozen=True)
class SigningKey:
    """An opened signing key: the 32-byte Ed25519 seed, its public key and verification method."""

    private_key: bytes
    public_key: bytes
    verification_method: str

    @property
    def did(self) -> str:
        """The issuer's DID, which controls this key."""
        return self.verification_method.partition("#")[0]

    def issuer(self, name: str) -> dict[str, Any]:
        """The issuer's profile, as credentials signed with this key name it (its id: the key's DID)."""
        return {"id": self.did, "type": ["Profile"], "name": name}


def web_did(slug: str) -> str | None:
    """The institution's ``did:web`` when the site has a public https address (``BASE_URL``): its DID
    document is served at ``BASE_URL/issuers/<slug>/did.json``. None without one."""
    base = current_app.config.get("BASE_URL")
    return did_web(base, "issuers", slug) if base and base.startswith("https://") else None


def _methods(slug: str, public_key: bytes) -> list[str]:
    """The key's verification methods: under the institution's did:web (if any), then its did:key."""
    web = web_did(slug)
    return ([f"{web}#{multikey(public_key)}"] if web else []) + [did_key_method(public_key)]


def _box() -> nacl.secret.SecretBox:
    secret = str(current_app.config["CREDENTIAL_KEY"])
    return nacl.secret.SecretBox(hashlib.sha256(b"thetapath credential key\0" + secret.encode()).digest())


def make_signing_key(session: Session, institution_id: int) -> None:
    """Make an institution's first signing key at its set-up (flushed in the caller's transaction)."""
    _new_key(session, institution_id)


def seal(secret: bytes) -> bytes:
    """``secret`` encrypted and authenticated under the instance's ``CREDENTIAL_KEY`` (every private key
    the site keeps is stored only so: credential issuers', the LTI tool's)."""
    return bytes(_box().encrypt(secret))


def unseal(sealed: bytes) -> bytes:
    """What :func:`seal` sealed; KeyUnavailable when this instance's CREDENTIAL_KEY is another."""
    try:
        return bytes(_box().decrypt(sealed))
    except nacl.exceptions.CryptoError:
        msg = ("A signing key cannot be opened: this instance's CREDENTIAL_KEY is not the one it was "
               "sealed with. Restore the CREDENTIAL_KEY (environment or instance folder) that belongs to "
               "this database.")
        raise KeyUnavailable(msg) from None


def _new_key(session: Session, institution_id: int) -> IssuerKey:
    private = nacl.signing.SigningKey.generate()
    row = IssuerKey(institution_id=institution_id, public_key=multikey(bytes(private.verify_key)),
                    sealed_private_key=seal(bytes(private)))
    session.add(row)
    session.flush()
    return row


def signing_key(session: Session, institution_id: int) -> SigningKey:
    """The institution's current signing key (made at its set-up; for an institution made before keys
    were, made and flushed in the caller's transaction the first time it is needed). Its verification
    method is under the institution's did:web when the site has one, else its did:key."""
    row = session.scalar(select(IssuerKey).where(IssuerKey.institution_id == institution_id,
                                                 IssuerKey.retired_at.is_(None))
                         .order_by(IssuerKey.id.desc()).limit(1))
    if row is None:
        row = _new_key(session, institution_id)
    private = unseal(row.sealed_private_key)
    public = public_key_of(row.public_key)
    institution = session.get(Institution, institution_id)
    assert institution is not None  # the key's foreign key
    return SigningKey(private, public, _methods(institution.slug, public)[0])


def rotate(session: Session, institution_id: int) -> SigningKey:
    """Retire the institution's signing key and make a new one (one commit)."""
    for row in session.scalars(select(IssuerKey).where(IssuerKey.institution_id == institution_id,
                                                       IssuerKey.retired_at.is_(None))):
        row.retired_at = utcnow()
    _new_key(session, institution_id)
    key = signing_key(session, institution_id)
    session.commit()
    return key


def known_keys(session: Session, institution_id: int | None = None) -> dict[str, bytes]:
    """The public keys of this site's issuers (retired ones too) by verification method: each under
    its did:key and, when the site has a public https address, its institution's did:web."""
    query = select(IssuerKey.public_key, Institution.slug).join(
        Institution, Institution.id == IssuerKey.institution_id).order_by(IssuerKey.id.desc())
    if institution_id is not None:
        query = query.where(IssuerKey.institution_id == institution_id)
    known: dict[str, bytes] = {}
    for multibase, slug in session.execute(query):
        public = public_key_of(multibase)
        known.update(dict.fromkeys(_methods(slug, public), public))
    return known


def did_web_document(session: Session, institution: Institution) -> dict[str, Any] | None:
    """The institution's DID document (its keys, newest first, retired ones too, so what they signed
    still verifies), or None when the site has no did:web."""
    web = web_did(institution.slug)
    if web is None:
        return None
    return did_document(web, [public_key_of(k) for k in session.scalars(
        select(IssuerKey.public_key).where(IssuerKey.institution_id == institution.id)
        .order_by(IssuerKey.id.desc()))])
