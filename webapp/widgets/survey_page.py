"""A survey page turned into what the embed and the hosted page show, in one language.

A survey's stored items (checked by ``surveys/builder.py``) carry their texts as a string or as a map by
language; here they become plain dicts like a form's public items: a ``name`` to post (``q_<id>``; a grid row
``q_<id>_<row>``; the "other, namely" text ``q_<id>_other``) and an input ``type``. The validator in
``widgets/survey_validation.py`` reads the same names. Conditions are not the widget's business: the surveys
package passes only the items it decided to show.
"""

from typing import Any

from flask import render_template
from markupsafe import Markup

from webapp.widgets.languages import localized

# Input type per question type (open questions and multiple choice depend on their variant and widget).
OPEN_VARIANTS = {"line": "text", "lines": "textarea", "number": "number", "email": "email", "date": "date"}
CHOICE_WIDGETS = ("select", "radio", "checkboxes")
QUESTION_TYPES = ("open", "choice", "grid", "rating", "nps", "consent")
CONSENT_ANSWER = "yes"  # the stored answer of a ticked consent box
ITEM_TYPES = ("text", *QUESTION_TYPES)
OTHER = "_other"
NPS_RANGE = (0, 10)


def question_name(item: dict[str, Any]) -> str:
    return f"q_{item['id']}"


def input_type(item: dict[str, Any]) -> str:
    kind = item["type"]
    if kind == "text":
        return "html"
    if kind == "open":
        return OPEN_VARIANTS[item.get("variant") or "line"]
    if kind == "choice":
        return item.get("widget") or ("checkboxes" if item.get("multiple") else "radio")
    return kind


def _options(options: list[dict[str, Any]], lang: str, default_lang: str) -> list[dict[str, str]]:
    return [
        {"value": o["value"], "label": localized(o.get("label") or o["value"], lang, default_lang)} for o in options
    ]


def item_definition(item: dict[str, Any], lang: str, default_lang: str) -> dict[str, Any]:
    """One shown item in the public shape (``name``, ``type``, texts in ``lang``)."""
    kind = input_type(item)
    result: dict[str, Any] = {"name": question_name(item), "type": kind, "id": item["id"]}
    if kind == "html":
        result["name"] = ""
        result["html"] = localized(item.get("html"), lang, default_lang)
        return result
    result["label"] = localized(item.get("label"), lang, default_lang)
    if item.get("help"):
        result["help"] = localized(item["help"], lang, default_lang)
    if item.get("required"):
        result["required"] = True
    if item["type"] == "choice":
        result["options"] = _options(item.get("options") or [], lang, default_lang)
        if item.get("other"):
            result["other"] = localized(item.get("other_label"), lang, default_lang) or "…"
        if item.get("default") not in (None, "", []):
            result["default"] = item["default"]
    elif item["type"] == "grid":
        result["rows"] = _options(item.get("rows") or [], lang, default_lang)
        result["columns"] = _options(item.get("columns") or [], lang, default_lang)
    elif item["type"] == "rating":
        result["min"], result["max"] = 1, int(item.get("scale") or 5)
    elif item["type"] == "nps":
        result["min"], result["max"] = NPS_RANGE
    elif item["type"] == "consent":
        result["value"] = CONSENT_ANSWER
        result["text"] = consent_text(item, lang, default_lang)
    return result


def consent_text(item: dict[str, Any], lang: str, default_lang: str) -> str:
    """The exact text a consent box shows in ``lang``: its own text, else its label (what the record keeps)."""
    return localized(item.get("text"), lang, default_lang) or localized(item.get("label"), lang, default_lang)


def page_definition(
    page: dict[str, Any], items: list[dict[str, Any]], *, index: int, count: int, lang: str, default_lang: str
) -> dict[str, Any]:
    """The public definition of one page, with only ``items`` (the ones the server decided to show)."""
    return {
        "index": index,
        "number": index + 1,
        "count": count,
        "last": index == count - 1,
        "title": localized(page.get("title"), lang, default_lang),
        "items": [item_definition(item, lang, default_lang) for item in items],
    }


def render_page(
    definition: dict[str, Any],
    page: dict[str, Any],
    *,
    action: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    carried: dict[str, str] | None = None,
) -> Markup:
    """The ``<form>`` of one page (hosted page, admin preview): works without JavaScript. ``carried`` are the
    hidden inputs to post back along (resume key, page, token, signed profile link, language)."""
    # render_template autoescapes; only the sanitised text blocks pass as they are.
    return Markup(  # noqa: S704
        render_template(
            "widgets/_survey_page.html",
            definition=definition,
            page=page,
            action=action,
            values=values or {},
            errors=errors or {},
            carried=carried or {},
        )
    )


def page_values(items: list[dict[str, Any]], answers: dict[str, Any]) -> dict[str, Any]:
    """Stored answers (by question id, as ``survey_validation`` keeps them) as the values a page posts (by
    name), to fill in a page shown again: going back, or resuming."""
    values: dict[str, Any] = {}
    for item in items:
        if item["type"] == "text" or item["id"] not in answers:
            continue
        name, answer = question_name(item), answers[item["id"]]
        if item["type"] == "grid" and isinstance(answer, dict):
            for position, row in enumerate(item.get("rows") or []):
                if row["value"] in answer:
                    values[f"{name}_{position}"] = str(answer[row["value"]])
        elif isinstance(answer, list):
            values[name] = [str(value) for value in answer]
        else:
            values[name] = str(answer)
        if f"{item['id']}.other" in answers:
            values[f"{name}_other"] = str(answers[f"{item['id']}.other"])
    return values
