"""Account services: one action, one commit."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Institution, Membership, Role, User

_hasher = PasswordHasher()
# verifying against this keeps the time of a wrong e-mail equal to a wrong password
_DUMMY_HASH = _hasher.hash("not-a-real-password")


class AccountError(ValueError):
    """A user-facing problem with an account action; the message says what to change."""


def normalise_email(email: str) -> str:
    """E-mail addresses are compared case-insensitively and without surrounding spaces."""
    return email.strip().lower()


def open_institutions(session: Session) -> list[Institution]:
    """Institutions that let anyone sign up as a learner."""
    return list(session.scalars(
        select(Institution).where(Institution.open_signup.is_(True)).order_by(Institution.name)))


def create_user(session: Session, *, name: str, email: str, password: str,
                institution: Institution, role: Role) -> User:
    """Create a user with one membership (no commit; the caller's action commits)."""
    email = normalise_email(email)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        msg = "An account with this e-mail address already exists. Sign in instead."
        raise AccountError(msg)
    user = User(name=name.strip(), email=email, password_hash=_hasher.hash(password))
    session.add(user)
    session.add(Membership(user=user, institution=institution, role=role))
    session.flush()
    return user


def sign_up(session: Session, *, name: str, email: str, password: str, institution_id: int) -> User:
    """Create a learner account in an open institution."""
    institution = session.get(Institution, institution_id)
    if institution is None or not institution.open_signup:
        msg = "That institution does not take sign-ups here. Ask it for an invitation."
        raise AccountError(msg)
    user = create_user(session, name=name, email=email, password=password,
                       institution=institution, role=Role.LEARNER)
    session.commit()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with these credentials, or None (same work either way)."""
    user: User | None = session.scalar(select(User).where(User.email == normalise_email(email)))
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, InvalidHashError):
        return None
    if user is None:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.commit()
    return user
