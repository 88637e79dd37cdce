"""export files: an export written by a worker and kept for a later download (REST "start now, download later")

Revision ID: rsm01a2b3c4d
Revises: prv01a2b3c4d
Create Date: 2026-12-06 09:00:00

"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "rsm01a2b3c4d"
down_revision = "prv01a2b3c4d"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade():
    op.create_table(
        "export_file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("database_id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=True),
        sa.Column("options", JSONType, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("work_id", sa.Integer(), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("stored_name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["account.id"], name=op.f("fk_export_file_account_id_account"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collection.id"],
            name=op.f("fk_export_file_collection_id_collection"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["database_id"], ["database.id"], name=op.f("fk_export_file_database_id_database"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_file")),
    )
    with op.batch_alter_table("export_file", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_file_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_file_collection_id"), ["collection_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_file_database_id"), ["database_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_export_file_work_id"), ["work_id"], unique=False)


def downgrade():
    with op.batch_alter_table("export_file", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_file_work_id"))
        batch_op.drop_index(batch_op.f("ix_export_file_database_id"))
        batch_op.drop_index(batch_op.f("ix_export_file_collection_id"))
        batch_op.drop_index(batch_op.f("ix_export_file_account_id"))
    op.drop_table("export_file")
