"""Institutions, users and the role a user holds in each institution."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow


class Role(enum.StrEnum):
    """What a user may do within one institution."""

    LEARNER = "learner"
    INSTRUCTOR = "instructor"
    ADMIN = "admin"


class Institution(Base):
    """A university, college or training provider; everything a learner does belongs to one."""

    __tablename__ = "institution"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    open_signup: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="institution")


class User(UserMixin, Base):
    """A person who signs in. Credentials are an Argon2id hash; e-mail is stored lower-cased."""

    __tablename__ = "user_account"
    __allow_unmapped__ = True  # session_token below is a plain attribute, not a column

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    # questions a day the learner chose to aim for (None: no goal); nothing happens when it is missed
    daily_goal: Mapped[int | None] = mapped_column()
    # a learner the demo simulated (no password, an address that takes no mail); analytics can tell
    simulated: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="user")

    # the sign-in this request belongs to (not stored here; see LoginSession). Flask-Login keeps
    # get_id() in the session and remember cookies, so a cookie names its sign-in and dies with it.
    session_token: str | None = None

    def get_id(self) -> str:
        """``"<user id>.<sign-in token>"``: a cookie is only as good as the sign-in it came from."""
        return f"{self.id}.{self.session_token}"


class LoginSession(Base):
    """One sign-in on one device. Signing out deletes it; "sign out everywhere" deletes them all.

    Only a SHA-256 of the token is stored, so the table cannot be used to sign in.
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ThrottleEvent(Base):
    """One counted event (a failed sign-in, a mail asked for) against one key, for rate limits.

    ``scope`` says what is counted and by what ("signin-address", "reset-email", ...); ``key_hash`` is
    a keyed digest of the address, e-mail or device, so the table lists no addresses. Rows older than
    the longest window are deleted as new ones are recorded.
    """

    __tablename__ = "throttle_event"
    __table_args__ = (Index("ix_throttle_event_scope_key", "scope", "key_hash", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(32))
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class Membership(Base):
    """A user's role in an institution (one row per pair)."""

    __tablename__ = "membership"
    __table_args__ = (UniqueConstraint("user_id", "institution_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16,
                                            values_callable=lambda e: [m.value for m in e]))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="memberships")
    institution: Mapped[Institution] = relationship(back_populates="memberships")


class Invitation(Base):
    """A link an admin made for someone to join their institution with a role; used once.

    Only a digest of the link's secret is stored. ``email`` is set when the admin added an address that
    had no account yet: the link went to it, and only an account with that address can use it.
    """

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16,
                                            values_callable=lambda e: [m.value for m in e]))
    email: Mapped[str | None] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    institution: Mapped[Institution] = relationship()
