"""Selections over REST, in Copernica's words: a *view* (``GET database/{id}/views``, ``GET view/{id}``,
``GET view/{id}/profiles``, ``POST database/{id}/views``), over ``selections.selections`` as the admin's
selection pages call it.

A view's ``rules`` are Verrijk's rule tree (``docs/selections.md``: ``{"match": "all", "rules": [...]}``),
validated by the rules package; Copernica's rules and conditions objects are SOAP's (``View_createRule``).
Reading needs ``read``; creating, changing and removing a selection changes the account's set-up: ``admin``.
The members of a collection selection are subprofiles.
"""

from flask import g, jsonify

from webapp.blueprints.api import bodies, bp, shapes
from webapp.blueprints.api import marketing_shapes as marketing
from webapp.blueprints.api.auth import needs
from webapp.blueprints.api.copernica import created, no_content
from webapp.models import Profile
from webapp.selections import selections


@bp.get("/database/<int:id>/views")
def database_views(id: int):
    """OpenAPI:

    ---
    get:
      summary: A database's selections (Copernica's views), with their rules and last count
      parameters:
        - id
        - start
        - limit
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/ViewList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.in_memory([marketing.view(s) for s in selections.list_selections(g.api_account, id)]))


@bp.post("/database/<int:id>/views")
@needs("admin")
def create_view(id: int):
    """OpenAPI:

    ---
    post:
      summary: Create a selection from a rule tree (admin scope)
      parameters:
        - id
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/ViewInput'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    selection = selections.create_selection(
        g.api_account,
        id,
        bodies.text(data, "name", "") or "",
        description=bodies.text(data, "description", "") or "",
        collection_id=bodies.identifier(data, "collection"),
        rules=bodies.structure(data, "rules", dict),
    )
    return created("get_view", selection.id)


@bp.get("/view/<int:id>")
def get_view(id: int):
    """OpenAPI:

    ---
    get:
      summary: A selection (Copernica's view)
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/View'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(marketing.view(selections.get_selection(g.api_account, id)))


@bp.put("/view/<int:id>")
@needs("admin")
def update_view(id: int):
    """Rename, describe or give new rules; what the body leaves out stays as it is.

    ---
    put:
      summary: Change a selection's name, description or rules (admin scope)
      parameters:
        - id
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/ViewInput'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    selections.update_selection(
        g.api_account,
        id,
        name=bodies.text(data, "name"),
        description=bodies.text(data, "description"),
        rules=bodies.structure(data, "rules", dict),
    )
    return no_content()


@bp.delete("/view/<int:id>")
@needs("admin")
def delete_view(id: int):
    """OpenAPI:

    ---
    delete:
      summary: Remove a selection (refused while rules, follow-ups or callbacks use it) (admin scope)
      parameters:
        - id
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    selections.delete_selection(g.api_account, id)
    return no_content()


@bp.get("/view/<int:id>/profiles")
def view_profiles(id: int):
    """The members in id order; a collection selection's are subprofiles.

    ---
    get:
      summary: A selection's members (profiles, or subprofiles of a collection selection), paged
      parameters:
        - id
        - start
        - limit
        - total
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/MemberList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    start, limit = shapes.paging()
    page = selections.members(g.api_account, id, start=start, length=limit, total=shapes.flag("total", True))
    items = [shapes.profile(row) if isinstance(row, Profile) else shapes.subprofile(row) for row in page.items]
    return jsonify(shapes.listing(items, page.start, limit, page.total))
