"""The rule tree and its validator: every tree is validated once when saved, and stored in the form returned.

A tree is a group ``{"match": "all"|"any", "rules": [...]}``; a rule is one of (``"not": true`` negates any rule
but a group)::

    {"field_id": 3, "operator": "=", "value": "yes"}          a field condition (OPERATORS; "days" for DAY_OPERATORS;
                                                              options "case_sensitive", "each": field_conditions)
    {"interest_id": 4, "value": true}                         an interest is on (false: off)
    {"subscribed": true}                                      subscribed per the database's unsubscribe behaviour
    {"collection_id": 2, "where": {group}, "count": [">=", 1]} subprofiles of the collection matching ``where``
    {"email": "opened", "mailing_id": 9, "days": 30}          an email result (EMAIL_KINDS), of a mailing or template,
                                                              in the last ``days`` days
    {"suppressed": true}                                      an email address of the profile is suppressed
    {"unconfirmed": true}                                     signed up through a double opt-in form, never confirmed
    {"selection_id": 5, "in": true}                           member (or not) of another selection of the database
    {"match": "any", "rules": [...]}                          a nested group ("not" and a "name" allowed)

No rules: every profile. Groups nest at most ``MAX_DEPTH`` deep; a selection rule may not lead back to the
selection being saved (a cycle).
"""

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Field, Selection
from webapp.profiles.field_conditions import Options
from webapp.profiles.field_types import FieldValueError, coerce, get_field_type

OPERATORS = (
    "=",
    "!=",
    "<",
    ">",
    "<=",
    ">=",
    "contains",
    "starts_with",
    "like",
    "not_like",
    "empty",
    "not_empty",
    "in",
    "not_in",
    "in_last_days",
    "in_next_days",
    "birthday_today",
    "changed_in_last_days",
)
NO_VALUE = ("empty", "not_empty", "birthday_today")
DAY_OPERATORS = ("in_last_days", "in_next_days", "changed_in_last_days")
DATE_OPERATORS = ("in_last_days", "in_next_days", "birthday_today")
DATE_TYPES = ("date", "datetime")
TEXT_OPERATORS = ("contains", "starts_with", "like", "not_like")
EACH_OPERATORS = ("=", "!=", "in", "not_in", "<", ">", "<=", ">=")
EMAIL_KINDS = ("received", "opened", "clicked", "not_opened", "bounced", "complained", "unsubscribed")
BOUNCES = ("any", "hard", "soft")
COUNT_OPERATORS = ("=", "!=", "<", ">", "<=", ">=")
MAX_DEPTH = 5
MAX_DAYS = 36600


@dataclass
class Scope:
    """What a tree may name: fields by id (a collection selection's: the collection's and the database's),
    interest ids, the database's collections (id → their fields by id) and, for selection rules, the account,
    database and the selection being saved (``selection_id``, to refuse cycles)."""

    fields: dict[int, Field]
    interest_ids: set[int]
    collections: dict[int, dict[int, Field]] = field(default_factory=dict)
    account_id: int | None = None
    database_id: int | None = None
    selection_id: int | None = None


def validate(tree: Any, scope: Scope) -> dict[str, Any]:
    """The tree in its stored form, or ``ValueError`` with a message naming the bad rule."""
    return _group(tree or {}, scope, scope.fields, depth=0)


def _group(group: Any, scope: Scope, fields: dict[int, Field], *, depth: int) -> dict[str, Any]:
    if not isinstance(group, dict):
        raise ValueError(_("A condition must be an object with match and rules."))
    if depth > MAX_DEPTH:
        raise ValueError(_("Conditions may be nested at most %(depth)s deep.", depth=MAX_DEPTH))
    match = group.get("match", "all")
    if match not in ("all", "any"):
        raise ValueError(_("Match must be all or any."))
    rules = group.get("rules") or []
    if not isinstance(rules, list):
        raise ValueError(_("Rules must be a list."))
    cleaned: dict[str, Any] = {"match": match, "rules": [_rule(rule, scope, fields, depth=depth) for rule in rules]}
    if group.get("name"):
        cleaned["name"] = str(group["name"]).strip()[:100]  # a label (Copernica's rule names), nothing more
    if group.get("not") is True:
        cleaned["not"] = True
    return cleaned


def _rule(rule: Any, scope: Scope, fields: dict[int, Field], *, depth: int) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise ValueError(_("A rule must be an object."))
    if "rules" in rule:
        return _group(rule, scope, fields, depth=depth + 1)
    cleaned = _plain_rule(rule, scope, fields, depth=depth)
    if rule.get("not") is True:
        cleaned["not"] = True
    return cleaned


def _plain_rule(rule: dict[str, Any], scope: Scope, fields: dict[int, Field], *, depth: int) -> dict[str, Any]:
    if "subscribed" in rule:
        return {"subscribed": bool(rule["subscribed"])}
    if "suppressed" in rule:
        return {"suppressed": bool(rule["suppressed"])}
    if "unconfirmed" in rule:
        return {"unconfirmed": bool(rule["unconfirmed"])}
    if "interest_id" in rule:
        interest_id = as_id(rule["interest_id"])
        if interest_id not in scope.interest_ids:
            raise ValueError(_("Unknown interest %(id)s.", id=rule["interest_id"]))
        return {"interest_id": interest_id, "value": bool(rule.get("value", True))}
    if "collection_id" in rule:
        return _subprofile_rule(rule, scope, depth=depth)
    if "email" in rule:
        return _email_rule(rule)
    if "selection_id" in rule:
        return _selection_rule(rule, scope)
    return _field_rule(rule, fields)


def _field_rule(rule: dict[str, Any], fields: dict[int, Field]) -> dict[str, Any]:
    field_id = as_id(rule.get("field_id"))
    field = fields.get(field_id) if field_id is not None else None
    if field is None:
        raise ValueError(_("Unknown field %(id)s.", id=rule.get("field_id")))
    operator = rule.get("operator", "=")
    if operator not in OPERATORS:
        raise ValueError(_("Unknown operator %(operator)s.", operator=operator))
    if operator in DATE_OPERATORS and field.type not in DATE_TYPES:
        raise ValueError(_("%(field)s is not a date: choose a date field for this rule.", field=field.name))
    return {"field_id": field_id, "operator": operator, **_field_value(rule, field, operator), **_options(rule, field)}


def _field_value(rule: dict[str, Any], field: Field, operator: str) -> dict[str, Any]:
    if operator in NO_VALUE:
        return {}
    if operator in DAY_OPERATORS:
        return {"days": _days(rule.get("days", rule.get("value")))}
    if operator in TEXT_OPERATORS:
        return {"value": str(rule.get("value", ""))}
    if operator in ("in", "not_in"):
        values = rule.get("value")
        if isinstance(values, str):
            values = [part.strip() for part in values.split(",")]
        if not isinstance(values, list) or not values:
            raise ValueError(_("Give a list of values for %(field)s.", field=field.name))
        return {"value": [_coerced(field, value, rule) for value in values]}
    return {"value": _coerced(field, rule.get("value"), rule)}


def _options(rule: dict[str, Any], field: Field) -> dict[str, Any]:
    """The comparison options a field rule keeps (``profiles.field_conditions``): ``case_sensitive`` on a text
    field, ``each`` (choice by choice) on a multiple choice; elsewhere they would mean nothing, so they go."""
    options: dict[str, Any] = {}
    if rule.get("case_sensitive") is True and get_field_type(field.type).sort_as == "text":
        options["case_sensitive"] = True
    multiple = field.type == "choice" and bool((field.options or {}).get("multiple"))
    if rule.get("each") is True and multiple and rule.get("operator", "=") in EACH_OPERATORS:
        options["each"] = True
    return options


def options_of(rule: dict[str, Any]) -> Options:
    """A validated field rule's comparison options."""
    return Options(case_sensitive=bool(rule.get("case_sensitive")), each=bool(rule.get("each")))


def _subprofile_rule(rule: dict[str, Any], scope: Scope, *, depth: int) -> dict[str, Any]:
    collection_id = as_id(rule.get("collection_id"))
    if collection_id not in scope.collections:
        raise ValueError(_("Unknown collection %(id)s.", id=rule.get("collection_id")))
    collection_fields = scope.collections[collection_id]
    where = _group(rule.get("where") or {}, scope, collection_fields, depth=depth + 1)
    if any(not _is_field_group(item) for item in where["rules"]):
        raise ValueError(_("A subprofile rule holds conditions on the collection's fields only."))
    count = rule.get("count") or [">=", 1]
    if not isinstance(count, list | tuple) or len(count) != 2 or count[0] not in COUNT_OPERATORS:
        raise ValueError(_("A subprofile count is an operator and a number, like >= 1."))
    number = as_id(count[1])
    if number is None or number < 0:
        raise ValueError(_("A subprofile count must be a whole number, 0 or more."))
    return {"collection_id": collection_id, "where": where, "count": [count[0], number]}


def _is_field_group(rule: dict[str, Any]) -> bool:
    if "rules" in rule:
        return all(_is_field_group(item) for item in rule["rules"])
    return "field_id" in rule


def _email_rule(rule: dict[str, Any]) -> dict[str, Any]:
    kind = rule.get("email")
    if kind not in EMAIL_KINDS:
        raise ValueError(_("Unknown email result %(kind)s.", kind=kind))
    cleaned: dict[str, Any] = {"email": kind}
    for key in ("mailing_id", "template_id"):
        if rule.get(key) not in (None, ""):
            value = as_id(rule[key])
            if value is None or value <= 0:
                raise ValueError(_("Choose a mailing or template by its id."))
            cleaned[key] = value
    if rule.get("days") not in (None, ""):
        cleaned["days"] = _days(rule["days"])
    if kind == "bounced":
        bounce = rule.get("bounce") or "any"
        if bounce not in BOUNCES:
            raise ValueError(_("A bounce is hard, soft or any."))
        cleaned["bounce"] = bounce
    return cleaned


def _selection_rule(rule: dict[str, Any], scope: Scope) -> dict[str, Any]:
    selection_id = as_id(rule.get("selection_id"))
    other = db.session.get(Selection, selection_id) if selection_id and 0 < selection_id < 2**31 else None
    if other is None or other.account_id != scope.account_id or other.database_id != scope.database_id:
        raise ValueError(_("Unknown selection %(id)s.", id=rule.get("selection_id")))
    if scope.selection_id is not None:
        path = cycle(other, scope.selection_id)
        if path:
            raise ValueError(_("A selection cannot contain itself: %(path)s.", path=" → ".join(s.name for s in path)))
    return {"selection_id": other.id, "in": bool(rule.get("in", True))}


def cycle(start: Selection, target_id: int) -> list[Selection]:
    """The chain of selections from ``start`` back to ``target_id`` through selection rules, or ``[]``."""
    seen: set[int] = set()

    def walk(selection: Selection) -> list[Selection]:
        if selection.id == target_id:
            return [selection]
        if selection.id in seen:
            return []
        seen.add(selection.id)
        for other_id in referenced_selections(selection.rules or {}):
            other = db.session.get(Selection, other_id)
            if other is not None:
                path = walk(other)
                if path:
                    return [selection, *path]
        return []

    return walk(start)


def referenced_selections(tree: dict[str, Any]) -> list[int]:
    """Ids of the selections a tree's rules name, in order."""
    found = []
    for rule in tree.get("rules") or []:
        if "rules" in rule:
            found.extend(referenced_selections(rule))
        elif "selection_id" in rule:
            found.append(int(rule["selection_id"]))
    return found


def selections_using(account_id: int, selection_id: int) -> list[Selection]:
    """The account's selections whose rules name ``selection_id`` (a selection in use cannot be removed)."""
    rows = db.session.scalars(select(Selection).where(Selection.account_id == account_id))
    return [row for row in rows if selection_id in referenced_selections(row.rules or {})]


def as_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _days(value: Any) -> int:
    days = as_id(value)
    if days is None or not 0 <= days <= MAX_DAYS:
        raise ValueError(_("Give a number of days from 0 to %(max)s.", max=MAX_DAYS))
    return days


def _coerced(field: Field, value: Any, rule: dict[str, Any]) -> Any:
    """``value`` as ``field`` holds it; with ``each``, one choice of a multiple choice (not a list of them)."""
    if value is None or value == "":
        return None
    options = field.options or {}
    if _options(rule, field).get("each"):
        options = {**options, "multiple": False}
    try:
        return coerce(field.type, value, options)
    except FieldValueError as error:
        raise ValueError(f"{field.name} {error}") from None
