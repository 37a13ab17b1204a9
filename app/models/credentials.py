"""Credentials: issuers' signing keys (an Ed25519 key pair per institution, the private half sealed) and
the credentials issued."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class IssuerKey(Base):
    """One signing key of an institution. The newest key not retired signs; retired keys stay, so
    that what they signed still verifies. The private key is stored only sealed (encrypted and
    authenticated with the instance's ``CREDENTIAL_KEY``), never in plain text."""

    __tablename__ = "issuer_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    public_key: Mapped[str] = mapped_column(String(64), unique=True)  # a Multikey, z6Mk...
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Credential(Base):
    """An issued Open Badges 3.0 credential: the signed document, exactly as issued.

    One per learner, pack version and credential rule (the unique constraint makes a retried issuance
    store it once).
    """

    __tablename__ = "credential"
    __table_args__ = (UniqueConstraint("user_id", "pack_version_id", "rule"),
                      UniqueConstraint("institution_id", "status_index"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # a UUID, also in the document's id
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    pack_version_id: Mapped[int] = mapped_column(
        ForeignKey("pack_version.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(64))  # the pack's credential id
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    # the same credential as a VC-JWT, signed at issuance with the same key
    jwt: Mapped[str | None] = mapped_column(Text)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # its bit in the institution's revocation list (BitstringStatusList), drawn at random
    status_index: Mapped[int | None] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
