"""trustworthy evidence: per-attempt option salt, credit decision and person-fit flag

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:05:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('option_salt', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('credit', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('flagged', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column('person_fit', sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f('ix_attempt_flagged'), ['flagged'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attempt_flagged'))
        batch_op.drop_column('person_fit')
        batch_op.drop_column('flagged')
        batch_op.drop_column('credit')
        batch_op.drop_column('option_salt')
