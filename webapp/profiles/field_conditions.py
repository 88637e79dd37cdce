"""One condition on one field value, in one place: its SQL (PostgreSQL and SQLite) and its meaning for one stored
value. Both must mean the same (``tests/services/test_rules.py`` and ``test_field_conditions.py`` compare them).

Everything that filters by a field value builds the comparison here: the rule language (``rules.sql`` compiles a
tree's field rules with ``condition``, ``rules.evaluate`` checks them with ``holds``; selections, follow-up and
callback conditions) and Copernica's requirement search (``profiles.search`` turns each requirement into one of
these conditions). It sits in ``profiles``, below ``rules``, because search does.

Operators (docs/selections.md): ``=``, ``!=``, ``<``, ``>``, ``<=``, ``>=``, ``contains``, ``starts_with``
(``%`` and ``_`` literal), ``like``, ``not_like`` (``%`` and ``_`` wildcards), ``empty``, ``not_empty``, ``in``,
``not_in``, ``in_last_days``, ``in_next_days`` (the value: a number of days) and ``birthday_today``. Values are
already coerced to the field's type. Comparisons use the fields' sort expressions (``field_expressions``), so an
indexed field's index serves ``=``, the ordered operators, ``starts_with`` and a ``like`` prefix.

Options:

- ``case_sensitive`` (text fields): compare the stored text itself, not lower-cased (no index).
- ``each`` (a multiple choice): compare choice by choice instead of as a set: ``=`` and ``in`` hold a choice
  equal to the value, the ordered operators one choice in that order, ``!=`` and ``not_in`` no such choice.

SQL's NULL is never an answer: a condition on a missing value is true or false, as ``holds`` says.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, cast, exists, false, func, literal, literal_column, not_, or_, select
from sqlalchemy.sql.elements import ColumnElement

from webapp.models import Field
from webapp.profiles.field_expressions import raw_value, sort_literal, sort_value
from webapp.profiles.field_types import get_field_type, is_empty

ORDERED = ("<", ">", "<=", ">=")
DATE_OPERATORS = ("in_last_days", "in_next_days", "birthday_today")
NEGATED = {"!=": "=", "not_in": "in", "not_like": "like", "not_empty": "empty"}


@dataclass(frozen=True)
class Options:
    """How a condition compares (see the module docstring)."""

    case_sensitive: bool = False
    each: bool = False


PLAIN = Options()


# --- SQL ------------------------------------------------------------------------------------------------------


def condition(
    field: Field,
    operator: str,
    value: Any,
    *,
    table: str,
    dialect: str,
    today: date,
    options: Options = PLAIN,
) -> ColumnElement[bool]:
    """The WHERE clause of one condition on ``field`` of the rows of ``table`` (never NULL)."""
    if operator in NEGATED:
        positive = NEGATED[operator]
        return negated(condition(field, positive, value, table=table, dialect=dialect, today=today, options=options))
    return _Sql(field, table, dialect, options).positive(operator, value, today)


def negated(clause: ColumnElement[bool]) -> ColumnElement[bool]:
    """NOT ``clause``, where a NULL (no value) counts as false, so the negation holds."""
    return not_(func.coalesce(clause, false()))


@dataclass
class _Sql:
    field: Field
    table: str
    dialect: str
    options: Options

    def __post_init__(self) -> None:
        self.raw = raw_value(self.field, self.dialect, self.table)
        self.text = get_field_type(self.field.type).sort_as == "text"
        self.multiple = self.field.type == "choice" and bool((self.field.options or {}).get("multiple"))
        self.exact = self.options.case_sensitive and self.text

    def positive(self, operator: str, value: Any, today: date) -> ColumnElement[bool]:
        if operator == "empty":
            return self.empty()
        if operator == "=":
            return self.equal(value)
        if operator == "in":
            return or_(*[self.equal(item) for item in value or []])
        if operator in ORDERED:
            return self.ordered(operator, value)
        if operator in ("contains", "starts_with"):
            return self.text_match(operator, str(value))
        if operator == "like":
            return self.like("" if value is None else str(value))
        if operator in DATE_OPERATORS:
            return self.day(operator, int(value or 0), today)
        raise ValueError(f"Unknown operator {operator!r}")

    def empty(self) -> ColumnElement[bool]:
        raw = self.raw
        return or_(raw.is_(None), func.trim(raw) == literal(""), raw == literal("[]"))

    def equal(self, value: Any) -> ColumnElement[bool]:
        if value is None:
            return self.empty()
        if self.multiple and self.options.each and not isinstance(value, list):
            wanted = str(value).lower()
            return self.any_choice(lambda choice: func.lower(choice) == wanted)
        if isinstance(value, list) or self.multiple:
            items = value if isinstance(value, list) else [value]
            if self.dialect == "postgresql":
                element: ColumnElement = literal_column(f"({self.table}.fields -> '{int(self.field.id)}')")
                return element == cast(literal(json.dumps(items)), _jsonb())
            return func.json(self.raw) == func.json(literal(json.dumps(items)))
        if self.exact:
            return and_(self.raw == literal(str(value)), self.raw.is_not(None))
        return and_(self.sort() == sort_literal(self.field, value, self.dialect), self.raw.is_not(None))

    def ordered(self, operator: str, value: Any) -> ColumnElement[bool]:
        if value is None or isinstance(value, list):
            return false()
        if self.multiple and self.options.each:
            choice_value = str(value).lower()
            return self.any_choice(lambda choice: _compare_sql(func.lower(choice), operator, choice_value))
        wanted: Any
        if self.exact:
            expression, wanted = self.raw, literal(str(value))
        else:
            expression, wanted = self.sort(), sort_literal(self.field, value, self.dialect)
        return and_(_compare_sql(expression, operator, wanted), not_(self.empty()))

    def text_match(self, operator: str, value: str) -> ColumnElement[bool]:
        escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%" if operator == "contains" else f"{escaped}%"
        if self.multiple:
            if operator == "contains":
                return self.any_choice(lambda choice: func.lower(choice) == value.lower())
            return self.any_choice(lambda choice: func.lower(choice).like(pattern, escape="\\"))
        if operator == "starts_with" and self.text:
            return self.sort().like(pattern, escape="\\")  # the index's expression
        return func.coalesce(func.lower(self.raw), literal("")).like(pattern, escape="\\")

    def like(self, pattern: str) -> ColumnElement[bool]:
        """``%`` and ``_`` are wildcards; text lower-cased on the sort expression, so ``'ann%'`` walks the index."""
        if self.exact:
            if self.dialect == "postgresql":
                return func.coalesce(self.raw.like(pattern), false())  # LIKE is case-sensitive on PostgreSQL
            # SQLite's LIKE ignores ASCII case: GLOB is its case-sensitive matcher (its own wildcards escaped).
            glob = "".join({"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}.get(ch, ch) for ch in pattern)
            return func.coalesce(self.raw.op("GLOB")(literal(glob)), false())
        if self.text:
            return self.sort().like(pattern.lower())
        return func.lower(func.coalesce(self.raw, literal(""))).like(pattern.lower())

    def day(self, operator: str, days: int, today: date) -> ColumnElement[bool]:
        raw = self.raw
        day = func.substr(raw, 1, 10)
        if operator == "birthday_today":
            return func.coalesce(func.substr(raw, 6, 5) == today.strftime("%m-%d"), false())
        if operator == "in_last_days":
            return and_(day >= (today - timedelta(days=days)).isoformat(), day <= today.isoformat())
        return and_(day >= today.isoformat(), day <= (today + timedelta(days=days)).isoformat())

    def sort(self) -> ColumnElement:
        return sort_value(self.field, self.dialect, self.table)

    def any_choice(self, test: Callable[[ColumnElement], ColumnElement[bool]]) -> ColumnElement[bool]:
        key = int(self.field.id)
        if self.dialect == "postgresql":
            elements = func.jsonb_array_elements_text(
                func.coalesce(literal_column(f"{self.table}.fields -> '{key}'"), literal_column("'[]'::jsonb"))
            ).table_valued("value")
        else:
            elements = func.json_each(
                literal_column(f"{self.table}.fields"), literal_column(f"'$.\"{key}\"'")
            ).table_valued("value")
        return exists(select(literal(1)).select_from(elements).where(test(elements.c.value)))


def _compare_sql(left: Any, operator: str, right: Any) -> ColumnElement[bool]:
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[operator]


def _jsonb():
    from sqlalchemy.dialects.postgresql import JSONB

    return JSONB()


# --- one stored value ---------------------------------------------------------------------------------------------


def holds(stored: Any, operator: str, value: Any, *, today: date | None = None, options: Options = PLAIN) -> bool:
    """What ``condition`` means for one stored value; text compares case-insensitively unless ``case_sensitive``.

    ``today`` is needed by the date operators only."""
    if operator in NEGATED:
        return not holds(stored, NEGATED[operator], value, today=today, options=options)
    if options.each and isinstance(stored, list) and stored and operator in ("=", "in", *ORDERED):
        return any(holds(item, operator, value, today=today, options=PLAIN) for item in stored)
    if operator == "empty":
        return is_empty(stored)
    if operator in ("contains", "starts_with"):
        return _text_match(stored, operator, str(value).lower())
    if operator == "like":
        return _like(stored, "" if value is None else str(value), options.case_sensitive)
    if operator == "in":
        return any(_equal(stored, item, options) for item in value)
    if operator == "=":
        return _equal(stored, value, options)
    if operator in DATE_OPERATORS:
        assert today is not None, "a date condition needs today"
        return _date(stored, operator, int(value or 0), today)
    if operator not in ORDERED:
        raise ValueError(f"Unknown operator {operator!r}")
    if is_empty(stored) or value is None or isinstance(value, list):
        return False
    left, right = (str(stored), str(value)) if options.case_sensitive else _pair(stored, value)
    if type(left) is not type(right):
        return False
    return {"<": left < right, ">": left > right, "<=": left <= right, ">=": left >= right}[operator]


def _text_match(stored: Any, operator: str, needle: str) -> bool:
    if isinstance(stored, list):
        if operator == "contains":
            return any(needle == str(item).lower() for item in stored)
        return any(str(item).lower().startswith(needle) for item in stored)
    text = str("" if stored is None else stored).lower()
    return needle in text if operator == "contains" else text.startswith(needle)


def _like(stored: Any, pattern: str, case_sensitive: bool) -> bool:
    """SQL's LIKE on the value as the database holds it as text (a multiple choice: its JSON text)."""
    if stored is None:
        if case_sensitive:
            return False
        stored = ""
    text = json.dumps(stored, ensure_ascii=False) if isinstance(stored, list) else str(stored)
    expression = "".join({"%": ".*", "_": "."}.get(ch) or re.escape(ch) for ch in pattern)
    flags = re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE
    return re.fullmatch(expression, text, flags) is not None


def _date(stored: Any, operator: str, days: int, today: date) -> bool:
    if is_empty(stored) or not isinstance(stored, str):
        return False
    day = stored[:10]
    if operator == "birthday_today":
        return stored[5:10] == today.strftime("%m-%d")
    if operator == "in_last_days":
        return (today - timedelta(days=days)).isoformat() <= day <= today.isoformat()
    return today.isoformat() <= day <= (today + timedelta(days=days)).isoformat()


def _equal(stored: Any, wanted: Any, options: Options) -> bool:
    if is_empty(stored) or wanted is None:
        return is_empty(stored) and (wanted is None or is_empty(wanted))
    if isinstance(stored, list) or isinstance(wanted, list):
        as_set = {str(item).lower() for item in (stored if isinstance(stored, list) else [stored])}
        wanted_set = {str(item).lower() for item in (wanted if isinstance(wanted, list) else [wanted])}
        return as_set == wanted_set
    if options.case_sensitive:
        return str(stored) == str(wanted)
    left, right = _pair(stored, wanted)
    return left == right


def _pair(stored: Any, wanted: Any) -> tuple[Any, Any]:
    """Both values in comparable form; a number meets a numeric text as a number."""
    left, right = _comparable(stored), _comparable(wanted)
    if isinstance(left, Decimal) is not isinstance(right, Decimal):
        try:
            return (left if isinstance(left, Decimal) else Decimal(left)), (
                right if isinstance(right, Decimal) else Decimal(right)
            )
        except ArithmeticError:
            return left, right
    return left, right


def _comparable(value: Any) -> Any:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    return str(value).lower()
