"""Verifying an Open Badges 3.0 credential offline: what anyone can check without calling its issuer.

Input is treated as hostile. It may be at most ``MAX_BYTES``: a badge image (PNG or SVG) with a
credential baked in, or UTF-8 text: a credential's JSON (with its embedded proof), nested at most
``MAX_DEPTH`` deep and naming only the JSON-LD contexts known here (nothing is ever fetched), or a
VC-JWT (EdDSA only; :mod:`app.credentials.vcjwt`). It gets one verdict with a line per check:

- **format**: a W3C Verifiable Credential (VC 2.0 context first) that is an Open Badge
  (``OpenBadgeCredential`` or ``AchievementCredential``) with an issuer, a subject and ``validFrom``,
  or a CLR 2.0 transcript (``ClrCredential``) holding such credentials;
- **signature**: every eddsa-rdfc-2022 proof holds, signed by a key of the issuer itself (its
  verification method's controller is the issuer): a ``did:key``, or a key of this site's issuers;
- **validity**: ``validFrom`` has come and ``validUntil``, if any, has not passed;
- **status**: a credential that names a revocation list is looked up in this site's own lists
  (``status``, given by the caller); one whose list cannot be read here is not valid, since whether
  it was revoked cannot be told.

A transcript gets one more check per credential it holds (**credential 1**, **credential 2**, ...):
that credential's own verdict, with the same checks. The credential, or transcript, is valid only when
every check passes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.credentials import proofs, vcjwt
from app.credentials.images import unbake

MAX_BYTES = 1_000_000
MAX_DEPTH = 64
VC_V2 = "https://www.w3.org/ns/credentials/v2"
BADGE_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
CLR_TYPE = "ClrCredential"
_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
StatusLookup = Callable[[dict[str, Any]], "bool | None"]
"""Whether a credential is revoked, from a revocation list that can be read here (None: none can)."""


class Unreadable(ValueError):
    """The input is not a credential one can read at all (too large, not JSON, nested too deeply)."""


@dataclass(frozen=True)
class Check:
    """One check and its outcome, in plain words."""

    check: str
    ok: bool
    message: str


@dataclass(frozen=True)
class Verdict:
    """All the checks of one credential; valid only if every one passed."""

    checks: tuple[Check, ...]
    credential: dict[str, Any]

    @property
    def valid(self) -> bool:
        """Every check passed."""
        return all(c.ok for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        """``{valid, checks: [{check, ok, message}], credential}``."""
        return {"valid": self.valid,
                "checks": [{"check": c.check, "ok": c.ok, "message": c.message} for c in self.checks],
                "credential": self.credential}


def unreadable(err: Unreadable) -> dict[str, Any]:
    """The verdict, as JSON, on input that could not be read as a credential."""
    check = {"check": "read", "ok": False, "message": f"Not a credential: {err}."}
    return {"valid": False, "checks": [check], "credential": None}


def _depth(value: Any) -> int:
    """How deeply a JSON value nests (iteratively, so a hostile document cannot exhaust the stack)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            return deepest
        if isinstance(node, dict):
            todo += [(v, depth + 1) for v in node.values()]
        elif isinstance(node, list):
            todo += [(v, depth + 1) for v in node]
    return deepest


def read(data: bytes | str) -> dict[str, Any] | str:
    """The credential in ``data``: its JSON, or a VC-JWT as a string; Unreadable says why it cannot
    be read."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_BYTES:
        msg = f"it is larger than {MAX_BYTES:,} bytes, the most a credential here may be"
        raise Unreadable(msg)
    if raw.startswith(b"\x89PNG") or raw.lstrip()[:5] in (b"<svg ", b"<?xml"):
        baked = unbake(raw)
        if baked is None:
            msg = "it is an image without a credential baked in"
            raise Unreadable(msg)
        raw = baked.encode()
    try:
        text = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        msg = "it is not UTF-8 text"
        raise Unreadable(msg) from None
    if _JWT.fullmatch(text):
        return text
    try:
        document = json.loads(text)
    except RecursionError:
        msg = f"it is nested more than {MAX_DEPTH} levels deep"
        raise Unreadable(msg) from None
    except json.JSONDecodeError as err:
        msg = f"it is not JSON: {err.msg} at line {err.lineno}, column {err.colno}"
        raise Unreadable(msg) from None
    if not isinstance(document, dict):
        msg = "it is JSON, but not an object"
        raise Unreadable(msg)
    if _depth(document) > MAX_DEPTH:
        msg = f"it is nested more than {MAX_DEPTH} levels deep"
        raise Unreadable(msg)
    return document


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _is_transcript(document: Mapping[str, Any]) -> bool:
    types = document.get("type")
    return CLR_TYPE in (types if isinstance(types, list) else [types])


def _held(document: Mapping[str, Any]) -> list[Any]:
    """The credentials a transcript holds ([] if it holds none, or is not one)."""
    subject = document.get("credentialSubject")
    held = subject.get("verifiableCredential") if isinstance(subject, dict) else None
    return held if isinstance(held, list) else []


def _format(document: Mapping[str, Any]) -> Check:
    context, types = document.get("@context"), document.get("type")
    types = types if isinstance(types, list) else [types]
    problems = []
    if not isinstance(context, list) or not context or context[0] != VC_V2:
        problems.append(f"its @context must start with {VC_V2}")
    transcript = _is_transcript(document)
    if "VerifiableCredential" not in types or not (BADGE_TYPES | {CLR_TYPE}) & set(types):
        problems.append("its type must include VerifiableCredential and OpenBadgeCredential (or "
                        "ClrCredential, for a transcript)")
    if transcript and not _held(document):
        problems.append("it is a transcript (ClrCredential) that holds no credential")
    issuer = document.get("issuer")
    if not (isinstance(issuer, str) or (isinstance(issuer, dict) and isinstance(issuer.get("id"), str))):
        problems.append("it names no issuer")
    if not isinstance(document.get("credentialSubject"), dict):
        problems.append("it has no credential subject")
    if _when(document.get("validFrom")) is None:
        problems.append("it has no valid validFrom date")
    if problems:
        return Check("format", False, "Not an Open Badge: " + "; ".join(problems) + ".")
    if transcript:
        count = len(_held(document))
        return Check("format", True, f"A CLR 2.0 transcript holding {count} credential{'s' * (count != 1)}.")
    return Check("format", True, "An Open Badges 3.0 credential.")


def _signature(document: Mapping[str, Any], known: Mapping[str, bytes]) -> Check:
    try:
        proofs.verify(document, known)
    except proofs.ProofError as err:
        return Check("signature", False, f"The signature does not hold: {err}.")
    return Check("signature", True, f"Signed by its issuer, {_who(document)}, and unchanged since.")


def _who(document: Mapping[str, Any]) -> str:
    issuer = document.get("issuer")
    name = issuer.get("name") if isinstance(issuer, dict) else None
    return f"{name} ({proofs.issuer_id(document)})" if name else str(proofs.issuer_id(document))


def _validity(document: Mapping[str, Any], now: datetime) -> Check:
    start, end = _when(document.get("validFrom")), _when(document.get("validUntil"))
    if start is None:
        return Check("validity", False, "It has no validFrom date, so its validity cannot be told.")
    if start > now:
        return Check("validity", False, f"It is not valid yet: valid from {start:%Y-%m-%d}.")
    if document.get("validUntil") is not None and end is None:
        return Check("validity", False, "Its validUntil is not a date.")
    if end is not None and end <= now:
        return Check("validity", False, f"It has expired: valid until {end:%Y-%m-%d}.")
    return Check("validity", True, f"Valid since {start:%Y-%m-%d}" +
                 (f", until {end:%Y-%m-%d}." if end is not None else ", without an end date."))


def _status(document: dict[str, Any], status: StatusLookup | None) -> Check:
    if document.get("credentialStatus") is None:
        return Check("status", True, "It names no status list: its issuer cannot revoke it.")
    revoked = status(document) if status is not None else None
    if revoked is None:
        return Check("status", False, "It names a revocation list that cannot be read here, so whether it "
                                      "was revoked cannot be told.")
    if revoked:
        return Check("status", False, "Its issuer has revoked it.")
    return Check("status", True, "Not revoked: its issuer's revocation list says so.")


def verify_credential(presented: dict[str, Any] | str, known: Mapping[str, bytes] | None = None, *,
                      status: StatusLookup | None = None, now: datetime | None = None) -> Verdict:
    """Every check of :mod:`app.credentials.verify` on a credential that :func:`read` read (its JSON
    with an embedded proof, or a VC-JWT)."""
    now = now or datetime.now(UTC)
    if isinstance(presented, str):
        try:
            document = vcjwt.decode(presented, known or {})
        except proofs.ProofError as err:
            return Verdict((Check("signature", False, f"The signature does not hold: {err}."),), {})
        if _depth(document) > MAX_DEPTH:
            return Verdict((Check("format", False, f"Nested more than {MAX_DEPTH} levels deep."),), {})
        signature = Check("signature", True, f"Signed by its issuer, {_who(document)}, as a VC-JWT "
                                             "(EdDSA), and unchanged since.")
    else:
        document, signature = presented, None
    form = _format(document)
    if not form.ok:
        signature = Check("signature", False, "Not checked: it is not an Open Badge.")
    elif signature is None and _is_transcript(document) and "proof" not in document:
        signature = Check("signature", False, "This is a transcript's JSON form, which carries no proof "
                                              "of its own: verify its VC-JWT (the .jwt download).")
    checks = [form, signature or _signature(document, known or {}), _validity(document, now),
              _status(document, status)]
    if form.ok and _is_transcript(document):
        checks += [_held_check(n, held, known, status, now) for n, held in enumerate(_held(document), 1)]
    return Verdict(tuple(checks), document)


def _held_check(n: int, held: Any, known: Mapping[str, bytes] | None, status: StatusLookup | None,
                now: datetime) -> Check:
    """A transcript's n-th credential, checked on its own."""
    if not isinstance(held, (dict, str)):
        return Check(f"credential {n}", False, "Not a credential.")
    verdict = verify_credential(held, known, status=status, now=now)
    name = verdict.credential.get("name", "(no name)") if verdict.credential else "(unreadable)"
    if verdict.valid:
        return Check(f"credential {n}", True, f"{name}: valid (signature, validity and status hold).")
    return Check(f"credential {n}", False, f"{name}: not valid. " +
                 " ".join(c.message for c in verdict.checks if not c.ok))
