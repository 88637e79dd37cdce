"""Searching profiles and subprofiles by requirements, and acting on every match (update, remove).

A requirement is ``(fieldname, value, operator, case_sensitive)`` with the operators Copernica's API knows:
``=``, ``!=`` (also ``<>``), ``<``, ``>``, ``<=``, ``>=``, ``LIKE`` and ``NOT LIKE`` (``%`` and ``_`` wildcards).
Each becomes one condition of ``field_conditions``, the comparisons of the rule language (``like``,
``not_like``; ``case_sensitive``), so a requirement and a selection's rule mean the same.

- Comparisons use the field's sort expression (``field_expressions.sort_value``): text lower-cased, numbers
  as numbers, dates as ISO text. That is the expression an indexed field's index is built from, so a
  case-insensitive search on an indexed field walks its index (a ``LIKE 'abc%'`` prefix too, on PostgreSQL).
- A case-sensitive requirement on a text field compares the stored text itself (no index).
- ``=`` with an empty value finds profiles without a value; ``<``, ``>``, ``<=`` and ``>=`` never match an
  empty value; ``!=`` matches empty values (case-sensitive or not). On a multiple choice, ``=`` means "holds
  this choice".
- A requirement on an unknown field is skipped, as Copernica does (deliberate compatibility: integrations
  send requirements on fields a database may not have); a value that does not fit a number, date or
  country field (``abc`` for a number) or an unknown operator is a ``ValidationError`` naming it. Values
  for text-like fields (text, email, phone, choice) that are not valid for the field are compared as text.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.sql.elements import ColumnElement

from webapp.extensions import db
from webapp.models import Account, Field, Profile, Subprofile, utcnow
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import MAX_ID
from webapp.profiles import profiles, subprofiles
from webapp.profiles.databases import get_collection, get_database
from webapp.profiles.events import Origin
from webapp.profiles.field_conditions import PLAIN, Options, condition, negated
from webapp.profiles.field_expressions import dialect_name, sort_value
from webapp.profiles.field_types import FieldValueError, coerce, get_field_type

OPERATORS = ("=", "!=", "<>", "<", ">", "<=", ">=", "LIKE", "NOT LIKE")
MAX_PAGE = 1000
BASIC_ORDERS = {"id": "id", "created": "created_at", "modified": "updated_at", "updated": "updated_at"}


@dataclass(frozen=True)
class Requirement:
    fieldname: str
    value: Any = ""
    operator: str = "="
    case_sensitive: bool = False


@dataclass
class SearchResult:
    items: list
    start: int
    total: int | None  # None when the caller asked for no total (``count=False``)


def search_profiles(
    account: Account,
    database_id: int,
    requirements: Iterable[Requirement] = (),
    *,
    start: int = 0,
    length: int = 100,
    order: str = "id",
    ascending: bool = True,
    within: Select | None = None,
    count: bool = True,
) -> SearchResult:
    """One page (``start`` offset, at most ``length`` rows) of a database's profiles matching every requirement
    (``within``: only among the profile ids this SELECT gives, a selection's members); with ``count=False`` no
    total is counted (``total`` is ``None``)."""
    database = get_database(account, database_id)
    condition = _conditions(database.fields, requirements, "profile")
    base = select(Profile).where(Profile.account_id == account.id, Profile.database_id == database.id, *condition)
    if within is not None:
        base = base.where(Profile.id.in_(within))
    return _page(Profile, base, database.fields, start, length, order, ascending, "profile", count)


def search_subprofiles(
    account: Account,
    collection_id: int,
    requirements: Iterable[Requirement] = (),
    *,
    profile_id: int | None = None,
    start: int = 0,
    length: int = 100,
    order: str = "id",
    ascending: bool = True,
    count: bool = True,
    within: Select | None = None,
) -> SearchResult:
    """A page of a collection's subprofiles (of one profile with ``profile_id``) matching every requirement
    (``count`` and ``within``, here subprofile ids, as in ``search_profiles``)."""
    collection = get_collection(account, collection_id)
    condition = _conditions(collection.fields, requirements, "subprofile")
    base = select(Subprofile).where(
        Subprofile.account_id == account.id, Subprofile.collection_id == collection.id, *condition
    )
    if within is not None:
        base = base.where(Subprofile.id.in_(within))
    if profile_id is not None:
        profile = profiles.get_profile(account, profile_id)
        if profile.database_id != collection.database_id:
            raise ValidationError(_("This collection belongs to another database."))
        base = base.where(Subprofile.profile_id == profile.id)
    return _page(Subprofile, base, collection.fields, start, length, order, ascending, "subprofile", count)


def update_matching_profiles(
    account: Account,
    database_id: int,
    requirements: Iterable[Requirement],
    values: dict[str, Any],
    *,
    interests: dict[Any, bool] | None = None,
    create: bool = False,
    origin: Origin,
    start: int = 0,
    length: int = 100,
) -> SearchResult:
    """Apply ``values`` (and ``interests``) to every matching profile in one transaction (all or nothing).

    With ``create`` and no match, a profile is created from the ``=`` requirements and ``values``. Returns a
    page (``start``, ``length``) of the profiles matched or created, as Copernica's ``updateProfiles`` does.
    """
    requirements = list(requirements)
    database = get_database(account, database_id)
    condition = _conditions(database.fields, requirements, "profile")
    query = select(Profile).where(Profile.account_id == account.id, Profile.database_id == database.id, *condition)
    matches = list(db.session.scalars(query.order_by(Profile.id)))
    if not matches:
        if not create:
            return _slice([], start, length)
        created = profiles.create_profile(
            account,
            database.id,
            {**_equal_values(database.fields, requirements), **values},
            origin=origin,
            interests=interests,
        )
        return _slice([created], start, length)
    try:
        for profile in matches:
            profiles.apply_update(account, profile, values, interests or {}, origin=origin, kind="profile_updated")
    except Exception:
        db.session.rollback()
        raise
    profiles.commit_or_conflict()
    return _slice(matches, start, length)


def update_matching_subprofiles(
    account: Account,
    collection_id: int,
    requirements: Iterable[Requirement],
    values: dict[str, Any],
    *,
    profile_id: int | None = None,
    create: bool = False,
    origin: Origin,
    start: int = 0,
    length: int = 100,
) -> SearchResult:
    """Like ``update_matching_profiles``, for a collection's subprofiles (of one profile with ``profile_id``;
    ``create`` needs that profile)."""
    requirements = list(requirements)
    collection = get_collection(account, collection_id)
    query = select(Subprofile).where(
        Subprofile.account_id == account.id,
        Subprofile.collection_id == collection.id,
        *_conditions(collection.fields, requirements, "subprofile"),
    )
    profile = None
    if profile_id is not None:
        profile = profiles.get_profile(account, profile_id)
        if profile.database_id != collection.database_id:
            raise ValidationError(_("This collection belongs to another database."))
        query = query.where(Subprofile.profile_id == profile.id)
    matches = list(db.session.scalars(query.order_by(Subprofile.id)))
    if not matches:
        if not create or profile is None:
            return _slice([], start, length)
        created = subprofiles.create_subprofile(
            account,
            profile.id,
            collection.id,
            {**_equal_values(collection.fields, requirements), **values},
            origin=origin,
        )
        return _slice([created], start, length)
    try:
        for subprofile in matches:
            subprofiles.apply_update(account, subprofile, values, origin=origin)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    return _slice(matches, start, length)


def _slice(found: list, start: int, length: int) -> SearchResult:
    start = max(0, start)
    return SearchResult(found[start : start + max(0, min(MAX_PAGE, length))], start, len(found))


def remove_profiles(account: Account, database_id: int, ids: Iterable[int], *, origin: Origin) -> int:
    """Remove the profiles of a database with these ids (others are ignored), in one transaction."""
    database = get_database(account, database_id)
    wanted = {int(i) for i in ids if 0 < int(i) <= MAX_ID}
    if not wanted:
        return 0
    found = list(
        db.session.scalars(
            select(Profile)
            .where(Profile.account_id == account.id, Profile.database_id == database.id, Profile.id.in_(wanted))
            .order_by(Profile.id)
        )
    )
    for profile in found:
        profiles.remove_in_transaction(profile, origin)
    db.session.commit()
    return len(found)


def remove_matching_subprofiles(
    account: Account, collection_id: int, requirements: Iterable[Requirement] = (), *, origin: Origin
) -> int:
    """Remove every subprofile of a collection matching the requirements (all of them without any)."""
    collection = get_collection(account, collection_id)
    condition = _conditions(collection.fields, requirements, "subprofile")
    found = list(
        db.session.scalars(
            select(Subprofile)
            .where(Subprofile.account_id == account.id, Subprofile.collection_id == collection.id, *condition)
            .order_by(Subprofile.id)
        )
    )
    for subprofile in found:
        subprofiles.remove_in_transaction(subprofile, origin)
    db.session.commit()
    return len(found)


# --- building the query ---------------------------------------------------------------------------


def _conditions(fields: list[Field], requirements: Iterable[Requirement], table: str) -> list[ColumnElement]:
    by_name = {field.name.lower(): field for field in fields}
    dialect = dialect_name()
    conditions = []
    for requirement in requirements:
        field = by_name.get(str(requirement.fieldname or "").strip().lower())
        if field is None:
            continue  # Copernica skips requirements on unknown fields (see the module docstring)
        conditions.append(_condition(field, requirement, dialect, table))
    return conditions


def _condition(field: Field, requirement: Requirement, dialect: str, table: str) -> ColumnElement:
    """One requirement as a condition of ``field_conditions`` (the rule language's comparisons)."""
    operator = " ".join((requirement.operator or "=").split()).upper()
    if operator not in OPERATORS:
        raise ValidationError({"operator": _("Unknown operator %(operator)s.", operator=requirement.operator)})
    sort_as = get_field_type(field.type).sort_as
    options = Options(case_sensitive=requirement.case_sensitive and sort_as == "text")
    if operator in ("LIKE", "NOT LIKE"):
        pattern = "" if requirement.value is None else str(requirement.value)
        return _field_condition(field, operator.lower().replace(" ", "_"), pattern, dialect, table, options)
    try:
        wanted = coerce(field.type, requirement.value, field.options)
    except FieldValueError as error:
        if sort_as != "text":
            raise ValidationError({field.name: f"{field.name} {error}"}) from None
        wanted = str(requirement.value).strip()  # text-like fields compare as text ("Email >= b")
    if isinstance(wanted, list):  # a multiple choice: "=" holds its first choice, any other operator does not
        held = _field_condition(field, "contains" if wanted else "empty", wanted[0] if wanted else None, dialect, table)
        return held if operator == "=" else negated(held)
    if wanted is None and operator not in ("=", "!=", "<>"):
        raise ValidationError({field.name: _("%(name)s: give a value to compare with.", name=field.name)})
    return _field_condition(field, "!=" if operator == "<>" else operator, wanted, dialect, table, options)


def _field_condition(
    field: Field, operator: str, value: Any, dialect: str, table: str, options: Options = PLAIN
) -> ColumnElement:
    return condition(field, operator, value, table=table, dialect=dialect, today=utcnow().date(), options=options)


def _equal_values(fields: list[Field], requirements: list[Requirement]) -> dict[str, Any]:
    """Values a created profile takes from ``=`` requirements on known fields."""
    names = {field.name.lower(): field.name for field in fields}
    return {
        names[r.fieldname.strip().lower()]: r.value
        for r in requirements
        if (r.operator or "=").strip() == "=" and str(r.fieldname or "").strip().lower() in names
    }


def _page(
    model, base, fields: list[Field], start: int, length: int, order: str, ascending: bool, table: str, count: bool
):
    start = max(0, int(start or 0))
    length = max(0, min(MAX_PAGE, int(length if length is not None else 100)))
    expression = _order_expression(model, fields, order, table)
    ordering = [expression.asc(), model.id.asc()] if ascending else [expression.desc(), model.id.desc()]
    items = list(db.session.scalars(base.order_by(*ordering).offset(start).limit(length))) if length else []
    last_page = length and (0 < len(items) < length or (start == 0 and not items))
    total: int | None = None
    if not count:
        pass  # the caller asked for no total (Copernica's total=false): no count query
    elif last_page:
        total = start + len(items)  # a short (or empty first) page is the last one: no count query needed
    else:
        total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    return SearchResult(items=items, start=start, total=total)


def _order_expression(model, fields: list[Field], order: str, table: str) -> ColumnElement:
    name = (order or "id").strip().lower()
    if name in BASIC_ORDERS:
        return getattr(model, BASIC_ORDERS[name])
    for field in fields:
        if field.name.lower() == name:
            return sort_value(field, dialect_name(), table)
    raise ValidationError({"order": _("Cannot order by %(order)s: there is no such field.", order=order)})
