"""audit log retention: days per account after which audit entries are deleted (730 by default)

Revision ID: cns01a2b3c4d
Revises: sov01a2b3c4d
Create Date: 2026-12-06 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "cns01a2b3c4d"
down_revision = "sov01a2b3c4d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("retention_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit_days", sa.Integer(), server_default=sa.text("730"), nullable=True))


def downgrade():
    with op.batch_alter_table("retention_settings", schema=None) as batch_op:
        batch_op.drop_column("audit_days")
