"""Admin views of exports: the download form and the download it posts to (streamed, never built in memory),
and scheduled exports to (S)FTP/HTTP targets (create, edit with masked credentials, run now, runs, delete)."""

from flask import Response, flash, request, stream_with_context, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.host_keys import confirm_host_key, pin_host_key
from webapp.blueprints.admin.responses import acted, confirm_page, hx_redirect, render
from webapp.exports import files
from webapp.exports import targets as export_targets
from webapp.extensions import db
from webapp.models import Database, ExportDefinition, ExportRunStatus
from webapp.platform import remote_files
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import databases
from webapp.selections import selections


def _choices() -> dict:
    return {
        "delimiters": [("comma", _("Comma")), ("semicolon", _("Semicolon")), ("tab", _("Tab"))],
        "formats": [("csv", _("CSV")), ("tsv", _("TSV (tab-separated)")), ("jsonl", _("JSON Lines"))],
    }


def _form(database: Database, *, values=None, errors=None, status: int = 200):
    account = current_account()
    targets = [
        {"definition": definition, "next_run": export_targets.next_run_at(definition)}
        for definition in export_targets.list_exports(account, database.id)
    ]
    return render(
        "admin/exports/index.html",
        database=database,
        active="exports",
        values=values or {},
        errors=errors or {},
        targets=targets,
        selections=selections.list_selections(account, database.id),
        **_choices(),
    ), status


@bp.route("/databases/<int:database_id>/exports")
@requires("admin")
def database_exports(database_id: int):
    """The export form of a database and its collections."""
    return _form(databases.get_database(current_account(), database_id))


@bp.route("/databases/<int:database_id>/exports", methods=["POST"])
@requires("admin")
def export_download(database_id: int):
    """Stream the chosen export as an attachment."""
    account = current_account()
    database = databases.get_database(account, database_id)
    form = request.form
    what = form.get("what", "database")
    selection_id = form.get("selection_id", "")
    if selection_id.isdigit():  # a selection's members: its own database or collection decides the fields
        chosen_selection = selections.get_selection(account, int(selection_id))
        if chosen_selection.database_id != database.id:
            raise NotFound(_("Selection not found."))
        what = str(chosen_selection.collection_id or "database")
    chosen = form.getlist(f"fields-{what}")
    options = files.ExportOptions(
        format=form.get("format", "csv"),
        delimiter=files.DELIMITERS.get(form.get("delimiter", "comma"), ""),
        fields=chosen or None,
        interests=bool(form.get("interests")),
        gzip=bool(form.get("gzip")),
        bom=bool(form.get("bom")),
        protect_formulas=bool(form.get("protect_formulas")),
    )
    try:
        if selection_id.isdigit():
            export = selections.export_selection(account, int(selection_id), options)
        elif what == "database":
            export = files.export_database(account, database.id, options)
        else:
            collection = databases.get_collection(account, int(what) if what.isdigit() else 0)
            if collection.database_id != database.id:
                raise NotFound(_("Collection not found."))
            export = files.export_collection(account, collection.id, options)
    except ValidationError as error:
        return _form(database, values=form, errors=error.errors, status=422)
    response = Response(stream_with_context(export.chunks), content_type=export.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


# --- scheduled exports ----------------------------------------------------------------------------


def _chosen_what(form) -> str:
    """What the posted form exports: its chosen selection's database or collection decides (as for a download),
    else ``what``; a selection that is not the account's is left to the service to refuse."""
    selection_id = form.get("selection_id", "")
    if selection_id.isdigit():
        try:
            chosen = selections.get_selection(current_account(), int(selection_id))
        except NotFound:
            return form.get("what", "database")
        return str(chosen.collection_id or "database")
    return form.get("what", "database")


def _target_spec(form) -> export_targets.TargetSpec:
    """The posted form as a spec (the service validates it)."""
    what = _chosen_what(form)
    selection_id = form.get("selection_id", "")
    return export_targets.TargetSpec(
        name=form.get("name", ""),
        target_url=form.get("target_url", ""),
        file_name=form.get("file_name", ""),
        collection_id=None if what == "database" else int(what) if what.isdigit() else 0,
        selection_id=int(selection_id) if selection_id.isdigit() else None,
        fields=tuple(form.getlist(f"fields-{what}")),
        format=form.get("format", "csv"),
        delimiter=files.DELIMITERS.get(form.get("delimiter", "comma"), ""),
        interests=bool(form.get("interests")),
        gzip=bool(form.get("gzip")),
        bom=bool(form.get("bom")),
        protect_formulas=bool(form.get("protect_formulas")),
        http_method=form.get("http_method", "PUT"),
        schedule=form.get("schedule", ""),
        username=form.get("username", ""),
        password=form.get("password", ""),
        private_key=form.get("private_key", ""),
        clear_secrets=bool(form.get("clear_secrets")),
    )


def _stored_values(definition: ExportDefinition) -> dict:
    """A definition as the form's values (never its password or key)."""
    what = str(definition.collection_id) if definition.collection_id else "database"
    options = definition.options or {}
    delimiter = next((key for key, value in files.DELIMITERS.items() if value == options.get("delimiter")), "comma")
    values = {
        "name": definition.name,
        "what": what,
        "selection_id": str(definition.selection_id or ""),
        "format": options.get("format", "csv"),
        "delimiter": delimiter,
        "target_url": definition.target_url,
        "http_method": definition.http_method,
        "file_name": definition.file_name,
        "schedule": definition.schedule,
        "username": export_targets.masked_credentials(definition)["username"],
    }
    flags = [name for name in ("interests", "gzip", "bom", "protect_formulas") if options.get(name)]
    return {"values": values, "flags": flags, "fields": list(definition.fields)}


def _pinned_fingerprint(definition: ExportDefinition | None) -> str:
    host_key = ((definition.last_upload or {}) if definition else {}).get("host_key")
    return remote_files.fingerprint(host_key) if host_key else ""


def _target_page(database: Database, definition: ExportDefinition | None, *, form=None, errors=None, status: int = 200):
    """The page of a scheduled export (``definition`` None: a new one), with its form."""
    if form is not None:
        what = _chosen_what(form)
        state = {
            "values": {name: form.get(name, "") for name in form if name not in ("password", "private_key")},
            "flags": [name for name in ("interests", "gzip", "bom", "protect_formulas") if form.get(name)],
            "fields": form.getlist(f"fields-{what}"),
        }
    elif definition is not None:
        state = _stored_values(definition)
    else:
        state = {
            "values": {
                "what": "database",
                "format": "csv",
                "delimiter": "comma",
                "http_method": "PUT",
                "file_name": export_targets.default_file_name(database.name, "csv", False),
            },
            "flags": ["interests", "protect_formulas"],
            "fields": [],
        }
    context = {
        "database": database,
        "active": "exports",
        "definition": definition,
        "errors": errors or {},
        "masked": export_targets.masked_credentials(definition) if definition else None,
        "runs": export_targets.list_runs(definition) if definition else [],
        "next_run": export_targets.next_run_at(definition) if definition else None,
        "host_key": _pinned_fingerprint(definition),
        "selections": selections.list_selections(current_account(), database.id),
        **state,
        **_choices(),
    }
    return render("admin/exports/target.html", **context), status


@bp.route("/databases/<int:database_id>/exports/targets/new")
@requires("admin")
def export_target_new(database_id: int):
    """The form of a new scheduled export."""
    return _target_page(databases.get_database(current_account(), database_id), None)


@bp.route("/databases/<int:database_id>/exports/targets", methods=["POST"])
@requires("admin")
def export_target_create(database_id: int):
    """Create a scheduled export."""
    account = current_account()
    database = databases.get_database(account, database_id)
    try:
        definition = export_targets.create_export(account, database.id, _target_spec(request.form))
    except ValidationError as error:
        db.session.rollback()
        return _target_page(database, None, form=request.form, errors=error.errors or {"": error.message}, status=422)
    flash(_("The scheduled export is saved."), "success")
    return hx_redirect(url_for("admin.export_target", export_id=definition.id))


@bp.route("/exports/<int:export_id>")
@requires("admin")
def export_target(export_id: int):
    """A scheduled export: its target, schedule, next run, last error, runs and form."""
    account = current_account()
    definition = export_targets.get_export(account, export_id)
    return _target_page(databases.get_database(account, definition.database_id), definition)


@bp.route("/exports/<int:export_id>", methods=["POST"])
@requires("admin")
def export_target_update(export_id: int):
    """Change a scheduled export (an empty password or key keeps the stored one)."""
    account = current_account()
    definition = export_targets.get_export(account, export_id)
    try:
        export_targets.update_export(account, definition.id, _target_spec(request.form))
    except ValidationError as error:
        db.session.rollback()
        definition = export_targets.get_export(account, export_id)
        return _target_page(
            databases.get_database(account, definition.database_id),
            definition,
            form=request.form,
            errors=error.errors or {"": error.message},
            status=422,
        )
    flash(_("The scheduled export is saved."), "success")
    return hx_redirect(url_for("admin.export_target", export_id=definition.id))


@bp.route("/exports/<int:export_id>/run", methods=["POST"])
@requires("admin")
def export_target_run(export_id: int):
    """Export and upload now (in a worker)."""
    account = current_account()
    definition = export_targets.get_export(account, export_id)
    try:
        export_targets.run_now(account, definition.id)
    except ValidationError as error:
        flash(error.message, "warning")
    else:
        flash(_("The export will be uploaded in a moment."), "success")
    return hx_redirect(url_for("admin.export_target", export_id=definition.id))


@bp.route("/exports/<int:export_id>/delete")
@requires("admin")
def export_target_delete_confirm(export_id: int):
    """Ask before deleting a scheduled export."""
    account = current_account()
    definition = export_targets.get_export(account, export_id)
    return confirm_page(
        title=_("Delete scheduled export %(name)s?", name=definition.name),
        message=_("Its schedule and the list of its runs are removed. Files already uploaded stay where they are."),
        cancel=url_for("admin.export_target", export_id=definition.id),
        database=databases.get_database(account, definition.database_id),
        active="exports",
    )


@bp.route("/exports/<int:export_id>/delete", methods=["POST"])
@requires("admin")
def export_target_delete(export_id: int):
    """Delete a scheduled export."""
    account = current_account()
    definition = export_targets.get_export(account, export_id)
    database_id = definition.database_id
    export_targets.delete_export(account, definition.id)
    return acted(_("The scheduled export is deleted."), url_for("admin.database_exports", database_id=database_id))


@bp.app_template_filter("export_status")
def export_status(status: str) -> str:
    return {
        ExportRunStatus.RUNNING: _("running"),
        ExportRunStatus.RETRYING: _("waiting to retry"),
        ExportRunStatus.DONE: _("done"),
        ExportRunStatus.FAILED: _("failed"),
    }.get(status, status)


@bp.route("/exports/<int:export_id>/host-key")
@requires("admin")
def export_target_host_key_confirm(export_id: int):
    """Ask before pinning the SFTP server's new host key."""
    account = current_account()
    definition = export_targets.get_export(account, export_id)
    return confirm_host_key(
        lambda: export_targets.host_key_check(account, definition.id),
        page=url_for("admin.export_target", export_id=definition.id),
        database=databases.get_database(account, definition.database_id),
        active="exports",
        action=lambda offered: url_for("admin.export_target_host_key", export_id=definition.id, fingerprint=offered),
    )


@bp.route("/exports/<int:export_id>/host-key", methods=["POST"])
@requires("admin")
def export_target_host_key(export_id: int):
    """Pin the key whose fingerprint the admin confirmed."""
    account = current_account()
    return pin_host_key(
        lambda fingerprint: export_targets.replace_host_key(account, export_id, fingerprint),
        page=url_for("admin.export_target", export_id=export_id),
    )
