"""Credentials: each issued Open Badges 3.0 credential, signed, once per learner, pack version and rule

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 18:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('credential',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('pack_version_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_credential_institution_id_institution'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pack_version_id'], ['pack_version.id'], name=op.f('fk_credential_pack_version_id_pack_version'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_credential_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credential')),
    sa.UniqueConstraint('user_id', 'pack_version_id', 'rule', name=op.f('uq_credential_user_id_pack_version_id_rule'))
    )
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credential_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credential_pack_version_id'), ['pack_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_credential_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('credential', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credential_user_id'))
        batch_op.drop_index(batch_op.f('ix_credential_pack_version_id'))
        batch_op.drop_index(batch_op.f('ix_credential_institution_id'))

    op.drop_table('credential')
