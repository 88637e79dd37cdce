"""Copernica's REST JSON shapes, and its ``fields[]`` conditions as search requirements.

- A list: ``{"start", "limit", "count", "total", "data"}`` (``total`` left out when the caller asks
  ``total=false``).
- A profile: ``ID``, ``fields`` (name → value), ``interests`` (names of the interests it has), ``database``,
  ``secret`` (its code), ``created``, ``modified``, ``removed``; a subprofile likewise with ``profile`` and
  ``collection``. Ids are strings and values text, as Copernica sends them: numbers as written, dates
  ``YYYY-MM-DD``, a multiple choice field's choices comma-separated, an empty value ``""``.
- ``fields[]=name==value``: the operators ``==``, ``!=`` (or ``<>``), ``<``, ``>``, ``<=``, ``>=``, ``=~``
  (like, with ``%`` and ``_``) and ``!~`` (not like).
"""

from dataclasses import replace
from datetime import datetime
from typing import Any

from flask import g, request
from flask_babel import gettext as _

from webapp.accounts import audit
from webapp.models import (
    Callback,
    Collection,
    Database,
    ExportDefinition,
    ExportRun,
    Field,
    FollowUp,
    Form,
    FormSubmission,
    ImportDefinition,
    ImportRun,
    ImportRunStatus,
    Interest,
    Profile,
    Subprofile,
)
from webapp.platform.errors import ValidationError
from webapp.profiles import consents
from webapp.profiles.events import Origin
from webapp.profiles.field_types import format_value
from webapp.profiles.flags import parse_flag
from webapp.profiles.search import Requirement
from webapp.webforms import builder as form_builder

TIMESTAMP = "%Y-%m-%d %H:%M:%S"
TYPES = {"number": "integer", "decimal": "float", "choice": "select", "large_text": "big", "reference": "foreign_key"}
# Two-character operators first: "<=" is not "<" followed by "=value".
OPERATORS = (
    ("==", "="),
    ("!=", "!="),
    ("<>", "!="),
    ("<=", "<="),
    (">=", ">="),
    ("=~", "LIKE"),
    ("!~", "NOT LIKE"),
    ("<", "<"),
    (">", ">"),
)
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_START = 2**31 - 1  # an offset beyond any list, and within what the database takes


def timestamp(value: datetime | None) -> str:
    return value.strftime(TIMESTAMP) if value else ""


def text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


# --- input ----------------------------------------------------------------------------------------


def requirements() -> list[Requirement]:
    """The request's ``fields[]`` conditions (``fields`` without brackets too)."""
    conditions = request.args.getlist("fields[]") + request.args.getlist("fields")
    return [_requirement(condition) for condition in conditions if condition.strip()]


def _requirement(condition: str) -> Requirement:
    for position in range(1, len(condition)):
        for token, operator in OPERATORS:
            if condition.startswith(token, position):
                name, value = condition[:position].strip(), condition[position + len(token) :]
                return Requirement(fieldname=name, value=value, operator=operator)
    raise ValidationError(
        {"fields[]": _("%(condition)s is not a condition like name==value.", condition=condition[:100])}
    )


def flag(name: str, default: bool = False) -> bool:
    value = request.args.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def paging() -> tuple[int, int]:
    """``start`` and ``limit`` from the query (bad numbers are a validation error)."""
    try:
        start = int(request.args.get("start", 0))
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise ValidationError({"start": _("start and limit are whole numbers.")}) from None
    if not 0 <= start <= MAX_START or not 0 <= limit <= MAX_LIMIT:
        raise ValidationError({"limit": _("start is 0 or more, limit 0 to %(max)s.", max=MAX_LIMIT)})
    return start, limit


def whole_number(name: str, lowest: int, highest: int, default: int) -> int:
    """A whole number from the query, ``default`` when absent; outside ``lowest``–``highest`` is an error."""
    given = request.args.get(name, "").strip()
    if not given:
        return default
    if not given.isdigit() or not lowest <= int(given) <= highest:
        raise ValidationError(
            {name: _("%(name)s is a whole number from %(low)s to %(high)s.", name=name, low=lowest, high=highest)}
        )
    return int(given)


def optional_id(name: str) -> int | None:
    """An id from the query (``None`` when absent)."""
    given = request.args.get(name, "").strip()
    if not given:
        return None
    return whole_number(name, 1, MAX_START, 1)


def body_object() -> dict[str, Any]:
    """The JSON object sent as the body (an empty body is an empty object)."""
    if not request.get_data(cache=True):
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError(_("Send a JSON object as the body."))
    return data


def values_and_interests(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, bool]]:
    """Field values and interests from a body: ``{"fields": {…}, "interests": {…} or […]}``, or the field
    values themselves (as ``PUT profile/{id}/fields`` sends them)."""
    if isinstance(data.get("fields"), dict):
        return field_values(data["fields"]), interests(data.get("interests"))
    return field_values(data), {}


def origin_of(data: dict[str, Any]) -> Origin:
    """The call's origin, with the basis the body states (``"consent": {"purpose", "text", "basis"}`` beside
    ``"fields"``; in the flat form every key is a field) for the profiles it creates or updates."""
    return stating(data.get("consent")) if isinstance(data.get("fields"), dict) else g.api_origin


def stating(consent: Any) -> Origin:
    """The call's origin with the basis ``consent`` states (none: the origin as it is)."""
    given = consents.stated(consent)
    if given is None:
        return g.api_origin
    return replace(g.api_origin, consent=given, consent_reference=audit.current_actor().label)


def field_values(data: dict[str, Any]) -> dict[str, Any]:
    if any(isinstance(value, dict | list) for value in data.values()):
        names = [name for name, value in data.items() if isinstance(value, dict | list)]
        raise ValidationError({name: _("%(name)s: give a text or a number.", name=name) for name in names})
    return dict(data)


def interests(value: Any) -> dict[str, bool]:
    """Interests as Copernica sends them: a list of the names to switch on, or a map of name → 0/1."""
    if value is None:
        return {}
    if isinstance(value, list):
        return {str(name): True for name in value}
    if isinstance(value, dict):
        read = {str(name): parse_flag(on) for name, on in value.items()}
        if None not in read.values():
            return {name: bool(on) for name, on in read.items()}
    raise ValidationError({"interests": _("Give interests as a list of names or a map of name to 0 or 1.")})


# --- output ---------------------------------------------------------------------------------------


def listing(items: list, start: int, limit: int, total: int | None) -> dict[str, Any]:
    result: dict[str, Any] = {"start": start, "limit": limit, "count": len(items)}
    if total is not None and flag("total", True):
        result["total"] = total
    result["data"] = items
    return result


def in_memory(items: list) -> dict[str, Any]:
    """A list shape of a short list held in memory (databases, fields, …), paged by ``start`` and ``limit``."""
    start, limit = paging()
    return listing(items[start : start + limit], start, limit, len(items))


def database(entity: Database) -> dict[str, Any]:
    return {
        "ID": str(entity.id),
        "name": entity.name,
        "description": entity.description or "",
        "archived": bool(entity.archived),
        "created": timestamp(entity.created_at),
        "fields": listing_of([field(f) for f in entity.fields]),
        "interests": listing_of([interest(i) for i in entity.interests]),
        "collections": listing_of([collection(c) for c in entity.collections]),
    }


def listing_of(items: list) -> dict[str, Any]:
    return {"start": 0, "limit": len(items), "count": len(items), "total": len(items), "data": items}


def field(entity: Field) -> dict[str, Any]:
    options = entity.options or {}
    value = "\n".join(options.get("choices") or []) if entity.type == "choice" else text(entity.default)
    return {
        "ID": str(entity.id),
        "name": entity.name,
        "type": TYPES.get(entity.type, entity.type),
        "value": value,
        "displayed": bool(entity.shown),
        "ordered": bool(entity.indexed),
        "length": int(options.get("length") or (65535 if entity.type == "large_text" else 255)),
        "textlines": 5 if entity.type == "large_text" else 1,
        "hidden": bool(entity.hidden),
        "index": bool(entity.indexed),
    }


def interest(entity: Interest) -> dict[str, Any]:
    return {"ID": str(entity.id), "name": entity.name, "group": entity.group or "", "database": str(entity.database_id)}


def collection(entity: Collection) -> dict[str, Any]:
    return {
        "ID": str(entity.id),
        "name": entity.name,
        "database": str(entity.database_id),
        "fields": listing_of([field(f) for f in entity.fields]),
    }


def profile_fields(entity: Profile) -> dict[str, str]:
    return {f.name: text(format_value(f, entity.fields.get(f.key))) for f in entity.database.fields}


def profile(entity: Profile) -> dict[str, Any]:
    held = set(entity.interests or [])
    return {
        "ID": str(entity.id),
        "fields": profile_fields(entity),
        "interests": [i.name for i in entity.database.interests if i.id in held],
        "database": str(entity.database_id),
        "secret": entity.code,
        "created": timestamp(entity.created_at),
        "modified": timestamp(entity.updated_at),
        "removed": False,
    }


def subprofile_fields(entity: Subprofile) -> dict[str, str]:
    return {f.name: text(format_value(f, entity.fields.get(f.key))) for f in entity.collection.fields}


def subprofile(entity: Subprofile) -> dict[str, Any]:
    return {
        "ID": str(entity.id),
        "secret": entity.code,
        "fields": subprofile_fields(entity),
        "profile": str(entity.profile_id),
        "collection": str(entity.collection_id),
        "created": timestamp(entity.created_at),
        "modified": timestamp(entity.updated_at),
        "removed": False,
    }


def form(entity: Form, accepted: int, *, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """A form with its settings in the shape ``PUT form/{id}`` takes (texts as stored: a string, or a map by
    language holding every language written), so that a client may send back what it read and lose nothing."""
    shape = {
        "ID": str(entity.id),
        "name": entity.name,
        "database": str(entity.database_id),
        "collection": str(entity.collection_id) if entity.collection_id else None,
        "key": entity.key,
        "behaviour": entity.behaviour,
        **form_settings(entity),
        "accepted": accepted,
        "created": timestamp(entity.created_at),
        "modified": timestamp(entity.updated_at),
    }
    if counts is not None:
        shape["submissions"] = counts
    return shape


def form_settings(entity: Form) -> dict[str, Any]:
    """What ``PUT form/{id}`` changes besides the name, collection and behaviour, as it takes it."""
    settings = form_builder.settings_of(entity)
    opt_in = settings["double_opt_in"]
    language_field = settings.get("language_field_id")
    return {
        "key_fields": [str(field_id) for field_id in form_builder.key_fields_of(entity)],
        "on_no_match": entity.on_no_match,
        "origins": list(entity.allowed_origins or []),
        "languages": list(settings.get("languages") or []),
        "language_field": str(language_field) if language_field else None,
        "submit_label": settings["submit_label"],
        "success_message": settings["success_message"],
        "redirect_url": settings["redirect_url"],
        "max_submissions_per_profile": settings["max_submissions_per_profile"],
        "min_fill_seconds": settings["min_fill_seconds"],
        "notify_email": settings["notify_email"],
        "double_opt_in": {
            "enabled": bool(opt_in["enabled"]),
            "unconfirmed_values": dict(opt_in["unconfirmed_values"] or {}),
            "confirmed_values": dict(opt_in["confirmed_values"] or {}),
            "email_subject": opt_in["email_subject"],
            "email_text": opt_in["email_text"],
            "link_ttl_hours": opt_in["link_ttl_hours"],
        },
    }


def submission(entity: FormSubmission, names: dict[str, str]) -> dict[str, Any]:
    """A submission with its values under the names the admin's results show (``column_names``)."""
    return {
        "ID": str(entity.id),
        "form": str(entity.form_id),
        "profile": str(entity.profile_id) if entity.profile_id else None,
        "status": entity.status,
        "reason": entity.reason or "",
        "fields": {names.get(key, key): text(value) for key, value in (entity.data or {}).items()},
        "origin": entity.origin or "",
        "created": timestamp(entity.created_at),
    }


def followup(entity: FollowUp) -> dict[str, Any]:
    return {
        "ID": str(entity.id),
        "name": entity.name,
        "database": str(entity.database_id),
        "collection": str(entity.collection_id) if entity.collection_id else None,
        "form": str(entity.form_id) if entity.form_id else None,
        "status": entity.status,
        "trigger": entity.trigger or {},
        "created": timestamp(entity.created_at),
        "modified": timestamp(entity.updated_at),
    }


def callback(entity: Callback) -> dict[str, Any]:
    return {
        "ID": str(entity.id),
        "database": str(entity.database_id),
        "collection": str(entity.collection_id) if entity.collection_id else None,
        "url": entity.url,
        "method": entity.method,
        "style": entity.style,
        "actions": list(entity.actions or []),
        "sources": list(entity.sources or []),
        "expression": entity.expression or "",
        "status": "active" if entity.active else "paused",
        "paused_reason": entity.paused_reason or "",
        "secret": entity.secret,
        "created": timestamp(entity.created_at),
    }


def import_run(entity: ImportRun) -> dict[str, Any]:
    """An import's status; ``progress`` is the share of lines done (of the rollback's rows while rolling back)."""
    rolling = entity.status == ImportRunStatus.ROLLING_BACK
    done, total = (entity.rollback_done, entity.rollback_total) if rolling else (entity.lines_done, entity.lines_total)
    return {
        "ID": str(entity.id),
        "database": str(entity.database_id),
        "file": entity.file_name,
        "status": entity.status,
        "progress": round(done / total, 4) if total else (1.0 if entity.status == ImportRunStatus.DONE else 0.0),
        "lines": {"total": entity.lines_total, "done": entity.lines_done},
        "counts": {
            "created": entity.created,
            "updated": entity.updated,
            "unchanged": entity.unchanged,
            "skipped": entity.skipped,
            "rejected": entity.rejected,
        },
        "rollback": {
            "total": entity.rollback_total,
            "done": entity.rollback_done,
            "removed": entity.removed,
            "restored": entity.restored,
        },
        "error": entity.error or "",
        "started": timestamp(entity.started_at),
        "finished": timestamp(entity.finished_at),
        "created": timestamp(entity.created_at),
    }


def import_source(entity: ImportDefinition, runs: list[ImportRun]) -> dict[str, Any]:
    return {
        "ID": str(entity.id),
        "database": str(entity.database_id),
        "url": entity.source_url,
        "mapped": bool(entity.mapping),
        "error": entity.last_error or "",
        "runs": [import_run(run) for run in runs],
    }


def export_target(entity: ExportDefinition, runs: list[ExportRun]) -> dict[str, Any]:
    return {
        "ID": str(entity.id),
        "name": entity.name,
        "database": str(entity.database_id),
        "collection": str(entity.collection_id) if entity.collection_id else None,
        "view": str(entity.selection_id) if entity.selection_id else None,
        "url": entity.target_url,
        "schedule": entity.schedule or "",
        "runs": [
            {
                "ID": str(run.id),
                "status": run.status,
                "file": run.file_name,
                "size": run.size,
                "error": run.error or "",
                "started": timestamp(run.started_at),
                "finished": timestamp(run.finished_at),
            }
            for run in runs
        ],
    }
