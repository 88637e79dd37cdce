"""mailings: the mailing (template to selections, throttle, A/B variants, repeat), its frozen recipients, clicks
per link, and email_result's key to the mailing

Revision ID: mlg01a2b3c4d
Revises: rul01a2b3c4d
Create Date: 2026-12-06 06:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'mlg01a2b3c4d'
down_revision = 'rul01a2b3c4d'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mailing',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('database_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('sender', sa.String(length=255), nullable=False),
    sa.Column('target_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('exclude_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('per_minute', sa.Integer(), nullable=True),
    sa.Column('domain_limits', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('variants', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('ab_percent', sa.Integer(), nullable=False),
    sa.Column('ab_wait_minutes', sa.Integer(), nullable=False),
    sa.Column('ab_metric', sa.String(length=8), nullable=False),
    sa.Column('ab_winner', sa.Integer(), nullable=True),
    sa.Column('repeat', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(), nullable=True),
    sa.Column('next_batch_at', sa.DateTime(), nullable=True),
    sa.Column('frozen', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_mailing_account_id_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['database_id'], ['database.id'], name=op.f('fk_mailing_database_id_database'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['mailing.id'], name=op.f('fk_mailing_parent_id_mailing'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['template_id'], ['email_template.id'], name=op.f('fk_mailing_template_id_email_template'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailing'))
    )
    with op.batch_alter_table('mailing', schema=None) as batch_op:
        batch_op.create_index('ix_mailing_account_id_id', ['account_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mailing_database_id'), ['database_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mailing_parent_id'), ['parent_id'], unique=False)
        batch_op.create_index('ix_mailing_status', ['status'], unique=False)

    op.create_table('mailing_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailing_id', sa.Integer(), nullable=False),
    sa.Column('url_hash', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('click_count', sa.Integer(), nullable=False),
    sa.Column('last_clicked_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mailing_id'], ['mailing.id'], name=op.f('fk_mailing_link_mailing_id_mailing'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailing_link')),
    sa.UniqueConstraint('mailing_id', 'url_hash', name=op.f('uq_mailing_link_mailing_id_url_hash'))
    )
    op.create_table('mailing_recipient',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mailing_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('variant', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=True),
    sa.Column('queued_at', sa.DateTime(), nullable=True),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['mailing_id'], ['mailing.id'], name=op.f('fk_mailing_recipient_mailing_id_mailing'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailing_recipient')),
    sa.UniqueConstraint('mailing_id', 'profile_id', name=op.f('uq_mailing_recipient_mailing_id_profile_id'))
    )
    with op.batch_alter_table('mailing_recipient', schema=None) as batch_op:
        batch_op.create_index('ix_mailing_recipient_mailing_id_status_id', ['mailing_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_mailing_recipient_status_queued_at', ['status', 'queued_at'], unique=False)

    with op.batch_alter_table('email_result', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_email_result_mailing_id_mailing'), 'mailing', ['mailing_id'], ['id'], ondelete='SET NULL')



def downgrade():
    with op.batch_alter_table('email_result', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_email_result_mailing_id_mailing'), type_='foreignkey')

    with op.batch_alter_table('mailing_recipient', schema=None) as batch_op:
        batch_op.drop_index('ix_mailing_recipient_status_queued_at')
        batch_op.drop_index('ix_mailing_recipient_mailing_id_status_id')

    op.drop_table('mailing_recipient')
    op.drop_table('mailing_link')
    with op.batch_alter_table('mailing', schema=None) as batch_op:
        batch_op.drop_index('ix_mailing_status')
        batch_op.drop_index(batch_op.f('ix_mailing_parent_id'))
        batch_op.drop_index(batch_op.f('ix_mailing_database_id'))
        batch_op.drop_index('ix_mailing_account_id_id')

    op.drop_table('mailing')
