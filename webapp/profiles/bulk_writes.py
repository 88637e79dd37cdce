"""Writing many profile updates (and new profiles) at once (PostgreSQL), journalled in bulk like
``profiles.bulk_create_profiles``.

The caller validates the new values (``values.validate_values`` / ``validate_interests``, as
``profiles.apply_update`` does) and collects them with ``change``; ``write_changes`` then stores them with one
UPDATE for the profiles and one INSERT for their ``profile_updated`` events, inside the caller's transaction.
Both statements take their rows as arrays (``unnest``), so they are compiled once per process whatever the
number of rows; the loaded profiles get their new values without being read again (a caller that read rows,
not ORM objects, has nothing loaded to update). ``upsert`` writes changes and new profiles of one database
and origin (the batch upsert), with all their events, in one statement.
"""

import json
from typing import Any, NamedTuple, Protocol

from sqlalchemy import text as sql
from sqlalchemy.orm.attributes import set_committed_value

from webapp.extensions import db
from webapp.models import Profile, utcnow
from webapp.profiles import events
from webapp.profiles.values import diff, interests_diff


class StoredProfile(Protocol):
    """A loaded ``Profile`` or a Core row of its columns (``batch_upserts`` reads rows, not ORM objects)."""

    @property
    def id(self) -> int: ...

    @property
    def account_id(self) -> int: ...

    @property
    def database_id(self) -> int: ...

    @property
    def fields(self) -> dict[str, Any]: ...

    @property
    def interests(self) -> list[int]: ...


class ProfileChange(NamedTuple):
    """A profile's new (validated) values and interests, what changed, and who changed it."""

    profile: StoredProfile
    fields: dict[str, Any]
    interests: list[int]
    changes: dict[str, Any]
    origin: events.Origin


def change(
    profile: StoredProfile, fields: dict[str, Any], interests: list[int], origin: events.Origin
) -> ProfileChange | None:
    """The change from the profile's values to ``fields`` and ``interests``; ``None`` when nothing changes."""
    changes = {"fields": diff(profile.fields, fields), "interests": interests_diff(profile.interests, interests)}
    if not changes["fields"] and not changes["interests"]:
        return None
    return ProfileChange(profile, fields, interests, changes, origin)


_UPDATE_PROFILES = sql(
    "UPDATE profile SET fields = changed.fields, interests = changed.interests, updated_at = :stamp "
    "FROM unnest(CAST(:ids AS integer[]), CAST(:fields AS jsonb[]), CAST(:interests AS jsonb[])) "
    "AS changed(id, fields, interests) WHERE profile.id = changed.id"
)
_INSERT_EVENTS = sql(
    "INSERT INTO profile_event (account_id, database_id, profile_id, kind, source, actor, reference, changes, "
    "created_at) SELECT written.account_id, written.database_id, written.profile_id, 'profile_updated', "
    "written.source, written.actor, written.reference, written.changes, :stamp "
    "FROM unnest(CAST(:accounts AS integer[]), CAST(:databases AS integer[]), CAST(:profiles AS integer[]), "
    "CAST(:sources AS varchar[]), CAST(:actors AS varchar[]), CAST(:references AS varchar[]), "
    "CAST(:changes AS json[])) AS written(account_id, database_id, profile_id, source, actor, reference, changes) "
    "RETURNING id"
)


def write_changes(changed: list[ProfileChange]) -> None:
    """One UPDATE for the changed profiles, one INSERT for their ``profile_updated`` events, then the events go
    to their subscribers (which see the profiles' new values in the session). The caller commits."""
    if not changed:
        return
    stamp = utcnow()
    ids = [item.profile.id for item in changed]
    db.session.execute(
        _UPDATE_PROFILES,
        {
            "ids": ids,
            "fields": [json.dumps(item.fields) for item in changed],
            "interests": [json.dumps(item.interests) for item in changed],
            "stamp": stamp,
        },
    )
    event_ids = db.session.scalars(
        _INSERT_EVENTS,
        {
            "accounts": [item.profile.account_id for item in changed],
            "databases": [item.profile.database_id for item in changed],
            "profiles": ids,
            "sources": [item.origin.source for item in changed],
            "actors": [item.origin.actor for item in changed],
            "references": [item.origin.reference for item in changed],
            "changes": [json.dumps(item.changes) for item in changed],
            "stamp": stamp,
        },
    ).all()
    for item in changed:
        if not isinstance(item.profile, Profile):
            continue  # a row: nothing in the session to bring up to date
        set_committed_value(item.profile, "fields", item.fields)
        set_committed_value(item.profile, "interests", item.interests)
        set_committed_value(item.profile, "updated_at", stamp)
    events.note_bulk(list(event_ids))


_UPSERT = sql(
    "WITH written AS (SELECT * FROM json_to_recordset(CAST(:changed AS json)) "
    "AS written(id integer, fields jsonb, interests jsonb, changes json)), "
    "changed AS (UPDATE profile SET fields = written.fields, interests = written.interests, updated_at = :stamp "
    "FROM written WHERE profile.id = written.id RETURNING profile.id), "
    "updated AS (INSERT INTO profile_event (account_id, database_id, profile_id, kind, source, actor, reference, "
    "changes, created_at) SELECT :account, :database, written.id, 'profile_updated', :source, :actor, :reference, "
    "written.changes, :stamp FROM written RETURNING id), "
    "created AS (SELECT * FROM json_to_recordset(CAST(:created AS json)) "
    "AS created(code varchar, fields jsonb, changes json)), "
    "new AS (INSERT INTO profile (account_id, database_id, code, fields, interests, created_at, updated_at) "
    "SELECT :account, :database, created.code, created.fields, CAST('[]' AS jsonb), :stamp, :stamp FROM created "
    "RETURNING id, code), "
    "new_events AS (INSERT INTO profile_event (account_id, database_id, profile_id, kind, source, actor, "
    "reference, changes, created_at) SELECT :account, :database, new.id, 'profile_created', :source, :actor, "
    ":reference, created.changes, :stamp FROM new JOIN created ON created.code = new.code ORDER BY new.id "
    "RETURNING id) "
    "SELECT id FROM updated UNION ALL SELECT id FROM new_events"
)


def upsert(
    account_id: int,
    database_id: int,
    changed: list[ProfileChange],
    stored: list[dict[str, Any]],
    codes: list[str],
    origin: events.Origin,
) -> None:
    """Changes (as ``write_changes``) and new profiles (``stored``: the values ``validate_values`` returned, no
    interests; ``codes``: fresh ``profiles.new_code()`` values, which join each to its event) of one database
    and origin (the batch upsert) in one statement, so one round trip: the UPDATE of the changed profiles
    (rows, not loaded profiles), the INSERT of the new ones, and both kinds of event. Then the events go to
    the bulk subscribers with their scope, which tells them without a query whether the events may concern
    them. The caller commits.

    Each kind of row goes as one JSON document (``json_to_recordset``), encoded with one ``json.dumps``, not
    as arrays of a JSON text per value: a thousand rows cost four thousand encoder calls that way."""
    if not changed and not stored:
        return
    updates = [
        {"id": item.profile.id, "fields": item.fields, "interests": item.interests, "changes": item.changes}
        for item in changed
    ]
    created = [
        {"code": code, "fields": fields, "changes": {"fields": diff({}, fields), "interests": {}}}
        for code, fields in zip(codes, stored, strict=True)
    ]
    event_ids = db.session.scalars(
        _UPSERT,
        {
            "account": account_id,
            "database": database_id,
            "changed": json.dumps(updates),
            "created": json.dumps(created),
            "source": origin.source,
            "actor": origin.actor,
            "reference": origin.reference,
            "stamp": utcnow(),
        },
    ).all()
    kinds = {"profile_updated"} if changed else set()
    kinds |= {"profile_created"} if stored else set()
    scope = events.BulkEvents(
        account_id=account_id,
        database_id=database_id,
        source=origin.source,
        reference=origin.reference,
        kinds=frozenset(kinds),
    )
    events.note_bulk(list(event_ids), scope)
