"""Credential issuers' signing keys: an Ed25519 key pair per institution, the private half sealed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
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
