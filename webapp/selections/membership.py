"""Who is in a selection, as SQL: never a list loaded into Python, never a table rebuilt by cron."""

from sqlalchemy import Select, select

from webapp.models import Profile, Selection


def member_ids(selection: Selection) -> Select:
    """A ``SELECT profile.id`` of the selection's members, to count, page, export or send to.

    Foundation only: every profile of the database until the rule compiler lands."""
    return select(Profile.id).where(Profile.database_id == selection.database_id)
