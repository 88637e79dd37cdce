"""Selections in Copernica's words for the SOAP API: a *view* is a selection, its *rules* are OR-ed (a rule may
be inversed: OR NOT), and a rule's *conditions* are AND-ed.

A selection made through the API keeps that shape in its tree: ``{"match": "any", "rules": [rule, …]}`` where
each rule is a group ``{"match": "all", "name": …, "not": inversed, "rules": [conditions]}``. A selection made in
the admin with another shape is shown as one rule (its whole tree); adding a rule to it first makes its tree the
first rule. Rules have no table of their own: a rule's id is ``selection id × 1000 + its position`` (1-based), so
a selection holds at most 999 rules through the API.
"""

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from webapp.extensions import db
from webapp.models import Account, Database
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import search
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


@dataclass
class ViewRule:
    id: int
    name: str
    view: int
    inversed: bool
    conditions: int


def _as_rules(tree: dict[str, Any]) -> list[dict[str, Any]]:
    """The selection's tree as Copernica's rules (OR-ed groups)."""
    items = tree.get("rules") or []
    if tree.get("match") == "any" and items and all("rules" in item for item in items):
        return list(items)
    return [tree] if items else []


def view_rules(account: Account, view_id: int) -> list[ViewRule]:
    selection = selections.get_selection(account, view_id)
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
    selection = selections.get_selection(account, view_id)
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
    view_id, position = divmod(int(rule_id or 0), 1000)
    selection = selections.get_selection(account, view_id)
    rules = _as_rules(selection.rules or {})
    if not 1 <= position <= len(rules):
        raise NotFound(_("Rule not found."))
    database = db.session.get_one(Database, selection.database_id)
    condition = _condition(database, (kind or "").strip().lower(), field, (comparison or "").strip().lower(), value)
    rule = dict(rules[position - 1])
    rule["rules"] = [*(rule.get("rules") or []), condition]
    rules[position - 1] = rule
    selections.update_selection(account, selection.id, rules={"match": "any", "rules": rules})
    return len(rule["rules"])


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
    selection = selections.get_selection(account, view_id)
    return search.search_profiles(
        account, selection.database_id, requirements, start=start, length=length, within=member_ids(selection)
    )
