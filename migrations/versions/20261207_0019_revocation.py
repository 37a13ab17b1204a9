"""Revocation: each credential's bit in its institution's status list, and who revoked it, when and why

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 18:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_index', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revoked_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('revoked_by_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_credential_institution_id_status_index'), ['institution_id', 'status_index'])
        batch_op.create_foreign_key(batch_op.f('fk_credential_revoked_by_id_user_account'), 'user_account', ['revoked_by_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_credential_revoked_by_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_credential_institution_id_status_index'), type_='unique')
        batch_op.drop_column('revoked_by_id')
        batch_op.drop_column('revoked_reason')
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('status_index')

