"""An institution's members: roles, removal, adding by e-mail, and invitation links (one commit each).

Rules that keep an institution runnable: it always keeps at least one admin (the last one can be
neither demoted nor removed), and an admin acts only on memberships of the institution they act in.
Invitation links themselves are ``app.accounts.invitations``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.invitations import (
    INVITATION_DAYS,
    PendingInvitation,
    new_invitation,
    pending_invitation,
    use_invitation,
    wrong_address,
)
from app.accounts.services import check_mail_budget, normalise_email
from app.authz import Principal, scoped
from app.db import utcnow
from app.errors import ServiceError
from app.mail import external_url, send_mail
from app.models import Institution, Invitation, Membership, Role, User

ROLE_WORDS = {Role.LEARNER: "learner", Role.INSTRUCTOR: "instructor", Role.ADMIN: "administrator"}


class MemberError(ServiceError):
    """A change to the members that would break a rule; the message says which and what to do."""


@dataclass(frozen=True)
class MemberRow:
    """A member as the members page lists them."""

    membership_id: int
    name: str
    email: str
    role: Role
    since: datetime
    is_you: bool


@dataclass(frozen=True)
class InvitationRow:
    """An invitation that can still be used."""

    id: int
    role: Role
    email: str | None
    expires_at: datetime


def members(session: Session, who: Principal) -> list[MemberRow]:
    """The institution's people (simulated learners left out), admins first, then by name."""
    rows = session.execute(
        select(Membership, User).join(User, User.id == Membership.user_id)
        .where(Membership.institution_id == who.institution_id, User.simulated.is_(False))).all()
    order = {Role.ADMIN: 0, Role.INSTRUCTOR: 1, Role.LEARNER: 2}
    return sorted((MemberRow(m.id, u.name, u.email, m.role, m.created_at, u.id == who.user_id)
                   for m, u in rows), key=lambda r: (order[r.role], r.name.lower(), r.membership_id))


def open_invitations(session: Session, who: Principal) -> list[InvitationRow]:
    """The institution's invitations that are neither used, revoked nor expired, newest first."""
    rows = session.scalars(select(Invitation).where(
        Invitation.institution_id == who.institution_id, Invitation.used_at.is_(None),
        Invitation.revoked_at.is_(None), Invitation.expires_at > utcnow()).order_by(Invitation.id.desc()))
    return [InvitationRow(i.id, i.role, i.email, i.expires_at) for i in rows]


def _admins(session: Session, institution_id: int) -> int:
    return session.scalar(select(func.count()).select_from(Membership).where(
        Membership.institution_id == institution_id, Membership.role == Role.ADMIN)) or 0


def _keeps_an_admin(session: Session, membership: Membership, what: str) -> None:
    if membership.role is Role.ADMIN and _admins(session, membership.institution_id) <= 1:
        msg = (f"{what} would leave the institution without an administrator. Make someone else an "
               "administrator first.")
        raise MemberError(msg)


def change_role(session: Session, who: Principal, membership_id: int, role_name: str) -> MemberRow:
    """Give a member another role, named by its value (one commit)."""
    membership = scoped(session, Membership, membership_id, who)
    try:
        role = Role(role_name)
    except ValueError:
        msg = "Choose one of the roles listed."
        raise MemberError(msg) from None
    if membership.role is not role:
        if role is not Role.ADMIN:
            _keeps_an_admin(session, membership, "That change")
        membership.role = role
        session.commit()
    user = membership.user
    return MemberRow(membership.id, user.name, user.email, membership.role, membership.created_at,
                     user.id == who.user_id)


def remove_member(session: Session, who: Principal, membership_id: int) -> MemberRow:
    """Take a member out of the institution (their account and their past work stay); who it was."""
    membership = scoped(session, Membership, membership_id, who)
    _keeps_an_admin(session, membership, "Removing them")
    user = membership.user
    row = MemberRow(membership.id, user.name, user.email, membership.role, membership.created_at,
                    user.id == who.user_id)
    session.delete(membership)
    session.commit()
    return row


def _new_invitation(session: Session, who: Principal, role: Role, email: str | None) -> str:
    return new_invitation(session, institution_id=who.institution_id, role=role, email=email,
                          created_by_id=who.user_id)


def create_invitation(session: Session, who: Principal, role: Role) -> str:
    """A new invitation link (to hand on by any means); the link itself is shown only now."""
    secret = _new_invitation(session, who, role, None)
    session.commit()
    return external_url("admin.join", token=secret)


def revoke_invitation(session: Session, who: Principal, invitation_id: int) -> None:
    """Make an unused invitation stop working (one commit)."""
    invitation = scoped(session, Invitation, invitation_id, who)
    if invitation.used_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        session.commit()


def add_by_email(session: Session, who: Principal, email: str, role: Role, *, address: str) -> str:
    """Add the person with ``email``, or invite the address when it has no account; what was done.

    Someone who has an account becomes a member at once and is told by mail; an address without an
    account gets an invitation link that only an account with that address can use.
    """
    email = normalise_email(email)
    institution = session.get(Institution, who.institution_id)
    assert institution is not None
    check_mail_budget(session, email, address)
    user = session.scalar(select(User).where(User.email == email, User.simulated.is_(False)))
    if user is not None:
        if session.scalar(select(Membership.id).where(Membership.user_id == user.id,
                                                      Membership.institution_id == who.institution_id)):
            msg = f"{user.name} is already a member; change their role in the list below."
            raise MemberError(msg)
        session.add(Membership(user_id=user.id, institution_id=who.institution_id, role=role))
        session.commit()
        send_mail(email, f"You were added to {institution.name} on Thetapath", (
            f"Hello {user.name},\n\nAn administrator of {institution.name} added you as "
            f"{ROLE_WORDS[role]}. Sign in to find it:\n{external_url('accounts.login')}\n\n"
            "If you have several institutions, choose the one you work in at the top of any page.\n"))
        return f"{user.name} is now a member, as {ROLE_WORDS[role]}, and was told by e-mail."
    secret = _new_invitation(session, who, role, email)
    session.commit()
    send_mail(email, f"An invitation to {institution.name} on Thetapath", (
        f"Hello,\n\nAn administrator of {institution.name} invites you to Thetapath as "
        f"{ROLE_WORDS[role]}. Open this link to create your account (it works for "
        f"{INVITATION_DAYS} days, once):\n{external_url('admin.join', token=secret)}\n\n"
        "If you do not know this institution, you can ignore this message.\n"))
    return f"{email} has no account yet: an invitation was sent to it."


def accept_invitation(session: Session, user: User, secret: str) -> PendingInvitation:
    """Join the invitation's institution with its role (one commit); the invitation is then used up."""
    pending = pending_invitation(session, secret)
    problem = wrong_address(pending, user.email)
    if problem is not None:
        raise MemberError(problem)
    use_invitation(session, pending, user)
    session.commit()
    return pending


def set_open_signup(session: Session, who: Principal, open_signup: bool) -> None:
    """Let anyone create a learner account in the institution, or only the invited (one commit)."""
    institution = session.get(Institution, who.institution_id)
    assert institution is not None  # the principal's membership guarantees it
    institution.open_signup = open_signup
    session.commit()
