"""follow ups

Revision ID: 9d5c1e4a7d32
Revises: 8e4b0d3f6c21
Create Date: 2026-11-27 07:05:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '9d5c1e4a7d32'
down_revision = '8e4b0d3f6c21'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('follow_up',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('database_id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=True),
    sa.Column('form_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('trigger', JSON, nullable=False),
    sa.Column('activation_condition', JSON, nullable=False),
    sa.Column('execution_condition', JSON, nullable=False),
    sa.Column('delay', JSON, nullable=False),
    sa.Column('actions', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_follow_up_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_follow_up_collection_id_collection'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['database_id'], ['database.id'], name=op.f('fk_follow_up_database_id_database'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up'))
    )
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_database_id'), ['database_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_form_id'), ['form_id'], unique=False)

    op.create_table('follow_up_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('followup_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('subprofile_id', sa.Integer(), nullable=True),
    sa.Column('event_id', sa.Integer(), nullable=True),
    sa.Column('occurrence', sa.String(length=32), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.Column('queued_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_follow_up_run_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['followup_id'], ['follow_up.id'], name=op.f('fk_follow_up_run_followup_id_follow_up'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], name=op.f('fk_follow_up_run_profile_id_profile'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_up_run')),
    sa.UniqueConstraint('followup_id', 'profile_id', 'occurrence', name=op.f('uq_follow_up_run_followup_id_profile_id_occurrence'))
    )
    with op.batch_alter_table('follow_up_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_follow_up_run_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_follow_up_run_followup_id_status', ['followup_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_follow_up_run_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index('ix_follow_up_run_status_due_at', ['status', 'due_at'], unique=False)


def downgrade():
    with op.batch_alter_table('follow_up_run', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_up_run_status_due_at')
        batch_op.drop_index(batch_op.f('ix_follow_up_run_profile_id'))
        batch_op.drop_index('ix_follow_up_run_followup_id_status')
        batch_op.drop_index(batch_op.f('ix_follow_up_run_account_id'))

    op.drop_table('follow_up_run')
    with op.batch_alter_table('follow_up', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_follow_up_form_id'))
        batch_op.drop_index(batch_op.f('ix_follow_up_database_id'))
        batch_op.drop_index(batch_op.f('ix_follow_up_collection_id'))
        batch_op.drop_index(batch_op.f('ix_follow_up_account_id'))

    op.drop_table('follow_up')
