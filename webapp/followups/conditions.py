"""Follow-up conditions: validated once when a follow-up is saved, evaluated against a profile in Python.

A condition is ``{"match": "all"|"any", "rules": [...]}`` where a rule is a field comparison
``{"field_id": 3, "operator": "=", "value": "yes"}``, an interest ``{"interest_id": 4, "value": true}``,
"is subscribed" ``{"subscribed": true}`` or a nested condition. No rules: always true.
"""

from decimal import Decimal
from typing import Any

from flask_babel import gettext as _

from webapp.models import Field, Profile, Subprofile
from webapp.profiles.field_types import FieldValueError, coerce, is_empty

OPERATORS = ("=", "!=", "<", ">", "contains", "empty", "not_empty", "in")
MAX_DEPTH = 5


def validate(condition: Any, fields: dict[int, Field], interest_ids: set[int]) -> dict[str, Any]:
    """The condition in its stored form, or ``ValueError`` with a message naming the bad rule.

    ``fields`` are the fields a rule may name (the database's and, for a collection follow-up, the
    collection's), by id; rule values are coerced to their field's type so comparisons are like for like.
    """
    return _validate(condition or {}, fields, interest_ids, depth=0)


def _validate(condition: Any, fields: dict[int, Field], interest_ids: set[int], *, depth: int) -> dict[str, Any]:
    if not isinstance(condition, dict):
        raise ValueError(_("A condition must be an object with match and rules."))
    if depth > MAX_DEPTH:
        raise ValueError(_("Conditions may be nested at most %(depth)s deep.", depth=MAX_DEPTH))
    match = condition.get("match", "all")
    if match not in ("all", "any"):
        raise ValueError(_("Match must be all or any."))
    rules = condition.get("rules") or []
    if not isinstance(rules, list):
        raise ValueError(_("Rules must be a list."))
    return {"match": match, "rules": [_validate_rule(rule, fields, interest_ids, depth=depth) for rule in rules]}


def _validate_rule(rule: Any, fields: dict[int, Field], interest_ids: set[int], *, depth: int) -> dict[str, Any]:
    if not isinstance(rule, dict):
        raise ValueError(_("A rule must be an object."))
    if "rules" in rule:
        return _validate(rule, fields, interest_ids, depth=depth + 1)
    if "subscribed" in rule:
        return {"subscribed": bool(rule["subscribed"])}
    if "interest_id" in rule:
        interest_id = _as_id(rule["interest_id"])
        if interest_id not in interest_ids:
            raise ValueError(_("Unknown interest %(id)s.", id=rule["interest_id"]))
        return {"interest_id": interest_id, "value": bool(rule.get("value", True))}
    field_id = _as_id(rule.get("field_id"))
    field = fields.get(field_id) if field_id is not None else None
    if field is None:
        raise ValueError(_("Unknown field %(id)s.", id=rule.get("field_id")))
    operator = rule.get("operator", "=")
    if operator not in OPERATORS:
        raise ValueError(_("Unknown operator %(operator)s.", operator=operator))
    if operator in ("empty", "not_empty"):
        return {"field_id": field_id, "operator": operator}
    if operator == "contains":
        return {"field_id": field_id, "operator": operator, "value": str(rule.get("value", ""))}
    if operator == "in":
        values = rule.get("value")
        if isinstance(values, str):
            values = [part.strip() for part in values.split(",")]
        if not isinstance(values, list) or not values:
            raise ValueError(_("Give a list of values for %(field)s.", field=field.name))
        return {"field_id": field_id, "operator": operator, "value": [_coerced(field, value) for value in values]}
    return {"field_id": field_id, "operator": operator, "value": _coerced(field, rule.get("value"))}


def _as_id(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _coerced(field: Field, value: Any) -> Any:
    if value is None or value == "":
        return None
    try:
        return coerce(field.type, value, field.options or {})
    except FieldValueError as error:
        raise ValueError(f"{field.name} {error}") from None


def matches(condition: dict[str, Any] | None, profile: Profile | None, subprofile: Subprofile | None = None) -> bool:
    """True when ``profile`` (and its ``subprofile``) satisfies ``condition``; a missing profile only matches
    an empty condition. Field rules look at the subprofile's values first (collection fields), then the profile's."""
    if not condition or not condition.get("rules"):
        return True
    if profile is None:
        return False
    values = {**(profile.fields or {}), **((subprofile.fields or {}) if subprofile is not None else {})}
    return _matches(condition, values, profile)


def _matches(condition: dict[str, Any], values: dict[str, Any], profile: Profile) -> bool:
    results = (_rule(rule, values, profile) for rule in condition.get("rules") or [])
    return any(results) if condition.get("match") == "any" else all(results)


def _rule(rule: dict[str, Any], values: dict[str, Any], profile: Profile) -> bool:
    if "rules" in rule:
        return _matches(rule, values, profile)
    if "subscribed" in rule:
        from webapp.profiles.unsubscribe import is_subscribed

        return is_subscribed(profile) == rule["subscribed"]
    if "interest_id" in rule:
        return (rule["interest_id"] in (profile.interests or [])) == rule["value"]
    return compare(values.get(str(rule["field_id"])), rule["operator"], rule.get("value"))


def compare(stored: Any, operator: str, wanted: Any) -> bool:
    """One comparison of a stored value with a (coerced) rule value; text compares case-insensitively."""
    if operator == "empty":
        return is_empty(stored)
    if operator == "not_empty":
        return not is_empty(stored)
    if operator == "contains":
        if isinstance(stored, list):
            return any(str(wanted).lower() == str(item).lower() for item in stored)
        return str(wanted).lower() in str(stored or "").lower()
    if operator == "in":
        return any(_equal(stored, value) for value in wanted)
    if operator == "=":
        return _equal(stored, wanted)
    if operator == "!=":
        return not _equal(stored, wanted)
    if is_empty(stored) or wanted is None:
        return False
    left, right = _pair(stored, wanted)
    if type(left) is not type(right):
        return False
    return left < right if operator == "<" else left > right


def _equal(stored: Any, wanted: Any) -> bool:
    if is_empty(stored) or wanted is None:
        return is_empty(stored) and (wanted is None or is_empty(wanted))
    if isinstance(stored, list) or isinstance(wanted, list):
        as_set = {str(item).lower() for item in (stored if isinstance(stored, list) else [stored])}
        wanted_set = {str(item).lower() for item in (wanted if isinstance(wanted, list) else [wanted])}
        return as_set == wanted_set
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
