"""The visual survey builder's actions: add, move and remove pages and items, save an item's or a page's form
(texts per language, condition and branches from menus). Each calls one function of ``surveys.editing`` and
answers the editor again (its partial for htmx); a refused change answers 422 with the message and what was
typed, and stores nothing. Editors only."""

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.responses import is_htmx, toast
from webapp.blueprints.admin.surveys import _editor
from webapp.platform.errors import ValidationError
from webapp.surveys import builder, editing


def _revision() -> str:
    return request.form.get("revision", "")


def _done(survey, message: str, **extra):
    """The editor again (htmx), or after a plain form post a redirect to it (the reload does not post again)."""
    if not is_htmx():
        flash(message, "success")
        query = {"item": extra["editing_item"]} if extra.get("editing_item") else {}
        if extra.get("editing_page") is not None:
            query = {"page": extra["editing_page"]}
        return redirect(url_for("admin.survey_edit", survey_id=survey.id, **query), 303)
    page, status = _editor(survey, **extra)
    return toast(page, message) if status == 200 else (page, status)


def _refused(survey_id: int, error: ValidationError, **extra):
    """The editor again with the message; a change made on an old revision shows the survey as it is now."""
    survey = builder.get_survey(current_account(), survey_id)
    if "" in error.errors:
        extra = {}
    page, _status = _editor(survey, builder_errors=error.errors, **extra)
    return page, 422


def _page_index(page: int) -> int:
    return page - 1


@bp.route("/surveys/<int:survey_id>/details", methods=["POST"])
@requires("editor")
def survey_details_save(survey_id: int):
    """Save the name, the websites that may embed the survey, its languages and hidden fields."""
    try:
        survey = editing.update_details(current_account(), survey_id, _revision(), request.form.to_dict(flat=False))
    except ValidationError as error:
        return _refused(survey_id, error, details=request.form.to_dict(flat=False))
    return _done(survey, _("Survey saved."))


@bp.route("/surveys/<int:survey_id>/settings", methods=["POST"])
@requires("editor")
def survey_settings_save(survey_id: int):
    """Save the settings: dates, limits, anonymous mode, texts per language, notifications, spam defences."""
    try:
        survey = editing.update_settings(current_account(), survey_id, _revision(), request.form.to_dict(flat=False))
    except ValidationError as error:
        return _refused(survey_id, error, settings_form=request.form.to_dict(flat=True))
    return _done(survey, _("Settings saved."))


@bp.route("/surveys/<int:survey_id>/pages", methods=["POST"])
@requires("editor")
def survey_page_add(survey_id: int):
    """Add an empty page at the end."""
    try:
        survey = editing.add_page(current_account(), survey_id, _revision())
    except ValidationError as error:
        return _refused(survey_id, error)
    return _done(survey, _("Page added."), editing_page=len(survey.pages) - 1)


@bp.route("/surveys/<int:survey_id>/pages/<int:page>/move", methods=["POST"])
@requires("editor")
def survey_page_move(survey_id: int, page: int):
    """Move page ``page`` (its number) up or down; branches keep pointing at the same pages."""
    try:
        survey = editing.move_page(
            current_account(), survey_id, _revision(), _page_index(page), request.form.get("direction", "")
        )
    except ValidationError as error:
        return _refused(survey_id, error)
    return _done(survey, _("Page moved."))


@bp.route("/surveys/<int:survey_id>/pages/<int:page>/delete", methods=["POST"])
@requires("editor")
def survey_page_delete(survey_id: int, page: int):
    """Remove a page and its items (answers already given stay in the responses)."""
    try:
        survey = editing.remove_page(current_account(), survey_id, _revision(), _page_index(page))
    except ValidationError as error:
        return _refused(survey_id, error)
    return _done(survey, _("Page removed."))


@bp.route("/surveys/<int:survey_id>/pages/<int:page>", methods=["POST"])
@requires("editor")
def survey_page_save(survey_id: int, page: int):
    """Save a page's title per language and its branches."""
    try:
        survey = editing.update_page(
            current_account(), survey_id, _revision(), _page_index(page), request.form.to_dict(flat=False)
        )
    except ValidationError as error:
        return _refused(survey_id, error, editing_page=_page_index(page), form_values=request.form.to_dict(flat=True))
    return _done(survey, _("Page saved."))


@bp.route("/surveys/<int:survey_id>/pages/<int:page>/items", methods=["POST"])
@requires("editor")
def survey_item_add(survey_id: int, page: int):
    """Add an item of the chosen type at the end of a page, and open it for editing."""
    try:
        survey, item_id = editing.add_item(
            current_account(), survey_id, _revision(), _page_index(page), request.form.get("type", "")
        )
    except ValidationError as error:
        return _refused(survey_id, error)
    return _done(survey, _("Item added."), editing_item=item_id)


@bp.route("/surveys/<int:survey_id>/items/<item_id>", methods=["POST"])
@requires("editor")
def survey_item_save(survey_id: int, item_id: str):
    """Save an item's form: texts per language, its settings and its condition."""
    try:
        survey = editing.update_item(
            current_account(), survey_id, _revision(), item_id, request.form.to_dict(flat=False)
        )
    except ValidationError as error:
        return _refused(survey_id, error, editing_item=item_id, form_values=request.form.to_dict(flat=True))
    return _done(survey, _("Item saved."))


@bp.route("/surveys/<int:survey_id>/items/<item_id>/move", methods=["POST"])
@requires("editor")
def survey_item_move(survey_id: int, item_id: str):
    """Move an item up or down (across to the page before or after at the ends of its page)."""
    try:
        survey = editing.move_item(
            current_account(), survey_id, _revision(), item_id, request.form.get("direction", "")
        )
    except ValidationError as error:
        return _refused(survey_id, error)
    return _done(survey, _("Item moved."))


@bp.route("/surveys/<int:survey_id>/items/<item_id>/delete", methods=["POST"])
@requires("editor")
def survey_item_delete(survey_id: int, item_id: str):
    """Remove an item (answers already given stay in the responses)."""
    try:
        survey = editing.remove_item(current_account(), survey_id, _revision(), item_id)
    except ValidationError as error:
        return _refused(survey_id, error)
    return _done(survey, _("Item removed."))
