"""The selection editor's posted fields → a rule tree, and its row edits (add, remove, move), never saved here.

The editor posts flat names: ``match``, ``rule-<n>-kind`` and the rule's own inputs (``rule-2-field_id``,
``rule-2-operator``, ``rule-2-value``, ``rule-2-days``, ``rule-2-not``, …); a group's rules come under
``rule-<n>-rules-<m>-…`` (one level is edited; deeper groups and subprofile rules with several conditions are
posted back as JSON under ``rule-<n>-kept``). A subprofile rule edits one condition on the collection's fields
(``rule-<n>-sub-field_id``, ``-sub-operator``, ``-sub-value``, ``-sub-days``) and its count. The rule language
(``webapp/rules``) judges the result: this module only reads what was posted.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

Posted = Mapping[str, list[str]]
KINDS = ("field", "interest", "subscribed", "subprofile", "email", "suppressed", "selection", "group")
EDITS = ("add-rule", "add-group", "remove-rule", "up-rule", "down-rule")


def parse_rules(posted: Posted) -> dict[str, Any]:
    """The rule tree the editor posted (``request.form.to_dict(flat=False)``)."""
    return {"match": _one(posted, "match") or "all", "rules": _rules(posted, "rule", groups=True)}


def kind_of(rule: dict[str, Any]) -> str:
    """Which editor row a stored rule shows as; ``kept`` (posted back as it is) for a field rule with comparison
    options (``case_sensitive``, ``each``), which the menus do not offer."""
    for key, kind in (
        ("rules", "group"),
        ("subscribed", "subscribed"),
        ("suppressed", "suppressed"),
        ("interest_id", "interest"),
        ("collection_id", "subprofile"),
        ("email", "email"),
        ("selection_id", "selection"),
    ):
        if key in rule:
            return kind
    return "kept" if rule.get("case_sensitive") or rule.get("each") else "field"


def editable_subprofile(rule: dict[str, Any]) -> bool:
    """A subprofile rule the editor shows with menus: at most one plain field condition."""
    where = (rule.get("where") or {}).get("rules") or []
    return len(where) <= 1 and all("field_id" in item for item in where)


def _one(posted: Posted, name: str) -> str:
    values = posted.get(name) or [""]
    return str(values[-1]).strip()


def _indexes(posted: Posted, prefix: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)-")
    return sorted({int(match.group(1)) for name in posted if (match := pattern.match(name))})


def _rules(posted: Posted, prefix: str, *, groups: bool) -> list[dict[str, Any]]:
    found = []
    for index in _indexes(posted, prefix):
        rule = _rule(posted, f"{prefix}-{index}", groups=groups)
        if rule is not None:
            found.append(rule)
    return found


def _number(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text  # the validator refuses it with its own message


def _rule(posted: Posted, prefix: str, *, groups: bool) -> dict[str, Any] | None:
    kind = _one(posted, f"{prefix}-kind")
    if f"{prefix}-kept" in posted:
        try:
            kept = json.loads(_one(posted, f"{prefix}-kept"))
        except ValueError:
            return {"match": "all", "rules": "?"}
        return kept if isinstance(kept, dict) else {"match": "all", "rules": "?"}
    on = _one(posted, f"{prefix}-state") != "0"
    rule: dict[str, Any]
    if kind == "group" and groups:
        return {
            "match": _one(posted, f"{prefix}-match") or "all",
            "rules": _rules(posted, f"{prefix}-rules", groups=False),
        }
    if kind == "subscribed":
        rule = {"subscribed": on}
    elif kind == "suppressed":
        rule = {"suppressed": on}
    elif kind == "interest":
        rule = {"interest_id": _number(_one(posted, f"{prefix}-interest_id")), "value": on}
    elif kind == "selection":
        rule = {"selection_id": _number(_one(posted, f"{prefix}-selection_id")), "in": on}
    elif kind == "email":
        rule = {"email": _one(posted, f"{prefix}-email") or "received"}
        for key in ("mailing_id", "template_id", "days"):
            if _one(posted, f"{prefix}-{key}"):
                rule[key] = _number(_one(posted, f"{prefix}-{key}"))
        if rule["email"] == "bounced":
            rule["bounce"] = _one(posted, f"{prefix}-bounce") or "any"
    elif kind == "subprofile":
        condition = _field_rule(posted, f"{prefix}-sub")
        rule = {
            "collection_id": _number(_one(posted, f"{prefix}-collection_id")),
            "where": {"match": "all", "rules": [condition] if condition.get("field_id") is not None else []},
            "count": [_one(posted, f"{prefix}-count_operator") or ">=", _number(_one(posted, f"{prefix}-count")) or 0],
        }
        if rule["count"] == [">=", 0]:
            rule["count"] = [">=", 1]
    else:
        rule = _field_rule(posted, prefix)
    if _one(posted, f"{prefix}-not") in ("1", "on", "y"):
        rule["not"] = True
    return rule


def _field_rule(posted: Posted, prefix: str) -> dict[str, Any]:
    operator = _one(posted, f"{prefix}-operator") or "="
    rule: dict[str, Any] = {"field_id": _number(_one(posted, f"{prefix}-field_id")), "operator": operator}
    if operator in ("in_last_days", "in_next_days", "changed_in_last_days"):
        rule["days"] = _number(_one(posted, f"{prefix}-days")) or 0
    elif operator not in ("empty", "not_empty", "birthday_today"):
        rule["value"] = _one(posted, f"{prefix}-value")
    return rule


def apply_edit(tree: dict[str, Any], operation: str) -> dict[str, Any]:
    """``add-rule``, ``add-group``, ``remove-rule:2``, ``up-rule:2``, ``down-rule:2``; with a second number
    inside the group that is rule 2 (``add-rule:2``, ``remove-rule:2:0``). Anything else changes nothing."""
    name, _sep, argument = operation.partition(":")
    path = argument.split(":") if argument else []
    if name not in EDITS or not isinstance(tree.get("rules"), list):
        return tree
    rules: list | None = tree["rules"]
    needed = 0 if name.startswith("add-") else 1
    if len(path) == needed + 1 and name != "add-group":
        group = _at(tree["rules"], path[0])
        rules = group["rules"] if isinstance(group, dict) and isinstance(group.get("rules"), list) else None
        path = path[1:]
    if rules is None or len(path) != needed:
        return tree
    if name == "add-rule":
        rules.append({"field_id": None, "operator": "=", "value": ""})
    elif name == "add-group":
        match = "all" if tree.get("match") == "any" else "any"
        rules.append({"match": match, "rules": [{"field_id": None, "operator": "=", "value": ""}]})
    elif name == "remove-rule":
        index = _index(rules, path[0])
        if index is not None:
            rules.pop(index)
    else:
        index = _index(rules, path[0])
        step = -1 if name == "up-rule" else 1
        if index is not None and 0 <= index + step < len(rules):
            rules[index], rules[index + step] = rules[index + step], rules[index]
    return tree


def _index(items: list, text: str) -> int | None:
    return int(text) if text.isdigit() and int(text) < len(items) else None


def _at(items: list, text: str) -> Any:
    index = _index(items, text)
    return items[index] if index is not None else None
