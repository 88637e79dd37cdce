"""Conditions on questions and page branches, evaluated by the server at each page boundary.

A condition (``{"match": "all"|"any", "rules": [...]}``, checked by ``builder.check_condition``) looks at earlier
answers, the hidden fields captured when the response started, and the profile's fields. The browser never sees
a condition nor a profile value: it only receives the items that are shown.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Facts:
    """What a condition may look at: answers by question id, hidden fields by name, profile values by field
    name (empty for an anonymous response)."""

    answers: dict[str, Any] = field(default_factory=dict)
    hidden: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)


def holds(condition: dict[str, Any] | None, facts: Facts) -> bool:
    if not condition:
        return True
    results = (_rule(rule, facts) for rule in condition["rules"])
    return any(results) if condition.get("match") == "any" else all(results)


def _value(rule: dict[str, Any], facts: Facts) -> Any:
    source = {"answer": facts.answers, "hidden": facts.hidden, "field": facts.profile}[rule["source"]]
    return source.get(rule["name"])


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _rule(rule: dict[str, Any], facts: Facts) -> bool:
    value, expected, op = _value(rule, facts), rule.get("value", ""), rule["op"]
    if op == "answered":
        return not _empty(value)
    if op == "empty":
        return _empty(value)
    if op in ("greater", "less"):
        left, right = _number(value), _number(expected)
        if left is None or right is None:
            return False
        return left > right if op == "greater" else left < right
    values = [str(item) for item in value] if isinstance(value, list) else [str(value if value is not None else "")]
    if op == "contains":
        return any(str(expected).lower() in item.lower() for item in values)
    matches = str(expected) in values
    return matches if op == "equals" else not matches


def shown_items(page: dict[str, Any], facts: Facts) -> list[dict[str, Any]]:
    """The page's items whose condition holds (evaluated with the answers of the earlier pages)."""
    return [item for item in page["items"] if holds(item.get("condition"), facts)]


def next_page(pages: list[dict[str, Any]], index: int, facts: Facts) -> int | None:
    """The index of the page after ``index`` (its first matching branch, else the next one), skipping pages with
    nothing to show; None at the end."""
    target: int | None = index + 1
    for branch in pages[index].get("branches") or []:
        if holds(branch.get("condition"), facts):
            target = None if branch["to"] == "end" else branch["to"] - 1
            break
    while target is not None and target < len(pages) and not shown_items(pages[target], facts):
        target += 1
    return target if target is not None and target < len(pages) else None
