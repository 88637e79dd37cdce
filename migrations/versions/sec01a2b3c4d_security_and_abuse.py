"""security and abuse: per-user session version, counted refused submissions, no passwords in the spam log

Revision ID: sec01a2b3c4d
Revises: e2a4c6e8f0b1
Create Date: 2026-12-06 03:30:00

"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'sec01a2b3c4d'
down_revision = 'adm01a2b3c4d'
branch_labels = None
depends_on = None

form = sa.table('form', sa.column('id', sa.Integer), sa.column('items', sa.JSON))
submission = sa.table('form_submission', sa.column('id', sa.Integer), sa.column('form_id', sa.Integer),
                      sa.column('data', sa.JSON))


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), server_default='1', nullable=False))
    with op.batch_alter_table('form_day_stat', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refused', sa.Integer(), server_default='0', nullable=False))
    scrub_sensitive_values()


def scrub_sensitive_values():
    """Remove what password items (and items marked sensitive) posted from every stored submission."""
    connection = op.get_bind()
    for form_id, items in connection.execute(sa.select(form.c.id, form.c['items'])).all():
        items = json.loads(items) if isinstance(items, str) else items or []
        names = set()
        for item in items:
            if item.get('type') == 'password' or item.get('sensitive'):
                name = f"f{item.get('field_id')}"
                names.update((name, name + '_repeat'))
        if not names:
            continue
        rows = connection.execute(sa.select(submission.c.id, submission.c.data).where(submission.c.form_id == form_id))
        for submission_id, data in rows.all():
            data = json.loads(data) if isinstance(data, str) else data or {}
            if names & set(data):
                kept = {key: value for key, value in data.items() if key not in names}
                connection.execute(
                    submission.update().where(submission.c.id == submission_id).values(data=kept)
                )


def downgrade():
    # The scrubbed values are gone for good; only the columns come back out.
    with op.batch_alter_table('form_day_stat', schema=None) as batch_op:
        batch_op.drop_column('refused')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('session_version')
