"""Copernica's REST resources: databases, fields, interests, collections, profiles and subprofiles.

Paths, parameters and shapes follow Copernica's REST API (v2–v4), so that its connectors (its Magento module
among them) work when pointed at Verrijk. Creates answer ``201`` with the new id in ``X-Created`` and a
``Location``; updates and removals answer ``204``. A collection in a path is its id or its name.
"""

from flask import Response, g, jsonify, request, url_for
from flask_babel import gettext as _

from webapp.blueprints.api import bp, conditional, shapes
from webapp.models import Collection, Profile
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import batch_upserts, databases, profiles, search, subprofiles


def created(endpoint: str, new_id: int) -> Response:
    response = Response(status=201)
    response.headers["X-Created"] = str(new_id)
    response.headers["Location"] = url_for(f"{request.blueprint}.{endpoint}", id=new_id, _external=True)
    return response


def no_content() -> Response:
    return Response(status=204)


def collection_of(profile: Profile, identifier: str) -> Collection:
    """The profile's database's collection named ``identifier`` (an id or a name)."""
    key = identifier.strip().lower()
    for collection in profile.database.collections:
        if str(collection.id) == key or collection.name.lower() == key:
            return collection
    raise NotFound()


# --- databases and their structure --------------------------------------------------------------


@bp.get("/databases")
def list_databases():
    """OpenAPI:

    ---
    get:
      summary: The account's databases
      parameters:
        - start
        - limit
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/DatabaseList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.in_memory([shapes.database(d) for d in databases.list_databases(g.api_account)]))


@bp.get("/database/<int:id>")
def get_database(id: int):
    """OpenAPI:

    ---
    get:
      summary: A database with its fields, interests and collections
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Database'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.database(databases.get_database(g.api_account, id)))


@bp.get("/database/<int:id>/fields")
def database_fields(id: int):
    """OpenAPI:

    ---
    get:
      summary: A database's fields
      parameters:
        - id
        - start
        - limit
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/FieldList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.in_memory([shapes.field(f) for f in databases.get_database(g.api_account, id).fields]))


@bp.get("/database/<int:id>/interests")
def database_interests(id: int):
    """OpenAPI:

    ---
    get:
      summary: A database's interests
      parameters:
        - id
        - start
        - limit
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/InterestList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    database = databases.get_database(g.api_account, id)
    return jsonify(shapes.in_memory([shapes.interest(i) for i in database.interests]))


@bp.get("/database/<int:id>/collections")
def database_collections(id: int):
    """OpenAPI:

    ---
    get:
      summary: A database's collections
      parameters:
        - id
        - start
        - limit
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/CollectionList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    database = databases.get_database(g.api_account, id)
    return jsonify(shapes.in_memory([shapes.collection(c) for c in database.collections]))


@bp.get("/collection/<int:id>")
def get_collection(id: int):
    """OpenAPI:

    ---
    get:
      summary: A collection with its fields
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Collection'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.collection(databases.get_collection(g.api_account, id)))


@bp.get("/collection/<int:id>/fields")
def collection_fields(id: int):
    """OpenAPI:

    ---
    get:
      summary: A collection's fields
      parameters:
        - id
        - start
        - limit
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/FieldList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    collection = databases.get_collection(g.api_account, id)
    return jsonify(shapes.in_memory([shapes.field(f) for f in collection.fields]))


# --- profiles -----------------------------------------------------------------------------------


@bp.get("/database/<int:id>/profiles")
def database_profiles(id: int):
    """Profiles matching the ``fields[]`` conditions, ``orderby`` a field (or id, created, modified).

    ---
    get:
      summary: Profiles matching every fields[] condition
      parameters:
        - id
        - start
        - limit
        - total
        - fields
        - {name: orderby, in: query, schema: {type: string}}
        - {name: order, in: query, schema: {type: string, enum: [asc, desc]}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/ProfileList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    start, limit = shapes.paging()
    found = search.search_profiles(
        g.api_account,
        id,
        shapes.requirements(),
        start=start,
        length=limit,
        order=request.args.get("orderby", "id"),
        ascending=request.args.get("order", "asc").lower() != "desc",
        count=shapes.flag("total", True),
    )
    return jsonify(shapes.listing([shapes.profile(p) for p in found.items], found.start, limit, found.total))


@bp.post("/database/<int:id>/profiles")
def create_profile(id: int):
    """OpenAPI:

    ---
    post:
      summary: Create a profile
      parameters:
        - id
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/ProfileInput'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    values, interests = shapes.values_and_interests(data)
    profile = profiles.create_profile(g.api_account, id, values, origin=shapes.origin_of(data), interests=interests)
    return created("get_profile", profile.id)


@bp.put("/database/<int:id>/profiles")
def update_profiles(id: int):
    """Set the body's fields on every profile matching ``fields[]`` (required); with ``create=true`` and no
    match, create one from the ``==`` conditions and the body.

    ---
    put:
      summary: Update every profile matching fields[] (or create one with create=true)
      parameters:
        - id
        - fields
        - create
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/ProfileInput'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    conditions = shapes.requirements()
    if not conditions:
        raise ValidationError({"fields[]": _("Give fields[] conditions: which profiles to update.")})
    data = shapes.body_object()
    values, _ignored = shapes.values_and_interests(data)
    search.update_matching_profiles(
        g.api_account, id, conditions, values, create=shapes.flag("create"), origin=shapes.origin_of(data)
    )
    return no_content()


@bp.get("/profile/<int:id>")
def get_profile(id: int):
    """OpenAPI:

    ---
    get:
      summary: A profile
      parameters:
        - id
      responses:
        '200': {$ref: '#/components/responses/ProfileWithETag'}
        default: {$ref: '#/components/responses/Problem'}
    """
    profile = profiles.get_profile(g.api_account, id)
    return conditional.with_etag(shapes.profile(profile), profile)


@bp.get("/profile/<int:id>/fields")
def profile_fields(id: int):
    """OpenAPI:

    ---
    get:
      summary: A profile's fields by name
      parameters:
        - id
      responses:
        '200': {$ref: '#/components/responses/ValuesWithETag'}
        default: {$ref: '#/components/responses/Problem'}
    """
    profile = profiles.get_profile(g.api_account, id)
    return conditional.with_etag(shapes.profile_fields(profile), profile)


@bp.put("/profile/<int:id>/fields")
@bp.post("/profile/<int:id>/fields")
def update_profile_fields(id: int):
    """OpenAPI:

    ---
    put:
      summary: Change some of a profile's fields
      parameters:
        - id
        - ifMatch
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/Values'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    post:
      summary: Change some of a profile's fields
      parameters:
        - id
        - ifMatch
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/Values'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    values = shapes.field_values(shapes.body_object())
    profiles.update_profile(
        g.api_account, id, values, origin=g.api_origin, expected_version=conditional.expected_version()
    )
    return no_content()


@bp.put("/profile/<int:id>/interests")
@bp.post("/profile/<int:id>/interests")
def update_profile_interests(id: int):
    """Switch interests on or off (``{"name": 1}``, or a list of names to switch on).

    ---
    put:
      summary: Switch a profile's interests
      parameters:
        - id
        - ifMatch
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/Interests'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    post:
      summary: Switch a profile's interests
      parameters:
        - id
        - ifMatch
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/Interests'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = request.get_json(silent=True)
    interests = shapes.interests(data if isinstance(data, list | dict) else {})
    profiles.update_profile(
        g.api_account,
        id,
        {},
        origin=g.api_origin,
        interests=interests,
        expected_version=conditional.expected_version(),
    )
    return no_content()


@bp.delete("/profile/<int:id>")
def delete_profile(id: int):
    """OpenAPI:

    ---
    delete:
      summary: Remove a profile with its subprofiles
      parameters:
        - id
        - ifMatch
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    profiles.delete_profile(g.api_account, id, origin=g.api_origin, expected_version=conditional.expected_version())
    return no_content()


# --- subprofiles --------------------------------------------------------------------------------


@bp.get("/profile/<int:id>/subprofiles/<collection>")
def profile_subprofiles(id: int, collection: str):
    """OpenAPI:

    ---
    get:
      summary: A profile's subprofiles in a collection matching every fields[] condition
      parameters:
        - id
        - collection
        - start
        - limit
        - total
        - fields
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/SubprofileList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    start, limit = shapes.paging()
    found_collection = collection_of(profiles.get_profile(g.api_account, id), collection)
    found = search.search_subprofiles(
        g.api_account,
        found_collection.id,
        shapes.requirements(),
        profile_id=id,
        start=start,
        length=limit,
        count=shapes.flag("total", True),
    )
    return jsonify(shapes.listing([shapes.subprofile(s) for s in found.items], found.start, limit, found.total))


@bp.post("/profile/<int:id>/subprofiles/<collection>")
def create_subprofile(id: int, collection: str):
    """OpenAPI:

    ---
    post:
      summary: Create a subprofile
      parameters:
        - id
        - collection
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/Values'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    found_collection = collection_of(profiles.get_profile(g.api_account, id), collection)
    values, _ignored = shapes.values_and_interests(shapes.body_object())
    subprofile = subprofiles.create_subprofile(g.api_account, id, found_collection.id, values, origin=g.api_origin)
    return created("get_subprofile", subprofile.id)


@bp.put("/profile/<int:id>/subprofiles/<collection>")
def update_subprofiles(id: int, collection: str):
    """Set the body's fields on the profile's subprofiles matching ``fields[]`` (all without conditions);
    with ``create=true`` and no match, create one from the ``==`` conditions and the body.

    ---
    put:
      summary: Update the profile's subprofiles matching fields[] (or create one with create=true)
      parameters:
        - id
        - collection
        - fields
        - create
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/ProfileInput'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    found_collection = collection_of(profiles.get_profile(g.api_account, id), collection)
    values, _ignored = shapes.values_and_interests(shapes.body_object())
    search.update_matching_subprofiles(
        g.api_account,
        found_collection.id,
        shapes.requirements(),
        values,
        profile_id=id,
        create=shapes.flag("create"),
        origin=g.api_origin,
    )
    return no_content()


@bp.get("/subprofile/<int:id>")
def get_subprofile(id: int):
    """OpenAPI:

    ---
    get:
      summary: A subprofile
      parameters:
        - id
      responses:
        '200': {$ref: '#/components/responses/SubprofileWithETag'}
        default: {$ref: '#/components/responses/Problem'}
    """
    subprofile = subprofiles.get_subprofile(g.api_account, id)
    return conditional.with_etag(shapes.subprofile(subprofile), subprofile)


@bp.get("/subprofile/<int:id>/fields")
def subprofile_fields(id: int):
    """OpenAPI:

    ---
    get:
      summary: A subprofile's fields by name
      parameters:
        - id
      responses:
        '200': {$ref: '#/components/responses/ValuesWithETag'}
        default: {$ref: '#/components/responses/Problem'}
    """
    subprofile = subprofiles.get_subprofile(g.api_account, id)
    return conditional.with_etag(shapes.subprofile_fields(subprofile), subprofile)


@bp.put("/subprofile/<int:id>/fields")
@bp.post("/subprofile/<int:id>/fields")
def update_subprofile_fields(id: int):
    """OpenAPI:

    ---
    put:
      summary: Change some of a subprofile's fields
      parameters:
        - id
        - ifMatch
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/Values'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    post:
      summary: Change some of a subprofile's fields
      parameters:
        - id
        - ifMatch
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/Values'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    values = shapes.field_values(shapes.body_object())
    subprofiles.update_subprofile(
        g.api_account, id, values, origin=g.api_origin, expected_version=conditional.expected_version()
    )
    return no_content()


@bp.delete("/subprofile/<int:id>")
def delete_subprofile(id: int):
    """OpenAPI:

    ---
    delete:
      summary: Remove a subprofile
      parameters:
        - id
        - ifMatch
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    subprofiles.delete_subprofile(
        g.api_account, id, origin=g.api_origin, expected_version=conditional.expected_version()
    )
    return no_content()


@bp.post("/database/<int:id>/profiles/batch")
def batch_upsert(id: int):
    """Create or update up to 1,000 profiles at once, matched on ``keys`` (Verrijk's own; see
    ``profiles/batch_upserts.py``): ``{"keys": ["customer_id"], "profiles": [{name: value}, …]}``.

    ---
    post:
      summary: Create or update up to 1,000 profiles matched on key fields, all or nothing
      parameters:
        - id
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/BatchInput'}}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/BatchResult'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    rows, keys = data.get("profiles"), data.get("keys")
    if not isinstance(rows, list) or not isinstance(keys, list):
        raise ValidationError({"profiles": _('Send {"keys": [field names], "profiles": [objects]}.')})
    origin = shapes.stating(data.get("consent"))
    result = batch_upserts.upsert_profiles(g.api_account, id, rows, keys, origin=origin)
    return jsonify({"created": result.created, "updated": result.updated, "unchanged": result.unchanged})
