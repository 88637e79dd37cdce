"""selections (rule trees over a database) and email results (one row per message: what became of it)

Revision ID: sel01a2b3c4
Revises: rest01a2b3c4
Create Date: 2026-12-06 05:50:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'sel01a2b3c4'
down_revision = 'rest01a2b3c4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('selection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('database_id', sa.Integer(), nullable=False),
    sa.Column('collection_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('rules', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('standard', sa.String(length=16), nullable=False),
    sa.Column('counted', sa.Integer(), nullable=True),
    sa.Column('counted_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_selection_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['collection_id'], ['collection.id'], name=op.f('fk_selection_collection_id_collection'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['database_id'], ['database.id'], name=op.f('fk_selection_database_id_database'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection')),
    sa.UniqueConstraint('database_id', 'name', name=op.f('uq_selection_database_id_name'))
    )
    with op.batch_alter_table('selection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_selection_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_selection_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_selection_database_id'), ['database_id'], unique=False)

    op.create_table('email_result',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('database_id', sa.Integer(), nullable=True),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('mailing_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('sent_message_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=True),
    sa.Column('open_count', sa.Integer(), nullable=False),
    sa.Column('clicked_at', sa.DateTime(), nullable=True),
    sa.Column('click_count', sa.Integer(), nullable=False),
    sa.Column('bounce', sa.String(length=8), nullable=False),
    sa.Column('bounced_at', sa.DateTime(), nullable=True),
    sa.Column('complained_at', sa.DateTime(), nullable=True),
    sa.Column('unsubscribed_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_email_result_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['database_id'], ['database.id'], name=op.f('fk_email_result_database_id_database'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], name=op.f('fk_email_result_profile_id_profile'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sent_message_id'], ['sent_message.id'], name=op.f('fk_email_result_sent_message_id_sent_message'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['email_template.id'], name=op.f('fk_email_result_template_id_email_template'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_result')),
    sa.UniqueConstraint('sent_message_id', name=op.f('uq_email_result_sent_message_id'))
    )
    with op.batch_alter_table('email_result', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_result_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_email_result_database_id_sent_at', ['database_id', 'sent_at'], unique=False)
        batch_op.create_index('ix_email_result_mailing_id_profile_id', ['mailing_id', 'profile_id'], unique=False)
        batch_op.create_index('ix_email_result_profile_id_sent_at', ['profile_id', 'sent_at'], unique=False)



def downgrade():
    with op.batch_alter_table('email_result', schema=None) as batch_op:
        batch_op.drop_index('ix_email_result_profile_id_sent_at')
        batch_op.drop_index('ix_email_result_mailing_id_profile_id')
        batch_op.drop_index('ix_email_result_database_id_sent_at')
        batch_op.drop_index(batch_op.f('ix_email_result_account_id'))

    op.drop_table('email_result')
    with op.batch_alter_table('selection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_selection_database_id'))
        batch_op.drop_index(batch_op.f('ix_selection_collection_id'))
        batch_op.drop_index(batch_op.f('ix_selection_account_id'))

    op.drop_table('selection')
