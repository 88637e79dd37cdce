"""Web forms and their submissions, and follow-ups (list, enable, disable): thin adapters over the domain
functions the admin's pages call (``webforms.builder``, ``webforms.results``, ``followups.definitions``).

Forms and their submissions need the ``read`` scope; switching a follow-up on or off changes the account's
set-up and needs ``admin``. Submissions are paged newest first by keyset (``before``: the ``next`` of the
previous page), as the admin's results page pages them.
"""

from flask import g, jsonify, request
from flask_babel import gettext as _

from webapp.blueprints.api import bp, shapes
from webapp.blueprints.api.auth import needs
from webapp.followups import definitions as followup_definitions
from webapp.platform.errors import ValidationError
from webapp.webforms import builder as form_builder
from webapp.webforms import results as form_results

MAX_SUBMISSIONS = 100


@bp.get("/forms")
def list_forms():
    """OpenAPI:

    ---
    get:
      summary: The account's web forms (of one database with database=ID), with their settings and accepted submissions
      parameters:
        - start
        - limit
        - {name: database, in: query, schema: {type: integer, minimum: 1}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/FormList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    database_id = shapes.optional_id("database")
    rows = form_builder.list_forms(g.api_account, database_id)
    return jsonify(shapes.in_memory([shapes.form(form, accepted) for form, accepted in rows]))


@bp.get("/form/<int:id>")
def get_form(id: int):
    """OpenAPI:

    ---
    get:
      summary: A web form, its settings as PUT takes them (texts in every language) and its counts per status
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Form'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    form = form_builder.get_form(g.api_account, id)
    counts = form_results.count_submissions(g.api_account, form.id)
    return jsonify(shapes.form(form, counts.get("accepted", 0), counts=counts))


@bp.get("/form/<int:id>/submissions")
def form_submissions(id: int):
    """Submissions newest first; ``before`` is the ``next`` of the previous page.

    ---
    get:
      summary: A web form's submissions, newest first (keyset pages)
      parameters:
        - id
        - {name: status, in: query, schema: {type: string, enum: [accepted, invalid, rejected]}}
        - {name: since, in: query, schema: {type: string, format: date}}
        - {name: until, in: query, schema: {type: string, format: date}}
        - {name: before, in: query, schema: {type: integer, minimum: 1}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/SubmissionPage'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    form = form_builder.get_form(g.api_account, id)
    chosen = form_results.parse_filter(request.args.get("status"), request.args.get("since"), request.args.get("until"))
    limit = shapes.whole_number("limit", 1, MAX_SUBMISSIONS, form_results.PAGE_SIZE)
    before = shapes.optional_id("before")
    page = form_results.list_submissions(g.api_account, form.id, chosen, before_id=before, limit=limit)
    names = form_results.column_names(g.api_account, form)
    data = [shapes.submission(submission, names) for submission in page.submissions]
    following = str(page.next_before_id) if page.next_before_id else None
    return jsonify({"limit": limit, "count": len(data), "next": following, "data": data})


@bp.get("/database/<int:id>/followups")
def database_followups(id: int):
    """OpenAPI:

    ---
    get:
      summary: A database's follow-ups
      parameters:
        - id
        - start
        - limit
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/FollowUpList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    found = followup_definitions.list_followups(g.api_account, id)
    return jsonify(shapes.in_memory([shapes.followup(followup) for followup in found]))


@bp.get("/followup/<int:id>")
def get_followup(id: int):
    """OpenAPI:

    ---
    get:
      summary: A follow-up
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/FollowUp'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.followup(followup_definitions.get_followup(g.api_account, id)))


@bp.put("/followup/<int:id>/status")
@needs("admin")
def set_followup_status(id: int):
    """``{"status": "active"}`` switches the follow-up on, ``{"status": "paused"}`` off (admin scope).

    ---
    put:
      summary: Enable (active) or disable (paused) a follow-up
      parameters:
        - id
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/FollowUpStatus'}}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/FollowUp'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    wanted = shapes.body_object().get("status")
    if wanted == "active":
        followup = followup_definitions.resume_followup(g.api_account, id)
    elif wanted == "paused":
        followup = followup_definitions.pause_followup(g.api_account, id)
    else:
        raise ValidationError({"status": _("Give the status active (enabled) or paused (disabled).")})
    return jsonify(shapes.followup(followup))
