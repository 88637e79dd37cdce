"""Creating and changing surveys: the pages, items and settings are checked and normalised here, once.

A survey is stored as JSON (``Survey.pages``, ``Survey.settings``); everything that reads it (widgets, conditions,
responses, results) trusts the shape this module guarantees. Texts may be a string or a map by language.
Text between questions is sanitised with the web forms' allow-list.
"""

from datetime import datetime
from typing import Any

import nh3
from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Account, Field, Survey, utcnow
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import owned
from webapp.profiles.databases import get_database
from webapp.profiles.field_types import FieldValueError, coerce_email
from webapp.webforms.items import HTML_ATTRIBUTES, HTML_TAGS, HTML_URL_SCHEMES
from webapp.widgets.languages import LANGUAGES
from webapp.widgets.survey_page import CHOICE_WIDGETS, ITEM_TYPES, OPEN_VARIANTS

OPERATORS = ("equals", "not_equals", "contains", "answered", "empty", "greater", "less")
SOURCES = ("answer", "hidden", "field")
MAX_SCALE = 10
MAX_FILL_SECONDS = 3600
DEFAULT_FILL_SECONDS = 3  # as the web forms


def list_surveys(account: Account, database_id: int | None = None) -> list[Survey]:
    """The account's surveys by name (of one database when given: another account's database is not found)."""
    query = select(Survey).where(Survey.account_id == account.id).order_by(Survey.name)
    if database_id is not None:
        query = query.where(Survey.database_id == get_database(account, database_id).id)
    return list(db.session.scalars(query))


def get_survey(account: Account, survey_id: int) -> Survey:
    return owned(Survey, account, survey_id, _("This survey does not exist."))


def create_survey(account: Account, database_id: int, name: str) -> Survey:
    database = get_database(account, database_id)
    name = str(name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": _("Give the survey a name of at most 200 characters.")})
    survey = Survey(account_id=account.id, database_id=database.id, name=name, pages=[{"title": "", "items": []}])
    survey.settings = {"languages": ["en"]}
    db.session.add(survey)
    db.session.commit()
    return survey


def update_survey(account: Account, survey_id: int, *, name: str, pages: Any, settings: Any, origins: Any) -> Survey:
    """Replace a survey's content; nothing is stored unless all of it is right."""
    survey = get_survey(account, survey_id)
    field_names = set(db.session.scalars(select(Field.name).where(Field.database_id == survey.database_id)))
    checked_settings = check_settings(settings)
    checked_pages = check_pages(pages, field_names, set(checked_settings.get("hidden_fields", [])))
    name = str(name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": _("Give the survey a name of at most 200 characters.")})
    survey.name, survey.pages, survey.settings = name, checked_pages, checked_settings
    survey.allowed_origins = _origins(origins)
    survey.revision, survey.updated_at = survey.revision + 1, utcnow()
    db.session.commit()
    return survey


def delete_survey(account: Account, survey_id: int) -> None:
    db.session.delete(get_survey(account, survey_id))
    db.session.commit()


def sanitised_html(html: str) -> str:
    """Text between questions, through the web forms' allow-list."""
    return nh3.clean(
        html,
        tags=HTML_TAGS,
        attributes=HTML_ATTRIBUTES,
        url_schemes=HTML_URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ).strip()


def _fail(message: str) -> ValidationError:
    return ValidationError({"pages": message})


def _text(value: Any, where: str, limit: int = 2000) -> Any:
    """A string or a map of language → string."""
    if isinstance(value, dict):
        if any(key not in LANGUAGES or not isinstance(text, str) or len(text) > limit for key, text in value.items()):
            raise _fail(_("%(where)s: texts are keyed by nl, en, fr or de.", where=where))
        return {key: text.strip() for key, text in value.items()}
    if value is not None and not isinstance(value, str):
        raise _fail(_("%(where)s: a text must be a string.", where=where))
    return (value or "").strip()[:limit]


def _choices(values: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(values, list) or not values:
        raise _fail(_("%(where)s needs options.", where=where))
    result = []
    for value in values:
        option = value if isinstance(value, dict) else {"value": value}
        text = str(option.get("value", "")).strip()
        if not text or len(text) > 255:
            raise _fail(_("%(where)s: every option needs a value.", where=where))
        result.append({"value": text, "label": _text(option.get("label") or text, where)})
    if len({option["value"] for option in result}) != len(result):
        raise _fail(_("%(where)s: options must differ.", where=where))
    return result


def check_pages(pages: Any, field_names: set[str], hidden_fields: set[str]) -> list[dict[str, Any]]:
    if not isinstance(pages, list) or not pages:
        raise _fail(_("A survey needs at least one page."))
    seen: set[str] = set()
    result = []
    for number, page in enumerate(pages, start=1):
        if not isinstance(page, dict) or not isinstance(page.get("items", []), list):
            raise _fail(_("Page %(number)s must be an object with items.", number=number))
        # A condition sees the answers of earlier pages only: the server evaluates it at the page boundary.
        earlier = set(seen)
        items = [
            _check_item(item, f"{number}.{position}", earlier, seen, field_names, hidden_fields)
            for position, item in enumerate(page.get("items", []), start=1)
        ]
        checked = {"title": _text(page.get("title"), f"page {number}"), "items": items}
        checked["branches"] = [
            _check_branch(branch, number, len(pages), seen, field_names, hidden_fields)
            for branch in page.get("branches") or []
        ]
        result.append(checked)
    return result


def _check_item(
    item: Any, where: str, earlier: set[str], seen: set[str], field_names: set[str], hidden: set[str]
) -> dict[str, Any]:
    if not isinstance(item, dict) or item.get("type") not in ITEM_TYPES:
        raise _fail(_("Item %(where)s: the type must be one of %(types)s.", where=where, types=", ".join(ITEM_TYPES)))
    item_id = str(item.get("id") or "").strip()
    if not item_id.isidentifier() or len(item_id) > 32 or item_id in seen:
        raise _fail(_("Item %(where)s needs its own id (letters, digits, _).", where=where))
    checked: dict[str, Any] = {"id": item_id, "type": item["type"]}
    if item["type"] == "text":
        html = item.get("html")
        checked["html"] = (
            {k: sanitised_html(v) for k, v in _text(html, where, 20000).items()}
            if isinstance(html, dict)
            else sanitised_html(_text(html, where, 20000))
        )
    else:
        checked.update(_check_question(item, where, field_names))
    if item.get("condition"):
        checked["condition"] = check_condition(item["condition"], where, earlier, field_names, hidden)
    seen.add(item_id)
    return checked


def _check_question(item: dict, where: str, field_names: set[str]) -> dict[str, Any]:
    checked: dict[str, Any] = {"label": _text(item.get("label"), where), "required": bool(item.get("required"))}
    if item.get("help"):
        checked["help"] = _text(item["help"], where)
    if item.get("field"):
        if item["type"] == "grid":
            raise _fail(_("Item %(where)s: a grid's answers cannot go into one field.", where=where))
        if item["type"] == "consent":
            raise _fail(_("Item %(where)s: a consent is a record of its own, not a profile field.", where=where))
        if item["field"] not in field_names:
            raise _fail(_("Item %(where)s: the database has no field %(name)s.", where=where, name=item["field"]))
        checked["field"] = item["field"]
    kind = item["type"]
    if kind == "open":
        if (item.get("variant") or "line") not in OPEN_VARIANTS:
            raise _fail(_("Item %(where)s: unknown variant.", where=where))
        checked["variant"] = item.get("variant") or "line"
    elif kind == "choice":
        checked["options"] = _choices(item.get("options"), where)
        checked["multiple"] = bool(item.get("multiple"))
        widget = item.get("widget") or ("checkboxes" if checked["multiple"] else "radio")
        if widget not in CHOICE_WIDGETS or (checked["multiple"]) != (widget == "checkboxes"):
            raise _fail(
                _("Item %(where)s: checkboxes are for several answers, radio and drop-down for one.", where=where)
            )
        checked["widget"] = widget
        checked["other"] = bool(item.get("other"))
        if checked["other"]:
            checked["other_label"] = _text(item.get("other_label") or _("Other, namely"), where)
        default = item.get("default")
        values = {option["value"] for option in checked["options"]}
        if default not in (None, "", []):
            if any(value not in values for value in (default if isinstance(default, list) else [default])):
                raise _fail(_("Item %(where)s: the default must be one of the options.", where=where))
            checked["default"] = default
    elif kind == "grid":
        checked["rows"] = _choices(item.get("rows"), where)
        checked["columns"] = _choices(item.get("columns"), where)
    elif kind == "rating":
        scale = item.get("scale") or 5
        if not isinstance(scale, int) or not 2 <= scale <= MAX_SCALE:
            raise _fail(_("Item %(where)s: a rating scale runs to 2–10.", where=where))
        checked["scale"] = scale
    elif kind == "consent" and item.get("text"):
        # The exact text agreed to (the label when empty): the consent record keeps it as shown.
        checked["text"] = _text(item["text"], where, 5000)
    return checked


def check_condition(condition: Any, where: str, seen: set[str], field_names: set[str], hidden: set[str]) -> dict:
    """``{"match": "all"|"any", "rules": [{"source", "name", "op", "value"}]}``; answers only of earlier items."""
    if not isinstance(condition, dict) or not isinstance(condition.get("rules"), list) or not condition["rules"]:
        raise _fail(_("Item %(where)s: a condition needs rules.", where=where))
    rules = []
    for rule in condition["rules"]:
        if not isinstance(rule, dict) or rule.get("source") not in SOURCES or rule.get("op") not in OPERATORS:
            raise _fail(
                _(
                    "Item %(where)s: a rule needs a source (%(sources)s) and an operator (%(ops)s).",
                    where=where,
                    sources=", ".join(SOURCES),
                    ops=", ".join(OPERATORS),
                )
            )
        name = str(rule.get("name") or "")
        known = {"answer": seen, "hidden": hidden, "field": field_names}[rule["source"]]
        if name not in known:
            raise _fail(
                _(
                    "Item %(where)s: a rule refers to %(name)s, which is not an earlier question, hidden field "
                    "or database field.",
                    where=where,
                    name=name,
                )
            )
        rules.append({"source": rule["source"], "name": name, "op": rule["op"], "value": rule.get("value", "")})
    return {"match": "any" if condition.get("match") == "any" else "all", "rules": rules}


def _check_branch(branch: Any, number: int, count: int, seen: set[str], fields: set[str], hidden: set[str]) -> dict:
    """``{"condition": …, "to": N}`` (a later page number) or ``"to": "end"``."""
    where = f"page {number}"
    if not isinstance(branch, dict):
        raise _fail(_("A branch of %(where)s must be an object.", where=where))
    target = branch.get("to")
    if target != "end" and (not isinstance(target, int) or not number < target <= count):
        raise _fail(_("A branch of %(where)s must skip to a later page or the end.", where=where))
    condition = check_condition(branch["condition"], where, seen, fields, hidden) if branch.get("condition") else None
    return {"condition": condition, "to": target}


def check_settings(settings: Any) -> dict[str, Any]:
    if not isinstance(settings, dict):
        raise ValidationError({"settings": _("The settings must be an object.")})
    languages = [lang for lang in settings.get("languages") or ["en"] if lang in LANGUAGES]
    if not languages:
        raise ValidationError({"settings": _("Choose languages from nl, en, fr, de.")})
    checked: dict[str, Any] = {"languages": list(dict.fromkeys(languages))}
    hidden = settings.get("hidden_fields") or []
    if not isinstance(hidden, list) or any(not str(name).isidentifier() or len(str(name)) > 32 for name in hidden):
        raise ValidationError({"settings": _("Hidden fields are names of letters, digits and _.")})
    checked["hidden_fields"] = [str(name) for name in hidden]
    for key in ("opens_at", "closes_at"):
        if settings.get(key):
            try:
                checked[key] = datetime.fromisoformat(str(settings[key])).replace(tzinfo=None).isoformat()
            except ValueError:
                raise ValidationError({"settings": _("%(key)s must be a date and time.", key=key)}) from None
    if settings.get("max_completed") not in (None, ""):
        if not isinstance(settings["max_completed"], int) or settings["max_completed"] < 1:
            raise ValidationError({"settings": _("Close after a positive number of responses.")})
        checked["max_completed"] = settings["max_completed"]
    checked["one_per_profile"] = bool(settings.get("one_per_profile", True))
    checked["anonymous"] = bool(settings.get("anonymous"))
    checked["language_field"] = str(settings.get("language_field") or "")
    fill = settings.get("min_fill_seconds", DEFAULT_FILL_SECONDS)
    if isinstance(fill, bool) or not isinstance(fill, int) or not 0 <= fill <= MAX_FILL_SECONDS:
        message = _("The minimum fill time is a whole number of seconds from 0 to %(most)s.", most=MAX_FILL_SECONDS)
        raise ValidationError({"settings": message})
    checked["min_fill_seconds"] = fill
    checked["captcha"] = bool(settings.get("captcha"))
    for key in ("closing_text", "next_label", "done_label", "back_label"):
        if settings.get(key):
            checked[key] = _text(settings[key], key)
    if settings.get("redirect_url"):
        url = str(settings["redirect_url"])
        if not url.startswith(("https://", "http://")):
            raise ValidationError({"settings": _("The redirect must be an http(s) address.")})
        checked["redirect_url"] = url
    try:
        checked["notify"] = [coerce_email(address, {}) for address in settings.get("notify") or []]
    except FieldValueError:
        raise ValidationError({"settings": _("Notification addresses must be email addresses.")}) from None
    return checked


def _origins(origins: Any) -> list[str]:
    values = origins if isinstance(origins, list) else str(origins or "").split()
    result = []
    for origin in values:
        text = str(origin).strip().rstrip("/")
        if not text.startswith(("https://", "http://")) or "/" in text.split("://", 1)[1]:
            raise ValidationError({"origins": _("An origin is a scheme and host, like https://www.example.com.")})
        result.append(text)
    return result
