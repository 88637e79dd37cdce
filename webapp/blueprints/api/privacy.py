"""A person's rights through REST: find a person by address, their access export, and erasure or anonymisation
(a durable job whose report is read back) — thin adapters over ``webapp.privacy``, the functions the admin's
Privacy pages and SOAP's ``Account_accessExport`` and ``Account_erasePerson`` call.

Every call needs the ``admin`` scope (it reads or removes everything about a person). The address travels in the
JSON body of a POST, never in the URL, so that it stays out of access logs and proxies.
"""

from typing import Any

from flask import Response, g, jsonify, request, url_for
from flask_babel import gettext as _

from webapp.accounts import audit
from webapp.blueprints.api import bp, shapes
from webapp.blueprints.api.auth import needs
from webapp.models import PrivacyRequest
from webapp.platform.errors import ValidationError
from webapp.privacy import access, erasure, people

PERSON_KEYS = {"email", "profile"}


def _person(data: dict[str, Any], allowed: set[str]) -> tuple[str, int | None]:
    """The ``email`` (a string) and ``profile`` (an id) of a body; one of them is needed."""
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationError({name: _("%(name)s is not a parameter of this call.", name=name) for name in unknown})
    email, profile = data.get("email", ""), data.get("profile")
    if not isinstance(email, str):
        raise ValidationError({"email": _("%(name)s has the wrong type.", name="email")})
    if profile is not None and (isinstance(profile, bool) or not str(profile).isdigit() or len(str(profile)) > 18):
        raise ValidationError({"profile": _("%(name)s has the wrong type.", name="profile")})
    if not email and profile is None:
        raise ValidationError({"email": _("Give the person's email address or a profile id.")})
    return email, int(profile) if profile is not None else None


def _request_shape(found: PrivacyRequest) -> dict[str, Any]:
    return {
        "ID": str(found.id),
        "kind": found.kind,
        "status": found.status,
        "profiles": [str(profile_id) for profile_id in found.profile_ids or []],
        "requested_by": found.requested_by,
        "created": shapes.timestamp(found.created_at),
        "finished": shapes.timestamp(found.finished_at),
        "report": found.report or {},
    }


@bp.post("/privacy/lookup")
@needs("admin")
def privacy_lookup():
    """The profiles of the account (every database) whose email field holds the address.

    ---
    post:
      summary: Find a person by email address (admin scope)
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/PersonByAddress'}}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Person'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    email, _profile = _person(shapes.body_object(), {"email"})
    address = people.checked_address(email)
    found = people.profiles_with_address(g.api_account, address)
    return jsonify(
        {
            "email": address,
            "profiles": [{"ID": str(profile.id), "database": str(profile.database_id)} for profile in found],
        }
    )


@bp.post("/privacy/access")
@needs("admin")
def privacy_access():
    """The access export (the same JSON document as the admin's download and SOAP's), at once.

    ---
    post:
      summary: Everything held about a person, by address or profile (admin scope)
      parameters:
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/PersonInput'}}}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/AccessExport'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    email, profile = _person(shapes.body_object(), PERSON_KEYS)
    if profile is not None:
        return jsonify(access.export_for_profile(g.api_account, profile))
    return jsonify(access.export_for_address(g.api_account, email))


@bp.post("/privacy/erasures")
@needs("admin")
def create_erasure():
    """Erase (``kind`` ``erase``, the default) or anonymise the person: a durable job; poll its ``Location``.

    ---
    post:
      summary: Erase or anonymise a person, in the background (admin scope)
      parameters:
        - idempotencyKey
      requestBody:
        content: {application/json: {schema: {$ref: '#/components/schemas/ErasureInput'}}}
      responses:
        '202':
          description: Accepted; the request's state is at Location
          headers: {X-Created: {schema: {type: string}}, Location: {schema: {type: string}}}
          content: {application/json: {schema: {$ref: '#/components/schemas/Erasure'}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    data = shapes.body_object()
    kind = data.pop("kind", "erase")
    if not isinstance(kind, str):
        raise ValidationError({"kind": _("Choose erase or anonymise.")})
    email, profile = _person(data, PERSON_KEYS)
    made = erasure.request_erasure(
        g.api_account,
        kind=kind,
        requested_by=audit.current_actor().label,
        address=email,
        profile_id=profile,
    )
    response: Response = jsonify(_request_shape(made))
    response.status_code = 202
    response.headers["X-Created"] = str(made.id)
    response.headers["Location"] = url_for(f"{request.blueprint}.get_erasure", id=made.id, _external=True)
    return response


@bp.get("/privacy/erasures/<int:id>")
@needs("admin")
def get_erasure(id: int):
    """``pending`` while the job waits or runs; then ``done`` with the report (rows per table: counts only).

    ---
    get:
      summary: An erasure or anonymisation and its report (admin scope)
      parameters:
        - id
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/Erasure'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    return jsonify(_request_shape(erasure.get_request(g.api_account, id)))
