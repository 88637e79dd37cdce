"""the visual email editor's design beside a template's HTML; an account's branding of its public pages

Revision ID: edt01a2b3c4d
Revises: sel01a2b3c4
Create Date: 2026-12-06 06:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'edt01a2b3c4d'
down_revision = 'sel01a2b3c4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('email_template', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('design', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True)
        )
    op.create_table(
        'account_branding',
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('logo', sa.LargeBinary(), nullable=True),
        sa.Column('logo_type', sa.String(length=32), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('color_primary', sa.String(length=7), nullable=False),
        sa.Column('color_background', sa.String(length=7), nullable=False),
        sa.Column('confirm_redirect_url', sa.Text(), nullable=False),
        sa.Column('unsubscribe_redirect_url', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_account_branding_account_id_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('account_id', name=op.f('pk_account_branding')),
    )


def downgrade():
    op.drop_table('account_branding')
    with op.batch_alter_table('email_template', schema=None) as batch_op:
        batch_op.drop_column('design')
