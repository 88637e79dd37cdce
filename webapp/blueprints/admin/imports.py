"""Admin views of imports: upload, mapping, preview, start, live progress, runs, error report, rollback."""

from datetime import timedelta

from flask import Response, flash, redirect, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.responses import acted, hx_redirect, render
from webapp.imports import files, new_fields
from webapp.imports import mapping as imports_mapping
from webapp.imports import rollback as imports_rollback
from webapp.imports import runs as imports
from webapp.imports import sources as import_sources
from webapp.models import ImportRun, ImportRunStatus, utcnow
from webapp.platform import heartbeats
from webapp.platform.errors import ValidationError
from webapp.profiles import databases
from webapp.profiles.field_types import FIELD_TYPES

DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "bar": "|"}
QUOTE_NAMES = {"double": '"', "single": "'"}
UNFINISHED = (ImportRunStatus.PENDING, ImportRunStatus.QUEUED, ImportRunStatus.RUNNING)


def _index(database, errors=None, status: int = 200):
    account = current_account()
    rows = imports.list_runs(account, database.id)
    return render(
        "admin/imports/index.html",
        "admin/imports/_runs.html",
        database=database,
        active="imports",
        runs=rows,
        errors=errors or {},
        sources=import_sources.fetched_definitions(account, database.id),
        values=request.form if request.method == "POST" else {},
    ), status


@bp.route("/databases/<int:database_id>/imports")
def database_imports(database_id: int):
    """A database's import runs, and the upload form."""
    return _index(databases.get_database(current_account(), database_id))


@bp.route("/databases/<int:database_id>/imports", methods=["POST"])
@requires("admin")
def import_upload(database_id: int):
    """Store an uploaded file and open its mapping screen."""
    account = current_account()
    database = databases.get_database(account, database_id)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _index(database, {"file": _("Choose a file to import.")}, 422)
    try:
        run = imports.upload(account, database.id, upload.stream, upload.filename)
    except ValidationError as error:
        return _index(database, error.errors, 422)
    return redirect(url_for("admin.import_run", run_id=run.id), 303)


def _run_page(
    run: ImportRun, *, errors=None, preview=None, status: int = 200, partial=None, selected=None, column_errors=None
):
    account = current_account()
    database = databases.get_database(account, run.database_id)
    context = {
        "database": database,
        "active": "imports",
        "run": run,
        "errors": errors or {},
        "preview": preview,
        "progress": progress_of(run),
        "error_count": imports.count_errors(run),
        "selected": selected or {},
        "column_errors": column_errors or {},
        # The fields this run created (a rollback may remove them: the rollback page asks)
        "created_fields": imports_rollback.created_fields(account, run) if run.status == ImportRunStatus.DONE else [],
    }
    definition = imports_mapping.get_definition(account, run.definition_id) if run.definition_id else None
    context["definition"] = definition
    if run.status == ImportRunStatus.PENDING and definition is not None:
        try:
            file_format, header = imports.run_header(account, run.id)
        except ValidationError as error:
            context["errors"] = {**error.errors, **context["errors"]}
            file_format, header = None, []
        schema = imports_mapping.schema_of(database)
        labels = {",": _("commas"), ";": _("semicolons"), "\t": _("tabs"), "|": _("vertical bars")}
        context.update(
            header=header,
            file_format=file_format,
            delimiter_label=labels[file_format.delimiter] if file_format else "",
            choices=imports_mapping.target_choices(schema),
            key_choices=[f.name for f in schema.fields]
            + [f"{c.name}.{f.name}" for c, fields in schema.collections.values() for f in fields],
            delimiter_names=DELIMITER_NAMES,
            proposals={column: new_fields.proposal(schema, column) for column in header},
            proposed_types=imports.new_field_types(account, run.id, header) if header else {},
            field_types=[(name, FIELD_TYPES[name].label) for name in new_fields.TYPES],
            quote_names=QUOTE_NAMES,
            encodings=files.ENCODINGS,
        )
    return render("admin/imports/run.html", partial, **context), status


def _posted_settings(account, run: ImportRun) -> dict:
    """The mapping screen as posted: ``mapping.update_definition``'s arguments. Raises ``ValidationError``
    when the file's header cannot be read."""
    form = request.form
    _format, header = imports.run_header(account, run.id)
    return {
        "mapping": {column: form.get(f"column-{index}", "ignore") for index, column in enumerate(header)},
        "key_fields": form.getlist("key_fields"),
        "on_match": form.get("on_match", ""),
        "on_no_match": form.get("on_no_match", ""),
        "on_empty": form.get("on_empty", ""),
        "options": {
            "encoding": form.get("encoding", ""),
            "delimiter": DELIMITER_NAMES.get(form.get("delimiter", ""), ""),
            "quotechar": QUOTE_NAMES.get(form.get("quotechar", ""), ""),
            "date_order": form.get("date_order", ""),
            "consent": _posted_consent(form),
        },
    }


def _posted_consent(form) -> dict[str, str] | None:
    """The stated basis of the mapping screen; none when its purpose and text are empty."""
    stated = {name: form.get(f"consent_{name}", "").strip() for name in ("purpose", "text", "basis")}
    return stated if stated["purpose"] or stated["text"] else None


def _posted(account, run: ImportRun) -> dict | None:
    """The posted mapping screen, or None for a post without one (a bare Start button keeps the saved one)."""
    return _posted_settings(account, run) if "on_match" in request.form else None


@bp.route("/imports/runs/<int:run_id>")
def import_run(run_id: int):
    """One run: its mapping screen while pending, else its progress, counts and error report."""
    return _run_page(imports.get_run(current_account(), run_id))


@bp.route("/imports/runs/<int:run_id>/mapping", methods=["POST"])
@requires("admin")
def import_mapping(run_id: int):
    """Save the mapping, key fields, policies and options of a pending run's definition."""
    account = current_account()
    run = imports.get_run(account, run_id)
    if run.status != ImportRunStatus.PENDING or not run.definition_id:
        return redirect(url_for("admin.import_run", run_id=run.id), 303)
    try:
        imports_mapping.update_definition(account, run.definition_id, **_posted_settings(account, run))
    except ValidationError as error:
        return _run_page(run, errors=error.errors, status=422)
    flash(_("The mapping is saved. Preview it, then start the import."), "success")
    return hx_redirect(url_for("admin.import_run", run_id=run.id))


@bp.route("/imports/runs/<int:run_id>/fields", methods=["POST"])
@requires("admin")
def import_create_field(run_id: int):
    """ "Create this field" for a column of the mapping screen (posted with the whole mapping form, which is kept):
    htmx gets the mapping rows back with the new field chosen for the column, a plain post the whole page."""
    account = current_account()
    run = imports.get_run(account, run_id)
    if run.status != ImportRunStatus.PENDING or not run.definition_id:
        return redirect(url_for("admin.import_run", run_id=run.id), 303)
    form = request.form
    try:
        _format, header = imports.run_header(account, run.id)
    except ValidationError as error:
        return _run_page(run, errors=error.errors, status=422)
    selected = {column: form[f"column-{index}"] for index, column in enumerate(header) if f"column-{index}" in form}
    index = form.get("create_column", "")
    if not index.isdigit() or int(index) >= len(header):
        return _run_page(run, selected=selected, errors={"": _("Choose a column.")}, status=422)
    column = header[int(index)]
    try:
        selected[column] = new_fields.create_for_column(
            account, run.database_id, column, form.get(f"new-type-{index}", ""), definition_id=run.definition_id
        )
    except ValidationError as error:
        return _run_page(
            run,
            selected=selected,
            column_errors={column: "; ".join(error.errors.values())},
            status=422,
            partial="admin/imports/_mapping_rows.html",
        )
    return _run_page(run, selected=selected, partial="admin/imports/_mapping_rows.html")


@bp.route("/imports/runs/<int:run_id>/preview", methods=["GET", "POST"])
@requires("admin")
def import_preview(run_id: int):
    """A dry run of a pending run with the mapping on the screen (posted, and saved): the first lines as they
    would be stored, what would happen, and warnings about the key."""
    account = current_account()
    run = imports.get_run(account, run_id)
    if run.status != ImportRunStatus.PENDING:
        return redirect(url_for("admin.import_run", run_id=run.id), 303)
    try:
        result = imports.preview(account, run.id, _posted(account, run) if request.method == "POST" else None)
    except ValidationError as error:
        return _run_page(run, errors=error.errors, status=422, partial="admin/imports/_preview.html")
    return _run_page(run, preview=result, partial="admin/imports/_preview.html")


@bp.route("/imports/runs/<int:run_id>/start", methods=["POST"])
@requires("admin")
def import_start(run_id: int):
    """Save the mapping on the screen and queue the run; its page then shows the progress bar."""
    account = current_account()
    run = imports.get_run(account, run_id)
    try:
        imports.start_run(
            account,
            run.id,
            _posted(account, run),
            anyway=bool(request.form.get("start_anyway")),
            locale=str(get_locale() or ""),
        )
    except ValidationError as error:
        return _run_page(run, errors=error.errors, status=422, selected=_selected(run))
    flash(_("The import is started."), "success")
    return hx_redirect(url_for("admin.import_run", run_id=run.id))


def _selected(run: ImportRun) -> dict:
    """The columns' targets as posted, so a refused start shows the screen as it was."""
    try:
        _format, header = imports.run_header(current_account(), run.id)
    except ValidationError:
        return {}
    return {
        column: request.form[f"column-{index}"]
        for index, column in enumerate(header)
        if f"column-{index}" in request.form
    }


def progress_of(run: ImportRun) -> dict:
    """Percentage, rate (lines per second) and ETA of a run, for the progress bar."""
    elapsed = ((run.finished_at or utcnow()) - run.started_at).total_seconds() if run.started_at else 0
    polling = run.status in (ImportRunStatus.QUEUED, ImportRunStatus.RUNNING, ImportRunStatus.ROLLING_BACK)
    rate = run.lines_done / elapsed if elapsed > 0 else 0
    remaining = max(run.lines_total - run.lines_done, 0)
    return {
        "percent": int(100 * run.lines_done / run.lines_total) if run.lines_total else 0,
        "rate": int(rate),
        "eta": timedelta(seconds=int(remaining / rate)) if rate and run.status == ImportRunStatus.RUNNING else None,
        "duration": timedelta(seconds=int(elapsed)) if run.started_at else None,
        "polling": polling,
        "missing": heartbeats.missing_roles() if polling else [],  # nobody would pick the run up
        "rollback_percent": int(100 * run.rollback_done / run.rollback_total) if run.rollback_total else 0,
    }


@bp.route("/imports/runs/<int:run_id>/progress")
def import_progress(run_id: int):
    """The self-replacing progress component (polls while the run is queued or running)."""
    run = imports.get_run(current_account(), run_id)
    return _run_page(run, partial="admin/imports/_progress.html")


@bp.route("/imports/runs/<int:run_id>/errors.csv")
def import_errors(run_id: int):
    """The rejected lines as CSV, whole, with their row and reason, ready to correct and import again."""
    account = current_account()
    run = imports.get_run(account, run_id)
    report = imports.error_report(account, run.id)
    charset = report.encoding.removesuffix("-sig")
    response = Response(stream_with_context(report.parts), content_type=f"text/csv; charset={charset}")
    response.headers["Content-Disposition"] = f'attachment; filename="import-{run.id}-errors.csv"'
    return response


@bp.route("/imports/runs/<int:run_id>/rollback")
@requires("admin")
def import_rollback_confirm(run_id: int):
    """Ask before rolling back (for browsers without JavaScript)."""
    account = current_account()
    run = imports.get_run(account, run_id)
    if run.status != ImportRunStatus.DONE:
        return redirect(url_for("admin.import_run", run_id=run.id), 303)
    return render(
        "admin/imports/rollback.html",
        run=run,
        created_fields=imports_rollback.created_fields(account, run),
        database=databases.get_database(account, run.database_id),
        active="imports",
    )


@bp.route("/imports/runs/<int:run_id>/rollback", methods=["POST"])
@requires("admin")
def import_rollback(run_id: int):
    """Undo a finished run."""
    account = current_account()
    run = imports.get_run(account, run_id)
    try:
        imports_rollback.request_rollback(
            account, run.id, remove_fields=request.form.get("remove_fields") == "y", locale=str(get_locale() or "")
        )
    except ValidationError as error:
        return _run_page(run, errors=error.errors, status=422)
    return acted(
        _("The rollback is started; this page shows its progress."), url_for("admin.import_run", run_id=run.id)
    )


@bp.app_template_filter("import_status")
def import_status(status: str) -> str:
    return {
        ImportRunStatus.PENDING: _("waiting for a mapping"),
        ImportRunStatus.QUEUED: _("queued"),
        ImportRunStatus.RUNNING: _("running"),
        ImportRunStatus.DONE: _("done"),
        ImportRunStatus.FAILED: _("failed"),
        ImportRunStatus.ROLLED_BACK: _("rolled back"),
        ImportRunStatus.ROLLING_BACK: _("rolling back"),
    }.get(status, status)


from webapp.blueprints.admin import import_sources as _import_source_views  # noqa: E402,F401 - its routes need bp
