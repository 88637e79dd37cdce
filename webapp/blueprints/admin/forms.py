"""Admin views of web forms: lists, the builder (items, order, settings, live preview, snippet), results,
spam log, conversion, and a profile's submissions and files. Editors build forms; viewers look."""

import json
import secrets
from contextlib import nullcontext
from urllib.parse import quote

from flask import (
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.form_inputs import (
    ERROR_ALIASES,
    SETTING_TEXTS,
    ItemInputs,
    NewFormInputs,
    SettingsInputs,
    language_labels,
)
from webapp.blueprints.admin.responses import acted, hx_redirect, is_htmx, render, toast
from webapp.blueprints.admin.schema_inputs import apply_errors
from webapp.extensions import csrf
from webapp.models import SubmissionStatus
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, profiles
from webapp.webforms import builder as form_builder
from webapp.webforms import items as webforms_items
from webapp.webforms import results as form_results
from webapp.webforms.languages import visitor_language
from webapp.widgets import definition as widget_definition
from webapp.widgets.languages import in_language
from webapp.widgets.validation import UploadedFile, validate_submission

BUILDER_PAGE = "admin/forms/builder.html"
CHANGED = "form-changed"  # the event that refreshes the preview


# --- lists ---------------------------------------------------------------------------------------


def _list_page(database=None, form: NewFormInputs | None = None, *, errors=None, status: int = 200):
    account = current_account()
    all_databases = databases.list_databases(account, include_archived=False)
    form = form or NewFormInputs(all_databases, database, formdata=None)
    rows = form_builder.list_forms(account, database.id if database else None)
    template = "admin/forms/database_index.html" if database else "admin/forms/index.html"
    names = {one.id: one.name for one in databases.list_databases(account)}
    page = render(
        template,
        "admin/forms/_forms.html",
        database=database,
        active="forms",
        rows=rows,
        form=form,
        errors=errors or {},
        database_names=names,
        has_databases=bool(all_databases),
    )
    return page, status


@bp.route("/forms")
def forms_index():
    """Every web form of the account, with the form to add one."""
    return _list_page()


@bp.route("/databases/<int:database_id>/forms")
def database_forms(database_id: int):
    """The web forms of one database."""
    return _list_page(databases.get_database(current_account(), database_id))


@bp.route("/forms", methods=["POST"])
@bp.route("/databases/<int:database_id>/forms", methods=["POST"])
@requires("editor")
def form_create(database_id: int | None = None):
    """Add a form, then open it in the builder."""
    account = current_account()
    database = databases.get_database(account, database_id) if database_id else None
    form = NewFormInputs(databases.list_databases(account, include_archived=False), database)
    target = database_id or (int(form.database_id.data) if (form.database_id.data or "").isdigit() else 0)
    try:
        if not target:
            raise ValidationError({"database_id": _("Choose a database.")})
        created = form_builder.create_form(account, databases.get_database(account, target).id, **form.values())
    except ValidationError as error:
        return _list_page(database, form, errors=apply_errors(form, error.errors), status=422)
    flash(_("Form %(name)s is created. Add items to it below.", name=created.name), "success")
    return hx_redirect(url_for("admin.form_builder", form_id=created.id))


# --- the builder ---------------------------------------------------------------------------------


def _builder_context(
    found, *, settings_form=None, settings_errors=None, item_errors=None, editing=None, item_form=None
) -> dict:
    account = current_account()
    database = databases.get_database(account, found.database_id)
    fields = webforms_items.bindable_fields(account, found)
    bound_fields = {item.get("field_id") for item in found.items or []}
    bound_interests = {item.get("interest_id") for item in found.items or []}
    public_url = current_app.config["PUBLIC_URL"].rstrip("/")
    return {
        "form": found,
        "database": database,
        "active": "builder",
        "items": found.items or [],
        "fields_by_id": {field.id: field for field in fields},
        "interests_by_id": {interest.id: interest for interest in database.interests},
        "free_fields": [field for field in fields if field.id not in bound_fields],
        "free_interests": [one for one in database.interests if one.id not in bound_interests],
        "has_captcha": any(item["type"] == "captcha" for item in found.items or []),
        "keys_not_on_form": [
            field.name for field in fields if field.id in (found.key_field_ids or []) and field.id not in bound_fields
        ],
        "type_labels": webforms_items.item_type_labels(),
        "item_properties": webforms_items.ITEM_PROPERTIES,
        "editing": editing,
        "item_form": item_form,
        "item_errors": item_errors or {},
        "settings_form": settings_form or SettingsInputs.of(database, found),
        "settings_errors": settings_errors or {},
        "settings": form_builder.settings_of(found),
        "langs": widget_definition.form_languages(found),
        "language_names": language_labels(),
        "setting_texts": SETTING_TEXTS,
        "in_default_language": lambda text: widget_definition.form_text(found, text, None),
        "snippet": snippet(found.key, public_url),
        "hosted_url": f"{public_url}/f/{found.key}",
    }


def snippet(key: str, public_url: str) -> str:
    """What a site owner pastes: the placeholder, the async script, and a link for visitors without JavaScript."""
    return (
        f'<div data-verrijk-form="{key}"></div><script src="{public_url}/embed.js" async></script>'
        f'<noscript><a href="{public_url}/f/{key}">{_("Fill in the form")}</a></noscript>'
    )


def _changed(response, message: str):
    """A toast and the event that makes the preview (and anything else listening) refresh."""
    response = toast(response, message)
    triggers = json.loads(response.headers["HX-Trigger"])
    triggers[CHANGED] = True
    response.headers["HX-Trigger"] = json.dumps(triggers)
    return response


def _items_done(found, message: str):
    """After an item change: the fresh item list (htmx) or the builder page (a redirect)."""
    if is_htmx():
        return _changed(render_template("admin/forms/_items.html", **_builder_context(found)), message)
    flash(message, "success")
    return redirect(url_for("admin.form_builder", form_id=found.id) + "#items", 303)


@bp.route("/forms/<int:form_id>", endpoint="form_builder")
def form_builder_page(form_id: int):
    """The builder: items, add-item menu, settings, live preview and the snippet to copy."""
    found = form_builder.get_form(current_account(), form_id)
    return render_template(BUILDER_PAGE, **_builder_context(found))


@bp.route("/forms/<int:form_id>/settings", methods=["POST"])
@requires("editor")
def form_settings_update(form_id: int):
    """Save name, behaviour, key fields, origins, messages, limits and double opt-in."""
    account = current_account()
    found = form_builder.get_form(account, form_id)
    database = databases.get_database(account, found.database_id)
    settings_form = SettingsInputs(database, langs=widget_definition.form_languages(found))
    try:
        form_builder.update_settings(account, found.id, **settings_form.values(request.form))
    except ValidationError as error:
        errors = apply_errors(settings_form, {ERROR_ALIASES.get(k, k): v for k, v in error.errors.items()})
        opt_in_errors = {
            name: errors.pop(name) for name in ("unconfirmed_values", "confirmed_values") if name in errors
        }
        context = _builder_context(found, settings_form=settings_form, settings_errors=errors)
        context.update(posted=request.form, opt_in_errors=opt_in_errors)
        return render(BUILDER_PAGE, "admin/forms/_settings.html", **context), 422
    message = _("The form settings are saved.")
    if is_htmx():
        return _changed(render_template("admin/forms/_settings.html", **_builder_context(found)), message)
    flash(message, "success")
    return redirect(url_for("admin.form_builder", form_id=found.id) + "#settings", 303)


@bp.route("/forms/<int:form_id>/items", methods=["POST"])
@requires("editor")
def form_item_create(form_id: int):
    """Add an item of the chosen kind (a field or an interest names what it is bound to)."""
    account = current_account()
    found = form_builder.get_form(account, form_id)
    kind, _sep, bound = request.form.get("add", "").partition(":")
    try:
        item = webforms_items.add_item(
            account,
            found.id,
            kind,
            field_id=int(bound) if bound.isdigit() else None,
            interest_id=int(bound) if bound.isdigit() else None,
        )
    except ValidationError as error:
        return render(BUILDER_PAGE, "admin/forms/_items.html", **_builder_context(found, item_errors=error.errors)), 422
    return _items_done(found, _("%(kind)s is added.", kind=webforms_items.item_type_labels()[item["type"]]))


@bp.route("/forms/<int:form_id>/items/<item_id>")
def form_item(form_id: int, item_id: str):
    """One item as shown in the list (what Cancel of an edit fetches)."""
    found = form_builder.get_form(current_account(), form_id)
    item = webforms_items.get_item(found, item_id)
    if not is_htmx():
        return redirect(url_for("admin.form_builder", form_id=found.id) + f"#item-{item['id']}")
    return render_template("admin/forms/_item.html", item=item, **_builder_context(found))


@bp.route("/forms/<int:form_id>/items/<item_id>/edit")
@requires("editor")
def form_item_edit(form_id: int, item_id: str):
    """An item's properties form, in place of the item (htmx) or on the builder page."""
    account = current_account()
    found = form_builder.get_form(account, form_id)
    item = webforms_items.get_item(found, item_id)
    field = webforms_items.field_of(account, found, item)
    item_form = ItemInputs.of(item, field, widget_definition.form_languages(found))
    context = _builder_context(found, editing=item["id"], item_form=item_form)
    return render(BUILDER_PAGE, "admin/forms/_item.html", item=item, **context)


@bp.route("/forms/<int:form_id>/items/<item_id>", methods=["POST"])
@requires("editor")
def form_item_update(form_id: int, item_id: str):
    """Save an item's properties."""
    account = current_account()
    found = form_builder.get_form(account, form_id)
    item = webforms_items.get_item(found, item_id)
    field = webforms_items.field_of(account, found, item)
    item_form = ItemInputs(field=field, langs=widget_definition.form_languages(found))
    try:
        webforms_items.update_item(account, found.id, item["id"], item_form.values(item["type"], request.form))
    except ValidationError as error:
        errors = apply_errors(item_form, {ERROR_ALIASES.get(k, k): v for k, v in error.errors.items()})
        context = _builder_context(found, editing=item["id"], item_form=item_form, item_errors=errors)
        return render(BUILDER_PAGE, "admin/forms/_items.html", **context), 422
    return _items_done(found, _("The item is saved."))


@bp.route("/forms/<int:form_id>/items/<item_id>/move", methods=["POST"])
@requires("editor")
def form_item_move(form_id: int, item_id: str):
    """Move an item one place up or down."""
    account = current_account()
    found = form_builder.get_form(account, form_id)
    webforms_items.move_item(account, found.id, item_id, -1 if request.form.get("direction") == "up" else 1)
    return _items_done(found, _("The item is moved."))


@bp.route("/forms/<int:form_id>/order", methods=["POST"])
@requires("editor")
def form_items_order(form_id: int):
    """Save the order of a drag and drop: ``order`` lists every item id (comma-separated or repeated)."""
    account = current_account()
    found = form_builder.get_form(account, form_id)
    order = [part for value in request.form.getlist("order") for part in value.split(",") if part]
    try:
        webforms_items.reorder_items(account, found.id, order)
    except ValidationError as error:
        return render(BUILDER_PAGE, "admin/forms/_items.html", **_builder_context(found, item_errors=error.errors)), 409
    return _items_done(found, _("The new order is saved."))


@bp.route("/forms/<int:form_id>/items/<item_id>/delete", methods=["POST", "DELETE"])
@requires("editor")
def form_item_delete(form_id: int, item_id: str):
    """Remove an item from the form (submitted data stays)."""
    account = current_account()
    found = form_builder.get_form(account, form_id)
    webforms_items.delete_item(account, found.id, item_id)
    return _items_done(found, _("The item is removed."))


@bp.route("/forms/<int:form_id>/preview")
def form_preview(form_id: int):
    """The form as visitors see it, rendered by embed.js from our own origin (shown in the builder's frame)."""
    found = form_builder.get_form(current_account(), form_id)
    nonce = secrets.token_urlsafe(16)
    lang = visitor_language(found, requested=request.args.get("lang", ""))
    response = Response(render_template("admin/forms/preview.html", form=found, nonce=nonce, lang=lang))
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; "
        "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; object-src 'none'"
    )
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/forms/<int:form_id>/preview.json")
def form_preview_definition(form_id: int):
    """The public definition, except that the preview's token and submissions stay in the admin (nothing is
    counted or stored). The ``revision`` in its URL only makes each change a new URL for the browser."""
    found = form_builder.get_form(current_account(), form_id)
    lang = visitor_language(found, requested=request.args.get("lang", ""))
    with in_language(lang) if lang else nullcontext():
        definition = widget_definition.form_definition(found, None, lang)
    definition["token_url"] = url_for("admin.form_preview_token", form_id=found.id)
    definition["submit_url"] = url_for("admin.form_preview_submit", form_id=found.id)
    response = jsonify(definition)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/forms/<int:form_id>/preview/token")
def form_preview_token(form_id: int):
    """A token for the preview (the public one would count a view)."""
    form_builder.get_form(current_account(), form_id)
    response = jsonify({"token": "preview"})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/forms/<int:form_id>/preview/submissions", methods=["POST"])
@csrf.exempt  # it checks values and stores nothing; embed.js sends no CSRF token
def form_preview_submit(form_id: int):
    """Check a preview submission with the one validator and answer like the public API, storing nothing."""
    found = form_builder.get_form(current_account(), form_id)
    files = {
        name: UploadedFile(upload.filename or "", upload.mimetype or "", upload.read())
        for name, upload in request.files.items()
    }
    lang = visitor_language(found, requested=request.form.get(widget_definition.LANG, ""))
    with in_language(lang) if lang else nullcontext():
        posted = request.form.to_dict(flat=False)
        checked = validate_submission(found, widget_definition.bindings(found), posted, files, lang)
    if not checked.valid:
        message = _("Some values need your attention.")
        return jsonify({"status": "invalid", "errors": checked.errors, "message": message}), 422
    return jsonify(
        {"status": "ok", "message": _("Preview: the values are valid. Nothing was stored."), "redirect": None}
    )


@bp.route("/forms/<int:form_id>/delete")
@requires("editor")
def form_delete_confirm(form_id: int):
    """Ask before removing a form (for browsers without JavaScript)."""
    account = current_account()
    found = form_builder.get_form(account, form_id)
    return render_template(
        "admin/forms/confirm.html",
        form=found,
        database=databases.get_database(account, found.database_id),
        count=sum(form_results.count_submissions(account, found.id).values()),
    )


@bp.route("/forms/<int:form_id>/delete", methods=["POST", "DELETE"])
@requires("editor")
def form_delete(form_id: int):
    """Remove a form with its submissions and files; the snippet stops working."""
    account = current_account()
    found = form_builder.get_form(account, form_id)
    name, database_id = found.name, found.database_id
    form_builder.delete_form(account, found.id)
    return acted(_("Form %(name)s is deleted.", name=name), url_for("admin.database_forms", database_id=database_id))


# --- results -------------------------------------------------------------------------------------


def _results(form_id: int, *, spam: bool):
    account = current_account()
    found = form_builder.get_form(account, form_id)
    errors = {}
    try:
        chosen = form_results.parse_filter(
            SubmissionStatus.REJECTED if spam else request.args.get("status"),
            request.args.get("since"),
            request.args.get("until"),
        )
    except ValidationError as error:
        errors, chosen = error.errors, form_results.SubmissionFilter()
    listed = form_results.list_submissions(account, found.id, chosen, before_id=request.args.get("before", type=int))
    context = {
        "form": found,
        "database": databases.get_database(account, found.database_id),
        "active": "spam" if spam else "results",
        "listed": listed,
        "profile_names": profiles.display_names(account, (s.profile_id for s in listed.submissions if s.profile_id)),
        "chosen": chosen,
        "filter_errors": errors,
        "counts": form_results.count_submissions(account, found.id),
        "columns": form_results.column_names(account, found),
        "days": form_results.conversion(account, found.id) if not spam else [],
        "refused": form_results.refused_count(account, found.id) if spam else 0,
        "samples_per_day": current_app.config["SPAM_LOG_SAMPLES_PER_DAY"],
        "sample_days": current_app.config["SPAM_LOG_DAYS"],
    }
    template = "admin/forms/spam.html" if spam else "admin/forms/results.html"
    return render(template, "admin/forms/_submissions.html", **context), 422 if errors else 200


@bp.route("/forms/<int:form_id>/results", endpoint="form_results")
def form_results_page(form_id: int):
    """Submissions (filter by status and days, newest first) and views vs submissions per day."""
    return _results(form_id, spam=False)


@bp.route("/forms/<int:form_id>/spam")
def form_spam(form_id: int):
    """Rejected submissions with the reason (honeypot, too fast, rate limit, captcha, origin…)."""
    return _results(form_id, spam=True)


@bp.route("/forms/<int:form_id>/results.csv")
@requires("editor")
def form_results_csv(form_id: int):
    """The filtered submissions as CSV, streamed."""
    account = current_account()
    found = form_builder.get_form(account, form_id)
    chosen = form_results.parse_filter(request.args.get("status"), request.args.get("since"), request.args.get("until"))
    export = form_results.export_submissions(account, found.id, chosen)
    response = Response(stream_with_context(export.chunks), content_type=export.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/profiles/<int:profile_id>/form-results")
def profile_form_results(profile_id: int):
    """A profile's form submissions and uploaded files (loaded into the profile page)."""
    account = current_account()
    return render_template(
        "admin/forms/_profile_results.html",
        profile_id=profile_id,
        submissions=form_results.profile_submissions(account, profile_id),
        files=form_results.profile_files(account, profile_id),
    )


@bp.route("/form-files/<int:file_id>")
def form_file(file_id: int):
    """Download a file a visitor uploaded (always as an attachment, never rendered by the browser)."""
    found = form_results.get_file(current_account(), file_id)
    response = Response(found.data, content_type="application/octet-stream")
    response.headers["Content-Disposition"] = _attachment(found.filename)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _attachment(filename: str) -> str:
    """``Content-Disposition`` for a visitor's file name (RFC 6266: an ASCII fallback and the UTF-8 name)."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
