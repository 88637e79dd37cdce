"""Rate limits per API token, announced in the ``RateLimit-Policy`` and ``RateLimit`` headers of the IETF
draft (draft-ietf-httpapi-ratelimit-headers): ``"default";q=6000;w=60`` and ``"default";r=5999;t=42``.

``API_RATE_LIMIT`` (``limits`` notation, default ``6000 per minute``) is counted per token in Redis (a fixed
window shared by every web process). Over it, a call is a ``429`` problem with ``Retry-After``.
"""

import time

from flask import current_app, g
from flask_babel import gettext as _
from limits import parse

from webapp.blueprints.api import bp
from webapp.blueprints.api.problems import problem
from webapp.extensions import limiter


def _item():
    return parse(current_app.config["API_RATE_LIMIT"])


@bp.before_request
def count_the_call():
    if "api_token_id" not in g:
        return None  # refused before: authentication answered already
    item = _item()
    allowed = limiter.limiter.hit(item, "api", str(g.api_token_id))
    reset_at, remaining = limiter.limiter.get_window_stats(item, "api", str(g.api_token_id))
    g.api_rate = (item, remaining, max(0, int(reset_at - time.time())))
    if not allowed:
        response = problem(429, _("Too many requests for this token: wait until the window resets."))
        response.headers["Retry-After"] = str(g.api_rate[2])
        return response
    return None


@bp.after_request
def announce(response):
    rate = g.get("api_rate")
    if rate is not None:
        item, remaining, reset = rate
        response.headers["RateLimit-Policy"] = f'"default";q={item.amount};w={item.get_expiry()}'
        response.headers["RateLimit"] = f'"default";r={remaining};t={reset}'
    return response
