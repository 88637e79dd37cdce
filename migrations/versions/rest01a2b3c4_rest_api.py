"""the REST door: the writing transaction's id on each profile event (change feed), API token scopes

Revision ID: rest01a2b3c4
Revises: pol1a2b3c4d5
Create Date: 2026-12-06 04:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'rest01a2b3c4'
down_revision = 'surv01a2b3c4'
branch_labels = None
depends_on = None


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    with op.batch_alter_table('profile_event', schema=None) as batch_op:
        # Existing events get 0 (older than any transaction: a constant default adds no table rewrite),
        # then every new event its transaction's id.
        batch_op.add_column(sa.Column('txid', sa.BigInteger(), server_default='0' if postgresql else None, nullable=True))
    if postgresql:
        op.alter_column('profile_event', 'txid', server_default=sa.text('txid_current()'))
    with op.batch_alter_table('profile_event', schema=None) as batch_op:
        batch_op.create_index('ix_profile_event_account_id_txid_id', ['account_id', 'txid', 'id'], unique=False)


    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=8), server_default='admin', nullable=False))


def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('scope')
    with op.batch_alter_table('profile_event', schema=None) as batch_op:
        batch_op.drop_index('ix_profile_event_account_id_txid_id')
        batch_op.drop_column('txid')
