"""``/healthz`` for load balancers and monitors (``platform/health.py``).

200 with ``"status": "ok"`` or ``"degraded"`` (no worker or dispatcher beats, or work is overdue: this web
process still serves); 503 with ``"down"`` when the database or Redis does not answer. ``?strict=1`` answers
503 for ``degraded`` too, for monitors that read only the status code. No session, no account data: counts,
ages and the kind of the oldest overdue work only.
"""

from flask import Blueprint, jsonify, request

from webapp.platform import health

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The installation's health as JSON (never cached)."""
    state = health.check()
    failing = (health.DOWN, health.DEGRADED) if request.args.get("strict") else (health.DOWN,)
    response = jsonify(state.as_json())
    response.status_code = 503 if state.status in failing else 200
    response.headers["Cache-Control"] = "no-store"
    return response
