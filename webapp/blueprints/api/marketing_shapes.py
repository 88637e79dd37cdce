"""JSON shapes of selections (Copernica's *views*), mailings with their results, and surveys with their
responses. Ids are strings and times ``YYYY-MM-DD HH:MM:SS`` (UTC), as in ``shapes.py``."""

from typing import Any

from webapp.blueprints.api.shapes import timestamp
from webapp.mailings.results import MailingResults
from webapp.models import Mailing, Selection, Survey, SurveyResponse


def view(entity: Selection) -> dict[str, Any]:
    """A selection in Copernica's view shape (``parent-type``, ``has-rules``, …) with Verrijk's rule tree."""
    return {
        "ID": str(entity.id),
        "name": entity.name,
        "description": entity.description or "",
        "parent-type": "database",
        "parent-id": str(entity.database_id),
        "has-children": False,
        "has-rules": bool((entity.rules or {}).get("rules")),
        "database": str(entity.database_id),
        "collection": str(entity.collection_id) if entity.collection_id else None,
        "standard": entity.standard or "",
        "rules": entity.rules or {},
        "count": entity.counted,
        "last-built": timestamp(entity.counted_at),
        "created": timestamp(entity.created_at),
        "modified": timestamp(entity.updated_at),
    }


def mailing(entity: Mailing) -> dict[str, Any]:
    return {
        "ID": str(entity.id),
        "name": entity.name,
        "database": str(entity.database_id),
        "parent": str(entity.parent_id) if entity.parent_id else None,
        "template": str(entity.template_id) if entity.template_id else None,
        "subject": entity.subject or "",
        "sender": entity.sender or "",
        "targets": [str(i) for i in entity.target_ids or []],
        "exclusions": [str(i) for i in entity.exclude_ids or []],
        "per_minute": entity.per_minute,
        "domain_limits": dict(entity.domain_limits or {}),
        "variants": [
            {"subject": v.get("subject") or "", "template": str(v["template_id"]) if v.get("template_id") else None}
            for v in entity.variants or []
        ],
        "ab_percent": entity.ab_percent,
        "ab_wait_minutes": entity.ab_wait_minutes,
        "ab_metric": entity.ab_metric,
        "ab_winner": entity.ab_winner,
        "repeat": dict(entity.repeat or {}),
        "status": entity.status,
        "recipients": entity.frozen,
        "scheduled": timestamp(entity.scheduled_at),
        "started": timestamp(entity.started_at),
        "finished": timestamp(entity.finished_at),
        "created": timestamp(entity.created_at),
        "modified": timestamp(entity.updated_at),
    }


def mailing_results(entity: Mailing, found: MailingResults) -> dict[str, Any]:
    return {
        "ID": str(entity.id),
        "status": entity.status,
        "recipients": found.recipients,
        "waiting": found.waiting,
        "progress": found.done_percent,
        "by_status": dict(found.by_status),
        "skipped": dict(found.skipped),
        "sent": found.sent,
        "delivered": found.delivered,
        "soft_bounces": found.soft_bounces,
        "hard_bounces": found.hard_bounces,
        "unique_opens": found.unique_opens,
        "opens": found.opens,
        "unique_clicks": found.unique_clicks,
        "clicks": found.clicks,
        "unsubscribes": found.unsubscribes,
        "complaints": found.complaints,
        "links": [{"url": link.url, "clicks": link.click_count} for link in found.links],
    }


def survey(entity: Survey) -> dict[str, Any]:
    return {
        "ID": str(entity.id),
        "name": entity.name,
        "database": str(entity.database_id),
        "key": entity.key,
        "revision": entity.revision,
        "pages": entity.pages or [],
        "settings": entity.settings or {},
        "origins": list(entity.allowed_origins or []),
        "created": timestamp(entity.created_at),
        "modified": timestamp(entity.updated_at),
    }


def survey_response(entity: SurveyResponse) -> dict[str, Any]:
    return {
        "ID": str(entity.id),
        "survey": str(entity.survey_id),
        "profile": str(entity.profile_id) if entity.profile_id else None,
        "language": entity.language or "",
        "answers": entity.answers or {},
        "hidden": entity.hidden or {},
        "pages": list(entity.reached or []),
        "completed": entity.completed_at is not None,
        "created": timestamp(entity.created_at),
        "modified": timestamp(entity.updated_at),
        "finished": timestamp(entity.completed_at),
    }
