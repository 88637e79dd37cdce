"""Callbacks (webhooks): list, read, create, update, delete, enable and disable — thin adapters over
``callbacks.definitions`` and ``callbacks.deliveries`` (the functions the admin's pages call), which validate
the URL (the outbound URL guard), the condition, the actions and the sources whatever the door.

Every call here needs the ``admin`` scope: a callback sends the account's changes to a URL, and its signing
secret is part of its shape.
"""

from typing import Any

from flask import g, jsonify
from flask_babel import gettext as _

from webapp.blueprints.api import bp, shapes
from webapp.blueprints.api.auth import needs
from webapp.blueprints.api.copernica import created, no_content
from webapp.callbacks import definitions, deliveries
from webapp.platform.errors import ValidationError


def _definition(data: dict[str, Any]) -> dict[str, Any]:
    """The callback's settings from a body: ``url``, ``method``, ``style``, ``actions``, ``sources``,
    ``expression``, ``collection`` (an id)."""
    unknown = sorted(set(data) - {"url", "method", "style", "actions", "sources", "expression", "collection"})
    if unknown:
        raise ValidationError({name: _("%(name)s is not a setting of a callback.", name=name) for name in unknown})
    texts = {name: data.get(name, "") for name in ("url", "method", "style", "expression")}
    wrong = [name for name, value in texts.items() if not isinstance(value, str)]
    lists = {name: data.get(name) or [] for name in ("actions", "sources")}
    wrong += [name for name, value in lists.items() if not isinstance(value, list | str)]
    collection = data.get("collection")
    if collection not in (None, "") and not str(collection).isdigit():
        wrong.append("collection")
    if wrong:
        raise ValidationError({name: _("%(name)s has the wrong type.", name=name) for name in wrong})
    return {
        "url": texts["url"],
        "method": texts["method"] or "json",
        "style": texts["style"] or "standard",
        "actions": lists["actions"],
        "sources": lists["sources"],
        "expression": texts["expression"],
        "collection_id": int(collection) if collection not in (None, "") else None,
    }


@bp.get("/database/<int:id>/callbacks")
@needs("admin")
def database_callbacks(id: int):
    """OpenAPI:

    ---
    get:
      summary: A database's callbacks (admin scope)
      parameters:
        - id
        - start
        - limit
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/CallbackList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.in_memory([shapes.callback(c) for c in definitions.list_callbacks(g.api_account, id)]))


@bp.post("/database/<int:id>/callbacks")
@needs("admin")
def create_callback(id: int):
    """OpenAPI:

    ---
    post:
      summary: Add a callback, active, with a fresh signing secret (admin scope)
      parameters:
        - id
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/CallbackInput'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    callback = definitions.create_callback(g.api_account, id, **_definition(shapes.body_object()))
    return created("get_callback", callback.id)


@bp.get("/callback/<int:id>")
@needs("admin")
def get_callback(id: int):
    """OpenAPI:

    ---
    get:
      summary: A callback with its signing secret (admin scope)
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Callback'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.callback(definitions.get_callback(g.api_account, id)))


@bp.put("/callback/<int:id>")
@needs("admin")
def update_callback(id: int):
    """Replace the callback's settings (those left out take their defaults, as in the admin's form).

    ---
    put:
      summary: Change a callback's settings (admin scope)
      parameters:
        - id
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/CallbackInput'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    definitions.update_callback(g.api_account, id, **_definition(shapes.body_object()))
    return no_content()


@bp.delete("/callback/<int:id>")
@needs("admin")
def delete_callback(id: int):
    """OpenAPI:

    ---
    delete:
      summary: Remove a callback with its delivery log (admin scope)
      parameters:
        - id
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    definitions.delete_callback(g.api_account, id)
    return no_content()


@bp.put("/callback/<int:id>/status")
@needs("admin")
def set_callback_status(id: int):
    """``{"status": "active"}`` switches it on (and sends what waited), ``{"status": "paused"}`` off.

    ---
    put:
      summary: Enable (active) or disable (paused) a callback (admin scope)
      parameters:
        - id
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/CallbackStatus'}}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Callback'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    wanted = shapes.body_object().get("status")
    if wanted == "active":
        callback = deliveries.resume_callback(g.api_account, id)
    elif wanted == "paused":
        callback = definitions.pause_callback(g.api_account, id)
    else:
        raise ValidationError({"status": _("Give the status active (enabled) or paused (disabled).")})
    return jsonify(shapes.callback(callback))
