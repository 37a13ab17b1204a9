"""SQLAlchemy models: persistence only. Imported together so Alembic sees every table."""

from __future__ import annotations

from .accounts import Institution, Membership, Role, User

__all__ = ["Institution", "Membership", "Role", "User"]
