"""The same credential as a VC-JWT: a compact JWS (EdDSA) whose payload is the credential itself with
the registered claims Open Badges 3.0 asks for (``integrity.md``, "VC-JWT"): ``iss`` its issuer's
id, ``jti`` its id, ``nbf`` its ``validFrom``, ``exp`` its ``validUntil`` if it has one and ``sub``
its subject's id if it has one. The header names the signing key (``kid``, a verification method).

Verification accepts EdDSA only (``alg: none`` and every other algorithm are refused before any
key is looked at), takes the key from the ``kid`` (a ``did:key``, or one of this site's issuers'),
requires that key to be the issuer's own, and checks that the claims agree with the credential.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app.credentials.proofs import ProofError, issuer_id, key_of, require_issuers_key

_CLAIMS = ("iss", "jti", "nbf", "exp", "sub", "iat")


def _seconds(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return None


def encode(credential: Mapping[str, Any], private_key: bytes, verification_method: str) -> str:
    """The VC-JWT of ``credential`` (its embedded proof, if any, left out), signed with the Ed25519
    seed ``private_key``."""
    body = {k: v for k, v in credential.items() if k != "proof"}
    claims: dict[str, Any] = {**body, "iss": issuer_id(body), "jti": body["id"],
                              "nbf": _seconds(body.get("validFrom"))}
    if body.get("validUntil") is not None:
        claims["exp"] = _seconds(body["validUntil"])
    subject = body.get("credentialSubject")
    if isinstance(subject, dict) and subject.get("id"):
        claims["sub"] = subject["id"]
    return jwt.encode(claims, Ed25519PrivateKey.from_private_bytes(private_key), algorithm="EdDSA",
                      headers={"kid": verification_method, "typ": "JWT"})


def decode(token: str, known: Mapping[str, bytes]) -> dict[str, Any]:
    """The credential in a VC-JWT, once its signature and claims hold; ProofError says what does not."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        msg = "it is not a well-formed JWT"
        raise ProofError(msg) from None
    if header.get("alg") != "EdDSA":
        msg = f"its JWT algorithm is {header.get('alg')!r}; only EdDSA is accepted"
        raise ProofError(msg)
    kid = header.get("kid")
    if not isinstance(kid, str):
        msg = "its JWT header names no key (kid)"
        raise ProofError(msg)
    key = Ed25519PublicKey.from_public_bytes(key_of(kid, known))
    try:
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=["EdDSA"],
            options={"verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False,
                     "require": ["iss", "jti", "nbf"]})
    except jwt.InvalidSignatureError:
        msg = ("its signature does not match its content: it was changed after it was signed, or "
               "signed with another key")
        raise ProofError(msg) from None
    except jwt.PyJWTError as err:
        msg = f"its JWT cannot be read: {err}"
        raise ProofError(msg) from None
    except RecursionError:
        msg = "its JWT payload is nested too deeply"
        raise ProofError(msg) from None
    credential = {k: v for k, v in claims.items() if k not in _CLAIMS}
    problems = []
    if claims["iss"] != issuer_id(credential):
        problems.append("iss is not its issuer's id")
    if claims["jti"] != credential.get("id"):
        problems.append("jti is not its id")
    if claims["nbf"] != _seconds(credential.get("validFrom")):
        problems.append("nbf is not its validFrom")
    if "exp" in claims and claims["exp"] != _seconds(credential.get("validUntil")):
        problems.append("exp is not its validUntil")
    if problems:
        msg = "its JWT claims disagree with the credential: " + "; ".join(problems)
        raise ProofError(msg)
    if issuer_id(credential) is None:
        msg = "it names no issuer"
        raise ProofError(msg)
    require_issuers_key(credential, kid)
    return credential
