"""export targets

Revision ID: a6d2f5b8e043
Revises: 9d5c1e4a7d32
Create Date: 2026-11-27 07:05:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'a6d2f5b8e043'
down_revision = '9d5c1e4a7d32'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade():
    op.create_table('export_definition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('database_id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('fields', JSON, nullable=False),
    sa.Column('options', JSON, nullable=False),
    sa.Column('target_url', sa.String(length=2000), nullable=False),
    sa.Column('http_method', sa.String(length=8), nullable=False),
    sa.Column('credentials', sa.Text(), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('schedule', sa.String(length=100), nullable=False),
    sa.Column('last_upload', JSON, nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_export_definition_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_export_definition_collection_id_collection'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['database_id'], ['database.id'], name=op.f('fk_export_definition_database_id_database'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_definition'))
    )
    with op.batch_alter_table('export_definition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_definition_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_definition_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_definition_database_id'), ['database_id'], unique=False)

    op.create_table('export_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('definition_id', sa.Integer(), nullable=False),
    sa.Column('work_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_export_run_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['definition_id'], ['export_definition.id'], name=op.f('fk_export_run_definition_id_export_definition'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_run'))
    )
    with op.batch_alter_table('export_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_export_run_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_run_definition_id'), ['definition_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_run_work_id'), ['work_id'], unique=False)


def downgrade():
    with op.batch_alter_table('export_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_run_work_id'))
        batch_op.drop_index(batch_op.f('ix_export_run_definition_id'))
        batch_op.drop_index(batch_op.f('ix_export_run_account_id'))

    op.drop_table('export_run')
    with op.batch_alter_table('export_definition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_definition_database_id'))
        batch_op.drop_index(batch_op.f('ix_export_definition_collection_id'))
        batch_op.drop_index(batch_op.f('ix_export_definition_account_id'))

    op.drop_table('export_definition')
