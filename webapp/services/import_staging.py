"""The PostgreSQL write path of an import batch: ``COPY`` instead of statements per row.

New profiles, subprofiles and profile events get their ids from their sequences in one query and are
copied straight into their tables; changed profiles are copied into a temporary staging table and
applied with one ``UPDATE … FROM``. All of it runs on the session's connection inside the batch's
transaction, so a batch commits whole — with the run's progress marker — or not at all.

Rows are written as CSV (the ``csv`` module's C writer) with ``NULL '\\N'``, so an empty string stays an
empty string; JSON columns are encoded once here.
"""

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text

from webapp.extensions import db
from webapp.services.profiles import new_code

NULL = "\\N"
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode

# (profile id, kind, collection id, subprofile id, changes) of one event
EventRow = tuple[int, str, int | None, int | None, dict[str, Any]]


def allocate_ids(table: str, count: int) -> list[int]:
    """``count`` fresh ids from the sequence behind ``table.id``, in ascending order."""
    if not count:
        return []
    return list(
        db.session.scalars(
            text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count) ORDER BY 1"),
            {"table": table, "count": count},
        )
    )


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """``COPY table (columns) FROM STDIN`` (CSV, ``\\N`` for NULL) in the session's transaction."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    buffer.seek(0)
    cursor = db.session.connection().connection.cursor()
    try:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer)
    finally:
        cursor.close()


def insert_profiles(
    account_id: int, database_id: int, now: datetime, values: list[tuple[dict[str, Any], list[int]]]
) -> list[int]:
    """New profiles from (fields, interests); their ids in the same order."""
    ids = allocate_ids("profile", len(values))
    copy_rows(
        "profile",
        ("id", "account_id", "database_id", "code", "fields", "interests", "created_at", "updated_at"),
        [
            (new_id, account_id, database_id, new_code(), _encode(fields), _encode(interests), now, now)
            for new_id, (fields, interests) in zip(ids, values, strict=True)
        ],
    )
    return ids


def insert_subprofiles(
    account_id: int, database_id: int, now: datetime, values: list[tuple[int, int, dict[str, Any]]]
) -> list[int]:
    """New subprofiles from (profile id, collection id, fields); their ids in the same order."""
    ids = allocate_ids("subprofile", len(values))
    copy_rows(
        "subprofile",
        (
            "id",
            "account_id",
            "database_id",
            "collection_id",
            "profile_id",
            "code",
            "fields",
            "created_at",
            "updated_at",
        ),
        [
            (new_id, account_id, database_id, collection_id, profile_id, new_code(), _encode(fields), now, now)
            for new_id, (profile_id, collection_id, fields) in zip(ids, values, strict=True)
        ],
    )
    return ids


def insert_events(
    account_id: int, database_id: int, now: datetime, source: str, actor: str, reference: str, rows: list[EventRow]
) -> list[int]:
    """Profile events, one per row; their ids in the same order."""
    ids = allocate_ids("profile_event", len(rows))
    copy_rows(
        "profile_event",
        (
            "id",
            "account_id",
            "database_id",
            "profile_id",
            "collection_id",
            "subprofile_id",
            "kind",
            "source",
            "actor",
            "reference",
            "changes",
            "created_at",
        ),
        [
            (
                new_id,
                account_id,
                database_id,
                profile_id,
                NULL if collection_id is None else collection_id,
                NULL if subprofile_id is None else subprofile_id,
                kind,
                source,
                actor,
                reference,
                _encode(changes),
                now,
            )
            for new_id, (profile_id, kind, collection_id, subprofile_id, changes) in zip(ids, rows, strict=True)
        ],
    )
    return ids


def update_profiles(now: datetime, values: list[tuple[int, dict[str, Any], list[int]]]) -> None:
    """Set fields and interests of profiles from (id, fields, interests): staged with COPY, one UPDATE."""
    db.session.execute(
        text(
            "CREATE TEMPORARY TABLE IF NOT EXISTS import_staging "
            "(id integer PRIMARY KEY, fields jsonb NOT NULL, interests jsonb NOT NULL) ON COMMIT DELETE ROWS"
        )
    )
    db.session.execute(text("TRUNCATE import_staging"))
    copy_rows(
        "import_staging",
        ("id", "fields", "interests"),
        [(profile_id, _encode(fields), _encode(interests)) for profile_id, fields, interests in values],
    )
    db.session.execute(
        text(
            "UPDATE profile SET fields = staged.fields, interests = staged.interests, updated_at = :now "
            "FROM import_staging AS staged WHERE profile.id = staged.id"
        ),
        {"now": now},
    )
