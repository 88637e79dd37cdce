"""lean profile writes: fewer keys and indexes on profile and profile_event, the journal's changes as json,
import runs know their events

Revision ID: e2a4c6e8f0b1
Revises: d3d4e5f6a7b8
Create Date: 2026-11-27 12:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e2a4c6e8f0b1'
down_revision = 'd3d4e5f6a7b8'
branch_labels = None
depends_on = None


def upgrade():
    # Rollback reads a run's events by id range instead of through the database index dropped below.
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_event_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_event_id', sa.Integer(), nullable=True))
    op.execute(
        "UPDATE import_run SET "
        "first_event_id = (SELECT min(e.id) FROM profile_event AS e WHERE e.database_id = import_run.database_id "
        "AND e.source = 'import' AND e.reference = 'import ' || import_run.id), "
        "last_event_id = (SELECT max(e.id) FROM profile_event AS e WHERE e.database_id = import_run.database_id "
        "AND e.source = 'import' AND e.reference = 'import ' || import_run.id)"
    )
    # Every profile a bulk import creates paid for a second foreign key (the database's already removes a
    # profile with its database, hence with its account) and its index; every event for a foreign key and
    # three indexes no reader uses.
    with op.batch_alter_table('profile', schema=None) as batch_op:
        batch_op.drop_constraint('fk_profile_account_id_account', type_='foreignkey')
        batch_op.drop_index('ix_profile_account_id')
    with op.batch_alter_table('profile_event', schema=None) as batch_op:
        batch_op.drop_constraint('fk_profile_event_account_id_account', type_='foreignkey')
        batch_op.drop_index('ix_profile_event_account_id')
        batch_op.drop_index('ix_profile_event_database_id')
        batch_op.drop_index('ix_profile_event_subprofile_id')
        batch_op.create_index(
            'ix_profile_event_subprofile_id', ['subprofile_id'], unique=False,
            postgresql_where=sa.text('subprofile_id IS NOT NULL'), sqlite_where=sa.text('subprofile_id IS NOT NULL'),
        )
    # The journal's changes as written (json): building and parsing jsonb cost an import more than the row.
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE profile_event ALTER COLUMN changes TYPE json USING changes::json')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE profile_event ALTER COLUMN changes TYPE jsonb USING changes::jsonb')
    # What the account's foreign key would have removed with an account removed meanwhile.
    op.execute("DELETE FROM profile_event WHERE account_id NOT IN (SELECT id FROM account)")
    with op.batch_alter_table('profile_event', schema=None) as batch_op:
        batch_op.drop_index('ix_profile_event_subprofile_id')
        batch_op.create_index('ix_profile_event_subprofile_id', ['subprofile_id'], unique=False)
        batch_op.create_index('ix_profile_event_database_id', ['database_id'], unique=False)
        batch_op.create_index('ix_profile_event_account_id', ['account_id'], unique=False)
        batch_op.create_foreign_key(
            'fk_profile_event_account_id_account', 'account', ['account_id'], ['id'], ondelete='CASCADE'
        )
    with op.batch_alter_table('profile', schema=None) as batch_op:
        batch_op.create_index('ix_profile_account_id', ['account_id'], unique=False)
        batch_op.create_foreign_key(
            'fk_profile_account_id_account', 'account', ['account_id'], ['id'], ondelete='CASCADE'
        )
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        batch_op.drop_column('last_event_id')
        batch_op.drop_column('first_event_id')
