"""admin for marketers: a user's password change is due (the generated first password, one an admin chose);
a field's labels by language

Revision ID: adm01a2b3c4d
Revises: e2a4c6e8f0b1
Create Date: 2026-12-06 03:45:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'adm01a2b3c4d'
down_revision = 'imp01a2b3c4d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('password_change_due', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table('field', schema=None) as batch_op:
        batch_op.add_column(sa.Column('labels', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True))


def downgrade():
    with op.batch_alter_table('field', schema=None) as batch_op:
        batch_op.drop_column('labels')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('password_change_due')
