"""dashboard, substring search and bulk actions: day counts per database, bulk runs and what a bulk delete removed,
indexes for the dashboard's per-day figures, and a trigram index for substring search (PostgreSQL with pg_trgm)

Revision ID: adm02a2b3c4d
Revises: mlg01a2b3c4d
Create Date: 2026-12-06 06:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'adm02a2b3c4d'
down_revision = 'mlg01a2b3c4d'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')
EVENT_KINDS = "kind IN ('unsubscribed', 'email_sent')"


def upgrade():
    op.create_table(
        'bulk_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('account_id', sa.Integer(), nullable=False),
        sa.Column('database_id', sa.Integer(), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('params', JSON, nullable=False),
        sa.Column('selection', JSON, nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('actor', sa.String(length=255), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('changed', sa.Integer(), nullable=False),
        sa.Column('last_profile_id', sa.Integer(), nullable=False),
        sa.Column('max_profile_id', sa.Integer(), nullable=False),
        sa.Column('first_event_id', sa.Integer(), nullable=True),
        sa.Column('last_event_id', sa.Integer(), nullable=True),
        sa.Column('undo_done', sa.Integer(), nullable=False),
        sa.Column('restored', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('file_path', sa.String(length=1000), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['account_id'], ['account.id'], name=op.f('fk_bulk_run_account_id_account'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['database_id'], ['database.id'], name=op.f('fk_bulk_run_database_id_database'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_run')),
    )
    with op.batch_alter_table('bulk_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_run_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulk_run_database_id'), ['database_id'], unique=False)
    op.create_table(
        'bulk_removed_profile',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('profile_id', sa.Integer(), nullable=False),
        sa.Column('data', JSON, nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['bulk_run.id'], name=op.f('fk_bulk_removed_profile_run_id_bulk_run'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_removed_profile')),
    )
    with op.batch_alter_table('bulk_removed_profile', schema=None) as batch_op:
        batch_op.create_index('ix_bulk_removed_profile_run_id_profile_id', ['run_id', 'profile_id'], unique=False)
    op.create_table(
        'database_day_stat',
        sa.Column('database_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('profiles', sa.Integer(), nullable=False),
        sa.Column('subscribers', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['database_id'], ['database.id'], name=op.f('fk_database_day_stat_database_id_database'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('database_id', 'day', name=op.f('pk_database_day_stat')),
    )
    with op.batch_alter_table('profile_event', schema=None) as batch_op:
        batch_op.create_index(
            'ix_profile_event_database_id_kind_created_at',
            ['database_id', 'kind', 'created_at'],
            unique=False,
            postgresql_where=sa.text(EVENT_KINDS),
            sqlite_where=sa.text(EVENT_KINDS),
        )
    with op.batch_alter_table('follow_up_run', schema=None) as batch_op:
        batch_op.create_index('ix_follow_up_run_followup_id_created_at', ['followup_id', 'created_at'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        _trigram_index(bind)


def _trigram_index(bind) -> None:
    """Substring search (profiles/text_search.py): one trigram index over all of a profile's values, where the server
    has pg_trgm and this user may create it (a trusted extension since PostgreSQL 13); else the search scans."""
    if not bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar():
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
    except sa.exc.DBAPIError:
        return  # not allowed here: the search works without the index
    schema = bind.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()
    operators = f'"{schema}".gin_trgm_ops'  # the extension may live in a schema outside the search path
    op.execute(f'CREATE INDEX IF NOT EXISTS ix_profile_text_trgm ON profile USING gin (lower(fields::text) {operators})')


def downgrade():
    op.execute('DROP INDEX IF EXISTS ix_profile_text_trgm')  # the extension stays: others may use it
    with op.batch_alter_table('follow_up_run', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_up_run_followup_id_created_at')
    with op.batch_alter_table('profile_event', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_profile_event_database_id_kind_created_at',
            postgresql_where=sa.text(EVENT_KINDS),
            sqlite_where=sa.text(EVENT_KINDS),
        )
    op.drop_table('database_day_stat')
    with op.batch_alter_table('bulk_removed_profile', schema=None) as batch_op:
        batch_op.drop_index('ix_bulk_removed_profile_run_id_profile_id')
    op.drop_table('bulk_removed_profile')
    with op.batch_alter_table('bulk_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_run_database_id'))
        batch_op.drop_index(batch_op.f('ix_bulk_run_account_id'))
    op.drop_table('bulk_run')
