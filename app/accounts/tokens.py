"""Signed, expiring, purpose-bound tokens for links sent by e-mail; stateless, no table.

A token is the payload (JSON, readable by whoever holds the link: never put a password or a secret
in it) signed with the app's SECRET_KEY and a salt per purpose, so a token made for one purpose
never verifies for another. Expiry uses the app's clock (``app.db.utcnow``).

Single use without a table: put a ``fingerprint`` of the state the action changes into the payload
(the password hash for a reset, the current e-mail for an e-mail change) and check it with
``require_fingerprint`` before acting; once the action changed that state, the link no longer works.

    token = make_token("password-reset", {"uid": user.id, "fp": fingerprint(user.password_hash)})
    data = read_token("password-reset", token, max_age=3600)   # TokenExpired / TokenInvalid
    require_fingerprint(data, user.password_hash)               # TokenInvalid once used
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from app.db import utcnow
from app.errors import ServiceError


class TokenError(ServiceError):
    """A link from an e-mail cannot be used; the message says why and what to do."""

    status = 400


class TokenExpired(TokenError):
    """The link is older than it may be."""


class TokenInvalid(TokenError):
    """The link was altered, cut short, made for something else, or already used."""


class _AppClockSigner(TimestampSigner):
    """Timestamps from the app's clock, so ``CLOCK_OFFSET_SECONDS`` ages links as it ages the rest."""

    def get_timestamp(self) -> int:
        return int(utcnow().timestamp())


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    if not purpose:
        msg = "a token needs a purpose"
        raise ValueError(msg)
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"thetapath.{purpose}",
                                  signer=_AppClockSigner)


def make_token(purpose: str, payload: dict[str, Any]) -> str:
    """A URL-safe token carrying ``payload`` (JSON-serialisable) for ``purpose``."""
    return _serializer(purpose).dumps(payload)


def read_token(purpose: str, token: str, max_age: int) -> dict[str, Any]:
    """The payload of a token made for ``purpose`` at most ``max_age`` seconds ago.

    Raises ``TokenExpired`` or ``TokenInvalid`` (altered, wrong purpose, not a token at all).
    """
    try:
        data = _serializer(purpose).loads(token, max_age=max_age)
    except SignatureExpired:
        msg = "This link has expired. Ask for a new one below."
        raise TokenExpired(msg) from None
    except BadSignature:
        msg = "This link is not valid: it may have been copied incompletely, or made for something else."
        raise TokenInvalid(msg) from None
    if not isinstance(data, dict):
        msg = "This link is not valid."
        raise TokenInvalid(msg)
    return data


def fingerprint(state: str) -> str:
    """A keyed digest of ``state`` to bind a token to it (reveals nothing about ``state``)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"thetapath.fingerprint:" + state.encode(), hashlib.sha256).hexdigest()[:32]


def require_fingerprint(payload: dict[str, Any], state: str, *, key: str = "fp") -> None:
    """Raise ``TokenInvalid`` unless ``payload[key]`` is the fingerprint of ``state`` (still unused)."""
    given = payload.get(key)
    if not isinstance(given, str) or not hmac.compare_digest(given, fingerprint(state)):
        msg = "This link has already been used, or something changed since it was sent."
        raise TokenInvalid(msg)
