"""mail and templates

Revision ID: 7f3a9c2e5b10
Revises: 2bf04cc7cf8e
Create Date: 2026-11-27 07:05:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '7f3a9c2e5b10'
down_revision = '2bf04cc7cf8e'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('email_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('database_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('sender', sa.String(length=255), nullable=False),
    sa.Column('reply_to', sa.String(length=255), nullable=False),
    sa.Column('track_opens', sa.Boolean(), nullable=False),
    sa.Column('track_clicks', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_email_template_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['database_id'], ['database.id'], name=op.f('fk_email_template_database_id_database'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_template')),
    sa.UniqueConstraint('account_id', 'name', name=op.f('uq_email_template_account_id_name'))
    )
    with op.batch_alter_table('email_template', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_template_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_template_database_id'), ['database_id'], unique=False)

    op.create_table('mail_settings',
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('smtp_url', sa.Text(), nullable=False),
    sa.Column('rate_per_minute', sa.Integer(), nullable=True),
    sa.Column('dkim_domain', sa.String(length=253), nullable=False),
    sa.Column('dkim_selector', sa.String(length=63), nullable=False),
    sa.Column('dkim_private_key', sa.Text(), nullable=False),
    sa.Column('dkim_public_key', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_mail_settings_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_mail_settings'))
    )

    op.create_table('sent_message',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('return_key', sa.String(length=32), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('origin_reference', sa.String(length=255), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_sent_message_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['profile.id'], name=op.f('fk_sent_message_profile_id_profile'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['email_template.id'], name=op.f('fk_sent_message_template_id_email_template'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sent_message')),
    sa.UniqueConstraint('message_id', name=op.f('uq_sent_message_message_id'))
    )
    with op.batch_alter_table('sent_message', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sent_message_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sent_message_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sent_message_return_key'), ['return_key'], unique=False)

    op.create_table('caught_mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('sender', sa.String(length=320), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_caught_mail_account_id_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caught_mail'))
    )
    with op.batch_alter_table('caught_mail', schema=None) as batch_op:
        batch_op.create_index('ix_caught_mail_account_id_id', ['account_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('caught_mail', schema=None) as batch_op:
        batch_op.drop_index('ix_caught_mail_account_id_id')
    op.drop_table('caught_mail')
    with op.batch_alter_table('sent_message', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sent_message_return_key'))
        batch_op.drop_index(batch_op.f('ix_sent_message_profile_id'))
        batch_op.drop_index(batch_op.f('ix_sent_message_account_id'))
    op.drop_table('sent_message')
    op.drop_table('mail_settings')
    with op.batch_alter_table('email_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_email_template_database_id'))
        batch_op.drop_index(batch_op.f('ix_email_template_account_id'))
    op.drop_table('email_template')
