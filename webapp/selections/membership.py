"""Who is in a selection, as SQL: never a list loaded into Python, never a table rebuilt by cron.

A database selection's members are profiles. A collection selection's rules are about subprofiles (its field
rules may name the collection's fields and the database's, the other rules are about the subprofile's profile):
``subprofile_ids`` are the matching subprofiles, and ``member_ids`` the profiles having at least one of them (a
mailing goes to people, once each)."""

from sqlalchemy import Select, exists, literal, select

from webapp.exports import targets as export_targets
from webapp.extensions import db
from webapp.models import Database, Profile, Selection, Subprofile
from webapp.rules.sql import Compiler


def member_ids(selection: Selection) -> Select:
    """A ``SELECT profile.id`` of the selection's members, to count, page, export or send to."""
    database = db.session.get_one(Database, selection.database_id)
    query = select(Profile.id).where(Profile.account_id == selection.account_id, Profile.database_id == database.id)
    if selection.collection_id is None:
        return query.where(Compiler(database).where(selection.rules))
    return query.where(exists(select(literal(1)).select_from(Subprofile).where(*_subprofile_conditions(selection))))


def subprofile_ids(selection: Selection) -> Select:
    """A ``SELECT subprofile.id`` of a collection selection's matching subprofiles."""
    if selection.collection_id is None:
        raise ValueError("subprofile_ids needs a collection selection")
    return (
        select(Subprofile.id)
        .join(Profile, Profile.id == Subprofile.profile_id)
        .where(Subprofile.account_id == selection.account_id, *_subprofile_conditions(selection))
    )


def export_ids(selection: Selection) -> Select:
    """What an export of the selection holds: its profiles, or a collection selection's subprofiles."""
    return subprofile_ids(selection) if selection.collection_id is not None else member_ids(selection)


def init_app(app) -> None:
    """Scheduled exports (a package below this one) compute a selection's members through ``export_ids``."""
    export_targets.register_selection_members(export_ids)


def _subprofile_conditions(selection: Selection) -> list:
    database = db.session.get_one(Database, selection.database_id)
    compiler = Compiler(database, sub_table="subprofile", collection_id=selection.collection_id)
    return [
        Subprofile.profile_id == Profile.id,
        Subprofile.collection_id == selection.collection_id,
        compiler.where(selection.rules),
    ]
