"""database config version

Revision ID: c8f4b7d0a265
Revises: b7e3a6c9f154
Create Date: 2026-11-27 07:50:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'c8f4b7d0a265'
down_revision = 'b7e3a6c9f154'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('database', schema=None) as batch_op:
        batch_op.add_column(sa.Column('config_version', sa.Integer(), server_default=sa.text('1'), nullable=False))


def downgrade():
    with op.batch_alter_table('database', schema=None) as batch_op:
        batch_op.drop_column('config_version')
