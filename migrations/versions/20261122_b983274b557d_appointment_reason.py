"""appointment reason

Revision ID: b983274b557d
Revises: 042d546c28b8
Create Date: 2026-11-22 17:55:04.163666
"""

from alembic import op
import sqlalchemy as sa


revision = 'b983274b557d'
down_revision = '042d546c28b8'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('reason')
