"""Email providers' webhooks (``POST /inbound/<provider>/<account id>``): bounces and complaints by HTTP.

No session and no CSRF token: each provider proves itself by its signature or credentials, checked in
``hygiene.webhooks`` against the account's configured secret. Answers: 200 taken in, 403 a failed check,
404 no such webhook (not configured), 422 a body we cannot read, 503 the database is unreachable (the
provider retries, nothing is lost).
"""

from flask import Blueprint, jsonify, request
from sqlalchemy.exc import DBAPIError

from webapp.extensions import csrf, db
from webapp.hygiene import webhooks
from webapp.platform.errors import DomainError

bp = Blueprint("inbound", __name__, url_prefix="/inbound")
csrf.exempt(bp)


@bp.post("/<provider>/<int:account_id>")
def webhook(provider: str, account_id: int):
    """Check and take in one delivery of a provider's webhook."""
    outcomes = webhooks.take_in_webhook(provider, account_id, request.get_data(cache=False), request.headers)
    return jsonify(taken_in=len(outcomes), matched=sum(outcome.matched for outcome in outcomes))


@bp.errorhandler(DomainError)
def refused(error: DomainError):
    return jsonify(error=error.message), error.status


@bp.errorhandler(DBAPIError)
def database_down(error: DBAPIError):
    db.session.rollback()
    return jsonify(error="temporarily unavailable, please retry"), 503, {"Retry-After": "60"}
