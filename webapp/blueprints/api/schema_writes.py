"""Writing a database's structure over REST, on Copernica's paths: databases, their fields, interests and
collections, and a collection's fields (``admin`` scope: they change the account's set-up).

Copernica's bodies: a database ``{"name", "description", "archived"}``; a field ``{"name", "type", "value",
"displayed", "ordered", "length", "textlines", "hidden", "index"}`` (read by ``profiles.copernica_fields``,
as SOAP reads them; an update changes only what it names); an interest ``{"name", "group"}``; a collection
``{"name"}``. Creates answer ``201`` with the id in ``X-Created`` (and a ``Location`` where the new thing can be
read), updates and removals ``204``.
"""

from typing import Any

from flask import Response, g, jsonify, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.api import bodies, bp, shapes
from webapp.blueprints.api.auth import needs
from webapp.blueprints.api.copernica import created, no_content
from webapp.models import Field
from webapp.platform.errors import NotFound
from webapp.profiles import copernica_fields, databases, fields


def _properties(data: dict[str, Any]) -> copernica_fields.FieldProperties:
    return copernica_fields.FieldProperties(
        name=bodies.text(data, "name"),
        type=bodies.text(data, "type"),
        value=bodies.text(data, "value"),
        display=bodies.flag(data, "display"),
        ordered=bodies.flag(data, "ordered"),
        length=bodies.number(data, "length"),
        textlines=bodies.number(data, "textlines"),
        hidden=bodies.flag(data, "hidden"),
        index=bodies.flag(data, "index"),
        specialcontent=bodies.text(data, "specialcontent"),
        displayed=bodies.flag(data, "displayed"),
        big=bodies.flag(data, "big"),
    )


def _field_created(field: Field) -> Response:
    response = Response(status=201)
    response.headers["X-Created"] = str(field.id)
    if field.collection_id:
        owner, endpoint = field.collection_id, "collection_field"
    else:
        owner, endpoint = field.database_id, "database_field"
    where = url_for(f"{request.blueprint}.{endpoint}", id=owner, field_id=field.id, _external=True)
    response.headers["Location"] = where
    return response


def _field_of(field_id: int, *, database_id: int | None = None, collection_id: int | None = None) -> Field:
    """The field ``field_id`` of that database (not of one of its collections) or of that collection."""
    field = fields.get_field(g.api_account, field_id)
    if collection_id is not None and field.collection_id != databases.get_collection(g.api_account, collection_id).id:
        raise NotFound(_("Field not found."))
    if database_id is not None and (field.database_id != database_id or field.collection_id is not None):
        raise NotFound(_("Field not found."))
    return field


# --- databases ------------------------------------------------------------------------------------


@bp.post("/databases")
@needs("admin")
def create_database():
    """OpenAPI:

    ---
    post:
      summary: Create a database (admin scope)
      parameters:
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/DatabaseInput'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    database = databases.create_database(
        g.api_account, bodies.text(data, "name", "") or "", bodies.text(data, "description", "") or ""
    )
    return created("get_database", database.id)


@bp.put("/database/<int:id>")
@needs("admin")
def update_database(id: int):
    """Rename, describe or archive; what the body leaves out stays as it is.

    ---
    put:
      summary: Change a database's name, description or archived flag (admin scope)
      parameters:
        - id
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/DatabaseInput'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    current = databases.get_database(g.api_account, id)
    databases.update_database(
        g.api_account,
        id,
        name=bodies.text(data, "name", current.name) or "",
        description=bodies.text(data, "description", current.description or "") or "",
        archived=bool(bodies.flag(data, "archived", bool(current.archived))),
    )
    return no_content()


# --- fields ---------------------------------------------------------------------------------------


@bp.post("/database/<int:id>/fields")
@needs("admin")
def create_database_field(id: int):
    """OpenAPI:

    ---
    post:
      summary: Add a field to a database (admin scope)
      parameters:
        - id
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/FieldInput'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    spec = copernica_fields.field_spec(None, _properties(shapes.body_object()))
    return _field_created(fields.create_field(g.api_account, spec, database_id=id))


@bp.get("/database/<int:id>/field/<int:field_id>")
def database_field(id: int, field_id: int):
    """OpenAPI:

    ---
    get:
      summary: A field of a database
      parameters:
        - id
        - fieldId
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Field'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.field(_field_of(field_id, database_id=databases.get_database(g.api_account, id).id)))


@bp.put("/database/<int:id>/field/<int:field_id>")
@needs("admin")
def update_database_field(id: int, field_id: int):
    """OpenAPI:

    ---
    put:
      summary: Change a database's field; stored values are converted or the change is refused (admin scope)
      parameters:
        - id
        - fieldId
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/FieldInput'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    field = _field_of(field_id, database_id=databases.get_database(g.api_account, id).id)
    spec = copernica_fields.field_spec(field, _properties(shapes.body_object()))
    fields.update_field(g.api_account, field.id, spec)
    return no_content()


@bp.delete("/database/<int:id>/field/<int:field_id>")
@needs("admin")
def delete_database_field(id: int, field_id: int):
    """OpenAPI:

    ---
    delete:
      summary: Remove a database's field with its values (admin scope)
      parameters:
        - id
        - fieldId
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    field = _field_of(field_id, database_id=databases.get_database(g.api_account, id).id)
    fields.delete_field(g.api_account, field.id)
    return no_content()


@bp.post("/collection/<int:id>/fields")
@needs("admin")
def create_collection_field(id: int):
    """OpenAPI:

    ---
    post:
      summary: Add a field to a collection (admin scope)
      parameters:
        - id
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/FieldInput'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    spec = copernica_fields.field_spec(None, _properties(shapes.body_object()), indexable=False)
    collection = databases.get_collection(g.api_account, id)
    return _field_created(fields.create_field(g.api_account, spec, collection_id=collection.id))


@bp.get("/collection/<int:id>/field/<int:field_id>")
def collection_field(id: int, field_id: int):
    """OpenAPI:

    ---
    get:
      summary: A field of a collection
      parameters:
        - id
        - fieldId
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Field'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.field(_field_of(field_id, collection_id=id)))


@bp.put("/collection/<int:id>/field/<int:field_id>")
@needs("admin")
def update_collection_field(id: int, field_id: int):
    """OpenAPI:

    ---
    put:
      summary: Change a collection's field (admin scope)
      parameters:
        - id
        - fieldId
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/FieldInput'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    field = _field_of(field_id, collection_id=id)
    spec = copernica_fields.field_spec(field, _properties(shapes.body_object()), indexable=False)
    fields.update_field(g.api_account, field.id, spec)
    return no_content()


@bp.delete("/collection/<int:id>/field/<int:field_id>")
@needs("admin")
def delete_collection_field(id: int, field_id: int):
    """OpenAPI:

    ---
    delete:
      summary: Remove a collection's field with its values (admin scope)
      parameters:
        - id
        - fieldId
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    fields.delete_field(g.api_account, _field_of(field_id, collection_id=id).id)
    return no_content()


# --- interests ------------------------------------------------------------------------------------


@bp.post("/database/<int:id>/interests")
@needs("admin")
def create_interest(id: int):
    """OpenAPI:

    ---
    post:
      summary: Add an interest to a database (admin scope)
      parameters:
        - id
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/InterestInput'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    interest = databases.create_interest(
        g.api_account, id, bodies.text(data, "name", "") or "", bodies.text(data, "group", "") or ""
    )
    response = Response(status=201)
    response.headers["X-Created"] = str(interest.id)
    return response


def _interest_of(database_id: int, interest_id: int):
    interest = databases.get_interest(g.api_account, interest_id)
    if interest.database_id != databases.get_database(g.api_account, database_id).id:
        raise NotFound(_("Interest not found."))
    return interest


@bp.put("/database/<int:id>/interest/<int:interest_id>")
@needs("admin")
def update_interest(id: int, interest_id: int):
    """OpenAPI:

    ---
    put:
      summary: Rename an interest or move it to another group (admin scope)
      parameters:
        - id
        - interestId
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/InterestInput'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    interest = _interest_of(id, interest_id)
    data = shapes.body_object()
    databases.update_interest(
        g.api_account,
        interest.id,
        name=bodies.text(data, "name", interest.name) or "",
        group=bodies.text(data, "group", interest.group or "") or "",
    )
    return no_content()


@bp.delete("/database/<int:id>/interest/<int:interest_id>")
@needs("admin")
def delete_interest(id: int, interest_id: int):
    """OpenAPI:

    ---
    delete:
      summary: Remove an interest (every profile loses it) (admin scope)
      parameters:
        - id
        - interestId
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    databases.delete_interest(g.api_account, _interest_of(id, interest_id).id)
    return no_content()


# --- collections ----------------------------------------------------------------------------------


@bp.post("/database/<int:id>/collections")
@needs("admin")
def create_collection(id: int):
    """OpenAPI:

    ---
    post:
      summary: Add a collection to a database (admin scope)
      parameters:
        - id
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/CollectionInput'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    collection = databases.create_collection(g.api_account, id, bodies.text(data, "name", "") or "")
    return created("get_collection", collection.id)


@bp.put("/collection/<int:id>")
@needs("admin")
def rename_collection(id: int):
    """OpenAPI:

    ---
    put:
      summary: Rename a collection (admin scope)
      parameters:
        - id
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/CollectionInput'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    current = databases.get_collection(g.api_account, id)
    name = bodies.text(shapes.body_object(), "name", current.name) or ""
    databases.rename_collection(g.api_account, current.id, name)
    return no_content()


@bp.delete("/collection/<int:id>")
@needs("admin")
def delete_collection(id: int):
    """OpenAPI:

    ---
    delete:
      summary: Remove a collection with its subprofiles (admin scope)
      parameters:
        - id
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    databases.delete_collection(g.api_account, id)
    return no_content()
