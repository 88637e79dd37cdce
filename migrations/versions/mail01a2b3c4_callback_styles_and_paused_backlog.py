"""callback styles (standard, copernica), the paused backlog's dropped count, retried deliveries

Revision ID: mail01a2b3c4
Revises: e2a4c6e8f0b1
Create Date: 2026-12-06 03:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = 'mail01a2b3c4'
down_revision = 'hyg01a2b3c4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('callback') as batch:
        # The payload and signature a receiver expects: Standard Webhooks (ours) or Copernica's.
        batch.add_column(sa.Column('style', sa.String(length=16), server_default='standard', nullable=False))
        # Changes not recorded while paused because the backlog was full.
        batch.add_column(sa.Column('paused_dropped', sa.Integer(), server_default='0', nullable=False))
    with op.batch_alter_table('callback_delivery') as batch:
        batch.add_column(sa.Column('retried_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('callback_delivery') as batch:
        batch.drop_column('retried_at')
    with op.batch_alter_table('callback') as batch:
        batch.drop_column('paused_dropped')
        batch.drop_column('style')
