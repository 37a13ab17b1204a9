"""Alembic environment: runs on the connection that app.migrate hands over (online mode only)."""

from __future__ import annotations

from alembic import context

from app import models  # noqa: F401  (registers every table on Base.metadata)
from app.db import Base, UTCDateTime

connection = context.config.attributes.get("connection")
if connection is None:
    msg = "run migrations through 'thetapath db upgrade' (app.migrate), which supplies the connection"
    raise RuntimeError(msg)



def render_item(kind: str, obj: object, autogen_context: object) -> str | bool:
    """Render our column types as plain SQLAlchemy types in migration files."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


context.configure(
    connection=connection,
    render_item=render_item,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copy; constraint names come from the convention
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
