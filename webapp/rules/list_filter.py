"""The profile list's filter: its substring search (``profiles.text_search``) and its conditions — rows of "field
operator value" and "has (or has not) interest" — as one tree of the rule language, compiled to SQL like a
selection's. The list, its count, a bulk action over "every match" and "save as selection" all take the same
``ListFilter``, so they mean the same profiles; a bulk run stores the validated tree (``as_json``) and applies
exactly that.

A row names its subject as ``field:<id>`` or ``interest:<id>``. Only the database's own fields that are not
hidden can be filtered on (the admin never shows a hidden value, so a filter must not reveal one either), with
the operators ``operators_for`` offers for the field's type. A row whose operator needs a value and has none is
not applied yet (a row just added), so an empty row never hides every profile.
"""

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.sql.elements import ColumnElement

from webapp.models import Database, Field
from webapp.platform.errors import ValidationError
from webapp.profiles import text_search
from webapp.profiles.field_types import get_field_type
from webapp.rules import tree as rule_tree
from webapp.rules.sql import Compiler

MAX_CONDITIONS = 20
MAX_VALUE = 200
TEXT_OPERATORS = ("contains", "=", "!=", "starts_with", "empty", "not_empty")
ORDERED_OPERATORS = ("=", "!=", "<", ">", "empty", "not_empty")
CHOICES_OPERATORS = ("contains", "empty", "not_empty")  # a multiple choice: "contains" holds that choice
INTEREST_OPERATORS = ("has", "has_not")
NO_VALUE = ("empty", "not_empty", "has", "has_not")
OPERATOR_LABELS = {
    "=": _l("="),
    "!=": _l("≠"),
    "contains": _l("contains"),
    "starts_with": _l("starts with"),
    "<": _l("<"),
    ">": _l(">"),
    "empty": _l("is empty"),
    "not_empty": _l("is not empty"),
    "has": _l("has"),
    "has_not": _l("has not"),
}


@dataclass(frozen=True)
class Condition:
    """One row of the filter as the list's URL spells it: ``subject`` (``field:12``, ``interest:4``), an operator
    and the value typed."""

    subject: str
    operator: str
    value: str = ""

    @property
    def pending(self) -> bool:
        """A row that needs a value and has none: shown, not applied."""
        return self.operator not in NO_VALUE and not self.value.strip()


@dataclass(frozen=True)
class ListFilter:
    """The list's search and conditions; ``stored`` is a validated tree read back from a bulk run (then the rows
    are not used)."""

    query: str = ""
    rows: tuple[Condition, ...] = ()
    stored: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def filtered(self) -> bool:
        return bool(self.query.strip() or any(not row.pending for row in self.rows) or self.stored)

    def tree(self, database: Database) -> dict[str, Any]:
        """The rows as a validated rule tree (``{"match": "all", "rules": []}`` for none)."""
        if self.stored is not None:
            return self.stored
        return tree_of(database, self.rows)

    def conditions(self, database: Database) -> list[ColumnElement]:
        """SQL conditions on ``profile`` (the caller scopes to the account and database)."""
        found = []
        if self.query.strip():
            found.append(text_search.text_condition(database, self.query))
        tree = self.tree(database)
        if tree.get("rules"):
            found.append(Compiler(database).where(tree))
        return found

    def selection_tree(self, database: Database) -> dict[str, Any]:
        """The filter as a selection's rules: the conditions, and the search as "any text field contains it".
        Two differences with the list (docs/selections.md): a search typed as a number does not find that
        profile id, and a text field added later is not searched."""
        tree = self.tree(database)
        query = self.query.strip()
        if not query:
            return tree
        searched = text_search.text_fields(database)
        if not searched:
            raise ValidationError({"filter": _("This database has no text fields, so its search cannot be saved.")})
        search = [{"field_id": f.id, "operator": "contains", "value": query} for f in searched]
        return {**tree, "rules": [*tree.get("rules", []), {"match": "any", "rules": search}]}

    def as_json(self, database: Database) -> dict[str, Any]:
        return {"query": self.query, "rules": self.tree(database)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ListFilter":
        """A filter stored by ``as_json``; a bulk run stored before conditions existed held one interest."""
        rules = data.get("rules")
        if rules is None and data.get("interest"):
            held = {"interest_id": int(data["interest"]), "value": not data.get("without_interest")}
            rules = {"match": "all", "rules": [held]}
        return cls(query=str(data.get("query") or ""), stored=rules or {"match": "all", "rules": []})


def filter_fields(database: Database) -> list[Field]:
    """The fields a condition may name: the database's own (no collection's) that are not hidden."""
    return [f for f in database.fields if f.collection_id is None and not f.hidden]


def subjects(database: Database) -> list[tuple[str, str]]:
    """``(subject, label)`` of everything a row may name, fields first, then interests."""
    found = [(f"field:{f.id}", f.name) for f in filter_fields(database)]
    found += [(f"interest:{i.id}", _("Interest %(name)s", name=i.name)) for i in database.interests]
    return found


def operators_for(database: Database, subject: str) -> tuple[str, ...]:
    """The operators a row about ``subject`` offers (an unknown subject: none)."""
    kind, _colon, raw_id = subject.partition(":")
    if kind == "interest":
        return INTEREST_OPERATORS if any(str(i.id) == raw_id for i in database.interests) else ()
    chosen = next((f for f in filter_fields(database) if str(f.id) == raw_id), None) if kind == "field" else None
    if chosen is None:
        return ()
    if chosen.type == "choice" and (chosen.options or {}).get("multiple"):
        return CHOICES_OPERATORS
    if get_field_type(chosen.type).sort_as == "text":
        return TEXT_OPERATORS
    return ORDERED_OPERATORS


def settle(database: Database, rows: tuple[Condition, ...]) -> tuple[Condition, ...]:
    """The rows as the form shows them: a row whose subject does not offer its operator (the subject was just
    changed) gets the subject's first operator."""
    settled = []
    for row in rows:
        offered = operators_for(database, row.subject)
        settled.append(row if row.operator in offered or not offered else Condition(row.subject, offered[0], row.value))
    return tuple(settled)


def tree_of(database: Database, rows: tuple[Condition, ...]) -> dict[str, Any]:
    """The rule tree of ``rows`` (pending rows left out), validated as a selection's; ``ValidationError`` names
    the row at fault."""
    if len(rows) > MAX_CONDITIONS:
        raise ValidationError({"filter": _("Filter on at most %(count)s conditions.", count=MAX_CONDITIONS)})
    rules = [_rule(database, row) for row in rows if not row.pending]
    scope = rule_tree.Scope(
        fields={f.id: f for f in filter_fields(database)},
        interest_ids={i.id for i in database.interests},
        account_id=database.account_id,
        database_id=database.id,
    )
    try:
        return rule_tree.validate({"match": "all", "rules": rules}, scope)
    except ValueError as error:
        raise ValidationError({"filter": str(error)}) from None


def _rule(database: Database, row: Condition) -> dict[str, Any]:
    offered = operators_for(database, row.subject)
    if not offered:
        if row.subject.startswith("interest:"):
            raise ValidationError({"filter": _("This database has no such interest.")})
        raise ValidationError({"filter": _("Choose a field of this database (not a hidden one) or an interest.")})
    if row.operator not in offered:
        raise ValidationError({"filter": _("Choose one of the operators offered.")})
    subject_id = int(row.subject.partition(":")[2])
    if row.operator in INTEREST_OPERATORS:
        return {"interest_id": subject_id, "value": row.operator == "has"}
    if row.operator in NO_VALUE:
        return {"field_id": subject_id, "operator": row.operator}
    value = row.value.strip()
    if len(value) > MAX_VALUE:
        raise ValidationError({"filter": _("A value holds at most %(count)s characters.", count=MAX_VALUE)})
    return {"field_id": subject_id, "operator": row.operator, "value": value}
