"""follow-up chain depth

Revision ID: d3d4e5f6a7b8
Revises: d1b2c3d4e5f6
Create Date: 2026-11-27 10:00:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'd3d4e5f6a7b8'
down_revision = 'd1b2c3d4e5f6'
branch_labels = None
depends_on = None


def upgrade():
    # How many follow-up runs in a row led to a run: the guard against follow-ups triggering each other forever.
    op.add_column('follow_up_run', sa.Column('chain_depth', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    op.drop_column('follow_up_run', 'chain_depth')
