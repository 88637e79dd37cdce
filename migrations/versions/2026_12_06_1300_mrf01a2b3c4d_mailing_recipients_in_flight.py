"""mailing recipients in flight: partial indexes of the queued and sending rows, for the dispatcher's questions
(which jobs of a mailing are busy, which are old enough to check), instead of the index on (status, queued_at)

Revision ID: mrf01a2b3c4d
Revises: cns01a2b3c4d
Create Date: 2026-12-06 13:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "mrf01a2b3c4d"
down_revision = "cns01a2b3c4d"
branch_labels = None
depends_on = None

IN_FLIGHT = "status IN ('queued', 'sending')"


def upgrade():
    with op.batch_alter_table("mailing_recipient", schema=None) as batch_op:
        batch_op.drop_index("ix_mailing_recipient_status_queued_at")
        batch_op.create_index(
            "ix_mailing_recipient_in_flight",
            ["mailing_id", "job_id"],
            unique=False,
            postgresql_where=sa.text(IN_FLIGHT),
            sqlite_where=sa.text(IN_FLIGHT),
        )
        batch_op.create_index(
            "ix_mailing_recipient_in_flight_queued_at",
            ["queued_at"],
            unique=False,
            postgresql_where=sa.text(IN_FLIGHT),
            sqlite_where=sa.text(IN_FLIGHT),
        )


def downgrade():
    with op.batch_alter_table("mailing_recipient", schema=None) as batch_op:
        batch_op.drop_index("ix_mailing_recipient_in_flight_queued_at")
        batch_op.drop_index("ix_mailing_recipient_in_flight")
        batch_op.create_index("ix_mailing_recipient_status_queued_at", ["status", "queued_at"], unique=False)
