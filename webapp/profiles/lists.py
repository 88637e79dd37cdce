"""Reading lists of profiles: search as you type, sorting, keyset pagination that stays fast at scale.

Sorting by an indexed field uses exactly the expression its index was built from (``field_expressions``), so
PostgreSQL walks the index instead of the table; searching is a substring search (``text_search``). Pages are
addressed by a cursor holding the last row's sort value and id, never by an offset.
"""

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement, SQLColumnExpression

from webapp.extensions import db
from webapp.models import Account, Database, Field, Profile
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import MAX_ID
from webapp.profiles import text_search
from webapp.profiles.databases import get_database
from webapp.profiles.field_expressions import dialect_name, keyset_after, sort_value
from webapp.profiles.field_types import get_field_type

PAGE_SIZE = 50
BASIC_SORTS = ("id", "created", "modified")


@dataclass
class Page:
    items: list[Profile]
    sort: str
    descending: bool
    next_cursor: str | None
    previous_cursor: str | None


def sort_options(database: Database) -> list[tuple[str, str]]:
    """``(key, label)`` of every order a list of this database can take."""
    options = [("id", _("Id")), ("created", _("Created")), ("modified", _("Modified"))]
    options += [(f"field:{f.id}", f.name) for f in database.fields if f.indexed]
    return options


@dataclass
class SearchScope:
    """What a search looks at, as the list names it: its shown text ``fields`` (it also looks in the other text
    fields that are not hidden: ``text_search.text_fields``). ``indexed`` is kept for callers; always False."""

    indexed: bool
    fields: list[Field]


def search_scope(database: Database) -> SearchScope:
    """The fields a search of this database matches (besides a profile id): see ``profiles.text_search``."""
    return SearchScope(indexed=False, fields=[f for f in text_search.text_fields(database) if f.shown])


class Where(Protocol):
    """What a list shows besides its order: SQL conditions on ``profile`` (``Filter``, or the admin list's filter
    with conditions, ``rules.list_filter.ListFilter``)."""

    def conditions(self, database: Database) -> list[ColumnElement]: ...


@dataclass(frozen=True)
class Filter:
    """What a list shows besides its order: a search, and profiles with (or without) one interest."""

    query: str = ""
    interest_id: int | None = None
    without_interest: bool = False

    def conditions(self, database: Database) -> list[ColumnElement]:
        found = []
        if self.query.strip():
            found.append(text_search.text_condition(database, self.query))
        if self.interest_id is not None:
            if not any(interest.id == self.interest_id for interest in database.interests):
                raise ValidationError({"interest": _("This database has no such interest.")})
            found.append(text_search.interest_condition(self.interest_id, not self.without_interest))
        return found


def count_profiles(account: Account, database_id: int, *, query: str = "", where: Where | None = None) -> int:
    """How many profiles a list with this search holds (a separate query, so the list itself stays fast)."""
    database = get_database(account, database_id)
    where = where if where is not None else Filter(query=query)
    statement = (
        select(func.count())
        .select_from(Profile)
        .where(Profile.account_id == account.id, Profile.database_id == database.id, *where.conditions(database))
    )
    return db.session.scalar(statement) or 0


def list_profiles(
    account: Account,
    database_id: int,
    *,
    query: str = "",
    sort: str = "id",
    descending: bool = False,
    cursor: str | None = None,
    limit: int = PAGE_SIZE,
    where: Where | None = None,
) -> Page:
    database = get_database(account, database_id)
    dialect = dialect_name()
    expression, field = _sort_expression(database, sort, dialect)
    where = where if where is not None else Filter(query=query)
    statement = select(Profile).where(
        Profile.account_id == account.id, Profile.database_id == database.id, *where.conditions(database)
    )
    backwards = False
    if cursor:
        value, last_id, backwards = _decode_cursor(cursor, field, dialect, sort)
        going_down = descending != backwards
        if expression is Profile.id:
            statement = statement.where(Profile.id < last_id if going_down else Profile.id > last_id)
        else:
            statement = statement.where(keyset_after(expression, value, last_id, going_down))
    going_down = descending != backwards
    order = [expression.desc(), Profile.id.desc()] if going_down else [expression.asc(), Profile.id.asc()]
    if expression is Profile.id:
        order = order[:1]
    # The sort value comes with each row, so the cursors need no further queries.
    paged = statement.add_columns(expression.label("sort_value")).order_by(*order).limit(limit + 1)
    rows = [(profile, value) for profile, value in db.session.execute(paged)]
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    has_next = more if not backwards else True
    has_previous = more if backwards else bool(cursor)
    return Page(
        items=[profile for profile, _value in rows],
        sort=sort,
        descending=descending,
        next_cursor=_encode_cursor(*rows[-1], False, sort) if rows and has_next else None,
        previous_cursor=_encode_cursor(*rows[0], True, sort) if rows and has_previous else None,
    )


def _sort_expression(database: Database, sort: str, dialect: str) -> tuple[SQLColumnExpression[Any], Field | None]:
    if sort == "id":
        return Profile.id, None
    if sort == "created":
        return Profile.created_at, None
    if sort == "modified":
        return Profile.updated_at, None
    if sort.startswith("field:"):
        for field in database.fields:
            if f"field:{field.id}" == sort and field.indexed:
                return sort_value(field, dialect), field
    raise ValidationError({"sort": _("Profiles cannot be sorted by %(sort)s.", sort=sort)})


def _encode_cursor(profile: Profile, value: Any, backwards: bool, sort: str) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    elif isinstance(value, Decimal | float):
        value = str(value)
    raw = json.dumps({"s": sort, "v": value, "id": profile.id, "b": backwards}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, field: Field | None, dialect: str, sort: str) -> tuple[Any, int, bool]:
    """The sort value, id and direction of a cursor; one made for another order (or tampered with) is refused."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value, last_id, backwards = data["v"], int(data["id"]), bool(data.get("b"))
        if data.get("s") != sort or not 0 <= last_id <= MAX_ID:
            raise ValueError("cursor of another order")
        if sort == "id":
            value = last_id
        elif field is None:
            value = datetime.fromisoformat(value)
        elif get_field_type(field.type).sort_as == "number":
            value = Decimal(value) if dialect == "postgresql" else float(value)
        elif not isinstance(value, str):
            raise ValueError("text sort value expected")
        return value, last_id, backwards
    except (ValueError, KeyError, TypeError, ArithmeticError):
        raise ValidationError({"cursor": _("This page link is no longer valid; start from the first page.")}) from None
