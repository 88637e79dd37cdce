"""Databases, collections and interests of an account, and their unsubscribe behaviour."""

import re
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, text

from webapp.extensions import db
from webapp.models import (
    UNSUBSCRIBE_BEHAVIOURS,
    Account,
    Collection,
    Database,
    Field,
    Interest,
    Profile,
    Subprofile,
)
from webapp.platform.errors import Conflict, NotFound, ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.field_expressions import dialect_name, has_interest, index_names
from webapp.profiles.field_types import FieldValueError, coerce

NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
CONTAINER_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_ -]{0,63}$")


def check_name(name: str, what: str = "name") -> str:
    """Names of fields and interests: a letter, then letters, digits or ``_``.

    They are identifiers in personalisation, exports and imports (Copernica: "a valid identifier").
    """
    name = (name or "").strip()
    if not NAME_PATTERN.match(name):
        raise ValidationError({what: _("Use a letter followed by letters, digits or underscores (at most 64).")})
    return name


def check_container_name(name: str, what: str = "name") -> str:
    """Names of databases and collections: a letter, then letters, digits, spaces, ``-`` or ``_``.

    Copernica allows spaces here ("Fictional Persons 3" is its own example); runs of spaces become one, so
    that two names that look the same are the same (uniqueness stays case-insensitive). The first letter
    keeps the name safe at the start of a CSV cell (exports name files and columns after it).
    """
    name = " ".join((name or "").split())
    if not CONTAINER_NAME_PATTERN.match(name):
        raise ValidationError(
            {what: _("Use a letter followed by letters, digits, spaces, hyphens or underscores (at most 64).")}
        )
    return name


# --- databases ------------------------------------------------------------------------------------


def list_databases(account: Account, *, include_archived: bool = True) -> list[Database]:
    query = select(Database).where(Database.account_id == account.id).order_by(Database.name)
    if not include_archived:
        query = query.where(Database.archived.is_(False))
    return list(db.session.scalars(query))


def get_database(account: Account, database_id: int) -> Database:
    return owned(Database, account, database_id, _("Database not found."))


def find_database(account: Account, name: str) -> Database | None:
    return db.session.scalar(
        select(Database).where(Database.account_id == account.id, func.lower(Database.name) == name.lower())
    )


def _check_database_name(account: Account, name: str, database_id: int | None = None) -> str:
    name = check_container_name(name)
    existing = find_database(account, name)
    if existing is not None and existing.id != database_id:
        raise ValidationError({"name": _("A database named %(name)s already exists.", name=name)})
    return name


SUBSCRIPTION_FIELD = "Subscription"
SUBSCRIBED, UNSUBSCRIBED = "subscribed", "unsubscribed"


def create_database(account: Account, name: str, description: str = "", *, subscription: bool = False) -> Database:
    """A new database; ``subscription`` gives it a working unsubscribe from the start (see below)."""
    database = Database(
        account_id=account.id,
        name=_check_database_name(account, name),
        description=(description or "").strip(),
        unsubscribe_behaviour="update",
        unsubscribe_values={},
    )
    db.session.add(database)
    if subscription:
        _add_subscription_field(account, database)
    db.session.commit()
    return database


def _add_subscription_field(account: Account, database: Database) -> None:
    """The field ``Subscription`` (``subscribed`` by default, so new profiles are) that an unsubscribe sets to
    ``unsubscribed`` and new sign-up forms set back to ``subscribed`` (``webforms.builder.create_form``)."""
    db.session.flush()
    field = Field(
        account_id=account.id,
        database_id=database.id,
        name=SUBSCRIPTION_FIELD,
        type="choice",
        options={"choices": [SUBSCRIBED, UNSUBSCRIBED]},
        default=SUBSCRIBED,
        position=0,
    )
    db.session.add(field)
    db.session.flush()
    database.unsubscribe_values = {"fields": {field.key: UNSUBSCRIBED}, "interests": {}}


def subscription_field(database: Database) -> Field | None:
    """The database's field that says whether a profile is subscribed: one that the unsubscribe behaviour sets
    to ``unsubscribed`` and that can hold ``subscribed`` (as a new database's ``Subscription`` does)."""
    if database.unsubscribe_behaviour != "update":
        return None
    values = (database.unsubscribe_values or {}).get("fields", {})
    for field in database.fields:
        choices = (field.options or {}).get("choices") or []
        if field.collection_id is None and values.get(field.key) == UNSUBSCRIBED and SUBSCRIBED in choices:
            return field
    return None


def unsubscribe_changes_nothing(owner: Database | Collection) -> bool:
    """Whether an unsubscribe would leave the profile (or subprofile) as it was: ``update`` without values."""
    values = owner.unsubscribe_values or {}
    return owner.unsubscribe_behaviour == "update" and not (values.get("fields") or values.get("interests"))


def update_database(
    account: Account, database_id: int, *, name: str, description: str = "", archived: bool = False
) -> Database:
    database = get_database(account, database_id)
    database.name = _check_database_name(account, name, database.id)
    database.description = (description or "").strip()
    database.archived = archived
    db.session.commit()
    return database


def delete_database(account: Account, database_id: int) -> None:
    """Remove a database with everything in it. Refused while another database references its profiles."""
    database = get_database(account, database_id)
    referencing = db.session.scalars(
        select(Field).where(Field.account_id == account.id, Field.type == "reference", Field.database_id != database.id)
    )
    for field in referencing:
        if int(field.options.get("database_id") or 0) == database.id:
            raise Conflict(
                _("Field %(field)s refers to profiles of this database; remove or change it first.", field=field.name)
            )
    # The expression indexes of indexed fields are not tied to the field rows: drop them with the database.
    for field in database.fields:
        for name in index_names(field):
            db.session.execute(text(f"DROP INDEX IF EXISTS {name}"))
    db.session.delete(database)
    db.session.commit()


def count_profiles(database: Database) -> int:
    return db.session.execute(
        select(func.count()).select_from(Profile).where(Profile.database_id == database.id)
    ).scalar_one()


# --- collections ----------------------------------------------------------------------------------


def get_collection(account: Account, collection_id: int) -> Collection:
    return owned(Collection, account, collection_id, _("Collection not found."))


def collection_of(account: Account, database: Database, collection_id: Any) -> Collection | None:
    """The collection ``collection_id`` (as posted: maybe text) when it is one of ``database``'s, else None."""
    try:
        collection = get_collection(account, int(collection_id))
    except (NotFound, ValueError, TypeError):
        return None
    return collection if collection.database_id == database.id else None


def _check_collection_name(database: Database, name: str, collection_id: int | None = None) -> str:
    name = check_container_name(name)
    for collection in database.collections:
        if collection.name.lower() == name.lower() and collection.id != collection_id:
            raise ValidationError({"name": _("A collection named %(name)s already exists.", name=name)})
    return name


def create_collection(account: Account, database_id: int, name: str) -> Collection:
    database = get_database(account, database_id)
    collection = Collection(
        account_id=account.id,
        database_id=database.id,
        name=_check_collection_name(database, name),
        unsubscribe_behaviour="nothing",
        unsubscribe_values={},
    )
    db.session.add(collection)
    db.session.commit()
    return collection


def rename_collection(account: Account, collection_id: int, name: str) -> Collection:
    collection = get_collection(account, collection_id)
    collection.name = _check_collection_name(collection.database, name, collection.id)
    db.session.commit()
    return collection


def delete_collection(account: Account, collection_id: int) -> int:
    """Remove a collection and its subprofiles; returns how many subprofiles went with it."""
    collection = get_collection(account, collection_id)
    count = count_subprofiles(collection)
    db.session.delete(collection)
    db.session.commit()
    return count


def count_subprofiles(collection: Collection) -> int:
    return db.session.execute(
        select(func.count()).select_from(Subprofile).where(Subprofile.collection_id == collection.id)
    ).scalar_one()


# --- interests ------------------------------------------------------------------------------------


def get_interest(account: Account, interest_id: int) -> Interest:
    return owned(Interest, account, interest_id, _("Interest not found."))


def _check_interest_name(database: Database, name: str, interest_id: int | None = None) -> str:
    name = check_name(name)
    for interest in database.interests:
        if interest.name.lower() == name.lower() and interest.id != interest_id:
            raise ValidationError({"name": _("An interest named %(name)s already exists.", name=name)})
    return name


def create_interest(account: Account, database_id: int, name: str, group: str = "") -> Interest:
    database = get_database(account, database_id)
    interest = Interest(
        account_id=account.id,
        database_id=database.id,
        name=_check_interest_name(database, name),
        group=(group or "").strip()[:64],
        position=len(database.interests),
    )
    db.session.add(interest)
    db.session.commit()
    return interest


def update_interest(account: Account, interest_id: int, *, name: str, group: str = "") -> Interest:
    interest = get_interest(account, interest_id)
    database = get_database(account, interest.database_id)
    interest.name = _check_interest_name(database, name, interest.id)
    interest.group = (group or "").strip()[:64]
    db.session.commit()
    return interest


def delete_interest(account: Account, interest_id: int) -> None:
    """Remove an interest and clear it on every profile. Refused while the unsubscribe behaviour uses it."""
    interest = get_interest(account, interest_id)
    database = get_database(account, interest.database_id)
    if str(interest.id) in (database.unsubscribe_values or {}).get("interests", {}):
        raise Conflict(_("The unsubscribe behaviour of this database uses this interest; change it first."))
    holders = select(Profile).where(Profile.database_id == database.id, has_interest(interest.id, dialect_name()))
    for profile in db.session.scalars(holders):
        profile.interests = [i for i in profile.interests if i != interest.id]
    db.session.delete(interest)
    db.session.commit()


# --- unsubscribe behaviour ------------------------------------------------------------------------


def set_unsubscribe_behaviour(
    account: Account,
    *,
    behaviour: str,
    field_values: dict[str, Any] | None = None,
    interest_values: dict[str, bool] | None = None,
    database_id: int | None = None,
    collection_id: int | None = None,
) -> Database | Collection:
    """Set what an unsubscribe does for a database or a collection: ``nothing``, ``remove`` or ``update``.

    ``field_values`` and ``interest_values`` are keyed by name; with ``update`` at least one is required.
    """
    owner: Database | Collection
    if collection_id is not None:
        owner = get_collection(account, collection_id)
        fields, interests = owner.fields, []
    else:
        if database_id is None:
            raise NotFound(_("Database not found."))
        database = get_database(account, database_id)
        owner, fields, interests = database, database.fields, database.interests
    if behaviour not in UNSUBSCRIBE_BEHAVIOURS:
        raise ValidationError({"behaviour": _("Choose nothing, remove or update.")})
    stored: dict[str, dict] = {"fields": {}, "interests": {}}
    if behaviour == "update":
        stored = _unsubscribe_values(fields, interests, field_values or {}, interest_values or {})
        if not stored["fields"] and not stored["interests"]:
            raise ValidationError({"values": _("Give at least one field or interest value to set on unsubscribe.")})
    owner.unsubscribe_behaviour = behaviour
    owner.unsubscribe_values = stored
    db.session.commit()
    return owner


def _unsubscribe_values(fields, interests, field_values: dict, interest_values: dict) -> dict[str, dict]:
    by_name = {field.name.lower(): field for field in fields}
    interests_by_name = {interest.name.lower(): interest for interest in interests}
    stored: dict[str, dict] = {"fields": {}, "interests": {}}
    errors = {}
    for name, value in field_values.items():
        field = by_name.get(name.lower())
        if field is None:
            errors[name] = _("There is no field named %(name)s.", name=name)
            continue
        try:
            stored["fields"][field.key] = coerce(field.type, value, field.options)
        except FieldValueError as error:
            errors[name] = str(error)
    for name, value in interest_values.items():
        interest = interests_by_name.get(name.lower())
        if interest is None:
            errors[name] = _("There is no interest named %(name)s.", name=name)
            continue
        stored["interests"][str(interest.id)] = bool(value)
    if errors:
        raise ValidationError(errors)
    return stored


def unsubscribe_values_by_name(owner: Database | Collection) -> dict[str, Any]:
    """The stored unsubscribe values keyed by field and interest names (for screens and the SOAP API)."""
    values = owner.unsubscribe_values or {}
    names = {field.key: field.name for field in owner.fields}
    result = {names[key]: value for key, value in values.get("fields", {}).items() if key in names}
    if isinstance(owner, Database):
        interest_names = {str(i.id): i.name for i in owner.interests}
        result.update(
            {interest_names[key]: value for key, value in values.get("interests", {}).items() if key in interest_names}
        )
    return result
