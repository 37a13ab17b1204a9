"""Imported content packs: one row per pack and per version; the canonical archive is kept verbatim.

Learners' attempts and credentials refer to the exact version they studied, so versions are never
changed or deleted once imported. Item keys and parameters live only in the archive, server-side.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, utcnow


class Pack(Base):
    """A content pack as an institution knows it (its id inside the pack is ``slug``)."""

    __tablename__ = "pack"
    __table_args__ = (UniqueConstraint("institution_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    versions: Mapped[list[PackVersion]] = relationship(
        back_populates="pack", order_by="PackVersion.id")


class PackVersion(Base):
    """One imported version of a pack, with its canonical archive and content hash."""

    __tablename__ = "pack_version"
    __table_args__ = (UniqueConstraint("pack_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_id: Mapped[int] = mapped_column(ForeignKey("pack.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    archive: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    imported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # when it went live for learners (None: not live; an instructor previews it, then publishes)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    pack: Mapped[Pack] = relationship(back_populates="versions")
    modules: Mapped[list[ModuleRow]] = relationship(
        back_populates="pack_version", order_by="ModuleRow.position")


class ModuleRow(Base):
    """A module of a pack version, for the catalogue (its content comes from the cached pack)."""

    __tablename__ = "pack_module"
    __table_args__ = (UniqueConstraint("pack_version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_version_id: Mapped[int] = mapped_column(
        ForeignKey("pack_version.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    minutes: Mapped[int | None] = mapped_column(Integer)
    n_lessons: Mapped[int] = mapped_column(Integer, default=0)

    pack_version: Mapped[PackVersion] = relationship(back_populates="modules")


class PendingImport(Base):
    """An uploaded pack version waiting for its instructor to confirm it after seeing what changed.

    It holds the checked pack's canonical archive and nothing else is stored until the instructor
    confirms; discarded or confirmed rows are deleted, and rows older than a day are cleared.
    """

    __tablename__ = "pending_import"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    archive: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ParameterVersion(Base):
    """A set of item parameters for a pack version, approved from a recalibration report.

    Number 0 is the pack's own parameters (no overrides); it is written when the first report is
    approved, so that rolling back to it is one more activation. The version in use is the one
    activated last; every attempt keeps the one it started with, so it replays exactly. Rows are
    never changed after they are written, except for ``activated_at``. ``job_id`` is unique: a report
    approved twice (two admins at once) makes one version.
    """

    __tablename__ = "parameter_version"
    __table_args__ = (UniqueConstraint("pack_version_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pack_version_id: Mapped[int] = mapped_column(
        ForeignKey("pack_version.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    # {item id: {"model", "a", "b", "c" | "thresholds"}}: what differs from the pack's archive
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {module key: {item id: Sympson–Hetter k}} for the modules whose assessment has an exposure target
    exposure: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # SHA-256 of the canonical JSON of ``parameters`` and ``exposure``: what the item banks are cached by
    digest: Mapped[str] = mapped_column(String(64))
    # what the approval changed, as the report said (items, decisions that change)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("job.id", ondelete="SET NULL"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    activated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    activated_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"))
