"""The follow-up builder's posted fields → a ``Draft``, and the builder's row edits (add, remove, move).

The admin edits a follow-up as a vertical list of steps (trigger → activation condition → delay → execution
condition → actions). Its form posts flat names (``trigger-kind``, ``activation-0-field_id``, a group's
``activation-1-rules-0-field_id``, ``action-1-values-0-field``, …); ``parse_draft`` turns them into a
``Draft`` whose parts have exactly the shape stored in ``FollowUp`` (see ``docs/follow-ups.md``), and
``apply_edit`` adds, removes and moves rows without saving. This is the admin door's parsing: it never judges a
part; ``followups.definitions`` validates and saves a draft.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from webapp.followups import definitions
from webapp.followups.definitions import Draft

CONDITIONS = ("activation", "execution")
DURATION_UNITS = {"minutes": 60, "hours": 3600, "days": 86400}
RULE_KINDS = ("field", "interest", "subscribed", "selection")
RULE_EDITS = ("add-rule", "add-group", "remove-rule", "up-rule", "down-rule")

Posted = Mapping[str, list[str]]


# --- parsing the posted form ---------------------------------------------------------------------------------


def parse_draft(posted: Posted) -> Draft:
    """The draft the builder form posted (``request.form.to_dict(flat=False)``); nothing is judged here."""
    form = _Form(posted)
    trigger = _trigger(form)
    subprofiles = trigger["kind"] in definitions.SUBPROFILE_KINDS
    return Draft(
        name=form.one("name").strip(),
        collection_id=_number(form.one("collection_id")) if subprofiles else None,
        form_id=_number(form.one("form_id")) if trigger["kind"] == "form_submitted" else None,
        trigger=trigger,
        activation_condition=_condition(form, "activation"),
        execution_condition=_condition(form, "execution"),
        delay=_delay(form),
        actions=[_action(form, f"action-{index}") for index in form.indexes("action")],
    )


@dataclass
class _Form:
    posted: Posted

    def one(self, name: str) -> str:
        values = self.posted.get(name) or [""]
        return str(values[-1])

    def many(self, name: str) -> list[str]:
        return [str(value) for value in self.posted.get(name) or [] if str(value) != ""]

    def indexes(self, prefix: str) -> list[int]:
        """The row numbers posted under ``prefix-<n>-…``, in order."""
        pattern = re.compile(rf"^{re.escape(prefix)}-(\d+)-")
        return sorted({int(match.group(1)) for name in self.posted if (match := pattern.match(name))})


def _number(text: str) -> int | str | None:
    """An id or count as posted: an int when it is one, the text itself otherwise (for the validator to
    refuse with its own message), None when empty."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _trigger(form: _Form) -> dict[str, Any]:
    kind = form.one("trigger-kind")
    trigger: dict[str, Any] = {"kind": kind, "exclude_sources": form.many("trigger-exclude_sources")}
    if kind in definitions.UPDATE_KINDS:
        trigger["fields"] = [_number(value) for value in form.many("trigger-fields")]
        if form.one("trigger-to_value").strip():
            trigger["to_value"] = form.one("trigger-to_value").strip()
    if kind == "survey_completed" and form.one("trigger-survey_id").strip():
        trigger["survey_id"] = _number(form.one("trigger-survey_id"))
    if kind == "email_clicked" and form.one("trigger-link").strip():
        trigger["link"] = form.one("trigger-link").strip()
    if kind == "date_field":
        trigger.update(_date_moment(form, "trigger"))
        trigger["yearly"] = form.one("trigger-yearly") in ("1", "on", "y")
    return trigger


def _date_moment(form: _Form, prefix: str) -> dict[str, Any]:
    return {
        "field_id": _number(form.one(f"{prefix}-field_id")),
        "offset_days": _number(form.one(f"{prefix}-offset_days")) or 0,
        "time": form.one(f"{prefix}-time").strip(),
    }


def _condition(form: _Form, prefix: str) -> dict[str, Any]:
    """A condition and its groups: ``activation-<n>-…`` are its rules, a group's own rules are posted under
    ``activation-<n>-rules-<m>-…`` (one level: the builder edits no group inside a group)."""
    return {"match": form.one(f"{prefix}-match") or "all", "rules": _rules(form, prefix, groups=True)}


def _rules(form: _Form, prefix: str, *, groups: bool) -> list[dict[str, Any]]:
    return [_rule(form, f"{prefix}-{index}", groups=groups) for index in form.indexes(prefix)]


def _rule(form: _Form, prefix: str, *, groups: bool) -> dict[str, Any]:
    kind = form.one(f"{prefix}-kind")
    if kind == "group" and f"{prefix}-group" in form.posted:  # deeper than the builder edits: kept as it was
        try:
            return json.loads(form.one(f"{prefix}-group"))
        except ValueError:
            return {"match": "all", "rules": "?"}
    if kind == "kept" and f"{prefix}-rule" in form.posted:  # a rule the builder has no menus for: as it was
        try:
            return json.loads(form.one(f"{prefix}-rule"))
        except ValueError:
            return {"field_id": "?"}
    if kind == "group" and groups:
        return {"match": form.one(f"{prefix}-match") or "all", "rules": _rules(form, f"{prefix}-rules", groups=False)}
    if kind == "subscribed":
        return {"subscribed": form.one(f"{prefix}-state") != "0"}
    if kind == "interest":
        return {"interest_id": _number(form.one(f"{prefix}-interest_id")), "value": form.one(f"{prefix}-state") != "0"}
    if kind == "selection":
        return {"selection_id": _number(form.one(f"{prefix}-selection_id")), "in": form.one(f"{prefix}-state") != "0"}
    operator = form.one(f"{prefix}-operator") or "="
    rule = {"field_id": _number(form.one(f"{prefix}-field_id")), "operator": operator}
    if operator not in ("empty", "not_empty"):
        rule["value"] = form.one(f"{prefix}-value")
    return rule


def _delay(form: _Form) -> dict[str, Any]:
    kind = form.one("delay-kind") or "none"
    if kind == "duration":
        return {"kind": kind, "seconds": _seconds(form.one("delay-amount"), form.one("delay-unit"))}
    if kind == "time_of_day":
        return {"kind": kind, "time": form.one("delay-time").strip()}
    if kind == "date_field":
        return {"kind": kind, **_date_moment(form, "delay")}
    return {"kind": kind}


def _seconds(amount: str, unit: str) -> int | str:
    try:
        seconds = Decimal(amount.strip().replace(",", ".")) * DURATION_UNITS.get(unit, 60)
    except InvalidOperation:
        return amount
    return int(seconds) if seconds == seconds.to_integral_value() else amount


def duration_parts(seconds: Any) -> tuple[str, str]:
    """A stored duration as (amount, unit) for the form: the largest unit that divides it."""
    try:
        seconds = int(seconds)
    except (TypeError, ValueError):
        return "", "hours"
    for unit in ("days", "hours"):
        if seconds and seconds % DURATION_UNITS[unit] == 0:
            return str(seconds // DURATION_UNITS[unit]), unit
    return (str(seconds // 60) if seconds % 60 == 0 else str(Decimal(seconds) / 60)), "minutes"


def _action(form: _Form, prefix: str) -> dict[str, Any]:
    kind = form.one(f"{prefix}-type")
    action: dict[str, Any] = {"type": kind}
    if kind == "send_email":
        action["template_id"] = _number(form.one(f"{prefix}-template_id"))
    elif kind == "update_fields":
        action["values"] = _values(form, prefix)
    elif kind == "create_subprofile":
        action["collection_id"] = _number(form.one(f"{prefix}-collection_id"))
        action["values"] = _values(form, prefix)
    elif kind == "set_interests":
        states = {
            name.rsplit("-", 1)[1]: form.one(name) for name in form.posted if name.startswith(f"{prefix}-interest-")
        }
        action["interests"] = {key: state == "on" for key, state in states.items() if state in ("on", "off")}
    elif kind == "webhook":
        action["url"] = form.one(f"{prefix}-url").strip()
    return action


def _values(form: _Form, prefix: str) -> dict[str, str]:
    """Field values as ``{field id: text}``; rows without a field chosen are left out (the form always shows
    one empty row to add a value with)."""
    values = {}
    for index in form.indexes(f"{prefix}-values"):
        key = form.one(f"{prefix}-values-{index}-field").strip()
        if key:
            values[key] = form.one(f"{prefix}-values-{index}-value")
    return values


# --- editing rows without saving --------------------------------------------------------------------------------


def apply_edit(draft: Draft, operation: str, *, new_action: str = "send_email") -> Draft:
    """Add, remove or move a row of the draft; ``refresh`` (or anything unknown) changes nothing.

    Rules: ``add-rule:activation``, ``add-group:activation``, ``remove-rule:execution:2``, ``up-rule:…:2``,
    ``down-rule:…:2``; the same with a second number work inside the group that is rule 2
    (``add-rule:activation:2``, ``remove-rule:activation:2:0``, …). Actions: ``add-action``,
    ``remove-action:1``, ``up-action:1``, ``down-action:1``, ``remove-value:0:<field id>``."""
    name, _sep, argument = operation.partition(":")
    arguments = argument.split(":") if argument else []
    if name in RULE_EDITS and arguments and arguments[0] in CONDITIONS:
        _edit_rules(_condition_of(draft, arguments[0]), name, arguments[1:])
    elif name == "add-action":
        draft.actions.append({"type": new_action})
    elif name == "remove-action" and arguments:
        _pop(draft.actions, arguments[0])
    elif name in ("up-action", "down-action") and arguments:
        _move(draft.actions, arguments[0], -1 if name == "up-action" else 1)
    elif name == "remove-value" and len(arguments) == 2:
        index = _index(draft.actions, arguments[0])
        if index is not None and isinstance(draft.actions[index].get("values"), dict):
            draft.actions[index]["values"].pop(arguments[1], None)
    return draft


def _edit_rules(condition: dict[str, Any], name: str, path: list[str]) -> None:
    """An edit of a condition's rules, or of the rules of the group that rule ``path[0]`` is when the path has
    one number more than the edit needs (adding needs none, removing and moving one). Groups are added to the
    condition only: the builder edits one level of groups."""
    needed = 0 if name.startswith("add-") else 1
    rules: list | None = condition["rules"]
    if len(path) == needed + 1 and name != "add-group":
        group = _group(condition["rules"], path[0])
        rules, path = (group["rules"] if group else None), path[1:]
    if rules is None or len(path) != needed:
        return
    if name == "add-rule":
        rules.append(_blank_rule())
    elif name == "add-group":
        # a group is there to combine rules the other way round: OR inside AND, AND inside OR
        rules.append({"match": "all" if condition.get("match") == "any" else "any", "rules": [_blank_rule()]})
    elif name == "remove-rule":
        _pop(rules, path[0])
    else:
        _move(rules, path[0], -1 if name == "up-rule" else 1)


def _blank_rule() -> dict[str, Any]:
    return {"field_id": None, "operator": "=", "value": ""}


def _group(rules: list, text: str) -> dict[str, Any] | None:
    """Rule ``text`` of the list when it is a group the builder edits (its rules a list), else None."""
    index = _index(rules, text)
    rule = rules[index] if index is not None else None
    return rule if isinstance(rule, dict) and isinstance(rule.get("rules"), list) else None


def _condition_of(draft: Draft, which: str) -> dict[str, Any]:
    condition = draft.activation_condition if which == "activation" else draft.execution_condition
    if not isinstance(condition.get("rules"), list):
        condition["rules"] = []
    return condition


def _index(items: list, text: str) -> int | None:
    return int(text) if text.isdigit() and int(text) < len(items) else None


def _pop(items: list, text: str) -> None:
    index = _index(items, text)
    if index is not None:
        items.pop(index)


def _move(items: list, text: str, step: int) -> None:
    index = _index(items, text)
    if index is not None and 0 <= index + step < len(items):
        items[index], items[index + step] = items[index + step], items[index]


# --- saving ----------------------------------------------------------------------------------------------------


# --- what the builder offers -----------------------------------------------------------------------------------


# --- runs ------------------------------------------------------------------------------------------------------
