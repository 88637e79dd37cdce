"""import staging

Revision ID: b7e3a6c9f154
Revises: a6d2f5b8e043
Create Date: 2026-11-27 07:05:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'b7e3a6c9f154'
down_revision = 'a6d2f5b8e043'
branch_labels = None
depends_on = None


def upgrade():
    pass  # nothing to create: the staging table is a temporary table per session (imports/staging.py)


def downgrade():
    pass
