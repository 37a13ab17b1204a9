"""Parameter versions: item parameters approved from recalibration reports; each attempt keeps the one it ran on

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 17:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('parameter_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pack_version_id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('exposure', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['activated_by_id'], ['user_account.id'], name=op.f('fk_parameter_version_activated_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_parameter_version_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_parameter_version_institution_id_institution'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['job_id'], ['job.id'], name=op.f('fk_parameter_version_job_id_job'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pack_version_id'], ['pack_version.id'], name=op.f('fk_parameter_version_pack_version_id_pack_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_parameter_version')),
    sa.UniqueConstraint('job_id', name=op.f('uq_parameter_version_job_id')),
    sa.UniqueConstraint('pack_version_id', 'number', name=op.f('uq_parameter_version_pack_version_id_number'))
    )
    with op.batch_alter_table('parameter_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parameter_version_activated_at'), ['activated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_parameter_version_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_parameter_version_pack_version_id'), ['pack_version_id'], unique=False)

    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parameter_version_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_attempt_parameter_version_id_parameter_version'), 'parameter_version', ['parameter_version_id'], ['id'], ondelete='CASCADE')


def downgrade() -> None:
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_attempt_parameter_version_id_parameter_version'), type_='foreignkey')
        batch_op.drop_column('parameter_version_id')

    with op.batch_alter_table('parameter_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parameter_version_pack_version_id'))
        batch_op.drop_index(batch_op.f('ix_parameter_version_institution_id'))
        batch_op.drop_index(batch_op.f('ix_parameter_version_activated_at'))

    op.drop_table('parameter_version')
