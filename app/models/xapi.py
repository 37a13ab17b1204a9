"""xAPI statements Thetapath made, kept for export and for delivery to a learning record store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, utcnow


class XapiStatement(Base):
    """One xAPI 1.0.3 statement, with its id (deterministic, so resending it is harmless)."""

    __tablename__ = "xapi_statement"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    institution_id: Mapped[int] = mapped_column(
        ForeignKey("institution.id", ondelete="CASCADE"), index=True)
    pack_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("pack_version.id", ondelete="CASCADE"), index=True)
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
