"""sign-in and mail throttling: one row per counted event, keyed by a digest

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'throttle_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=32), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('throttle_event', schema=None) as batch_op:
        batch_op.create_index('ix_throttle_event_scope_key', ['scope', 'key_hash', 'created_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_throttle_event_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('throttle_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_throttle_event_created_at'))
        batch_op.drop_index('ix_throttle_event_scope_key')
    op.drop_table('throttle_event')
