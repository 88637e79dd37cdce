"""Mailings over REST: list, read (with results), create, change, remove; send now, schedule, start a
repeating one, pause, resume, cancel; results. Thin adapters over ``mailings.definitions``, ``.lifecycle``
and ``.results``, which the admin's mailing pages call.

Reading needs ``read``; everything else ``admin`` (a mailing writes to every member of its selections). A
definition's body: ``{"name", "database", "template", "targets": [view ids], "exclusions": [view ids],
"subject", "sender", "per_minute", "domain_limits": {domain: per minute}, "variants": [{"subject",
"template"}], "ab_percent", "ab_wait_minutes", "ab_metric", "repeat": {"weekdays": [0-6], "time": "HH:MM"}}``;
a change (``PUT``) keeps what it leaves out. ``POST mailing/{id}/send`` sends now, with ``{"at": time}`` (ISO
8601; without a zone: UTC) it schedules, and a mailing with a ``repeat`` starts repeating.
"""

from datetime import UTC, datetime
from typing import Any

from flask import g, jsonify
from flask_babel import gettext as _

from webapp.blueprints.api import bodies, bp, shapes
from webapp.blueprints.api import marketing_shapes as marketing
from webapp.blueprints.api.auth import needs
from webapp.blueprints.api.copernica import created, no_content
from webapp.mailings import definitions, lifecycle, results
from webapp.models import Mailing
from webapp.platform.errors import ValidationError


def _variants(data: dict[str, Any], current: Mailing | None) -> list[dict[str, Any]]:
    given = bodies.structure(data, "variants", list)
    if given is None:
        return [dict(variant) for variant in (current.variants if current else None) or []]
    variants = []
    for item in given:
        try:
            if not isinstance(item, dict):
                raise ValidationError({})
            template_id = bodies.identifier(item, "template")
            variants.append({"subject": bodies.text(item, "subject", "") or "", "template_id": template_id})
        except ValidationError:
            raise ValidationError({"variants": _('Give each variant as {"subject": text, "template": id}.')}) from None
    return variants


def _limits(data: dict[str, Any], current: Mailing | None) -> dict[str, int]:
    given = bodies.structure(data, "domain_limits", dict)
    if given is None:
        return dict((current.domain_limits if current else None) or {})
    if not all(isinstance(limit, int) and not isinstance(limit, bool) for limit in given.values()):
        message = _("Give each domain's limit as a whole number of messages per minute.")
        raise ValidationError({"domain_limits": message})
    return {str(domain): limit for domain, limit in given.items()}


def _values(data: dict[str, Any], current: Mailing | None = None) -> definitions.MailingValues:
    """The definition in the body; for a change, what the body leaves out is the mailing's current value."""

    def kept(name: str, attribute: str, default: Any) -> Any:
        return getattr(current, attribute) if current is not None and name not in data else default

    return definitions.MailingValues(
        name=bodies.text(data, "name", kept("name", "name", "")) or "",
        database_id=bodies.identifier(data, "database") or kept("database", "database_id", 0),
        template_id=bodies.identifier(data, "template") or kept("template", "template_id", None),
        target_ids=bodies.identifiers(data, "targets") or list(kept("targets", "target_ids", [])),
        exclude_ids=bodies.identifiers(data, "exclusions") or list(kept("exclusions", "exclude_ids", [])),
        subject=bodies.text(data, "subject", kept("subject", "subject", "")) or "",
        sender=bodies.text(data, "sender", kept("sender", "sender", "")) or "",
        per_minute=bodies.number(data, "per_minute", kept("per_minute", "per_minute", None)),
        domain_limits=_limits(data, current),
        variants=_variants(data, current),
        ab_percent=bodies.number(data, "ab_percent", kept("ab_percent", "ab_percent", 20)) or 0,
        ab_wait_minutes=bodies.number(data, "ab_wait_minutes", kept("ab_wait_minutes", "ab_wait_minutes", 240)) or 0,
        ab_metric=bodies.text(data, "ab_metric", kept("ab_metric", "ab_metric", "opens")) or "",
        repeat=bodies.structure(data, "repeat", dict, kept("repeat", "repeat", {})) or {},
    )


def _moment(given: str) -> datetime:
    """An ISO 8601 time as naive UTC (without a zone it is UTC)."""
    try:
        moment = datetime.fromisoformat(given.strip())
    except ValueError:
        message = _("Give the time as YYYY-MM-DD HH:MM:SS (UTC) or ISO 8601 with a zone.")
        raise ValidationError({"at": message}) from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


@bp.get("/mailings")
def list_mailings():
    """OpenAPI:

    ---
    get:
      summary: The account's mailings, newest first (occurrences of a repeating mailing too)
      parameters:
        - start
        - limit
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/MailingList'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(shapes.in_memory([marketing.mailing(m) for m in definitions.list_mailings(g.api_account)]))


@bp.post("/mailings")
@needs("admin")
def create_mailing():
    """OpenAPI:

    ---
    post:
      summary: Create a draft mailing (admin scope)
      parameters:
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/MailingInput'}}}
      responses:
        '201': {$ref: '#/components/responses/Created'}
        default: {$ref: '#/components/responses/Problem'}
    """
    mailing = definitions.create_mailing(g.api_account, _values(shapes.body_object()))
    return created("get_mailing", mailing.id)


@bp.get("/mailing/<int:id>")
def get_mailing(id: int):
    """OpenAPI:

    ---
    get:
      summary: A mailing with its results so far
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Mailing'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    mailing = definitions.get_mailing(g.api_account, id)
    shape = marketing.mailing(mailing)
    shape["results"] = marketing.mailing_results(mailing, results.results_of(g.api_account, mailing.id))
    return jsonify(shape)


@bp.put("/mailing/<int:id>")
@needs("admin")
def update_mailing(id: int):
    """OpenAPI:

    ---
    put:
      summary: Change a mailing that has not started sending (admin scope)
      parameters:
        - id
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/MailingInput'}}}
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    current = definitions.get_mailing(g.api_account, id)
    definitions.update_mailing(g.api_account, current.id, _values(shapes.body_object(), current))
    return no_content()


@bp.delete("/mailing/<int:id>")
@needs("admin")
def delete_mailing(id: int):
    """OpenAPI:

    ---
    delete:
      summary: Remove a mailing that never sent (admin scope)
      parameters:
        - id
      responses:
        '204': {description: Done}
        default: {$ref: '#/components/responses/Problem'}
    """
    definitions.delete_mailing(g.api_account, id)
    return no_content()


@bp.post("/mailing/<int:id>/send")
@needs("admin")
def send_mailing(id: int):
    """OpenAPI:

    ---
    post:
      summary: Send now, at a time ({"at"}), or start repeating a mailing with a repeat schedule (admin scope)
      parameters:
        - id
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/MailingSend'}}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Mailing'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    at = bodies.text(shapes.body_object(), "at")
    if at:
        mailing = lifecycle.schedule_at(g.api_account, id, _moment(at))
    elif definitions.get_mailing(g.api_account, id).repeat:
        mailing = lifecycle.start_repeating(g.api_account, id)
    else:
        mailing = lifecycle.send_now(g.api_account, id)
    return jsonify(marketing.mailing(mailing))


@bp.post("/mailing/<int:id>/pause")
@needs("admin")
def pause_mailing(id: int):
    """OpenAPI:

    ---
    post:
      summary: Pause a sending mailing (admin scope)
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Mailing'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(marketing.mailing(lifecycle.pause(g.api_account, id)))


@bp.post("/mailing/<int:id>/resume")
@needs("admin")
def resume_mailing(id: int):
    """OpenAPI:

    ---
    post:
      summary: Resume a paused mailing (admin scope)
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Mailing'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(marketing.mailing(lifecycle.resume(g.api_account, id)))


@bp.post("/mailing/<int:id>/cancel")
@needs("admin")
def cancel_mailing(id: int):
    """OpenAPI:

    ---
    post:
      summary: Cancel a sending, scheduled or repeating mailing for good (admin scope)
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Mailing'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(marketing.mailing(lifecycle.cancel(g.api_account, id)))


@bp.get("/mailing/<int:id>/results")
def mailing_results(id: int):
    """OpenAPI:

    ---
    get:
      summary: A mailing's results (recipients by status, sent, delivered, bounces, opens, clicks, links)
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/MailingResults'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    mailing = definitions.get_mailing(g.api_account, id)
    return jsonify(marketing.mailing_results(mailing, results.results_of(g.api_account, mailing.id)))
