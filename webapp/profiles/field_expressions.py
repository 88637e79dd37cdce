"""SQL expressions over field values in the JSON column, shared by queries and their indexes.

A query can only use an expression index when it repeats the index's expression exactly, so both are
built here. Empty values sort as a sentinel (``''`` for text, ``NaN``/infinity for numbers) so that keyset
pagination never meets a NULL.
"""

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    cast,
    func,
    literal,
    literal_column,
    tuple_,
)
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression

from webapp.extensions import db
from webapp.models import Field, Profile
from webapp.profiles.database_config import FieldLike
from webapp.profiles.field_types import get_field_type


def raw_value(field: FieldLike, dialect: str, table: str | None = "profile") -> ColumnElement:
    """The stored value as text (``fields ->> 'key'``) with the key inlined, as an index needs it.

    ``table=None`` leaves the column unqualified, as ``CREATE INDEX`` wants it.
    """
    key = str(int(field.id))
    column = f"{table}.fields" if table else "fields"
    if dialect == "postgresql":
        return literal_column(f"({column} ->> '{key}')")
    return func.json_extract(literal_column(column), literal_column(f"'$.\"{key}\"'"))


def sort_value(field: FieldLike, dialect: str, table: str | None = "profile") -> ColumnElement:
    """What lists sort and search on: lower-cased text, numbers as numbers, dates as ISO text."""
    raw = raw_value(field, dialect, table)
    sort_as = get_field_type(field.type).sort_as
    if sort_as == "number":
        if dialect == "postgresql":
            return func.coalesce(cast(raw, Numeric), literal_column("'NaN'::numeric"))
        return func.coalesce(cast(raw, Float), literal_column("9e999"))
    text = func.lower(raw) if sort_as == "text" else raw
    # A literal, not a bound parameter: SQLite only matches an index expression written the same way.
    text = func.coalesce(text, literal_column("''"))
    if dialect == "postgresql":
        return text.collate("C")
    return text


def sort_literal(field: FieldLike, stored: Any, dialect: str) -> Any:
    """A stored value as ``sort_value`` of its field holds it (for equality on the sort index)."""
    sort_as = get_field_type(field.type).sort_as
    if sort_as == "number":
        return Decimal(str(stored)) if dialect == "postgresql" else float(stored)
    return str(stored).lower() if sort_as == "text" else str(stored)


def match_value(field: FieldLike, dialect: str, table: str | None = "profile") -> ColumnElement:
    """What equality and uniqueness compare: text case-insensitively, other types as stored."""
    raw = raw_value(field, dialect, table)
    return func.lower(raw) if get_field_type(field.type).sort_as == "text" else raw


def field_indexes(field: Field, dialect: str) -> list[Index]:
    """The expression indexes behind an indexed or unique database field (profiles only)."""
    key = int(field.id)
    table = Table("profile", MetaData(), Column("id", Integer), Column("database_id", Integer))
    indexes = [Index(f"ix_profile_field_{key}", table.c.database_id, sort_value(field, dialect, None), table.c.id)]
    if field.unique:
        indexes.append(
            Index(f"uq_profile_field_{key}", table.c.database_id, match_value(field, dialect, None), unique=True)
        )
    return indexes


def include_in_migrations(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic filter: the per-field expression indexes are managed by the fields service, not migrations, and the
    trigram index of substring search exists only where PostgreSQL has ``pg_trgm`` (``profiles/text_search.py``)."""
    prefixes = ("ix_profile_field_", "uq_profile_field_", "ix_profile_text_trgm")
    return not (type_ == "index" and name and name.startswith(prefixes))


def index_names(field: Field) -> list[str]:
    return [f"ix_profile_field_{int(field.id)}", f"uq_profile_field_{int(field.id)}"]


def keyset_after(expression: SQLColumnExpression[Any], value, last_id: int, descending: bool) -> ColumnElement:
    """Rows after ``(value, last_id)`` in the order ``expression, id`` (both ascending or both descending)."""
    row = tuple_(expression, Profile.id)
    bound = tuple_(literal(value), literal(last_id))
    return row < bound if descending else row > bound


def has_interest(interest_id: int, dialect: str, table: str = "profile") -> ColumnElement:
    """True where the profile's ``interests`` JSON list holds ``interest_id``."""
    key = int(interest_id)
    if dialect == "postgresql":
        return literal_column(f"({table}.interests @> '[{key}]'::jsonb)")
    return literal_column(f"EXISTS (SELECT 1 FROM json_each({table}.interests) WHERE json_each.value = {key})")  # noqa: S608 - int id, table name ours


def dialect_name() -> str:
    return db.engine.dialect.name
