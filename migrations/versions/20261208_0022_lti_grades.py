"""LTI grade passback: where each launched learner's module score goes (the platform's line item)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08 01:35:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('lti_grade_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('module_id', sa.Integer(), nullable=False),
    sa.Column('sub', sa.String(length=255), nullable=False),
    sa.Column('resource_link_id', sa.String(length=255), nullable=False),
    sa.Column('lineitem_url', sa.Text(), nullable=True),
    sa.Column('lineitems_url', sa.Text(), nullable=True),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['module_id'], ['pack_module.id'], name=op.f('fk_lti_grade_link_module_id_pack_module'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['platform_id'], ['lti_platform.id'], name=op.f('fk_lti_grade_link_platform_id_lti_platform'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_lti_grade_link_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lti_grade_link')),
    sa.UniqueConstraint('platform_id', 'user_id', 'resource_link_id', name=op.f('uq_lti_grade_link_platform_id_user_id_resource_link_id'))
    )
    with op.batch_alter_table('lti_grade_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_grade_link_module_id'), ['module_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_grade_link_platform_id'), ['platform_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lti_grade_link_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lti_grade_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_grade_link_user_id'))
        batch_op.drop_index(batch_op.f('ix_lti_grade_link_platform_id'))
        batch_op.drop_index(batch_op.f('ix_lti_grade_link_module_id'))
    op.drop_table('lti_grade_link')
