"""xAPI statements: one row per statement made, kept for export and for delivery to an LRS

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 17:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('xapi_statement',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('pack_version_id', sa.Integer(), nullable=True),
    sa.Column('statement', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_xapi_statement_institution_id_institution'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pack_version_id'], ['pack_version.id'], name=op.f('fk_xapi_statement_pack_version_id_pack_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_xapi_statement'))
    )
    with op.batch_alter_table('xapi_statement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_xapi_statement_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_xapi_statement_pack_version_id'), ['pack_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_xapi_statement_sent_at'), ['sent_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('xapi_statement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_xapi_statement_sent_at'))
        batch_op.drop_index(batch_op.f('ix_xapi_statement_pack_version_id'))
        batch_op.drop_index(batch_op.f('ix_xapi_statement_institution_id'))

    op.drop_table('xapi_statement')
