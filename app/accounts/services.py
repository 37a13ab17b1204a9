"""Account services: one action, one commit."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.models import Institution, LoginSession, Membership, Role, User

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


# ------------------------------------------------------------------------------ sign-in sessions
def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user: User) -> User:
    """Record a new sign-in for ``user`` and attach its token (one commit); pass the user to
    ``login_user`` next, so the cookies name this sign-in."""
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(user_id=user.id, token_hash=_digest(token)))
    session.commit()
    user.session_token = token
    return user


def session_user(session: Session, ident: str) -> User | None:
    """The user of a cookie's ``"<user id>.<token>"``, while that sign-in still exists."""
    user_id, _, token = ident.partition(".")
    if not (user_id.isdigit() and token):
        return None
    alive = session.scalar(select(LoginSession.id).where(
        LoginSession.user_id == int(user_id), LoginSession.token_hash == _digest(token)))
    if alive is None:
        return None
    user = session.get(User, int(user_id))
    if user is not None:
        user.session_token = token
    return user


def end_session(session: Session, user: User) -> None:
    """Sign out this device: its cookies stop working, copied or not (one commit)."""
    if user.session_token:
        session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                   LoginSession.token_hash == _digest(user.session_token)))
        session.commit()


def end_all_sessions(session: Session, user: User) -> int:
    """Sign out every device of ``user``; returns how many sign-ins ended (one commit)."""
    ended = len(session.scalars(select(LoginSession.id).where(LoginSession.user_id == user.id)).all())
    session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))
    session.commit()
    return ended
