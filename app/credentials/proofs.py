"""Data Integrity proofs with the ``eddsa-rdfc-2022`` cryptosuite, and ``did:key`` identifiers, offline.

A proof signs the SHA-256 of the proof options' canonical form followed by the SHA-256 of the
credential's (W3C VC Data Integrity EdDSA Cryptosuites v1.0, §3.3): each canonicalized with RDFC-1.0
(URDNA2015, by pyld) over the JSON-LD contexts the credential names. Those contexts come from npm at
set-up (``make setup`` writes ``contexts.json`` beside this file); a document naming any other
context is refused, so nothing is ever fetched. Keys are Ed25519 (PyNaCl); public keys are written as
Multikeys (``z6Mk…``: base58btc of the ed25519-pub multicodec prefix and the key), and a ``did:key``
is ``did:key:`` followed by its Multikey. A site with a public https address names its issuers by
``did:web`` instead, their DID documents (:func:`did_document`) served by the app.

Verification resolves the key of a proof's ``verificationMethod`` from ``did:key`` itself, or from
keys the caller knows (its own issuers'); an HTTP or ``did:web`` method is never dereferenced here.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import base58
import nacl.exceptions
import nacl.signing
from pyld import jsonld

CONTEXTS_FILE = Path(__file__).with_name("contexts.json")
CRYPTOSUITE = "eddsa-rdfc-2022"
_ED25519_PUB = b"\xed\x01"  # the multicodec prefix of an Ed25519 public key


class ProofError(ValueError):
    """A proof could not be made or does not hold; the message says why in plain words."""


@functools.cache
def _contexts() -> dict[str, Any]:
    try:
        contexts: dict[str, Any] = json.loads(CONTEXTS_FILE.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = (f"the JSON-LD contexts of Open Badges are not installed ({CONTEXTS_FILE} is missing): "
               "run `make setup`, which writes them from their npm packages")
        raise ProofError(msg) from None
    return contexts


def _load(url: str, _options: Any = None) -> dict[str, Any]:
    context = _contexts().get(url)
    if context is None:
        msg = (f"it names the JSON-LD context {url!r}, which is not one of the Open Badges and "
               "Verifiable Credentials contexts known here (contexts are never fetched)")
        raise ProofError(msg)
    return {"contextUrl": None, "documentUrl": url, "document": copy.deepcopy(context)}


def _cause(err: BaseException) -> ProofError | None:
    """The ProofError behind pyld's wrapping of a loader's exception, if there is one."""
    seen: set[int] = set()
    todo: list[Any] = [err]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ProofError):
            return e
        todo += [getattr(e, "cause", None), e.__cause__, e.__context__]
    return None


def canonical(document: Mapping[str, Any]) -> str:
    """The RDFC-1.0 canonical N-Quads of a JSON-LD document (its contexts known here, or refused)."""
    try:
        text: str = jsonld.normalize(dict(document), {"algorithm": "URDNA2015",
                                                      "format": "application/n-quads",
                                                      "documentLoader": _load})
    except jsonld.JsonLdError as err:
        cause = _cause(err)
        if cause is not None:
            raise cause from None
        msg = f"it is not valid JSON-LD: {err.message if hasattr(err, 'message') else err}"
        raise ProofError(msg) from None
    return text


def hash_data(document: Mapping[str, Any], proof: Mapping[str, Any]) -> bytes:
    """What an eddsa-rdfc-2022 proof signs: SHA-256(canonical proof options) ‖ SHA-256(canonical
    document), the document without its proofs and the options without the proof value."""
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    options["@context"] = document.get("@context")
    unsigned = {k: v for k, v in document.items() if k != "proof"}
    return (hashlib.sha256(canonical(options).encode()).digest()
            + hashlib.sha256(canonical(unsigned).encode()).digest())


def multikey(public_key: bytes) -> str:
    """An Ed25519 public key as a Multikey (``z6Mk…``)."""
    return "z" + base58.b58encode(_ED25519_PUB + public_key).decode("ascii")


def public_key_of(multibase: str) -> bytes:
    """The Ed25519 public key in a Multikey; ProofError if it is not one."""
    try:
        raw = base58.b58decode(multibase[1:]) if multibase.startswith("z") else b""
    except ValueError:
        raw = b""
    if raw[:2] != _ED25519_PUB or len(raw) != 34:
        msg = f"{multibase[:60]!r} is not an Ed25519 Multikey (z6Mk…)"
        raise ProofError(msg)
    return raw[2:]


def did_key(public_key: bytes) -> str:
    """The ``did:key`` of an Ed25519 public key."""
    return f"did:key:{multikey(public_key)}"


def did_key_method(public_key: bytes) -> str:
    """The verification method of a ``did:key``: the DID, ``#``, its Multikey."""
    return f"{did_key(public_key)}#{multikey(public_key)}"


def did_web(base_url: str, *path: str) -> str:
    """The ``did:web`` of the document at ``base_url``/``path``.../did.json (did:web method
    specification: the host, its port's colon written ``%3A``, then each path segment after a colon)."""
    parsed = urlsplit(base_url)
    if parsed.scheme != "https" or not parsed.hostname:
        msg = f"a did:web needs an https:// address, not {base_url!r}"
        raise ValueError(msg)
    segments = [quote(part, safe="") for part in (*parsed.path.split("/"), *path) if part]
    return ":".join(["did:web", parsed.netloc.replace(":", "%3A"), *segments])


def did_document(did: str, public_keys: list[bytes]) -> dict[str, Any]:
    """The DID document of ``did`` listing its Ed25519 keys as Multikeys, each a method for assertions."""
    methods = [{"id": f"{did}#{multikey(k)}", "type": "Multikey", "controller": did,
                "publicKeyMultibase": multikey(k)} for k in public_keys]
    return {"@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did, "verificationMethod": methods, "assertionMethod": [m["id"] for m in methods]}


def sign(document: Mapping[str, Any], private_key: bytes, verification_method: str,
         created: str) -> dict[str, Any]:
    """A copy of ``document`` with an eddsa-rdfc-2022 proof added (``proof`` is a list, as the Open
    Badges schema requires). ``private_key`` is the 32-byte Ed25519 seed; ``created`` an XML date-time."""
    proof = {"type": "DataIntegrityProof", "created": created,
             "verificationMethod": verification_method, "cryptosuite": CRYPTOSUITE,
             "proofPurpose": "assertionMethod"}
    signature = nacl.signing.SigningKey(private_key).sign(hash_data(document, proof)).signature
    proof["proofValue"] = "z" + base58.b58encode(signature).decode("ascii")
    return {**copy.deepcopy({k: v for k, v in document.items() if k != "proof"}), "proof": [proof]}


def issuer_id(document: Mapping[str, Any]) -> Any:
    """A credential's issuer id (``issuer`` is an id, or a profile with one); None if it has none."""
    issuer = document.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def require_issuers_key(document: Mapping[str, Any], verification_method: str) -> None:
    """ProofError unless the key belongs to the document's issuer (the method's controller is it)."""
    controller, issuer = verification_method.partition("#")[0], issuer_id(document)
    if issuer is not None and controller != issuer:
        msg = f"it is signed with a key of {controller!r}, not of its issuer {issuer!r}"
        raise ProofError(msg)


def key_of(verification_method: str, known: Mapping[str, bytes]) -> bytes:
    """The public key of a verification method: from a ``did:key`` itself, or one of ``known``."""
    if verification_method in known:
        return known[verification_method]
    if verification_method.startswith("did:key:"):
        did, _, fragment = verification_method.partition("#")
        key = public_key_of(did.removeprefix("did:key:"))
        if fragment and fragment != did.removeprefix("did:key:"):
            msg = f"the verification method {verification_method!r} names another key than its did:key"
            raise ProofError(msg)
        return key
    msg = (f"its key {verification_method!r} is not a did:key nor one of this site's issuers, and keys "
           "are never fetched from elsewhere")
    raise ProofError(msg)


def verify(document: Mapping[str, Any], known: Mapping[str, bytes] | None = None) -> None:
    """Check every eddsa-rdfc-2022 proof of ``document``; ProofError says what does not hold.

    A proof's key must belong to the document's issuer (its verification method's controller is the
    issuer), and a document without such a proof fails too: there is nothing to trust it by.
    """
    proofs = document.get("proof")
    proofs = proofs if isinstance(proofs, list) else [proofs] if isinstance(proofs, dict) else []
    ours = [p for p in proofs if isinstance(p, dict) and p.get("cryptosuite") == CRYPTOSUITE]
    if not ours:
        msg = f"it has no {CRYPTOSUITE} proof"
        raise ProofError(msg)
    for proof in ours:
        if proof.get("type") != "DataIntegrityProof" or proof.get("proofPurpose") != "assertionMethod":
            msg = "its proof is not a DataIntegrityProof for assertionMethod"
            raise ProofError(msg)
        method, value = proof.get("verificationMethod"), proof.get("proofValue")
        if not isinstance(method, str) or not isinstance(value, str) or not value.startswith("z"):
            msg = "its proof lacks a verification method or a base58btc proof value"
            raise ProofError(msg)
        require_issuers_key(document, method)
        key = key_of(method, known or {})
        signed = hash_data(document, proof)  # a ProofError of its own (an unknown context, say)
        try:
            signature = base58.b58decode(value[1:])
            nacl.signing.VerifyKey(key).verify(signed, signature)
        except (ValueError, nacl.exceptions.BadSignatureError):
            msg = ("its signature does not match its content: it was changed after it was signed, "
                   "or signed with another key")
            raise ProofError(msg) from None
