"""Rate limits kept in the database (table ``throttle_event``), so every app process sees the same counts.

A ``Limit`` allows ``count`` events per ``window`` for one key (a client address, an e-mail, a device).
``check`` raises ``Throttled`` (HTTP 429, with how long to wait) before any costly work is done; ``record``
adds events in one statement and one commit, and deletes rows older than ``RETENTION``.
Keys are stored as a keyed digest, never in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.errors import ServiceError
from app.models import ThrottleEvent

# every window is shorter than this; older rows count for nothing and are deleted
RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    """At most ``count`` events per ``window`` for one key of this ``scope``."""

    scope: str
    count: int
    window: timedelta


class Throttled(ServiceError):
    """Too many attempts; ``retry_after`` is the wait in seconds (sent as a Retry-After header)."""

    status = 429

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _digest(key: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"thetapath.throttle:" + key.encode(), hashlib.sha256).hexdigest()


def wait_seconds(session: Session, limit: Limit, key: str) -> int:
    """Seconds until ``key`` may act again under ``limit``; 0 while it is under the limit."""
    now = utcnow()
    recent = session.scalars(
        select(ThrottleEvent.created_at)
        .where(ThrottleEvent.scope == limit.scope, ThrottleEvent.key_hash == _digest(key),
               ThrottleEvent.created_at > now - limit.window)
        .order_by(ThrottleEvent.created_at.desc())
        .limit(limit.count)).all()
    if len(recent) < limit.count:
        return 0
    # once the oldest of the last ``count`` events leaves the window, one more is allowed
    return max(1, math.ceil((recent[-1] + limit.window - now).total_seconds()))


def describe_wait(seconds: int) -> str:
    """``"3 minutes"``, ``"1 minute"``: waits are told in whole minutes, rounded up."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def check(session: Session, limit: Limit, key: str, message: str) -> None:
    """Raise ``Throttled`` when ``key`` is over ``limit``; ``message`` may use ``{wait}``."""
    seconds = wait_seconds(session, limit, key)
    if seconds:
        raise Throttled(message.format(wait=describe_wait(seconds)), seconds)


def record(session: Session, *events: tuple[Limit, str]) -> None:
    """Count one event for each ``(limit, key)`` and drop expired rows (one commit)."""
    now = utcnow()
    session.execute(delete(ThrottleEvent).where(ThrottleEvent.created_at < now - RETENTION))
    if events:
        session.execute(insert(ThrottleEvent), [
            {"scope": limit.scope, "key_hash": _digest(key), "created_at": now} for limit, key in events])
    session.commit()


def forget(session: Session, limit: Limit, key: str) -> None:
    """Drop the events of ``key`` under ``limit`` (no commit; part of the caller's action)."""
    session.execute(delete(ThrottleEvent).where(ThrottleEvent.scope == limit.scope,
                                                ThrottleEvent.key_hash == _digest(key)))
