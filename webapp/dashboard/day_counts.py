"""Profiles and subscribers of each database at the end of each day (UTC), counted by housekeeping.

Counting subscribers means looking at every profile (whether it carries the unsubscribe values), too much for
each view of the dashboard on a database of a million profiles; so housekeeping counts each database once a day
(``count_today``) and the dashboard reads the rows (``DatabaseDayStat``). Today's row is replaced on each count,
so the last count of a day stands for that day.
"""

from datetime import date

from sqlalchemy import delete, func, select

from webapp.extensions import db
from webapp.models import Database, DatabaseDayStat, Profile, utcnow
from webapp.platform import work
from webapp.profiles.unsubscribe import subscribed_condition

KEEP_DAYS = 400


def count_database(database: Database, day: date | None = None) -> DatabaseDayStat:
    """Count a database's profiles and subscribers now and store them as ``day``'s (today's) figures."""
    day = day or utcnow().date()
    in_database = (Profile.account_id == database.account_id, Profile.database_id == database.id)
    profiles = db.session.scalar(select(func.count()).select_from(Profile).where(*in_database)) or 0
    subscribers = (
        db.session.scalar(select(func.count()).select_from(Profile).where(*in_database, subscribed_condition(database)))
        or 0
    )
    row = db.session.get(DatabaseDayStat, (database.id, day))
    if row is None:
        row = DatabaseDayStat(database_id=database.id, day=day)
        db.session.add(row)
    row.profiles, row.subscribers = profiles, subscribers
    db.session.flush()
    return row


def count_today() -> int:
    """The housekeeping task: count every database not counted yet today; returns how many were counted."""
    today = utcnow().date()
    counted = select(DatabaseDayStat.database_id).where(DatabaseDayStat.day == today)
    due = list(db.session.scalars(select(Database).where(Database.id.not_in(counted)).order_by(Database.id)))
    for database in due:
        count_database(database, today)
    oldest = date.fromordinal(today.toordinal() - KEEP_DAYS)
    db.session.execute(delete(DatabaseDayStat).where(DatabaseDayStat.day < oldest))
    return len(due)


def init_app(app) -> None:
    with app.app_context():
        work.add_housekeeping(count_today)
