"""Errors as RFC 9457 ``application/problem+json`` documents.

A ``ValidationError`` lists its field messages (the same ones the other doors show) as ``errors``: a list of
``{"field": name, "message": text}`` (``field`` is empty for a message about the whole input).
"""

from flask import Response, json
from werkzeug.exceptions import HTTPException

from webapp.blueprints.api import bp
from webapp.extensions import db
from webapp.platform.errors import DomainError, ValidationError

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
}


def problem(status: int, detail: str, *, errors: dict[str, str] | None = None, headers=None) -> Response:
    body: dict = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail}
    if errors:
        body["errors"] = [{"field": name, "message": message} for name, message in errors.items()]
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


@bp.errorhandler(DomainError)
def domain_error(error: DomainError) -> Response:
    db.session.rollback()
    errors = error.errors if isinstance(error, ValidationError) else None
    return problem(error.status, error.message, errors=errors)


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    return problem(error.code or 500, error.description or "")
