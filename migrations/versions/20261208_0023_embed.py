"""Signed embed links: the learners of sites without LTI, by the identifiers those sites give them

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-08 01:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('embed_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('learner_ref', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_embed_account_institution_id_institution'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_embed_account_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_embed_account')),
    sa.UniqueConstraint('institution_id', 'learner_ref', name=op.f('uq_embed_account_institution_id_learner_ref'))
    )
    with op.batch_alter_table('embed_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_embed_account_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_embed_account_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('embed_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_embed_account_user_id'))
        batch_op.drop_index(batch_op.f('ix_embed_account_institution_id'))
    op.drop_table('embed_account')
