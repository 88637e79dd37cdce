"""indexes for the rule language's email-result rules: opened / clicked (in a period) per profile

Revision ID: rul01a2b3c4d
Revises: sel01a2b3c4
Create Date: 2026-12-06 06:15:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'rul01a2b3c4d'
down_revision = 'sel01a2b3c4'
branch_labels = None
depends_on = None


def upgrade():
    # "opened (any mailing) in the last N days" is an EXISTS per candidate profile: with these, one index-only
    # probe each instead of a scan of every email result (bench/selections.py).
    with op.batch_alter_table('email_result', schema=None) as batch_op:
        batch_op.create_index('ix_email_result_profile_id_opened_at', ['profile_id', 'opened_at'], unique=False)
        batch_op.create_index('ix_email_result_profile_id_clicked_at', ['profile_id', 'clicked_at'], unique=False)


def downgrade():
    with op.batch_alter_table('email_result', schema=None) as batch_op:
        batch_op.drop_index('ix_email_result_profile_id_clicked_at')
        batch_op.drop_index('ix_email_result_profile_id_opened_at')
