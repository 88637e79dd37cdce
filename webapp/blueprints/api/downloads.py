"""Exports to a file, started now and downloaded later (``admin`` scope, as every export): a thin adapter over
``exports.downloads``.

``POST database/{id}/export-files`` with ``{"format", "delimiter", "fields", "collection", "interests", "gzip",
"bom", "protect_formulas"}`` (the options of ``GET database/{id}/export``) queues it: ``202`` with its status and
``Location``. ``GET export-file/{id}`` is its status (``queued``, ``running``, ``retrying``, ``done``,
``failed``, ``expired``); ``GET export-file/{id}/download`` streams the file once it is done, and is a ``409``
problem saying why before that (still being written, failed, or expired).
"""

from typing import Any

from flask import g, jsonify, request, send_file, url_for
from flask_babel import gettext as _

from webapp.blueprints.api import bodies, bp, shapes
from webapp.blueprints.api.auth import needs
from webapp.exports import downloads
from webapp.exports import files as export_files
from webapp.models import ExportFile
from webapp.platform.errors import ValidationError


def _shape(row: ExportFile) -> dict[str, Any]:
    state = downloads.state_of(row)
    return {
        "ID": str(row.id),
        "database": str(row.database_id),
        "collection": str(row.collection_id) if row.collection_id else None,
        "status": state.status,
        "error": state.error or "",
        "file": row.file_name,
        "content_type": row.content_type,
        "size": row.size,
        "created": shapes.timestamp(row.created_at),
        "finished": shapes.timestamp(row.finished_at),
        "download": url_for(f"{request.blueprint}.download_export_file", id=row.id, _external=True)
        if state.status == "done"
        else None,
    }


def _options(data: dict[str, Any]) -> export_files.ExportOptions:
    names = bodies.structure(data, "fields", list)
    if names is not None and not all(isinstance(name, str) for name in names):
        raise ValidationError({"fields": _("fields is a list of field names.")})
    delimiter = bodies.text(data, "delimiter", "comma") or "comma"
    return export_files.ExportOptions(
        format=bodies.text(data, "format", "csv") or "",
        delimiter=export_files.DELIMITERS.get(delimiter, ""),
        fields=names or None,
        interests=bool(bodies.flag(data, "interests", True)),
        gzip=bool(bodies.flag(data, "gzip", False)),
        bom=bool(bodies.flag(data, "bom", False)),
        protect_formulas=bool(bodies.flag(data, "protect_formulas", True)),
    )


@bp.post("/database/<int:id>/export-files")
@needs("admin")
def start_export_file(id: int):
    """OpenAPI:

    ---
    post:
      summary: Export to a file in a worker, to download when done (admin scope)
      parameters:
        - id
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/ExportFileInput'}}}
      responses:
        '202': {description: Queued, content: {application/json: {schema: {$ref: '#/components/schemas/ExportFile'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    row = downloads.start_export(g.api_account, id, _options(data), collection_id=bodies.identifier(data, "collection"))
    response = jsonify(_shape(row))
    response.status_code = 202
    response.headers["Location"] = url_for(f"{request.blueprint}.get_export_file", id=row.id, _external=True)
    return response


@bp.get("/export-file/<int:id>")
@needs("admin")
def get_export_file(id: int):
    """OpenAPI:

    ---
    get:
      summary: An export file's status (admin scope)
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/ExportFile'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(_shape(downloads.get_export_file(g.api_account, id)))


@bp.get("/export-file/<int:id>/download")
@needs("admin")
def download_export_file(id: int):
    """OpenAPI:

    ---
    get:
      summary: Download a written export file; 409 while it is being written, failed or expired (admin scope)
      parameters:
        - id
      responses:
        '200': {description: The file, content: {application/octet-stream: {schema: {type: string}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    row, path = downloads.open_export(g.api_account, id)
    response = send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.file_name)
    response.headers["Cache-Control"] = "no-store"
    return response
