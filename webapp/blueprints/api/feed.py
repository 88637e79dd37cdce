"""The change feed: ``GET …/events?after=CURSOR&limit=100&wait=20``.

Answers ``{"data": [event, …], "cursor": "…"}``; the next call passes that cursor as ``after``. Each event has
``ID``, ``kind``, ``source``, ``actor``, ``reference``, ``time``, ``database``, ``profile``, ``collection``,
``subprofile`` and ``changes`` (``{"fields": {name: [old, new]}, "interests": {name: [old, new]}}``). Why the
cursor never skips nor repeats an event: ``profiles/event_feed.py``. ``wait`` (seconds, at most 30) makes an
empty answer wait for the next event (long poll).
"""

import math

from flask import g, jsonify, request
from flask_babel import gettext as _

from webapp.blueprints.api import bp, shapes
from webapp.platform.errors import ValidationError
from webapp.profiles import event_feed


def _number(name: str, default: float) -> float:
    try:
        number = float(request.args.get(name, default))
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number < 0:
        raise ValidationError({name: _("%(name)s is a number.", name=name)})
    return number


@bp.get("/events")
def events():
    """OpenAPI:

    ---
    get:
      summary: The account's profile and subprofile events after a cursor (the change feed)
      parameters:
        - {name: after, in: query, schema: {type: string}, description: the cursor of the previous answer}
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 1000}}
        - {name: wait, in: query, schema: {type: number, minimum: 0, maximum: 30}, description: long poll seconds}
      responses:
        '200': {description: OK, content: {application/json: {schema: {$ref: '#/components/schemas/EventPage'}}}}
        default: {$ref: '#/components/responses/Problem'}
    """
    page = event_feed.read_feed(
        g.api_account,
        request.args.get("after"),
        limit=int(_number("limit", 100)),
        wait_seconds=_number("wait", 0),
    )
    names = event_feed.names(g.api_account)
    data = [
        {
            "ID": str(event.id),
            "kind": event.kind,
            "source": event.source,
            "actor": event.actor,
            "reference": event.reference,
            "time": shapes.timestamp(event.created_at),
            "database": str(event.database_id),
            "profile": str(event.profile_id),
            "collection": str(event.collection_id) if event.collection_id else None,
            "subprofile": str(event.subprofile_id) if event.subprofile_id else None,
            "changes": names.describe(event),
        }
        for event in page.events
    ]
    return jsonify({"data": data, "count": len(data), "cursor": page.cursor})
