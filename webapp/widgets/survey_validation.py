"""The one validator of a survey page's answers, shared by the embed API, the hosted page and the preview.

It checks only the items it is given (the ones shown), so an answer posted for a hidden question never gets in.
Answers are keyed by question id: an open answer is text (a number for the number variant), a choice a value or
a list of values, a grid a map of row → column, a rating or NPS score a whole number, a ticked consent box
``yes``. The "other, namely" text is kept under ``<id>.other``. Errors are keyed by the posted name.
"""

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from webapp.profiles.field_types import FieldValueError, coerce
from webapp.widgets.survey_page import CONSENT_ANSWER, NPS_RANGE, OTHER, question_name
from webapp.widgets.validation import first, posted

OPEN_LIMITS = {"line": 255, "lines": 5000}
OPEN_COERCIONS = {"number": "decimal", "email": "email", "date": "date"}


@dataclass
class CleanPage:
    errors: dict[str, str] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


def validate_page(items: list[dict[str, Any]], values: dict[str, Any]) -> CleanPage:
    """Check the posted ``values`` (by name; a list per name or single values) against the shown ``items``."""
    clean = CleanPage()
    for item in items:
        check = _CHECKS.get(item["type"])
        if check is not None:
            check(clean, item, values)
    return clean


def _required(clean: CleanPage, item: dict, name: str) -> None:
    if item.get("required"):
        clean.errors[name] = _("This question needs an answer.")


def _check_open(clean: CleanPage, item: dict, values: dict) -> None:
    name, variant = question_name(item), item.get("variant") or "line"
    raw = first(values, name) if variant != "lines" else (posted(values, name) or [""])[0].strip()
    if not raw:
        return _required(clean, item, name)
    if variant in OPEN_COERCIONS:
        try:
            clean.answers[item["id"]] = coerce(OPEN_COERCIONS[variant], raw, {})
        except FieldValueError as error:
            clean.errors[name] = _("This answer %(problem)s.", problem=error)
        return None
    limit = OPEN_LIMITS[variant]
    if len(raw) > limit or "\x00" in raw:
        clean.errors[name] = _("Use at most %(count)s characters.", count=limit)
    elif variant == "line" and ("\n" in raw or "\r" in raw):
        clean.errors[name] = _("Use a single line.")
    else:
        clean.answers[item["id"]] = raw.replace("\r\n", "\n")
    return None


def _check_choice(clean: CleanPage, item: dict, values: dict) -> None:
    name = question_name(item)
    allowed = {option["value"] for option in item.get("options") or []}
    if item.get("other"):
        allowed.add(OTHER)
    chosen = [value for value in posted(values, name) if value != ""]
    if not chosen:
        return _required(clean, item, name)
    if any(value not in allowed for value in chosen) or (len(chosen) > 1 and not item.get("multiple")):
        clean.errors[name] = _("Choose one of the options given.")
        return None
    if OTHER in chosen:
        other = first(values, name + "_other")
        if not other:
            clean.errors[name + "_other"] = _("Say what you mean by other.")
            return None
        clean.answers[f"{item['id']}.other"] = other[: OPEN_LIMITS["line"]]
    clean.answers[item["id"]] = list(dict.fromkeys(chosen)) if item.get("multiple") else chosen[0]
    return None


def _check_grid(clean: CleanPage, item: dict, values: dict) -> None:
    name = question_name(item)
    columns = {column["value"] for column in item.get("columns") or []}
    answer: dict[str, str] = {}
    for position, row in enumerate(item.get("rows") or []):
        value = first(values, f"{name}_{position}")
        if not value:
            if item.get("required"):
                clean.errors[f"{name}_{position}"] = _("Answer every row.")
            continue
        if value not in columns:
            clean.errors[f"{name}_{position}"] = _("Choose one of the options given.")
            continue
        answer[row["value"]] = value
    if answer and not any(key.startswith(name) for key in clean.errors):
        clean.answers[item["id"]] = answer


def _check_score(clean: CleanPage, item: dict, values: dict) -> None:
    name = question_name(item)
    low, high = NPS_RANGE if item["type"] == "nps" else (1, int(item.get("scale") or 5))
    raw = first(values, name)
    if not raw:
        return _required(clean, item, name)
    if not raw.isdigit() or not low <= int(raw) <= high:
        clean.errors[name] = _("Choose a score from %(low)s to %(high)s.", low=low, high=high)
        return None
    clean.answers[item["id"]] = int(raw)
    return None


def _check_consent(clean: CleanPage, item: dict, values: dict) -> None:
    """A ticked box (any non-empty value) is the answer ``yes``; unticked is no answer (an error if required)."""
    name = question_name(item)
    if not first(values, name):
        return _required(clean, item, name)
    clean.answers[item["id"]] = CONSENT_ANSWER
    return None


_CHECKS = {
    "open": _check_open,
    "choice": _check_choice,
    "grid": _check_grid,
    "rating": _check_score,
    "nps": _check_score,
    "consent": _check_consent,
}
