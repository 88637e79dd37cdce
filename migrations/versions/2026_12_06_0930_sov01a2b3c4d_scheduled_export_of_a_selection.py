"""scheduled exports of a selection's members: export_definition.selection_id

Revision ID: sov01a2b3c4d
Revises: rsm01a2b3c4d
Create Date: 2026-12-06 09:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "sov01a2b3c4d"
down_revision = "rsm01a2b3c4d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("export_definition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("selection_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_export_definition_selection_id"), ["selection_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_export_definition_selection_id_selection"),
            "selection",
            ["selection_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade():
    with op.batch_alter_table("export_definition", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_export_definition_selection_id_selection"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_export_definition_selection_id"))
        batch_op.drop_column("selection_id")
