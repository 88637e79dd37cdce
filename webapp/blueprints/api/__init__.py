"""The REST door: Copernica's REST API shapes (JSON), the change feed, per-token access.

The same routes are mounted under Copernica's version prefixes (``/v1`` … ``/v4``, so a connector written for
``api.copernica.com/v4/…`` works when pointed at Verrijk) and under ``/api/v1``. Every route parses its input,
calls one domain function and renders Copernica's JSON shapes (``shapes.py``); errors are RFC 9457 problem
documents (``problems.py``). Authentication is by API token (``auth.py``), so CSRF does not apply.
"""

from flask import Blueprint, Flask

PREFIXES = ("/v1", "/v2", "/v3", "/v4", "/api/v1")

bp = Blueprint("api", __name__)


def register_api(app: Flask) -> None:
    """Mount the REST door under each prefix (exempt from CSRF: it authenticates by token)."""
    # Routes and hooks register on import, once. The before_request hooks run as registered: authenticate,
    # then count the call against the token's rate limit, then replay or claim an Idempotency-Key.
    from webapp.blueprints.api import auth  # noqa: F401

    # isort: split
    from webapp.blueprints.api import limits  # noqa: F401

    # isort: split
    from webapp.blueprints.api import callbacks, copernica, feed, forms, idempotency, privacy, problems, transfers  # noqa: F401

    # isort: split
    from webapp.blueprints.api import definitions, downloads, mailings, schema_writes, selections, surveys  # noqa: F401
    from webapp.blueprints.api.openapi import document, reference_page
    from webapp.extensions import csrf

    csrf.exempt(bp)
    app.add_url_rule("/api/openapi.json", "api_openapi", document)
    app.add_url_rule("/api/docs", "api_docs", reference_page)
    for prefix in PREFIXES:
        name = "api" if prefix == "/api/v1" else "api_" + prefix.strip("/")
        app.register_blueprint(bp, url_prefix=prefix, name=name)
