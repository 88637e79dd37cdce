"""Imports and exports over REST: thin adapters over the functions the admin's import and export pages call.

Imports (``write`` scope to start or roll back, ``read`` for their status):

- ``POST database/{id}/imports`` with a file (multipart ``file``, and optionally ``settings``: a JSON object of
  the mapping screen's choices, ``mapping``, ``key_fields``, ``on_match``, ``on_no_match``, ``on_empty`` and
  ``options``) uploads and starts it (``imports.runs.upload_and_start``); ``GET import/{id}`` is its status with
  its progress, ``POST import/{id}/rollback`` queues the rollback (the durable ``import_rollback`` work).
- ``POST database/{id}/import-sources`` with ``{"url", "username", "password", "settings"}`` fetches a remote
  file once in a worker (``imports.sources.fetch_once``: the outbound URL guard, the fetched-file checks); its
  status ``GET import-source/{id}`` lists the runs its fetch made; a run without settings waits for
  ``POST import/{id}/start`` (the remembered or guessed mapping), as a first fetched file waits in the admin.

Exports (``admin`` scope, as in the admin): ``GET database/{id}/export`` streams the file the export page
downloads; a scheduled export to a server (made in the admin) is started with ``POST export/{id}/run`` and
its uploads are its status, ``GET export/{id}``.
"""

import json
from typing import Any

from flask import Response, g, jsonify, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from webapp.blueprints.api import bp, shapes
from webapp.blueprints.api.auth import needs
from webapp.exports import files as export_files
from webapp.exports import targets as export_targets
from webapp.imports import rollback as import_rollback
from webapp.imports import runs as import_runs
from webapp.imports import sources as import_sources
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import databases

SETTINGS = ("mapping", "key_fields", "on_match", "on_no_match", "on_empty")


def _settings(given: Any) -> dict[str, Any] | None:
    """The mapping screen's choices from a request (a JSON text in a form, or an object); ``None``: none."""
    if given in (None, ""):
        return None
    if isinstance(given, str):
        try:
            given = json.loads(given)
        except ValueError:
            given = None
    if not isinstance(given, dict) or not set(SETTINGS) <= set(given) or set(given) - {*SETTINGS, "options"}:
        names = ", ".join(SETTINGS)
        raise ValidationError({"settings": _("Give settings as a JSON object of %(names)s and options.", names=names)})
    return given


def _accepted(endpoint: str, new_id: int, body: dict[str, Any]) -> Response:
    response = jsonify(body)
    response.status_code = 202
    response.headers["Location"] = url_for(f"{request.blueprint}.{endpoint}", id=new_id, _external=True)
    return response


@bp.post("/database/<int:id>/imports")
def start_import(id: int):
    """OpenAPI:

    ---
    post:
      summary: Upload a file and start importing it (multipart file, optional settings)
      parameters:
        - id
        - idempotencyKey
        - {name: anyway, in: query, schema: {type: boolean}, description: start even if every first line fails}
      requestBody:
        content: {multipart/form-data: {schema: {$ref: '#/components/schemas/ImportUpload'}}}
      responses:
        '202': {description: Queued, content: {application/json: {schema: {$ref: '#/components/schemas/ImportRun'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationError({"file": _("Send the file as the multipart part named file.")})
    run = import_runs.upload_and_start(
        g.api_account,
        id,
        upload.stream,
        upload.filename,
        _settings(request.form.get("settings")),
        anyway=shapes.flag("anyway"),
        locale=str(get_locale() or ""),
    )
    return _accepted("get_import", run.id, shapes.import_run(run))


@bp.get("/import/<int:id>")
def get_import(id: int):
    """OpenAPI:

    ---
    get:
      summary: An import's status and progress (lines done of the total, counts, a rollback's progress)
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/ImportRun'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.import_run(import_runs.get_run(g.api_account, id)))


@bp.post("/import/<int:id>/start")
def start_pending_import(id: int):
    """OpenAPI:

    ---
    post:
      summary: Start an import that waits (a fetched first file) with its remembered or guessed mapping
      parameters:
        - id
        - {name: anyway, in: query, schema: {type: boolean}}
      responses:
        '202': {description: Queued, content: {application/json: {schema: {$ref: '#/components/schemas/ImportRun'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    locale = str(get_locale() or "")
    run = import_runs.start_run(g.api_account, id, anyway=shapes.flag("anyway"), locale=locale)
    return _accepted("get_import", run.id, shapes.import_run(run))


@bp.post("/import/<int:id>/rollback")
def rollback_import(id: int):
    """OpenAPI:

    ---
    post:
      summary: Roll a finished import back (a durable job; follow its progress on the import)
      parameters:
        - id
      responses:
        '202': {description: Queued, content: {application/json: {schema: {$ref: '#/components/schemas/ImportRun'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    run = import_rollback.request_rollback(g.api_account, id)
    return _accepted("get_import", run.id, shapes.import_run(run))


@bp.post("/database/<int:id>/import-sources")
def start_remote_import(id: int):
    """OpenAPI:

    ---
    post:
      summary: Import a remote file (http, https, ftp, ftps, sftp), fetched once in a worker
      parameters:
        - id
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/ImportSourceInput'}}}
      responses:
        '202': {description: Queued, content: {application/json: {schema: {$ref: '#/components/schemas/ImportSource'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    texts = {name: data.get(name) or "" for name in ("url", "username", "password")}
    wrong = [name for name, value in texts.items() if not isinstance(value, str)]
    if wrong:
        raise ValidationError({name: _("%(name)s has the wrong type.", name=name) for name in wrong})
    definition = import_sources.fetch_once(
        g.api_account,
        id,
        source_url=texts["url"],
        username=texts["username"],
        password=texts["password"],
        settings=_settings(data.get("settings")),
    )
    return _accepted("get_import_source", definition.id, shapes.import_source(definition, []))


@bp.get("/import-source/<int:id>")
def get_import_source(id: int):
    """OpenAPI:

    ---
    get:
      summary: A remote import's last error and the runs its fetches made, newest first
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/ImportSource'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    definition = import_sources.get_source(g.api_account, id)
    return jsonify(shapes.import_source(definition, import_sources.recent_runs(definition)))


@bp.get("/database/<int:id>/export")
@needs("admin")
def download_export(id: int):
    """OpenAPI:

    ---
    get:
      summary: Download a database's profiles (or a collection's subprofiles) as CSV, TSV or JSON lines (admin scope)
      parameters:
        - id
        - {name: format, in: query, schema: {type: string, enum: [csv, tsv, jsonl]}}
        - {name: delimiter, in: query, schema: {type: string, enum: [comma, semicolon, tab]}}
        - {name: "fields[]", in: query, schema: {type: array, items: {type: string}}, style: form, explode: true}
        - {name: collection, in: query, schema: {type: integer, minimum: 1}}
        - {name: interests, in: query, schema: {type: boolean}}
        - {name: gzip, in: query, schema: {type: boolean}}
      responses:
        '200': {description: The file, content: {text/csv: {schema: {type: string}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    account = g.api_account
    database = databases.get_database(account, id)
    options = export_files.ExportOptions(
        format=request.args.get("format", "csv"),
        delimiter=export_files.DELIMITERS.get(request.args.get("delimiter", "comma"), ""),
        fields=request.args.getlist("fields[]") or None,
        interests=shapes.flag("interests", True),
        gzip=shapes.flag("gzip"),
        bom=shapes.flag("bom"),
        protect_formulas=shapes.flag("protect_formulas", True),
    )
    collection_id = shapes.optional_id("collection")
    if collection_id is None:
        export = export_files.export_database(account, database.id, options)
    else:
        if databases.get_collection(account, collection_id).database_id != database.id:
            raise NotFound(_("Collection not found."))
        export = export_files.export_collection(account, collection_id, options)
    response = Response(stream_with_context(export.chunks), content_type=export.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/database/<int:id>/exports")
@needs("admin")
def database_exports(id: int):
    """OpenAPI:

    ---
    get:
      summary: A database's scheduled exports to a server (admin scope)
      parameters:
        - id
        - start
        - limit
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/ExportList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    found = export_targets.list_exports(g.api_account, id)
    return jsonify(shapes.in_memory([shapes.export_target(definition, []) for definition in found]))


@bp.get("/export/<int:id>")
@needs("admin")
def get_export(id: int):
    """OpenAPI:

    ---
    get:
      summary: A scheduled export with its latest uploads, newest first (admin scope)
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Export'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    definition = export_targets.get_export(g.api_account, id)
    return jsonify(shapes.export_target(definition, export_targets.list_runs(definition)))


@bp.post("/export/<int:id>/run")
@needs("admin")
def run_export(id: int):
    """OpenAPI:

    ---
    post:
      summary: Export and upload now, in a worker (admin scope); follow it on the export
      parameters:
        - id
      responses:
        '202': {description: Queued, content: {application/json: {schema: {$ref: '#/components/schemas/Export'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    export_targets.run_now(g.api_account, id)
    definition = export_targets.get_export(g.api_account, id)
    return _accepted(
        "get_export", definition.id, shapes.export_target(definition, export_targets.list_runs(definition))
    )
