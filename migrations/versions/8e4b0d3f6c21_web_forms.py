"""web forms

Revision ID: 8e4b0d3f6c21
Revises: 7f3a9c2e5b10
Create Date: 2026-11-27 07:05:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '8e4b0d3f6c21'
down_revision = '7f3a9c2e5b10'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('form',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('database_id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('behaviour', sa.String(length=16), nullable=False),
    sa.Column('on_no_match', sa.String(length=16), nullable=False),
    sa.Column('key_field_ids', JSON, nullable=False),
    sa.Column('allowed_origins', JSON, nullable=False),
    sa.Column('items', JSON, nullable=False),
    sa.Column('settings', JSON, nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_form_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_form_collection_id_collection'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['database_id'], ['database.id'], name=op.f('fk_form_database_id_database'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form')),
    sa.UniqueConstraint('key', name=op.f('uq_form_key'))
    )
    with op.batch_alter_table('form', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_database_id'), ['database_id'], unique=False)

    op.create_table('form_submission',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('data', JSON, nullable=False),
    sa.Column('consents', JSON, nullable=False),
    sa.Column('origin', sa.String(length=255), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=500), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('response', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_form_submission_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['form_id'], ['form.id'], name=op.f('fk_form_submission_form_id_form'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_submission')),
    sa.UniqueConstraint('form_id', 'idempotency_key', name=op.f('uq_form_submission_form_id_idempotency_key'))
    )
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_submission_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_form_submission_form_id_id', ['form_id', 'id'], unique=False)
        batch_op.create_index('ix_form_submission_profile_id', ['profile_id'], unique=False)

    op.create_table('form_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.String(length=32), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_form_file_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['form_id'], ['form.id'], name=op.f('fk_form_file_form_id_form'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], name=op.f('fk_form_file_profile_id_profile'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['submission_id'], ['form_submission.id'], name=op.f('fk_form_file_submission_id_form_submission'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_file'))
    )
    with op.batch_alter_table('form_file', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_file_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_file_form_id'), ['form_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_file_profile_id'), ['profile_id'], unique=False)

    op.create_table('form_day_stat',
    sa.Column('form_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.Column('submissions', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['form_id'], ['form.id'], name=op.f('fk_form_day_stat_form_id_form'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('form_id', 'day', name=op.f('pk_form_day_stat'))
    )


def downgrade():
    op.drop_table('form_day_stat')
    with op.batch_alter_table('form_file', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_file_profile_id'))
        batch_op.drop_index(batch_op.f('ix_form_file_form_id'))
        batch_op.drop_index(batch_op.f('ix_form_file_account_id'))
    op.drop_table('form_file')
    with op.batch_alter_table('form_submission', schema=None) as batch_op:
        batch_op.drop_index('ix_form_submission_profile_id')
        batch_op.drop_index('ix_form_submission_form_id_id')
        batch_op.drop_index(batch_op.f('ix_form_submission_account_id'))
    op.drop_table('form_submission')
    with op.batch_alter_table('form', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_database_id'))
        batch_op.drop_index(batch_op.f('ix_form_collection_id'))
        batch_op.drop_index(batch_op.f('ix_form_account_id'))
    op.drop_table('form')
