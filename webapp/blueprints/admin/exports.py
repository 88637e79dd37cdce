"""Admin views of exports: the form, and the download it posts to (streamed, never built in memory)."""

from flask import Response, request, stream_with_context
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.responses import render
from webapp.models import Database
from webapp.services import databases, exports
from webapp.services.errors import NotFound, ValidationError


def _form(database: Database, *, values=None, errors=None, status: int = 200):
    delimiters = [("comma", _("Comma")), ("semicolon", _("Semicolon")), ("tab", _("Tab"))]
    formats = [("csv", _("CSV")), ("tsv", _("TSV (tab-separated)")), ("jsonl", _("JSON Lines"))]
    return render("admin/exports/index.html", database=database, active="exports", delimiters=delimiters,
                  formats=formats, values=values or {}, errors=errors or {}), status


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
    chosen = form.getlist(f"fields-{what}")
    options = exports.ExportOptions(
        format=form.get("format", "csv"),
        delimiter=exports.DELIMITERS.get(form.get("delimiter", "comma"), ""),
        fields=chosen or None,
        interests=bool(form.get("interests")),
        gzip=bool(form.get("gzip")),
        bom=bool(form.get("bom")),
        protect_formulas=bool(form.get("protect_formulas")),
    )
    try:
        if what == "database":
            export = exports.export_database(account, database.id, options)
        else:
            collection = databases.get_collection(account, int(what) if what.isdigit() else 0)
            if collection.database_id != database.id:
                raise NotFound(_("Collection not found."))
            export = exports.export_collection(account, collection.id, options)
    except ValidationError as error:
        return _form(database, values=form, errors=error.errors, status=422)
    response = Response(stream_with_context(export.chunks), content_type=export.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
