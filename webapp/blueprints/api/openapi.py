"""The OpenAPI 3.1 document of the REST door, generated from the code with apispec: each route's docstring
carries its operations (YAML after ``---``), and the shared schemas, parameters and responses are below.

Served at ``/api/openapi.json`` (no token needed: it describes, it holds no data), for the routes under
``/api/v1``; the Copernica prefixes ``/v1`` … ``/v4`` serve the same routes. ``/api/docs`` shows it as a page
in the admin's style where each operation can be tried with a token (no CDN: the script is
``static/apidocs.js``).
"""

from typing import Any

from apispec import APISpec
from apispec.yaml_utils import load_operations_from_docstring
from flask import current_app, jsonify, render_template

from webapp.blueprints.api import openapi_resources
from webapp.profiles import consents

TEXT = {"type": "string"}
VALUES = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean", "null"]}}
STRING_VALUES = {"type": "object", "additionalProperties": TEXT}
PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": TEXT,
        "title": TEXT,
        "status": {"type": "integer"},
        "detail": TEXT,
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": TEXT, "message": TEXT},
                "required": ["field", "message"],
            },
        },
    },
}
FIELD = {
    "type": "object",
    "required": ["ID", "name", "type"],
    "properties": {
        "ID": TEXT,
        "name": TEXT,
        "type": TEXT,
        "value": TEXT,
        "displayed": {"type": "boolean"},
        "ordered": {"type": "boolean"},
        "length": {"type": "integer"},
        "textlines": {"type": "integer"},
        "hidden": {"type": "boolean"},
        "index": {"type": "boolean"},
    },
}
INTEREST = {"type": "object", "required": ["ID", "name"], "properties": {"ID": TEXT, "name": TEXT, "group": TEXT}}
PROFILE = {
    "type": "object",
    "required": ["ID", "fields", "interests", "database"],
    "properties": {
        "ID": TEXT,
        "fields": STRING_VALUES,
        "interests": {"type": "array", "items": TEXT},
        "database": TEXT,
        "secret": TEXT,
        "created": TEXT,
        "modified": TEXT,
        "removed": {"type": "boolean"},
    },
}
SUBPROFILE = {
    "type": "object",
    "required": ["ID", "fields", "profile", "collection"],
    "properties": {
        "ID": TEXT,
        "secret": TEXT,
        "fields": STRING_VALUES,
        "profile": TEXT,
        "collection": TEXT,
        "created": TEXT,
        "modified": TEXT,
        "removed": {"type": "boolean"},
    },
}
EVENT = {
    "type": "object",
    "required": ["ID", "kind", "source", "time", "profile", "changes"],
    "properties": {
        "ID": TEXT,
        "kind": TEXT,
        "source": TEXT,
        "actor": TEXT,
        "reference": TEXT,
        "time": TEXT,
        "database": TEXT,
        "profile": TEXT,
        "collection": {"type": ["string", "null"]},
        "subprofile": {"type": ["string", "null"]},
        "changes": {"type": "object"},
    },
}


NULLABLE_TEXT = {"type": ["string", "null"]}
COUNT = {"type": "integer"}


def _entity(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


def _status_input(*statuses: str) -> dict[str, Any]:
    return _entity(["status"], {"status": {"type": "string", "enum": list(statuses)}})


FORM = _entity(
    ["ID", "name", "database", "accepted", *openapi_resources.FORM_SETTINGS],
    {
        "ID": TEXT,
        "name": TEXT,
        "database": TEXT,
        "collection": NULLABLE_TEXT,
        "key": TEXT,
        "behaviour": TEXT,
        **openapi_resources.FORM_SETTINGS,
        "accepted": COUNT,
        "submissions": {"type": "object", "additionalProperties": COUNT},
        "created": TEXT,
        "modified": TEXT,
    },
)
SUBMISSION = _entity(
    ["ID", "form", "status", "fields", "created"],
    {
        "ID": TEXT,
        "form": TEXT,
        "profile": NULLABLE_TEXT,
        "status": TEXT,
        "reason": TEXT,
        "fields": STRING_VALUES,
        "origin": TEXT,
        "created": TEXT,
    },
)
FOLLOWUP = _entity(
    ["ID", "name", "database", "status"],
    {
        "ID": TEXT,
        "name": TEXT,
        "database": TEXT,
        "collection": NULLABLE_TEXT,
        "form": NULLABLE_TEXT,
        "status": {"type": "string", "enum": ["active", "paused"]},
        "trigger": {"type": "object"},
        "created": TEXT,
        "modified": TEXT,
    },
)
NAMES = {"type": "array", "items": TEXT}
CALLBACK = _entity(
    ["ID", "database", "url", "status"],
    {
        "ID": TEXT,
        "database": TEXT,
        "collection": NULLABLE_TEXT,
        "url": TEXT,
        "method": TEXT,
        "style": TEXT,
        "actions": NAMES,
        "sources": NAMES,
        "expression": TEXT,
        "status": {"type": "string", "enum": ["active", "paused"]},
        "paused_reason": TEXT,
        "secret": TEXT,
        "created": TEXT,
    },
)
CALLBACK_INPUT = {
    "type": "object",
    "required": ["url"],
    "additionalProperties": False,
    "properties": {
        "url": TEXT,
        "method": {"type": "string", "enum": ["json", "post"]},
        "style": {"type": "string", "enum": ["standard", "copernica"]},
        "actions": {"type": "array", "items": {"type": "string", "enum": ["create", "update", "delete"]}},
        "sources": NAMES,
        "expression": TEXT,
        "collection": {"type": ["string", "integer", "null"]},
    },
}
IMPORT_RUN = _entity(
    ["ID", "database", "status", "progress", "lines", "counts"],
    {
        "ID": TEXT,
        "database": TEXT,
        "file": TEXT,
        "status": TEXT,
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "lines": {"type": "object", "additionalProperties": COUNT},
        "counts": {"type": "object", "additionalProperties": COUNT},
        "rollback": {"type": "object", "additionalProperties": COUNT},
        "error": TEXT,
        "started": TEXT,
        "finished": TEXT,
        "created": TEXT,
    },
)
IMPORT_SETTINGS = {
    "type": "object",
    "description": "the mapping screen's choices (docs/rest-api.md)",
    "required": ["mapping", "key_fields", "on_match", "on_no_match", "on_empty"],
    "properties": {
        "mapping": STRING_VALUES,
        "key_fields": NAMES,
        "on_match": TEXT,
        "on_no_match": TEXT,
        "on_empty": TEXT,
        "options": {"type": "object"},
    },
}
EXPORT_RUN = _entity(
    ["ID", "status"],
    {"ID": TEXT, "status": TEXT, "file": TEXT, "size": COUNT, "error": TEXT, "started": TEXT, "finished": TEXT},
)
EXPORT = _entity(
    ["ID", "name", "database", "runs"],
    {
        "ID": TEXT,
        "name": TEXT,
        "database": TEXT,
        "collection": NULLABLE_TEXT,
        "view": NULLABLE_TEXT,
        "url": TEXT,
        "schedule": TEXT,
        "runs": {"type": "array", "items": EXPORT_RUN},
    },
)

CONSENT_INPUT = {
    "type": "object",
    "required": ["purpose"],
    "additionalProperties": False,
    "properties": {
        "purpose": {"type": "string", "maxLength": 64},
        "text": {"type": "string", "maxLength": 5000},
        "basis": {"type": "string", "enum": list(consents.BASES)},
    },
}
PERSON_INPUT = {
    "type": "object",
    "additionalProperties": False,
    "description": "the person: an email address (every database of the account) or one profile (and its address)",
    "properties": {"email": TEXT, "profile": {"type": "integer", "minimum": 1}},
}
ERASURE_INPUT = {
    **PERSON_INPUT,
    "properties": {**PERSON_INPUT["properties"], "kind": {"type": "string", "enum": ["erase", "anonymise"]}},
}
ERASURE = _entity(
    ["ID", "kind", "status", "profiles", "created", "report"],
    {
        "ID": TEXT,
        "kind": {"type": "string", "enum": ["erase", "anonymise"]},
        "status": {"type": "string", "enum": ["pending", "done", "failed"]},
        "profiles": NAMES,
        "requested_by": TEXT,
        "created": TEXT,
        "finished": TEXT,
        "report": {"type": "object", "description": "rows per table ('tables'), stored import files ('files')"},
    },
)
PERSON = _entity(
    ["email", "profiles"],
    {
        "email": TEXT,
        "profiles": {
            "type": "array",
            "items": _entity(["ID", "database"], {"ID": TEXT, "database": TEXT}),
        },
    },
)
ACCESS_EXPORT = {
    "type": "object",
    "description": "everything held about the person (docs/privacy.md, Access export)",
    "required": ["format", "account", "addresses", "profiles", "emails_sent", "suppression"],
    "properties": {
        "format": {"type": "integer"},
        "account": TEXT,
        "generated_at": TEXT,
        "addresses": NAMES,
        "profiles": {"type": "array", "items": {"type": "object"}},
        "emails_sent": {"type": "array"},
        "bounces_and_complaints": {"type": "array"},
        "suppression": {"type": "array"},
        "caught_mail": {"type": "array"},
    },
}


def listing(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["start", "limit", "count", "data"],
        "properties": {
            "start": {"type": "integer"},
            "limit": {"type": "integer"},
            "count": {"type": "integer"},
            "total": {"type": "integer"},
            "data": {"type": "array", "items": {"$ref": f"#/components/schemas/{item}"}},
        },
    }


def _query(name: str, schema: dict, description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "schema": schema, "description": description}


PARAMETERS = {
    "id": {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
    "collection": {"name": "collection", "in": "path", "required": True, "schema": TEXT},
    "start": _query("start", {"type": "integer", "minimum": 0}),
    "limit": _query("limit", {"type": "integer", "minimum": 0, "maximum": 1000}),
    "total": _query("total", {"type": "boolean"}, "false leaves the total out"),
    "create": _query("create", {"type": "boolean"}, "create one when nothing matches"),
    "fields": {
        "name": "fields[]",
        "in": "query",
        "schema": {"type": "array", "items": TEXT},
        "style": "form",
        "explode": True,
        "description": "conditions: name==value, !=, <>, <, >, <=, >=, =~ (like), !~ (not like)",
    },
    "ifMatch": {"name": "If-Match", "in": "header", "schema": TEXT},
    "idempotencyKey": {"name": "Idempotency-Key", "in": "header", "schema": {"type": "string", "maxLength": 255}},
}


def _json(schema: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def build_document() -> dict[str, Any]:
    """The document for the app's ``/api/v1`` routes."""
    spec = APISpec(
        title="Verrijk REST API",
        version="1",
        openapi_version="3.1.0",
        info={"description": "Copernica's REST shapes; see docs/rest-api.md."},
        servers=[{"url": current_app.config["PUBLIC_URL"].rstrip("/") + "/api/v1"}],
        security=[{"bearer": []}, {"accessToken": []}],
    )
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("accessToken", {"type": "apiKey", "in": "query", "name": "access_token"})
    schemas = {
        "Problem": PROBLEM,
        "Values": VALUES,
        "Interests": {"oneOf": [{"type": "array", "items": TEXT}, VALUES]},
        "ProfileInput": {
            "type": "object",
            "description": "field values by name; or {fields, interests, consent}: consent states a lawful basis "
            "for the profiles the call creates or updates (docs/rest-api.md)",
            "properties": {"consent": {"$ref": "#/components/schemas/ConsentInput"}},
        },
        "ConsentInput": CONSENT_INPUT,
        "Field": FIELD,
        "Interest": INTEREST,
        "Profile": PROFILE,
        "Subprofile": SUBPROFILE,
        "Collection": {"type": "object", "required": ["ID", "name"], "properties": {"ID": TEXT, "name": TEXT}},
        "Database": {"type": "object", "required": ["ID", "name"], "properties": {"ID": TEXT, "name": TEXT}},
        "EventPage": {
            "type": "object",
            "required": ["data", "count", "cursor"],
            "properties": {"data": {"type": "array", "items": EVENT}, "count": {"type": "integer"}, "cursor": TEXT},
        },
    }
    schemas["BatchInput"] = {
        "type": "object",
        "required": ["keys", "profiles"],
        "properties": {
            "keys": {"type": "array", "items": TEXT, "minItems": 1},
            "profiles": {"type": "array", "items": VALUES, "minItems": 1, "maxItems": 1000},
            "consent": {"$ref": "#/components/schemas/ConsentInput"},
        },
    }
    counts = {name: {"type": "integer"} for name in ("created", "updated", "unchanged")}
    schemas["BatchResult"] = {"type": "object", "required": list(counts), "properties": counts}
    schemas.update(
        {
            "Form": FORM,
            "Submission": SUBMISSION,
            "SubmissionPage": _entity(
                ["limit", "count", "next", "data"],
                {
                    "limit": COUNT,
                    "count": COUNT,
                    "next": NULLABLE_TEXT,
                    "data": {"type": "array", "items": {"$ref": "#/components/schemas/Submission"}},
                },
            ),
            "FollowUp": FOLLOWUP,
            "FollowUpStatus": _status_input("active", "paused"),
            "Callback": CALLBACK,
            "CallbackInput": CALLBACK_INPUT,
            "CallbackStatus": _status_input("active", "paused"),
            "ImportRun": IMPORT_RUN,
            "ImportUpload": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}, "settings": TEXT},
            },
            "ImportSourceInput": {
                "type": "object",
                "required": ["url"],
                "properties": {"url": TEXT, "username": TEXT, "password": TEXT, "settings": IMPORT_SETTINGS},
            },
            "ImportSource": _entity(
                ["ID", "database", "url", "runs"],
                {
                    "ID": TEXT,
                    "database": TEXT,
                    "url": TEXT,
                    "mapped": {"type": "boolean"},
                    "error": TEXT,
                    "runs": {"type": "array", "items": {"$ref": "#/components/schemas/ImportRun"}},
                },
            ),
            "Export": EXPORT,
            "PersonByAddress": {"type": "object", "required": ["email"], "properties": {"email": TEXT}},
            "Person": PERSON,
            "PersonInput": PERSON_INPUT,
            "AccessExport": ACCESS_EXPORT,
            "ErasureInput": ERASURE_INPUT,
            "Erasure": ERASURE,
        }
    )
    for item in ("Database", "Field", "Interest", "Collection", "Profile", "Subprofile", "Form", "FollowUp"):
        schemas[f"{item}List"] = listing(item)
    schemas["CallbackList"] = listing("Callback")
    schemas["ExportList"] = listing("Export")
    schemas.update(openapi_resources.SCHEMAS)
    schemas.update({f"{item}List": listing(item) for item in openapi_resources.LISTS})
    for name, schema in schemas.items():
        spec.components.schema(name, schema)
    for name, parameter in {**PARAMETERS, **openapi_resources.PARAMETERS}.items():
        spec.components.parameter(name, parameter["in"], parameter)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    spec.components.response("Problem", {"description": "An RFC 9457 problem", "content": problem})
    created = {"X-Created": {"schema": TEXT}, "Location": {"schema": TEXT}}
    spec.components.response("Created", {"description": "Created", "headers": created})
    for name in ("Profile", "Subprofile", "Values"):
        etag = {"description": "OK", "headers": {"ETag": {"schema": TEXT}}, "content": _json(name)}
        spec.components.response(f"{name}WithETag", etag)
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.rule.startswith("/api/v1/"):
            view = current_app.view_functions[rule.endpoint]
            operations = load_operations_from_docstring(view.__doc__ or "")
            wanted = {method.lower() for method in rule.methods or ()}
            path = rule.rule.removeprefix("/api/v1").replace("<int:", "{").replace("<", "{").replace(">", "}")
            spec.path(path=path, operations={m: op for m, op in operations.items() if m in wanted})
    return spec.to_dict()


def _document() -> dict[str, Any]:
    cached = current_app.extensions.get("api_openapi")
    if cached is None:
        cached = current_app.extensions["api_openapi"] = build_document()
    return cached


def document():
    """``GET /api/openapi.json``."""
    return jsonify(_document())


def reference_page():
    """``GET /api/docs``: every operation with a form to try it (the page's script is ours, served locally)."""
    return render_template("api/docs.html", document=_document(), server="/api/v1")
