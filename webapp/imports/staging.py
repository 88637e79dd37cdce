"""The PostgreSQL write paths of an import batch: ``COPY`` instead of statements per row.

``BulkMerge`` (the set-based path): validated lines are copied into a temporary table and one statement
matches, merges, writes and journals them (see its docstring). The functions before it serve the
line-by-line planner: new profiles, subprofiles and profile events get their ids from their sequences in
one query and are copied straight into their tables; changed profiles are copied into a temporary staging
table and applied with one ``UPDATE … FROM``. All of it runs on the session's connection inside the batch's
transaction, so a batch commits whole — with the run's progress marker — or not at all.

Rows are written as CSV (the ``csv`` module's C writer) with ``NULL '\\N'``, so an empty string stays an
empty string; JSON columns are encoded once here.
"""

import csv
import io
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects import postgresql

from webapp.extensions import db
from webapp.models import Field
from webapp.profiles.field_expressions import match_value, sort_value
from webapp.profiles.field_types import get_field_type
from webapp.profiles.profiles import new_code

NULL = "\\N"
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def encode_json(value: Any) -> str:
    """Compact JSON (non-ASCII kept), as the staging tables take it."""
    return _encode(value)


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


# --- the set-based merge of a batch ------------------------------------------------------------------------

# One staged line: its line number, the JSON object of its stored values (empty cells left out), the changes
# of the event if it creates a profile (``{"fields": {"12": [null, "Amsterdam"]}, "interests": {}}``, or None
# to let SQL build them from the new profile) and, when it has any, the rest as JSON: ``clear`` (field keys to remove),
# ``on``/``off`` (interest ids) and ``subs`` (collection id → the stored values of the line's new subprofile).
StagedLine = tuple[int, str, str | None, str | None]


@dataclass(frozen=True)
class MergeResult:
    created: int
    updated: int
    unchanged: int  # matched, and the profile already as the line has it
    event_range: tuple[int, int] | None
    collection_ids: frozenset[int]


def _sql(expression) -> str:
    return str(expression.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def _staged(field: Field, *, sort: bool) -> str:
    """The staged line's value of ``field`` as ``sort_value`` (``sort``) or ``match_value`` of ``profile`` has it."""
    key = f"(s.vals ->> '{int(field.id)}')"
    sort_as = get_field_type(field.type).sort_as
    if sort_as == "text":
        return f"lower({key})"
    return f"CAST({key} AS NUMERIC)" if sort and sort_as == "number" else key


class BulkMerge:
    """Applies a batch of validated lines to ``profile`` in one statement: match, policies, writes, journal.

    The lines are copied into the temporary table ``import_line``; one statement then finds each line's
    profile by its key fields (with the expressions of the fields' indexes, so an indexed key is one index
    probe per line; the oldest profile when several match), merges the line into it with ``jsonb``
    operators under the run's policies, updates the profiles that change, inserts the new ones and their
    subprofiles, and journals one event per created or changed profile and per subprofile, old → new values
    built from the same rows. The caller guarantees that no two lines of a batch share a key.
    """

    def __init__(
        self,
        account_id: int,
        database_id: int,
        key_fields: list[Field],
        field_keys: list[str],
        *,
        key_indexed: bool,
        on_match: str,
        on_no_match: str,
        defaults: dict[str, Any],
        collections: int,
    ):
        self.scope = {
            "account_id": account_id,
            "database_id": database_id,
            "defaults": _encode(defaults),
            "collections": max(collections, 1),
        }
        self.collections = max(collections, 1)
        sequences = db.session.execute(
            text("SELECT pg_get_serial_sequence('profile', 'id'), pg_get_serial_sequence('subprofile', 'id')")
        ).one()
        statement = _merge_statement(
            key_fields, field_keys, bool(defaults), key_indexed, on_match, on_no_match, *sequences
        )
        self.statement = text(statement)
        # With an indexed key every join of the statement is best an index probe per line: without statistics
        # on the staged rows the planner may hash the whole profile table instead.
        self.settings = "; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off" if key_indexed else ""

    def apply(self, now: datetime, source: str, actor: str, reference: str, staged: "StagedLines") -> MergeResult:
        # The planner cannot know the staged rows (a temporary table has no statistics) and guesses high
        # enough to compile the statement (JIT), which costs more than running it: off for this transaction.
        db.session.execute(
            text(
                "CREATE TEMPORARY TABLE IF NOT EXISTS import_line "
                "(n integer NOT NULL, line integer NOT NULL, vals jsonb NOT NULL, created text, extra jsonb) "
                "ON COMMIT DELETE ROWS; "
                "SET LOCAL jit = off" + self.settings
            )
        )
        cursor = db.session.connection().connection.cursor()
        try:
            cursor.copy_expert("COPY import_line (n, line, vals, created, extra) FROM STDIN", io.StringIO(staged.text))
        finally:
            cursor.close()
        codes = os.urandom(16 * staged.count)
        sub_codes = os.urandom(16 * staged.count * self.collections) if staged.with_extra else b""
        created, updated, unchanged, first, last, collection_ids = db.session.execute(
            self.statement,
            {
                **self.scope,
                "now": now,
                "source": source,
                "actor": actor,
                "reference": reference,
                "codes": codes,
                "sub_codes": sub_codes,
            },
        ).one()
        return MergeResult(
            created, updated, unchanged, (first, last) if first is not None else None, frozenset(collection_ids or ())
        )


@dataclass(frozen=True)
class StagedLines:
    """A batch's staged lines as ``COPY`` takes them (built where the lines are validated, so that the
    thread writing to the database only sends them)."""

    count: int
    text: str
    with_extra: bool

    @classmethod
    def of(cls, lines: list[StagedLine]) -> "StagedLines":
        text = "".join(
            f"{n}\t{line}\t{_copy_text(values)}\t{_copy_text(created)}\t{_copy_text(extra)}\n"
            for n, (line, values, created, extra) in enumerate(lines)
        )
        return cls(len(lines), text, any(extra is not None for _line, _values, _created, extra in lines))


def _copy_text(value: str | None) -> str:
    """A JSON text (or None) as a column of ``COPY``'s text format (JSON holds no raw tab or newline)."""
    return NULL if value is None else value.replace("\\", "\\\\")


def _merge_statement(
    key_fields: list[Field],
    field_keys: list[str],
    with_defaults: bool,
    key_indexed: bool,
    on_match: str,
    on_no_match: str,
    profile_sequence: str,
    subprofile_sequence: str,
) -> str:
    """The statement of ``BulkMerge`` for a run's key fields, the keys of the profile fields its file writes,
    whether the database has field defaults, and its policies (only ids and fixed words are inlined)."""
    match = _match_clause(key_fields, key_indexed)
    created = "CAST(:defaults AS jsonb) || s.vals" if with_defaults else "s.vals"
    keep = {
        ("create", "skip"): "m.id IS NULL",
        ("ignore", "skip"): "false",
        ("ignore", "update"): "m.id IS NOT NULL",
        ("ignore", "update_empty"): "m.id IS NOT NULL",
    }.get((on_no_match, on_match), "true")
    if on_match == "update_empty":
        merged, merged_interests = "s.vals || m.fields", "m.interests"
    else:
        merged = (
            "CASE WHEN s.extra ? 'clear' THEN (m.fields || s.vals) "
            "- ARRAY(SELECT jsonb_array_elements_text(s.extra -> 'clear')) ELSE m.fields || s.vals END"
        )
        merged_interests = _interests("coalesce(m.interests, '[]'::jsonb)")
    return f"""
WITH decided AS MATERIALIZED (
    SELECT plan.*, NOT is_new AND (new_fields IS DISTINCT FROM old_fields
                                OR new_interests IS DISTINCT FROM old_interests) AS changed
    FROM (
        SELECT s.n, s.line, s.extra, s.created, m.id IS NULL AS is_new,
               coalesce(m.id, nextval('{profile_sequence}')) AS profile_id,
               m.fields AS old_fields, m.interests AS old_interests,
               CASE WHEN m.id IS NULL THEN {created} ELSE {merged} END AS new_fields,
               CASE WHEN m.id IS NULL THEN {_interests("'[]'::jsonb")} ELSE {merged_interests} END AS new_interests
        FROM import_line AS s {match}
        WHERE {keep}
        OFFSET 0  -- evaluated once per line (nextval), not once per use of its columns
    ) AS plan
),
updated AS (
    UPDATE profile SET fields = d.new_fields, interests = d.new_interests, updated_at = :now
    FROM decided AS d WHERE d.changed AND profile.id = d.profile_id
),
created AS (
    INSERT INTO profile (id, account_id, database_id, code, fields, interests, created_at, updated_at)
    SELECT d.profile_id, :account_id, :database_id, encode(substring(:codes FROM d.n * 16 + 1 FOR 16), 'hex'),
           d.new_fields, d.new_interests, :now, :now
    FROM decided AS d WHERE d.is_new ORDER BY d.n
),
subs AS MATERIALIZED (
    SELECT nextval('{subprofile_sequence}') AS id, ordered.*
    FROM (SELECT d.n, d.profile_id, CAST(e.key AS integer) AS collection_id, e.value AS fields, e.position
          FROM decided AS d CROSS JOIN LATERAL jsonb_each(d.extra -> 'subs') WITH ORDINALITY AS e(key, value, position)
          WHERE d.is_new OR NOT EXISTS (  -- a subprofile the profile holds with the same values is not added again
              SELECT 1 FROM subprofile AS h
              WHERE h.profile_id = d.profile_id AND h.collection_id = CAST(e.key AS integer) AND h.fields = e.value)
          ORDER BY d.n, e.position) AS ordered
),
new_subs AS (
    INSERT INTO subprofile (id, account_id, database_id, collection_id, profile_id, code, fields, created_at,
                            updated_at)
    SELECT u.id, :account_id, :database_id, u.collection_id, u.profile_id,
           encode(substring(:sub_codes FROM CAST((u.n * :collections + u.position - 1) * 16 + 1 AS integer) FOR 16),
                  'hex'),
           u.fields, :now, :now
    FROM subs AS u
),
journal AS (
    INSERT INTO profile_event (account_id, database_id, profile_id, collection_id, subprofile_id, kind, source,
                               actor, reference, changes, created_at)
    SELECT :account_id, :database_id, x.profile_id, x.collection_id, x.subprofile_id, x.kind, :source, :actor,
           :reference, x.changes, :now
    FROM (
        SELECT d.n, 0 AS part, d.profile_id, NULL::integer AS collection_id, NULL::integer AS subprofile_id,
               'profile_created' AS kind,
               coalesce(CAST(d.created AS json),
                        CAST(jsonb_build_object('fields', {_created_diff("d.new_fields")},
                                                'interests', {_interests_diff("'[]'::jsonb", "d.new_interests")})
                             AS json)) AS changes
        FROM decided AS d WHERE d.is_new
        UNION ALL
        SELECT d.n, 0, d.profile_id, NULL, NULL, 'profile_updated',
               CAST('{{"fields":' || {_fields_diff(field_keys)} || ',"interests":'
                    || CAST({_interests_diff("d.old_interests", "d.new_interests")} AS text) || '}}' AS json)
        FROM decided AS d {_field_pairs("d.old_fields", "d.new_fields", field_keys)} WHERE d.changed
        UNION ALL
        SELECT u.n, u.position, u.profile_id, u.collection_id, CAST(u.id AS integer), 'subprofile_created',
               CAST(jsonb_build_object('fields', {_created_diff("u.fields")}) AS json)
        FROM subs AS u
    ) AS x
    ORDER BY x.n, x.part
    RETURNING id
)
SELECT (SELECT count(*) FROM decided WHERE is_new),
       (SELECT count(*) FROM decided AS d
        WHERE d.changed OR (NOT d.is_new AND EXISTS (SELECT 1 FROM subs AS u WHERE u.n = d.n))),
       (SELECT count(*) FROM decided AS d
        WHERE NOT d.is_new AND NOT d.changed AND NOT EXISTS (SELECT 1 FROM subs AS u WHERE u.n = d.n)),
       (SELECT min(id) FROM journal), (SELECT max(id) FROM journal),
       (SELECT array_agg(DISTINCT collection_id) FROM subs)
"""  # noqa: S608 - only ids, sequence names and fixed words are inlined


def _match_clause(key_fields: list[Field], key_indexed: bool) -> str:
    """Joins each staged line to the oldest profile its key fields match (none without key fields)."""
    if not key_fields:
        return "LEFT JOIN (SELECT NULL::integer AS id, NULL::jsonb AS fields, NULL::jsonb AS interests) AS m ON false"
    first, others = key_fields[0], key_fields[1:]
    profile_first = _sql(sort_value(first, "postgresql", "p"))
    if key_indexed:
        conditions = [f"{profile_first} = {_staged(first, sort=True)}"]
        conditions += [f"{_sql(match_value(f, 'postgresql', 'p'))} = {_staged(f, sort=False)}" for f in others]
        return (
            f"LEFT JOIN LATERAL (SELECT p.id, p.fields, p.interests FROM profile AS p "  # noqa: S608
            f"WHERE p.database_id = :database_id AND {' AND '.join(conditions)} AND p.account_id = :account_id "
            f"ORDER BY p.id LIMIT 1) AS m ON true"
        )
    columns = [f"{profile_first} AS k0"] + [
        f"{_sql(match_value(f, 'postgresql', 'p'))} AS k{i}" for i, f in enumerate(others, start=1)
    ]
    names = ", ".join(f"k{i}" for i in range(len(key_fields)))
    joined = [f"m.k0 = {_staged(first, sort=True)}"] + [
        f"m.k{i} = {_staged(f, sort=False)}" for i, f in enumerate(others, start=1)
    ]
    return (
        f"LEFT JOIN (SELECT DISTINCT ON ({names}) p.id, p.fields, p.interests, {', '.join(columns)} "  # noqa: S608
        f"FROM profile AS p WHERE p.database_id = :database_id AND p.account_id = :account_id "
        f"AND {profile_first} IN (SELECT {_staged(first, sort=True)} FROM import_line AS s) "
        f"ORDER BY {names}, p.id) AS m ON {' AND '.join(joined)}"
    )


def _interests(base: str) -> str:
    """``base`` (a JSON list of interest ids) with the line's ``on`` ids added and ``off`` ids removed, sorted."""
    return (
        f"CASE WHEN s.extra ?| ARRAY['on', 'off'] THEN (SELECT coalesce(jsonb_agg(i ORDER BY i), '[]'::jsonb) "  # noqa: S608
        f"FROM (SELECT DISTINCT CAST(e AS integer) AS i FROM jsonb_array_elements_text("
        f"{base} || coalesce(s.extra -> 'on', '[]'::jsonb)) AS e "
        f"WHERE NOT coalesce(s.extra -> 'off', '[]'::jsonb) @> to_jsonb(CAST(e AS integer))) AS x) "
        f"ELSE {base} END"
    )


def _created_diff(new: str) -> str:
    """``values.diff({}, new)``."""
    return (
        f"(SELECT coalesce(jsonb_object_agg(e.key, jsonb_build_array(NULL, e.value)), '{{}}'::jsonb) "  # noqa: S608
        f"FROM jsonb_each({new}) AS e)"
    )


def _field_pairs(old: str, new: str, keys: list[str]) -> str:
    """A lateral row ``v`` of each key's old and new value (``v.o0``, ``v.n0``, …), looked up once per row:
    ``OFFSET 0`` keeps the planner from copying the lookups into every use of them in ``_fields_diff``."""
    if not keys:
        return ""
    columns = ", ".join(f"{old} -> '{int(key)}' AS o{i}, {new} -> '{int(key)}' AS n{i}" for i, key in enumerate(keys))
    return f"CROSS JOIN LATERAL (SELECT {columns} OFFSET 0) AS v"


def _fields_diff(keys: list[str]) -> str:
    """``values.diff(old, new)`` where only the fields ``keys`` can differ, from ``_field_pairs``, as JSON text:
    ``{"12":[old,new]}`` for each that does. One expression per key rather than a subquery per row, and text
    rather than ``jsonb`` functions: the journal stores ``json``, and this is half the cost of building it."""
    if not keys:
        return "'{}'"
    members = [
        f"CASE WHEN v.o{i} IS DISTINCT FROM v.n{i} THEN '\"{int(key)}\":[' || coalesce(CAST(v.o{i} AS text), 'null') "
        f"|| ',' || coalesce(CAST(v.n{i} AS text), 'null') || ']' END"
        for i, key in enumerate(keys)
    ]
    # concat_ws leaves out the unchanged (NULL) members; a function takes at most 100 arguments.
    chunks = [
        f"NULLIF(concat_ws(',', {', '.join(members[start : start + 90])}), '')" for start in range(0, len(members), 90)
    ]
    return f"'{{' || concat_ws(',', {', '.join(chunks)}) || '}}'"


def _interests_diff(old: str, new: str) -> str:
    """``values.interests_diff(old, new)``: ``{id: [before, after]}`` for every interest that changed."""
    return (
        f"CASE WHEN coalesce({old}, '[]'::jsonb) = {new} THEN '{{}}'::jsonb ELSE "  # noqa: S608
        f"(SELECT coalesce(jsonb_object_agg(i, jsonb_build_array(coalesce({old}, '[]'::jsonb) @> to_jsonb(i), "
        f"{new} @> to_jsonb(i))), '{{}}'::jsonb) "
        f"FROM (SELECT DISTINCT CAST(e AS integer) AS i "
        f"FROM jsonb_array_elements_text(coalesce({old}, '[]'::jsonb) || {new}) AS e) AS x "
        f"WHERE (coalesce({old}, '[]'::jsonb) @> to_jsonb(i)) <> ({new} @> to_jsonb(i))) END"
    )
