"""Unsubscribing a profile or subprofile according to its database's (or collection's) behaviour.

Copernica's three behaviours: ``remove`` deletes it, ``update`` sets the configured field and interest
values, ``nothing`` changes nothing (lawful only outside the EU; the admin warns). "Subscribed" means not
carrying the unsubscribe values (``update``) or simply existing (``remove`` and ``nothing``).
"""

import json

from sqlalchemy import and_, cast, func, literal, literal_column, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql.elements import ColumnElement

from webapp.extensions import db
from webapp.models import Account, Database, Profile, Subprofile, utcnow
from webapp.profiles import events
from webapp.profiles.events import Origin
from webapp.profiles.field_expressions import dialect_name
from webapp.profiles.profiles import get_profile, remove_in_transaction
from webapp.profiles.subprofiles import get_subprofile
from webapp.profiles.text_search import interest_condition
from webapp.profiles.values import diff, interests_diff


def unsubscribe(account: Account, profile_id: int, *, origin: Origin) -> str:
    """Apply the database's unsubscribe behaviour to a profile; returns the behaviour applied."""
    behaviour = unsubscribe_in_transaction(get_profile(account, profile_id), origin)
    db.session.commit()
    return behaviour


def unsubscribe_in_transaction(profile: Profile, origin: Origin) -> str:
    """``unsubscribe`` inside the caller's transaction (a policy reacting to a complaint); the caller commits.

    Every behaviour journals an ``unsubscribed`` event, which puts the address on the suppression list
    (``hygiene.policies``): an unsubscribe stops marketing mail whatever the behaviour."""
    database = profile.database
    behaviour = database.unsubscribe_behaviour
    if behaviour == "remove":
        events.record("unsubscribed", origin, profile=profile)
        remove_in_transaction(profile, origin)
    elif behaviour == "update":
        values = database.unsubscribe_values or {}
        new_fields = {**profile.fields, **values.get("fields", {})}
        new_fields = {key: value for key, value in new_fields.items() if value is not None}
        ids = {int(i) for i, on in values.get("interests", {}).items() if on}
        off = {int(i) for i, on in values.get("interests", {}).items() if not on}
        new_interests = sorted((set(profile.interests) | ids) - off)
        changes = {
            "fields": diff(profile.fields, new_fields),
            "interests": interests_diff(profile.interests, new_interests),
        }
        profile.fields, profile.interests, profile.updated_at = new_fields, new_interests, utcnow()
        events.record("unsubscribed", origin, profile=profile, changes=changes)
    else:
        events.record("unsubscribed", origin, profile=profile, changes={"behaviour": "nothing"})
    return behaviour


def unsubscribe_subprofile(account: Account, subprofile_id: int, *, origin: Origin) -> str:
    """Apply the collection's unsubscribe behaviour to a subprofile; returns the behaviour applied."""
    subprofile = get_subprofile(account, subprofile_id)
    collection = subprofile.collection
    behaviour = collection.unsubscribe_behaviour
    profile = subprofile.profile
    if behaviour == "remove":
        events.record(
            "unsubscribed",
            origin,
            profile=profile,
            subprofile=subprofile,
            changes={"fields": diff(subprofile.fields, {})},
        )
        db.session.delete(subprofile)
    elif behaviour == "update":
        new_fields = {**subprofile.fields, **(collection.unsubscribe_values or {}).get("fields", {})}
        new_fields = {key: value for key, value in new_fields.items() if value is not None}
        changes = {"fields": diff(subprofile.fields, new_fields)}
        subprofile.fields, subprofile.updated_at = new_fields, utcnow()
        events.record("unsubscribed", origin, profile=profile, subprofile=subprofile, changes=changes)
    else:
        events.record("unsubscribed", origin, profile=profile, subprofile=subprofile)
    db.session.commit()
    return behaviour


def is_subscribed(holder: Profile | Subprofile) -> bool:
    """False only when the holder carries every configured unsubscribe value (``update`` behaviour)."""
    owner = holder.collection if isinstance(holder, Subprofile) else holder.database
    values = owner.unsubscribe_values or {}
    if owner.unsubscribe_behaviour != "update" or not (values.get("fields") or values.get("interests")):
        return True
    fields_match = all(holder.fields.get(key) == value for key, value in values.get("fields", {}).items())
    interests = set(getattr(holder, "interests", []) or [])
    interests_match = all((int(i) in interests) == on for i, on in values.get("interests", {}).items())
    return not (fields_match and interests_match)


def subscribed_condition(database: Database) -> ColumnElement:
    """``is_subscribed`` as SQL over a database's profiles, for counting subscribers without loading them."""
    values = database.unsubscribe_values or {}
    if database.unsubscribe_behaviour != "update" or not (values.get("fields") or values.get("interests")):
        return true()
    carries: list[ColumnElement] = []
    postgresql = dialect_name() == "postgresql"
    fields_column: ColumnElement = literal_column("profile.fields")
    for key, value in (values.get("fields") or {}).items():
        if value is None:  # unsubscribing clears the field: carried when it is absent
            if postgresql:
                stored: ColumnElement = literal_column(f"(profile.fields ->> '{int(key)}')")
            else:
                stored = _sqlite_value(fields_column, key)
            carries.append(stored.is_(None))
        elif postgresql:
            carries.append(fields_column.op("@>")(cast(literal(json.dumps({key: value})), JSONB)))
        else:  # a missing value is NULL, never equal: coalesce keeps NOT (…) from turning NULL
            wanted = json.dumps(value) if isinstance(value, list | dict) else value
            carries.append(func.coalesce(_sqlite_value(fields_column, key) == literal(wanted), False))
    for interest_id, on in (values.get("interests") or {}).items():
        holds = interest_condition(int(interest_id))
        carries.append(holds if on else ~holds)
    return ~and_(*carries)


def _sqlite_value(fields_column: ColumnElement, key: str) -> ColumnElement:
    return func.json_extract(fields_column, literal_column("'$.\"" + str(int(key)) + "\"'"))
