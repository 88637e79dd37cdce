"""Selections in Copernica's words for the SOAP API: a *view* is a selection, its *rules* are OR-ed (a rule may
be inversed: OR NOT), and a rule's *conditions* are AND-ed.

A selection made through the API keeps that shape in its tree: ``{"match": "any", "rules": [rule, …]}`` where
each rule is a group ``{"match": "all", "name": …, "not": inversed, "rules": [conditions]}``. A selection made in
the admin with another shape is shown as one rule (its whole tree); adding a rule to it first makes its tree the
first rule. Rules have no table of their own: a rule's id is ``selection id × 1000 + its position`` (1-based), so
a selection holds at most 999 rules through the API, and removing a rule renumbers the rules after it. A
condition's id is its position in its rule (as ``Rule_createCondition`` answers it).

A view is a selection of a database's profiles; a collection's selections are Copernica's *miniviews*
(``miniviews.py``) and are not views. Verrijk has no nested selections (a selection that refines another names
it in a rule instead), so a view has no views under it.
"""

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Account, Database, Selection
from webapp.platform.errors import NotFound, ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles import search
from webapp.profiles.databases import get_database
from webapp.selections import selections
from webapp.selections.membership import member_ids

RULES_PER_VIEW = 999

# Copernica's comparisons of a Field condition → the rule language's operators (and whether negated)
COMPARISONS: dict[str, tuple[str, bool]] = {
    "equals": ("=", False),
    "not equals": ("!=", False),
    "contains": ("contains", False),
    "not contains": ("contains", True),
    "more": (">", False),
    "less": ("<", False),
    "more equals": (">=", False),
    "less equals": ("<=", False),
    "starts with": ("starts_with", False),
    "empty": ("empty", False),
    "not empty": ("not_empty", False),
}


COMPARISON_NAMES = {rule: name for name, rule in COMPARISONS.items()}
NUMERIC_TYPES = ("number", "decimal")


@dataclass
class ViewRule:
    id: int
    name: str
    view: int
    inversed: bool
    conditions: int


@dataclass
class ViewCondition:
    """A rule's condition in Copernica's terms: ``type`` ``Field`` (``field``, ``comparison``, ``value``) or
    ``Interest`` (``interest``, its ``group``; ``value`` true: has it)."""

    id: int
    type: str
    field: str = ""
    comparison: str = ""
    value: Any = ""
    numeric: bool = False
    interest: str = ""
    group: str = ""


def get_view(account: Account, view_id: int) -> Selection:
    """A selection of a database (a collection's selection is a miniview, not found here)."""
    selection = owned(Selection, account, view_id, _("Selection not found."))
    if selection.collection_id is not None:
        raise NotFound(_("Selection not found."))
    return selection


def list_views(account: Account, database_id: int) -> list[Selection]:
    """The database's views (its selections of profiles), by name."""
    return [row for row in selections.list_selections(account, database_id) if row.collection_id is None]


def find_view(account: Account, database_id: int, identifier: str) -> Selection | None:
    """A view of the database by name (whatever the case) or id; None when there is none."""
    database = get_database(account, database_id)
    key = (identifier or "").strip()
    query = select(Selection).where(
        Selection.account_id == account.id, Selection.database_id == database.id, Selection.collection_id.is_(None)
    )
    condition = func.lower(Selection.name) == key.lower()
    if key.isdigit():
        condition = condition | (Selection.id == int(key))
    return db.session.scalars(query.where(condition).order_by(Selection.id)).first()


def update_view(account: Account, view_id: int, *, name: str | None, description: str | None) -> Selection:
    """Rename or describe a view (``None``: keep)."""
    view = get_view(account, view_id)
    return selections.update_selection(account, view.id, name=name, description=description)


def remove_view(account: Account, view_id: int) -> None:
    """Remove a view (refused while something uses it, as in the admin)."""
    selections.delete_selection(account, get_view(account, view_id).id)


def members(account: Account, view_id: int, *, start: int = 0, length: int = 100) -> search.SearchResult:
    """A page of the view's members in id order (Copernica's ``View_profiles``)."""
    return search_members(account, view_id, [], start=start, length=length)


def _as_rules(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The selection's tree as Copernica's rules (OR-ed groups)."""
    items = tree.get("rules") or []
    if tree.get("match") == "any" and items and all("rules" in item for item in items):
        return list(items)
    return [tree] if items else []


def view_rules(account: Account, view_id: int) -> list[ViewRule]:
    selection = get_view(account, view_id)
    return [
        ViewRule(
            id=selection.id * 1000 + position,
            name=str(rule.get("name") or _("Rule %(number)s", number=position)),
            view=selection.id,
            inversed=bool(rule.get("not")),
            conditions=len(rule.get("rules") or []),
        )
        for position, rule in enumerate(_as_rules(selection.rules or {}), start=1)
    ]


def create_view(account: Account, database_id: int, name: str, description: str = "") -> Any:
    return selections.create_selection(account, database_id, name, description=description)


def create_rule(account: Account, view_id: int, name: str, inversed: bool = False) -> ViewRule:
    """Add an (empty, so matching every profile) rule to a view."""
    selection = get_view(account, view_id)
    rules = _as_rules(selection.rules or {})
    if len(rules) >= RULES_PER_VIEW:
        raise ValidationError(_("A view holds at most %(count)s rules.", count=RULES_PER_VIEW))
    name = (name or "").strip() or _("Rule %(number)s", number=len(rules) + 1)
    rule: dict[str, Any] = {"match": "all", "name": name, "rules": []}
    if inversed:
        rule["not"] = True
    selections.update_selection(account, selection.id, rules={"match": "any", "rules": [*rules, rule]})
    return view_rules(account, selection.id)[-1]


def create_condition(
    account: Account, rule_id: int, kind: str, *, field: str = "", comparison: str = "equals", value: Any = ""
) -> int:
    """Add a condition to a rule; returns its position in the rule (1-based). ``kind``: ``Field`` (``field``
    by name, ``comparison``, ``value``) or ``Interest`` (``value``: the interest's name)."""
    selection, rules, position = _locate(account, rule_id)
    database = db.session.get_one(Database, selection.database_id)
    condition = _condition(database, (kind or "").strip().lower(), field, (comparison or "").strip().lower(), value)
    rule = dict(rules[position - 1])
    rule["rules"] = [*(rule.get("rules") or []), condition]
    rules[position - 1] = rule
    selections.update_selection(account, selection.id, rules={"match": "any", "rules": rules})
    return len(rule["rules"])


def update_rule(
    account: Account, rule_id: int, *, name: str | None = None, inversed: bool | None = None, disabled: bool = False
) -> ViewRule:
    """Rename a rule or turn it inversed (OR NOT) or not (``None``: keep). Verrijk keeps no disabled rules."""
    if disabled:
        raise ValidationError(
            {"disabled": _("Verrijk keeps no disabled rules: remove the rule instead, and add it again later.")}
        )
    selection, rules, position = _locate(account, rule_id)
    rule = dict(rules[position - 1])
    if name is not None and name.strip():
        rule["name"] = name.strip()
    if inversed is not None:
        rule.pop("not", None)
        if inversed:
            rule["not"] = True
    rules[position - 1] = rule
    selections.update_selection(account, selection.id, rules={"match": "any", "rules": rules})
    return view_rules(account, selection.id)[position - 1]


def remove_rule(account: Account, rule_id: int) -> None:
    """Remove a rule with its conditions; the rules after it move up one place (and so change id)."""
    selection, rules, position = _locate(account, rule_id)
    del rules[position - 1]
    selections.update_selection(account, selection.id, rules={"match": "any", "rules": rules})


def rule_conditions(account: Account, rule_id: int) -> list[ViewCondition]:
    """The rule's field and interest conditions (other kinds, built in the admin, are not Copernica's and are
    left out), each with its position as id."""
    selection, rules, position = _locate(account, rule_id)
    database = db.session.get_one(Database, selection.database_id)
    fields = {field.id: field for field in database.fields}
    interests = {interest.id: interest for interest in database.interests}
    found = []
    for number, condition in enumerate(rules[position - 1].get("rules") or [], start=1):
        if "field_id" in condition and condition["field_id"] in fields:
            field = fields[condition["field_id"]]
            operator = (condition.get("operator", "="), bool(condition.get("not")))
            found.append(
                ViewCondition(
                    id=number,
                    type="Field",
                    field=field.name,
                    comparison=COMPARISON_NAMES.get(operator, condition.get("operator", "=")),
                    value=condition.get("value", ""),
                    numeric=field.type in NUMERIC_TYPES,
                )
            )
        elif "interest_id" in condition and condition["interest_id"] in interests:
            interest = interests[condition["interest_id"]]
            has = bool(condition.get("value", True)) != bool(condition.get("not"))
            found.append(
                ViewCondition(id=number, type="Interest", interest=interest.name, group=interest.group or "", value=has)
            )
    return found


def _locate(account: Account, rule_id: int) -> tuple[Selection, list[dict[str, Any]], int]:
    """The view of a rule id, its rules (a copy to change) and the rule's position, or ``NotFound``."""
    view_id, position = divmod(int(rule_id or 0), 1000)
    selection = get_view(account, view_id)
    rules = _as_rules(selection.rules or {})
    if not 1 <= position <= len(rules):
        raise NotFound(_("Rule not found."))
    return selection, rules, position


def _condition(database: Database, kind: str, field_name: str, comparison: str, value: Any) -> dict[str, Any]:
    if kind == "interest":
        wanted = str(value or field_name or "").strip().lower()
        interest = next((row for row in database.interests if row.name.lower() == wanted), None)
        if interest is None:
            raise ValidationError({"value": _("There is no interest named %(name)s.", name=value or field_name)})
        return {"interest_id": interest.id, "value": True}
    if kind != "field":
        raise ValidationError(
            {"type": _("Conditions of type %(type)s are not supported; use Field or Interest.", type=kind)}
        )
    found = next((row for row in database.fields if row.name.lower() == (field_name or "").strip().lower()), None)
    if found is None:
        raise ValidationError({"field": _("There is no field named %(name)s.", name=field_name)})
    if comparison not in COMPARISONS:
        raise ValidationError({"comparison": _("Unknown comparison %(name)s.", name=comparison)})
    operator, negated = COMPARISONS[comparison]
    condition: dict[str, Any] = {"field_id": found.id, "operator": operator, "value": value}
    if negated:
        condition["not"] = True
    return condition


def search_members(
    account: Account,
    view_id: int,
    requirements: list[search.Requirement],
    *,
    start: int = 0,
    length: int = 100,
) -> search.SearchResult:
    """A page of the view's member profiles that also meet the requirements (Copernica's ``View_searchProfiles``)."""
    selection = get_view(account, view_id)
    return search.search_profiles(
        account, selection.database_id, requirements, start=start, length=length, within=member_ids(selection)
    )
