"""The visual builder's changes to a survey: add, move and remove pages and items, edit an item's or a page's
texts per language, its condition and the page's branches, all from plain form values (menus, not JSON).

Each change is made on a copy of the pages and stored only when ``builder.check_pages`` accepts the whole
survey, so a bad input leaves what is stored as it was; the error says what to fix. A change names the
``revision`` it was made on: a survey changed meanwhile (another tab, another editor, the JSON editor) refuses it
rather than overwrite that change. Values are a mapping of name → list of strings (a posted form, as plain
values); the names are the ones ``form_values`` gives for the current state.
"""

import copy
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Account, Field, Survey, utcnow
from webapp.platform.errors import ValidationError
from webapp.surveys.builder import LANGUAGES, OPERATORS, check_pages, get_survey, update_survey
from webapp.widgets.languages import written_in
from webapp.widgets.survey_page import CHOICE_WIDGETS, ITEM_TYPES, OPEN_VARIANTS, QUESTION_TYPES

Values = Mapping[str, list[str]]
DIRECTIONS = ("up", "down")
MAX_RULES = 20
MAX_BRANCHES = 20


# --- reading the survey for the builder's menus --------------------------------------------------------------


def languages(survey: Survey) -> list[str]:
    return list((survey.settings or {}).get("languages") or ["en"])


def field_names(survey: Survey) -> list[str]:
    statement = select(Field.name).where(Field.database_id == survey.database_id, Field.collection_id.is_(None))
    return list(db.session.scalars(statement.order_by(Field.position, Field.id)))


def find_item(survey: Survey, item_id: str) -> tuple[int, int]:
    """The page index and position of an item; ``NotFound``-like ``ValidationError`` when it is gone."""
    for index, page in enumerate(survey.pages):
        for position, item in enumerate(page["items"]):
            if item["id"] == item_id:
                return index, position
    raise ValidationError({"": _("This item is no longer in the survey (it was removed meanwhile).")})


def condition_sources(
    survey: Survey, page_index: int, *, including_page: bool
) -> list[tuple[str, list[tuple[str, str]]]]:
    """What a condition on page ``page_index`` may look at, as menu groups of (``source:name``, text): the
    questions of earlier pages (of this page too, for its branches) by id and question, hidden fields and
    profile fields."""
    last = page_index + 1 if including_page else page_index
    first_lang = languages(survey)[0]
    questions = [
        (f"answer:{item['id']}", f"{item['id']}: {written_in(item.get('label'), first_lang, first_lang)}"[:80])
        for page in survey.pages[:last]
        for item in page["items"]
        if item["type"] in QUESTION_TYPES
    ]
    hidden = [(f"hidden:{name}", name) for name in (survey.settings or {}).get("hidden_fields") or []]
    fields = [(f"field:{name}", name) for name in field_names(survey)]
    return [("answer", questions), ("hidden", hidden), ("field", fields)]


# --- changes ---------------------------------------------------------------------------------------------------


def _editable(account: Account, survey_id: int, revision: Any) -> tuple[Survey, list[dict[str, Any]]]:
    survey = get_survey(account, survey_id)
    if revision not in (None, "") and str(revision) != str(survey.revision):
        raise ValidationError(
            {
                "": _(
                    "This survey was changed meanwhile (in another tab or by someone else). "
                    "Here is how it is now; make your change again."
                )
            }
        )
    return survey, copy.deepcopy(survey.pages)


def _store(survey: Survey, pages: list[dict[str, Any]]) -> Survey:
    """Check the whole survey and store it; nothing is stored when anything is wrong."""
    settings = survey.settings or {}
    checked = check_pages(pages, set(field_names(survey)), set(settings.get("hidden_fields") or []))
    survey.pages = checked
    survey.revision, survey.updated_at = survey.revision + 1, utcnow()
    db.session.commit()
    return survey


def add_page(account: Account, survey_id: int, revision: Any) -> Survey:
    survey, pages = _editable(account, survey_id, revision)
    pages.append({"title": "", "items": [], "branches": []})
    return _store(survey, pages)


def _renumber_branches(pages: list[dict[str, Any]], order: list[int]) -> None:
    """After pages moved (``order``: old index per new position), branch targets follow their pages."""
    new_number = {old + 1: new + 1 for new, old in enumerate(order)}
    for page in pages:
        for branch in page.get("branches") or []:
            if branch["to"] != "end":
                branch["to"] = new_number[branch["to"]]


def move_page(account: Account, survey_id: int, revision: Any, index: int, direction: str) -> Survey:
    survey, pages = _editable(account, survey_id, revision)
    _page(pages, index)
    other = index - 1 if direction == "up" else index + 1
    if direction not in DIRECTIONS or not 0 <= other < len(pages):
        raise ValidationError({"": _("This page cannot move further.")})
    order = list(range(len(pages)))
    order[index], order[other] = order[other], order[index]
    pages = [pages[old] for old in order]
    _renumber_branches(pages, order)
    return _store(survey, pages)


def remove_page(account: Account, survey_id: int, revision: Any, index: int) -> Survey:
    survey, pages = _editable(account, survey_id, revision)
    _page(pages, index)
    if len(pages) == 1:
        raise ValidationError({"": _("A survey needs at least one page.")})
    for number, page in enumerate(pages, start=1):
        if any(branch["to"] == index + 1 for branch in page.get("branches") or []):
            raise ValidationError(
                {
                    "": _(
                        "Page %(target)s is where a branch of page %(number)s skips to; change that branch first.",
                        target=index + 1,
                        number=number,
                    )
                }
            )
    order = [old for old in range(len(pages)) if old != index]
    remaining = [pages[old] for old in order]
    for page in remaining:
        for branch in page.get("branches") or []:
            if branch["to"] != "end" and branch["to"] > index + 1:
                branch["to"] -= 1
    return _store(survey, remaining)


def _page(pages: list[dict[str, Any]], index: Any) -> dict[str, Any]:
    if not isinstance(index, int) or not 0 <= index < len(pages):
        raise ValidationError({"": _("This page is no longer in the survey (it was removed meanwhile).")})
    return pages[index]


def _new_id(pages: list[dict[str, Any]], prefix: str, revision: int) -> str:
    """An id never given before in this survey: numbered by the revision it is added in (revisions only grow),
    so a removed question's answers in earlier responses never pass for a new question's."""
    taken = {item["id"] for page in pages for item in page["items"]}
    candidate, extra = f"{prefix}{revision}", 0
    while candidate in taken:
        extra += 1
        candidate = f"{prefix}{revision}_{extra}"
    return candidate


def new_item(kind: str, item_id: str, lang: str) -> dict[str, Any]:
    """A new item of ``kind`` with texts in ``lang`` that make it valid as it is."""
    if kind == "text":
        return {"id": item_id, "type": "text", "html": {lang: "<p>" + _("Text between questions") + "</p>"}}
    item: dict[str, Any] = {"id": item_id, "type": kind, "label": {lang: _("New question")}}
    if kind == "open":
        item["variant"] = "line"
    elif kind == "choice":
        item["options"] = [_("Option %(number)s", number=number) for number in (1, 2)]
        item["widget"] = "radio"
    elif kind == "grid":
        item["rows"] = [_("Row %(number)s", number=number) for number in (1, 2)]
        item["columns"] = [_("Column %(number)s", number=number) for number in (1, 2)]
    elif kind == "rating":
        item["scale"] = 5
    elif kind == "consent":
        item["label"] = {lang: _("I agree")}
        item["text"] = {lang: _("I agree that my answers are stored and used as described in the privacy statement.")}
    return item


def add_item(account: Account, survey_id: int, revision: Any, index: int, kind: str) -> tuple[Survey, str]:
    """Add an item of ``kind`` at the end of page ``index``; returns the survey and the new item's id."""
    survey, pages = _editable(account, survey_id, revision)
    page = _page(pages, index)
    if kind not in ITEM_TYPES:
        raise ValidationError({"": _("Choose what to add: a text or a kind of question.")})
    item_id = _new_id(pages, "t" if kind == "text" else "q", survey.revision)
    page["items"].append(new_item(kind, item_id, languages(survey)[0]))
    return _store(survey, pages), item_id


def move_item(account: Account, survey_id: int, revision: Any, item_id: str, direction: str) -> Survey:
    """Up or down within its page; from the top of a page up to the end of the page before, from the bottom
    down to the start of the page after."""
    survey, pages = _editable(account, survey_id, revision)
    index, position = find_item(survey, item_id)
    items = pages[index]["items"]
    if direction not in DIRECTIONS:
        raise ValidationError({"": _("This item cannot move further.")})
    step = -1 if direction == "up" else 1
    if 0 <= position + step < len(items):
        items[position], items[position + step] = items[position + step], items[position]
    elif 0 <= index + step < len(pages):
        item = items.pop(position)
        target = pages[index + step]["items"]
        target.insert(len(target) if step < 0 else 0, item)
    else:
        raise ValidationError({"": _("This item cannot move further.")})
    return _store(survey, pages)


def remove_item(account: Account, survey_id: int, revision: Any, item_id: str) -> Survey:
    survey, pages = _editable(account, survey_id, revision)
    index, position = find_item(survey, item_id)
    del pages[index]["items"][position]
    return _store(survey, pages)


def update_details(account: Account, survey_id: int, revision: Any, values: Values) -> Survey:
    """Name, the websites that may embed it, languages (``default_language`` first) and hidden fields; the
    other settings stay as they are."""
    survey, pages = _editable(account, survey_id, revision)
    default = _one(values, "default_language")
    chosen = [lang for lang in LANGUAGES if lang in (values.get("languages") or [])]
    if default not in chosen:
        raise ValidationError({"languages": _("The default language must be one of the survey's languages.")})
    hidden = _one(values, "hidden_fields").replace(",", " ").split()
    settings = {**(survey.settings or {}), "languages": [default, *(lang for lang in chosen if lang != default)]}
    settings["hidden_fields"] = hidden
    return update_survey(
        account,
        survey.id,
        name=_one(values, "name"),
        pages=pages,
        settings=settings,
        origins=_one(values, "origins"),
    )


SETTING_TEXTS = ("closing_text", "next_label", "done_label", "back_label")


def _whole_number(text: str) -> int | str | None:
    """A whole number as typed; the text itself when it is none (for the check to refuse with its message)."""
    return None if not text else int(text) if text.isdigit() else text


def update_settings(account: Account, survey_id: int, revision: Any, values: Values) -> Survey:
    """Dates, limits, anonymous mode, the language field, closing text and button labels per language, the
    redirect, notification addresses, the minimum fill time and the captcha; checked by ``check_settings``."""
    survey, pages = _editable(account, survey_id, revision)
    langs = languages(survey)
    settings: dict[str, Any] = {
        key: value for key, value in (survey.settings or {}).items() if key in ("languages", "hidden_fields")
    }
    for key in ("opens_at", "closes_at", "redirect_url", "language_field"):
        settings[key] = _one(values, key)
    settings["max_completed"] = _whole_number(_one(values, "max_completed"))
    fill = _whole_number(_one(values, "min_fill_seconds"))
    settings["min_fill_seconds"] = 0 if fill is None else fill
    for key in ("one_per_profile", "anonymous", "captcha"):
        settings[key] = bool(_one(values, key))
    for key in SETTING_TEXTS:
        settings[key] = _texts(values, key, langs)
    settings["notify"] = [line for line in _lines(_one(values, "notify")) if line]
    if settings["language_field"] and settings["language_field"] not in field_names(survey):
        raise ValidationError({"settings": _("Choose the language field from the database's fields.")})
    return update_survey(
        account, survey.id, name=survey.name, pages=pages, settings=settings, origins=survey.allowed_origins
    )


def settings_values(survey: Survey) -> dict[str, str]:
    """The settings form filled with what is stored."""
    settings, langs = survey.settings or {}, languages(survey)
    result = {key: str(settings.get(key) or "") for key in ("opens_at", "closes_at", "redirect_url")}
    result["language_field"] = settings.get("language_field", "")
    result["max_completed"] = str(settings.get("max_completed") or "")
    result["min_fill_seconds"] = str(settings.get("min_fill_seconds", 3))
    for key in ("one_per_profile", "anonymous", "captcha"):
        result[key] = "1" if settings.get(key, key == "one_per_profile") else ""
    for key in SETTING_TEXTS:
        for lang in langs:
            result[f"{key}.{lang}"] = written_in(settings.get(key), lang, langs[0])
    result["notify"] = "\n".join(settings.get("notify") or [])
    return result


# --- an item's and a page's form -------------------------------------------------------------------------------


def _one(values: Values, name: str) -> str:
    given = values.get(name) or [""]
    return str(given[0] if isinstance(given, list | tuple) else given).strip()


def _texts(values: Values, name: str, langs: list[str]) -> dict[str, str]:
    return {lang: _one(values, f"{name}.{lang}") for lang in langs if _one(values, f"{name}.{lang}")}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.replace("\r\n", "\n").split("\n")]


def _choice_list(values: Values, name: str, langs: list[str]) -> list[dict[str, Any]]:
    """Options (rows, columns): their values a line each, and their labels per language, line by line."""
    given = [line for line in _lines(_one(values, name)) if line]
    labels = {lang: _lines(_one(values, f"{name}.{lang}")) for lang in langs}
    result = []
    for number, value in enumerate(given):
        label = {lang: lines[number] for lang, lines in labels.items() if number < len(lines) and lines[number]}
        result.append({"value": value, "label": label or value})
    return result


def _condition(values: Values, prefix: str) -> dict[str, Any] | None:
    """Rules from menus: ``<prefix>-<n>-ref`` (``answer:id``, ``hidden:name``, ``field:name``), ``-op``,
    ``-value``; a row without a reference is no rule. No rules: no condition."""
    rules = []
    for number in range(MAX_RULES):
        reference = _one(values, f"{prefix}-{number}-ref")
        if not reference:
            continue
        source, _sep, name = reference.partition(":")
        if not name:
            continue
        operator = _one(values, f"{prefix}-{number}-op") or "equals"
        if operator not in OPERATORS:
            raise ValidationError({f"{prefix}-{number}-op": _("Choose how to compare.")})
        value = _one(values, f"{prefix}-{number}-value")
        rules.append({"source": source, "name": name, "op": operator, "value": value})
    if not rules:
        return None
    return {"match": "any" if _one(values, f"{prefix}-match") == "any" else "all", "rules": rules}


def item_from_values(item: dict[str, Any], values: Values, langs: list[str]) -> dict[str, Any]:
    """The item as the builder's form for it says (its id and type stay)."""
    changed: dict[str, Any] = {"id": item["id"], "type": item["type"]}
    if item["type"] == "text":
        changed["html"] = _texts(values, "html", langs)
    else:
        label = _texts(values, "label", langs)
        if not label:
            raise ValidationError({f"label.{langs[0]}": _("Give the question a text.")})
        changed["label"] = label
        changed["required"] = bool(_one(values, "required"))
        if _texts(values, "help", langs):
            changed["help"] = _texts(values, "help", langs)
        if _one(values, "field"):
            changed["field"] = _one(values, "field")
    kind = item["type"]
    if kind == "open":
        changed["variant"] = _one(values, "variant") if _one(values, "variant") in OPEN_VARIANTS else "line"
    elif kind == "choice":
        widget = _one(values, "widget")
        changed["widget"] = widget if widget in CHOICE_WIDGETS else "radio"
        changed["multiple"] = changed["widget"] == "checkboxes"
        changed["options"] = _choice_list(values, "options", langs)
        changed["other"] = bool(_one(values, "other"))
        if changed["other"] and _texts(values, "other_label", langs):
            changed["other_label"] = _texts(values, "other_label", langs)
        default = [line for line in _lines(_one(values, "default")) if line]
        if default:
            changed["default"] = default if changed["multiple"] else default[0]
    elif kind == "grid":
        changed["rows"] = _choice_list(values, "rows", langs)
        changed["columns"] = _choice_list(values, "columns", langs)
    elif kind == "rating":
        scale = _one(values, "scale")
        changed["scale"] = int(scale) if scale.isdigit() else 0
    elif kind == "consent":
        changed.pop("field", None)
        if _texts(values, "text", langs):
            changed["text"] = _texts(values, "text", langs)
    condition = _condition(values, "rule")
    if condition is not None:
        changed["condition"] = condition
    return changed


def update_item(account: Account, survey_id: int, revision: Any, item_id: str, values: Values) -> Survey:
    survey, pages = _editable(account, survey_id, revision)
    index, position = find_item(survey, item_id)
    pages[index]["items"][position] = item_from_values(pages[index]["items"][position], values, languages(survey))
    return _store(survey, pages)


def update_page(account: Account, survey_id: int, revision: Any, index: int, values: Values) -> Survey:
    """A page's title per language and its branches: ``branch-<n>-to`` (a page number or ``end``; empty: no
    branch) with the rules of ``branch-<n>-rule-<m>-…`` (none: always)."""
    survey, pages = _editable(account, survey_id, revision)
    page = _page(pages, index)
    page["title"] = _texts(values, "title", languages(survey))
    branches = []
    for number in range(MAX_BRANCHES):
        target = _one(values, f"branch-{number}-to")
        if not target:
            continue
        branches.append(
            {
                "to": "end" if target == "end" else int(target) if target.isdigit() else target,
                "condition": _condition(values, f"branch-{number}-rule"),
            }
        )
    page["branches"] = branches
    return _store(survey, pages)


# --- the builder's forms filled in with the stored state -------------------------------------------------------


def _choice_values(options: list[dict[str, Any]], name: str, langs: list[str]) -> dict[str, str]:
    result = {name: "\n".join(option["value"] for option in options)}
    for lang in langs:
        labels = [written_in(option.get("label"), lang, langs[0]) for option in options]
        result[f"{name}.{lang}"] = "\n".join(labels).rstrip("\n") if any(labels) else ""
    return result


def _rule_values(condition: dict[str, Any] | None, prefix: str) -> dict[str, str]:
    result: dict[str, str] = {f"{prefix}-match": (condition or {}).get("match", "all")}
    for number, rule in enumerate((condition or {}).get("rules") or []):
        result[f"{prefix}-{number}-ref"] = f"{rule['source']}:{rule['name']}"
        result[f"{prefix}-{number}-op"] = rule["op"]
        result[f"{prefix}-{number}-value"] = str(rule.get("value", ""))
    return result


def item_values(item: dict[str, Any], langs: list[str]) -> dict[str, str]:
    """The builder's form for a stored item, filled in (by the names ``item_from_values`` reads)."""
    result: dict[str, str] = {}
    for name in ("label", "help", "html", "other_label", "text"):
        for lang in langs:
            result[f"{name}.{lang}"] = written_in(item.get(name), lang, langs[0])
    result["required"] = "1" if item.get("required") else ""
    result["field"] = item.get("field", "")
    result["variant"] = item.get("variant", "line")
    result["widget"] = item.get("widget", "radio")
    result["other"] = "1" if item.get("other") else ""
    default = item.get("default")
    result["default"] = "\n".join(default) if isinstance(default, list) else str(default or "")
    result["scale"] = str(item.get("scale", 5))
    for name in ("options", "rows", "columns"):
        if item.get(name):
            result.update(_choice_values(item[name], name, langs))
    result.update(_rule_values(item.get("condition"), "rule"))
    return result


def page_values(page: dict[str, Any], langs: list[str]) -> dict[str, str]:
    result = {f"title.{lang}": written_in(page.get("title"), lang, langs[0]) for lang in langs}
    for number, branch in enumerate(page.get("branches") or []):
        result[f"branch-{number}-to"] = str(branch["to"])
        result.update(_rule_values(branch.get("condition"), f"branch-{number}-rule"))
    return result


def rule_count(values: Mapping[str, Any], prefix: str) -> int:
    """The rule rows to show: the ones filled in, and one empty row to add a rule."""
    filled = [number for number in range(MAX_RULES) if values.get(f"{prefix}-{number}-ref")]
    return min((max(filled) + 2) if filled else 1, MAX_RULES)


def branch_count(values: Mapping[str, Any]) -> int:
    filled = [number for number in range(MAX_BRANCHES) if values.get(f"branch-{number}-to")]
    return min((max(filled) + 2) if filled else 1, MAX_BRANCHES)


def offered_languages() -> tuple[str, ...]:
    return LANGUAGES
