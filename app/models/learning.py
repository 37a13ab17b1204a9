"""What learners do: lesson progress, adaptive attempts and every response, stored for exact replay."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow


class AttemptStatus(enum.StrEnum):
    """Where an attempt stands."""

    ACTIVE = "active"
    COMPLETED = "completed"


class LessonVisit(Base):
    """A learner opened a lesson (progress per module)."""

    __tablename__ = "lesson_visit"
    __table_args__ = (UniqueConstraint("user_id", "module_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    module_id: Mapped[int] = mapped_column(ForeignKey("pack_module.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Attempt(Base):
    """One adaptive assessment of a module: the engine's state, policy and seed make it replayable."""

    __tablename__ = "attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    # the module assessed; None for a placement test, which covers the whole pack version
    module_id: Mapped[int | None] = mapped_column(
        ForeignKey("pack_module.id", ondelete="CASCADE"), index=True)
    pack_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("pack_version.id", ondelete="CASCADE"), index=True)
    competency: Mapped[str] = mapped_column(String(64))
    # the item parameters it runs on (None: the pack's own); kept so that it replays exactly
    parameter_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("parameter_version.id", ondelete="CASCADE"))
    # "assessment" (after study), "testout" (prior learning), "review" or "placement"
    kind: Mapped[str] = mapped_column(String(16), default="assessment", server_default="assessment")
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int] = mapped_column(Integer)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[AttemptStatus] = mapped_column(
        Enum(AttemptStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=AttemptStatus.ACTIVE)
    # the token of the item on screen: a submit must carry it, so a resubmission cannot score twice
    pending_token: Mapped[str | None] = mapped_column(String(64))
    presented_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    theta: Mapped[float | None] = mapped_column(Float)
    se: Mapped[float | None] = mapped_column(Float)
    stop_reason: Mapped[str | None] = mapped_column(String(32))
    mastery: Mapped[str | None] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # a random secret per attempt: the option ids a learner's browser sees are derived from it, so
    # they carry neither the authored order nor the shuffled one (see app.assess.services)
    option_salt: Mapped[str | None] = mapped_column(String(32))
    # adaptive.integrity.CreditDecision.to_json() of a finished attempt: credited or not, and why
    credit: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the response pattern fits no ability (person fit): never credited; instructors see the flag
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    person_fit: Mapped[float | None] = mapped_column(Float)

    responses: Mapped[list[Response]] = relationship(
        back_populates="attempt", order_by="Response.position")


class Response(Base):
    """One answer: what was given, its score, and the estimate after it."""

    __tablename__ = "response"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),
                      UniqueConstraint("attempt_id", "token"))

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempt.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    item: Mapped[str] = mapped_column(String(64))
    answer: Mapped[Any] = mapped_column(JSON)
    score: Mapped[int] = mapped_column(Integer)
    max_score: Mapped[int] = mapped_column(Integer)
    pilot: Mapped[bool] = mapped_column(default=False)
    theta: Mapped[float] = mapped_column(Float)
    se: Mapped[float] = mapped_column(Float)
    seconds: Mapped[float | None] = mapped_column(Float)
    token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    attempt: Mapped[Attempt] = relationship(back_populates="responses")


class AbilityRecord(Base):
    """A learner's estimate of one competency at one moment; the rows over time are its history."""

    __tablename__ = "ability_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    pack_version_id: Mapped[int] = mapped_column(
        ForeignKey("pack_version.id", ondelete="CASCADE"), index=True)
    competency: Mapped[str] = mapped_column(String(64))
    theta: Mapped[float] = mapped_column(Float)
    se: Mapped[float] = mapped_column(Float)
    mastery: Mapped[str | None] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="assessment", server_default="assessment")
    cut: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    items: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempt.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PathDecisionRecord(Base):
    """A path decision shown to a learner, with every input it was computed from (for exact replay)."""

    __tablename__ = "path_decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    pack_version_id: Mapped[int] = mapped_column(
        ForeignKey("pack_version.id", ondelete="CASCADE"), index=True)
    # adaptive.pathing.PathDecision.to_json(): every input and the ranked output
    decision: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
