"""Admin views of surveys: the list, the editor (the visual builder of ``survey_builder.py``; pages and settings
as JSON for experts, checked by the builder; a preview of every page rendered by the same widget code as the
hosted page), results (counts, charts, drop-off, open answers with search), the CSV export, and a profile's
answers. Editors change surveys; viewers look."""

import json

from flask import Response, render_template, request, stream_with_context, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.responses import acted, hx_redirect, is_htmx, render, toast
from webapp.platform.errors import ValidationError
from webapp.profiles import databases
from webapp.surveys import builder, editing, results
from webapp.surveys import responses as survey_responses
from webapp.widgets.survey_page import page_definition, render_page


def _parse_int(value: str | None) -> int:
    return int(value) if value and value.isdigit() else 0


@bp.route("/surveys")
def surveys_index(errors: dict | None = None, status: int = 200):
    """Every survey of the account, with the form to add one."""
    account = current_account()
    page = render(
        "admin/surveys/index.html",
        "admin/surveys/_surveys.html",
        rows=builder.list_surveys(account),
        databases=databases.list_databases(account, include_archived=False),
        errors=errors or {},
    )
    return page, status


@bp.route("/surveys", methods=["POST"])
@requires("editor")
def survey_create():
    """Add a survey, then open it in the editor."""
    try:
        survey = builder.create_survey(
            current_account(), _parse_int(request.form.get("database_id")), request.form.get("name", "")
        )
    except ValidationError as error:
        return surveys_index(error.errors, 422)
    return hx_redirect(url_for("admin.survey_edit", survey_id=survey.id))


def _editor(
    survey,
    *,
    pages_text=None,
    settings_text=None,
    origins_text=None,
    errors=None,
    status=200,
    editing_item="",
    editing_page=None,
    form_values=None,
    builder_errors=None,
    details=None,
    settings_form=None,
):
    """The editor page (or its partial): the visual builder, with one item or page open for editing when
    asked (filled with ``form_values`` after a refused change, else with what is stored), the JSON editor,
    the preview and the snippet."""
    texts = survey_responses.survey_texts(survey, (survey.settings or {}).get("languages", ["en"])[0])
    langs = editing.languages(survey)
    if form_values is None:
        if editing_item:
            found = next((i for p in survey.pages for i in p["items"] if i["id"] == editing_item), None)
            form_values = editing.item_values(found, langs) if found else {}
            editing_item = editing_item if found else ""
        elif editing_page is not None and 0 <= editing_page < len(survey.pages):
            form_values = editing.page_values(survey.pages[editing_page], langs)
        else:
            editing_page = None
    return render(
        "admin/surveys/edit.html",
        "admin/surveys/_editor.html",
        survey=survey,
        pages_text=pages_text if pages_text is not None else json.dumps(survey.pages, indent=2, ensure_ascii=False),
        settings_text=settings_text
        if settings_text is not None
        else json.dumps(survey.settings, indent=2, ensure_ascii=False),
        origins_text=origins_text if origins_text is not None else "\n".join(survey.allowed_origins or []),
        errors=errors or {},
        preview=_preview(survey, texts),
        texts=texts,
        langs=langs,
        editing_item=editing_item,
        editing_page=editing_page,
        values=form_values or {},
        builder_errors=builder_errors or {},
        builder=editing,
        field_names=editing.field_names(survey),
        details=details or _details(survey),
        settings_form=settings_form or editing.settings_values(survey),
        settings_open=settings_form is not None,
        offered_languages=builder.LANGUAGES,
    ), status


def _details(survey) -> dict:
    """The "about this survey" form filled with what is stored (lists, as a posted form gives them)."""
    langs = editing.languages(survey)
    return {
        "name": [survey.name],
        "origins": ["\n".join(survey.allowed_origins or [])],
        "languages": langs,
        "default_language": [langs[0]],
        "hidden_fields": [" ".join((survey.settings or {}).get("hidden_fields") or [])],
    }


def _preview(survey, texts) -> list:
    """Every page with all its items (conditions are the server's at run time; the preview shows everything)."""
    lang = (survey.settings or {}).get("languages", ["en"])[0]
    count = len(survey.pages)
    return [
        render_page(
            texts,
            page_definition(page, page["items"], index=index, count=count, lang=lang, default_lang=lang),
            action="#",
        )
        for index, page in enumerate(survey.pages)
    ]


@bp.route("/surveys/<int:survey_id>")
def survey_edit(survey_id: int):
    """The editor: the visual builder (``?item=ID`` or ``?page=N`` opens one for editing), name, allowed
    origins, pages and settings as JSON, the preview, the snippet and the hosted link."""
    page = request.args.get("page", "")
    return _editor(
        builder.get_survey(current_account(), survey_id),
        editing_item=request.args.get("item", ""),
        editing_page=int(page) if page.isdigit() else None,
    )


def _json_field(name: str) -> tuple[object, dict]:
    try:
        return json.loads(request.form.get(name) or "null"), {}
    except json.JSONDecodeError as error:
        return None, {
            name: _("This is not valid JSON (line %(line)s): %(problem)s", line=error.lineno, problem=error.msg)
        }


@bp.route("/surveys/<int:survey_id>", methods=["POST"])
@requires("editor")
def survey_save(survey_id: int):
    """Save the survey; nothing changes unless all of it is right."""
    account = current_account()
    pages, page_errors = _json_field("pages")
    settings, settings_errors = _json_field("settings")
    errors = page_errors | settings_errors
    if not errors:
        try:
            survey = builder.update_survey(
                account,
                survey_id,
                name=request.form.get("name", ""),
                pages=pages,
                settings=settings,
                origins=request.form.get("origins", ""),
            )
        except ValidationError as error:
            errors = error.errors
    if errors:
        survey = builder.get_survey(account, survey_id)
        return _editor(
            survey,
            pages_text=request.form.get("pages", ""),
            settings_text=request.form.get("settings", ""),
            origins_text=request.form.get("origins", ""),
            errors=errors,
            status=422,
        )
    page, status = _editor(survey)
    return toast(page, _("Survey saved.")) if is_htmx() else (page, status)


@bp.route("/surveys/<int:survey_id>/delete", methods=["POST"])
@requires("editor")
def survey_delete(survey_id: int):
    builder.delete_survey(current_account(), survey_id)
    return acted(_("Survey deleted."), url_for("admin.surveys_index"))


@bp.route("/surveys/<int:survey_id>/results")
def survey_results(survey_id: int):
    """Counts and percentages per question with charts, the drop-off report and open answers with search."""
    account = current_account()
    survey, summaries, drop_off = results.summary(account, survey_id)
    question, search = request.args.get("question", ""), request.args.get("search", "")
    answers = results.open_answers(account, survey_id, question, search) if question else []
    return render(
        "admin/surveys/results.html",
        "admin/surveys/_open_answers.html" if request.headers.get("HX-Target") == "open-answers" else None,
        survey=survey,
        summaries=summaries,
        drop_off=drop_off,
        question=question,
        search=search,
        answers=answers,
    )


@bp.route("/surveys/<int:survey_id>/results.csv")
def survey_export(survey_id: int):
    """All responses as CSV: a column per question, per grid row and per "other, namely" text."""
    export = results.export_responses(current_account(), survey_id)
    response = Response(stream_with_context(export.chunks), content_type=export.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@bp.route("/profiles/<int:profile_id>/survey-answers")
def profile_survey_answers(profile_id: int):
    """A profile's survey responses and answers (loaded into the profile page)."""
    return render_template(
        "admin/surveys/_profile_answers.html", found=results.profile_answers(current_account(), profile_id)
    )
