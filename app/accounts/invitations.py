"""Invitation links: made by an institution's admins, used once to join it with a role.

A link holds a random secret; only its SHA-256 digest is stored, so the table cannot be turned back
into working links. A link works for ``INVITATION_DAYS`` days, once, unless it is revoked. One made for
an e-mail address (an admin added someone who had no account yet) only works for that address.
Signing up through a link joins a closed institution too; signing in and accepting joins it with an
existing account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.tokens import TokenExpired, TokenInvalid
from app.db import utcnow
from app.models import Invitation, Membership, Role, User

INVITATION_DAYS = 7
_RANK = {Role.LEARNER: 0, Role.INSTRUCTOR: 1, Role.ADMIN: 2}


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_invitation(session: Session, *, institution_id: int, role: Role, email: str | None,
                   created_by_id: int | None) -> str:
    """Add an invitation (no commit) and return its secret, the part of the link only it has."""
    secret = secrets.token_urlsafe(32)
    session.add(Invitation(institution_id=institution_id, role=role, email=email,
                           token_hash=_digest(secret), created_by_id=created_by_id,
                           expires_at=utcnow() + timedelta(days=INVITATION_DAYS)))
    return secret


@dataclass(frozen=True)
class PendingInvitation:
    """What an invitation link offers."""

    id: int
    institution: str
    institution_id: int
    role: Role
    email: str | None


def pending_invitation(session: Session, secret: str) -> PendingInvitation:
    """The invitation a link stands for; ``TokenError`` when it is unknown, used, revoked or expired."""
    found = session.scalar(select(Invitation).where(Invitation.token_hash == _digest(secret)))
    if found is None or found.revoked_at is not None:
        msg = "This invitation link is not valid (it may have been withdrawn). Ask for a new one."
        raise TokenInvalid(msg)
    if found.used_at is not None:
        msg = "This invitation was already used. Ask for a new one if you still need it."
        raise TokenInvalid(msg)
    if found.expires_at <= utcnow():
        msg = "This invitation has expired. Ask the institution for a new one."
        raise TokenExpired(msg)
    return PendingInvitation(found.id, found.institution.name, found.institution_id, found.role,
                             found.email)


def wrong_address(pending: PendingInvitation, email: str) -> str | None:
    """Why ``email`` cannot use an invitation made for another address, or None when it can."""
    if pending.email is None or pending.email == email:
        return None
    return (f"This invitation was sent to {pending.email}, so only that address can use it. Use it, "
            "or ask for an invitation to yours.")


def use_invitation(session: Session, pending: PendingInvitation, user: User) -> None:
    """Spend the invitation on ``user`` and make them a member with its role (no commit).

    The invitation is claimed by one conditional UPDATE, so two uses at once cannot both succeed. A
    member already keeps the higher of their role and the invitation's.
    """
    claimed = session.execute(
        update(Invitation).where(Invitation.id == pending.id, Invitation.used_at.is_(None),
                                 Invitation.revoked_at.is_(None))
        .values(used_at=utcnow(), used_by_id=user.id).returning(Invitation.id)).scalar()
    if claimed is None:
        msg = "This invitation was already used. Ask for a new one if you still need it."
        raise TokenInvalid(msg)
    membership = session.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.institution_id == pending.institution_id))
    if membership is None:
        session.add(Membership(user_id=user.id, institution_id=pending.institution_id, role=pending.role))
    elif _RANK[pending.role] > _RANK[membership.role]:
        membership.role = pending.role
