"""a pack version is live for learners once published; versions stored before stay live

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('pack_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE pack_version SET published_at = imported_at")


def downgrade() -> None:
    with op.batch_alter_table('pack_version', schema=None) as batch_op:
        batch_op.drop_column('published_at')
