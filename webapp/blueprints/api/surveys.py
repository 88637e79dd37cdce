"""Surveys over REST: list, read (pages, settings), and their responses (keyset pages, newest first, as form
submissions page): thin adapters over ``surveys.builder`` and ``surveys.results``. Reading needs ``read``;
building a survey stays in the admin's visual builder.

A response is ``{"ID", "survey", "profile", "language", "answers" (by question id), "hidden" (the hidden
fields captured), "pages" (the pages answered on the path taken), "completed", …}``.
"""

from flask import g, jsonify, request
from flask_babel import gettext as _

from webapp.blueprints.api import bp, shapes
from webapp.blueprints.api import marketing_shapes as marketing
from webapp.platform.errors import ValidationError
from webapp.surveys import builder, results

MAX_RESPONSES = 100
PAGE_SIZE = 50


@bp.get("/surveys")
def list_surveys():
    """OpenAPI:

    ---
    get:
      summary: The account's surveys (of one database with database=ID)
      parameters:
        - start
        - limit
        - {name: database, in: query, schema: {type: integer, minimum: 1}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/SurveyList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    found = builder.list_surveys(g.api_account, shapes.optional_id("database"))
    return jsonify(shapes.in_memory([marketing.survey(survey) for survey in found]))


@bp.get("/survey/<int:id>")
def get_survey(id: int):
    """OpenAPI:

    ---
    get:
      summary: A survey with its pages and settings
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Survey'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(marketing.survey(builder.get_survey(g.api_account, id)))


@bp.get("/survey/<int:id>/responses")
def survey_responses(id: int):
    """Responses newest first; ``before`` is the ``next`` of the previous page.

    ---
    get:
      summary: A survey's responses, newest first (keyset pages)
      parameters:
        - id
        - {name: completed, in: query, schema: {type: boolean}, description: only completed (true) or partial (false)}
        - {name: before, in: query, schema: {type: integer, minimum: 1}}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/ResponsePage'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    given = request.args.get("completed", "").strip().lower()
    if given not in ("", "true", "false", "1", "0"):
        raise ValidationError({"completed": _("completed is true or false.")})
    completed = None if not given else given in ("true", "1")
    limit = shapes.whole_number("limit", 1, MAX_RESPONSES, PAGE_SIZE)
    page = results.list_responses(
        g.api_account, id, completed=completed, before_id=shapes.optional_id("before"), limit=limit
    )
    data = [marketing.survey_response(response) for response in page.responses]
    following = str(page.next_before_id) if page.next_before_id else None
    return jsonify({"limit": limit, "count": len(data), "next": following, "data": data})
