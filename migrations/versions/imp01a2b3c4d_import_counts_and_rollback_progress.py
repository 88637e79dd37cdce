"""import runs: lines left unchanged counted apart, a rollback's progress and counts (a rollback is a job), the
file's layout and the starter's language (for a re-importable error report), rejected lines whole

Revision ID: imp01a2b3c4d
Revises: e2a4c6e8f0b1
Create Date: 2026-12-06 03:30:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

# revision identifiers, used by Alembic.
revision = 'imp01a2b3c4d'
down_revision = 'mail01a2b3c4'
branch_labels = None
depends_on = None

COLUMNS = ('unchanged', 'rollback_total', 'rollback_done', 'removed', 'restored')


def upgrade():
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('layout', sa.JSON().with_variant(JSONB(), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('locale', sa.String(length=16), nullable=False, server_default=''))
    with op.batch_alter_table('import_line_error', schema=None) as batch_op:
        batch_op.add_column(sa.Column('row', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('cells', sa.JSON().with_variant(JSONB(), 'postgresql'), nullable=True))


def downgrade():
    with op.batch_alter_table('import_line_error', schema=None) as batch_op:
        batch_op.drop_column('cells')
        batch_op.drop_column('row')
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        batch_op.drop_column('locale')
        batch_op.drop_column('layout')
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
