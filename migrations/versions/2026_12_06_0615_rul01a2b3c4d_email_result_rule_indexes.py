"""indexes for the rule language's email-result rules: opened / clicked (in a period) per profile; a callback's
selection filter

Revision ID: rul01a2b3c4d
Revises: edt01a2b3c4d
Create Date: 2026-12-06 06:15:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'rul01a2b3c4d'
down_revision = 'edt01a2b3c4d'
branch_labels = None
depends_on = None


def upgrade():
    # "opened (any mailing) in the last N days" is an EXISTS per candidate profile: with these, one index-only
    # probe each instead of a scan of every email result (bench/selections.py).
    with op.batch_alter_table('email_result', schema=None) as batch_op:
        batch_op.create_index('ix_email_result_profile_id_opened_at', ['profile_id', 'opened_at'], unique=False)
        batch_op.create_index('ix_email_result_profile_id_clicked_at', ['profile_id', 'clicked_at'], unique=False)
    # A callback may call only for the members of a selection (NULL: everyone, as before).
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.add_column(sa.Column('selection_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_callback_selection_id', 'selection', ['selection_id'], ['id'])


def downgrade():
    with op.batch_alter_table('callback', schema=None) as batch_op:
        batch_op.drop_constraint('fk_callback_selection_id', type_='foreignkey')
        batch_op.drop_column('selection_id')
    with op.batch_alter_table('email_result', schema=None) as batch_op:
        batch_op.drop_index('ix_email_result_profile_id_clicked_at')
        batch_op.drop_index('ix_email_result_profile_id_opened_at')
