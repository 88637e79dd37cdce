"""Writing web forms and follow-ups over REST (``admin`` scope: they change the account's set-up), and a form's
results per day: thin adapters over ``webforms.builder``, ``webforms.results`` and ``followups.definitions``.

- ``POST forms`` ``{"name", "database", "collection"}`` makes a form as the admin's "new form" does;
  ``PUT form/{id}`` changes what it does on submit (``name``, ``collection``, ``behaviour``, ``key_fields``,
  ``on_no_match``, ``origins``, ``submit_label``, ``success_message``, ``redirect_url``,
  ``max_submissions_per_profile``, ``min_fill_seconds``, ``notify_email``, ``double_opt_in``), keeping what it
  leaves out; its items are built in the admin's builder.
- ``POST database/{id}/followups`` and ``PUT followup/{id}``: ``{"name", "collection", "form", "trigger",
  "activation_condition", "execution_condition", "delay", "actions"}`` in the shapes of ``docs/follow-ups.md``,
  validated by ``followups.definitions`` (the one validator, errors by part); a change keeps what it leaves out.
"""

from typing import Any

from flask import g, jsonify

from webapp.blueprints.api import bodies, bp, shapes
from webapp.blueprints.api.auth import needs
from webapp.blueprints.api.copernica import created, no_content
from webapp.followups import definitions as followup_definitions
from webapp.models import FollowUp
from webapp.webforms import builder as form_builder
from webapp.webforms import results as form_results

PARTS = ("trigger", "activation_condition", "execution_condition", "delay")


@bp.post("/forms")
@needs("admin")
def create_form():
    """OpenAPI:

    ---
    post:
      summary: Create a web form that creates profiles (its items are built in the admin) (admin scope)
      parameters:
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/FormInput'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    form = form_builder.create_form(
        g.api_account,
        bodies.identifier(data, "database") or 0,
        name=bodies.text(data, "name", "") or "",
        collection_id=bodies.identifier(data, "collection"),
    )
    return created("get_form", form.id)


@bp.put("/form/<int:id>")
@needs("admin")
def update_form(id: int):
    """OpenAPI:

    ---
    put:
      summary: Change what a web form does on submit and where it may be embedded (admin scope)
      parameters:
        - id
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/FormSettingsInput'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    form = form_builder.get_form(g.api_account, id)
    settings = form_builder.settings_of(form)
    keys = bodies.identifiers(data, "key_fields") if "key_fields" in data else form_builder.key_fields_of(form)
    collection = bodies.identifier(data, "collection") if "collection" in data else form.collection_id
    form_builder.update_settings(
        g.api_account,
        form.id,
        name=bodies.text(data, "name", form.name) or "",
        collection_id=collection,
        behaviour=bodies.text(data, "behaviour", form.behaviour) or "",
        key_field_ids=keys,
        on_no_match=bodies.text(data, "on_no_match", form.on_no_match) or "",
        allowed_origins=_texts(data, "origins", list(form.allowed_origins or [])),
        submit_label=bodies.localized_text(data, "submit_label", settings["submit_label"]) or "",
        success_message=bodies.localized_text(data, "success_message", settings["success_message"]) or "",
        redirect_url=bodies.text(data, "redirect_url", settings["redirect_url"]) or "",
        max_submissions_per_profile=bodies.number(
            data, "max_submissions_per_profile", settings["max_submissions_per_profile"]
        )
        or 0,
        min_fill_seconds=bodies.number(data, "min_fill_seconds", settings["min_fill_seconds"]) or 0,
        notify_email=bodies.text(data, "notify_email", settings["notify_email"]) or "",
        double_opt_in=bodies.structure(data, "double_opt_in", dict, settings["double_opt_in"]),
        languages=_texts(data, "languages", list(settings.get("languages") or [])),
        language_field_id=(
            bodies.identifier(data, "language_field") if "language_field" in data else settings.get("language_field_id")
        ),
    )
    return no_content()


def _texts(data: dict[str, Any], name: str, default: list[str]) -> list[str]:
    given = bodies.structure(data, name, list)
    if given is None:
        return default
    return [bodies.text({name: item}, name, "") or "" for item in given]


@bp.delete("/form/<int:id>")
@needs("admin")
def delete_form(id: int):
    """OpenAPI:

    ---
    delete:
      summary: Remove a web form with its submissions (admin scope)
      parameters:
        - id
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    form_builder.delete_form(g.api_account, id)
    return no_content()


@bp.get("/form/<int:id>/results")
def form_results_per_day(id: int):
    """OpenAPI:

    ---
    get:
      summary: A web form's views and accepted submissions per day (oldest first) and its counts per status
      parameters:
        - id
        - {name: days, in: query, schema: {type: integer, minimum: 1, maximum: 365}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/FormResults'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    form = form_builder.get_form(g.api_account, id)
    days = shapes.whole_number("days", 1, 365, 30)
    per_day = form_results.conversion(g.api_account, form.id, days=days)
    return jsonify(
        {
            "ID": str(form.id),
            "submissions": form_results.count_submissions(g.api_account, form.id),
            "days": [
                {"day": row.day.isoformat(), "views": row.views, "submissions": row.submissions} for row in per_day
            ],
        }
    )


# --- follow-ups ------------------------------------------------------------------------------------


def _draft(data: dict[str, Any], current: FollowUp | None = None) -> followup_definitions.Draft:
    """A draft from the body; for a change, what the body leaves out is the follow-up's current definition."""
    draft = followup_definitions.draft_of(current) if current else followup_definitions.Draft()
    draft.name = bodies.text(data, "name", draft.name) or ""
    if "collection" in data:
        draft.collection_id = bodies.identifier(data, "collection")
    if "form" in data:
        draft.form_id = bodies.identifier(data, "form")
    for part in PARTS:
        setattr(draft, part, bodies.structure(data, part, dict, getattr(draft, part)))
    draft.actions = bodies.structure(data, "actions", list, draft.actions)
    return draft


@bp.post("/database/<int:id>/followups")
@needs("admin")
def create_followup(id: int):
    """OpenAPI:

    ---
    post:
      summary: Create an active follow-up (admin scope)
      parameters:
        - id
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/FollowUpInput'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    followup = followup_definitions.create_followup(g.api_account, id, _draft(shapes.body_object()))
    return created("get_followup", followup.id)


@bp.put("/followup/<int:id>")
@needs("admin")
def update_followup(id: int):
    """OpenAPI:

    ---
    put:
      summary: Change a follow-up's definition; scheduled runs keep their time and run the new actions (admin scope)
      parameters:
        - id
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/FollowUpInput'}}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/FollowUp'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    current = followup_definitions.get_followup(g.api_account, id)
    followup = followup_definitions.update_followup(g.api_account, current.id, _draft(shapes.body_object(), current))
    return jsonify(shapes.followup(followup))


@bp.delete("/followup/<int:id>")
@needs("admin")
def delete_followup(id: int):
    """OpenAPI:

    ---
    delete:
      summary: Remove a follow-up with its runs (waiting runs never run) (admin scope)
      parameters:
        - id
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    followup_definitions.delete_followup(g.api_account, id)
    return no_content()
