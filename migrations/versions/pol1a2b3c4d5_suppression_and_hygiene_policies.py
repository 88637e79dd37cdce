"""suppression list per account, hygiene policies per database

Revision ID: pol1a2b3c4d5
Revises: e2a4c6e8f0b1
Create Date: 2026-12-06 03:30:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'pol1a2b3c4d5'
down_revision = 'e2a4c6e8f0b1'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('suppressed_address',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=False),
    sa.Column('database_id', sa.Integer(), nullable=True),
    sa.Column('suppressed_at', sa.DateTime(), nullable=False),
    sa.Column('lifted_at', sa.DateTime(), nullable=True),
    sa.Column('lifted_by', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_suppressed_address_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['database_id'], ['database.id'], name=op.f('fk_suppressed_address_database_id_database'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressed_address')),
    sa.UniqueConstraint('account_id', 'address', name=op.f('uq_suppressed_address_account_id_address'))
    )
    op.create_table('hygiene_policy',
    sa.Column('database_id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('hard_threshold', sa.Integer(), nullable=False),
    sa.Column('hard_action', sa.String(length=16), nullable=False),
    sa.Column('hard_values', JSON, nullable=False),
    sa.Column('soft_threshold', sa.Integer(), nullable=False),
    sa.Column('soft_action', sa.String(length=16), nullable=False),
    sa.Column('soft_values', JSON, nullable=False),
    sa.Column('complaint_action', sa.String(length=16), nullable=False),
    sa.Column('complaint_values', JSON, nullable=False),
    sa.Column('signup_days', sa.Integer(), nullable=True),
    sa.Column('signup_action', sa.String(length=16), nullable=False),
    sa.Column('signup_values', JSON, nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_hygiene_policy_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['database_id'], ['database.id'], name=op.f('fk_hygiene_policy_database_id_database'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('database_id', name=op.f('pk_hygiene_policy'))
    )
    with op.batch_alter_table('hygiene_policy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hygiene_policy_account_id'), ['account_id'], unique=False)


def downgrade():
    with op.batch_alter_table('hygiene_policy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hygiene_policy_account_id'))
    op.drop_table('hygiene_policy')
    op.drop_table('suppressed_address')
