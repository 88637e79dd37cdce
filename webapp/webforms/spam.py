"""The spam checks of public web forms: signed fill-time tokens, the ALTCHA captcha and the origin check.

No cookies or sessions: a token is ``<issue time>.<nonce>.<HMAC of form key, issue time and nonce>``, so the
server can tell how long the visitor took without storing anything until it is used. The hosted page's tokens
are marked ``h<issue time>`` (the mark is signed too), so that the origin check can recognise the hosted page
posting to itself. A token serves one accepted submission: it is claimed in Redis (until it would expire
anyway) by the submission it lets in, so a bot cannot fill the form once and post it all day. The captcha is
ALTCHA's proof of work, signed with a key derived from ``SECRET_KEY``; a solved challenge is remembered in
Redis until it expires, so one solution cannot be replayed.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

import altcha
from flask import current_app

from webapp.platform.queues import redis_connection

TOKEN_MAX_AGE = 24 * 3600
CAPTCHA_TTL = timedelta(minutes=20)
CAPTCHA_MAX_NUMBER = 100_000


def _key(purpose: str) -> bytes:
    return hmac.new(current_app.config["SECRET_KEY"].encode(), purpose.encode(), hashlib.sha256).digest()


def _mac(purpose: str, message: str) -> str:
    digest = hmac.new(_key(purpose), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


HOSTED = "h"


def issue_token(form_key: str, *, now: float | None = None, hosted: bool = False) -> str:
    """A fill-time token; ``hosted`` marks one the hosted page ``/f/<key>`` put in its own form."""
    issued = int(now if now is not None else time.time())
    mark = HOSTED if hosted else ""
    nonce = secrets.token_urlsafe(9)
    return f"{mark}{issued}.{nonce}.{_mac('verrijk-form-token', f'{form_key}:{mark}{issued}:{nonce}')}"


def token_age(form_key: str, token: str, *, now: float | None = None) -> float | None:
    """Seconds since the token was issued for this form; None when it is missing, forged or expired."""
    stamp, nonce, signature = _token_parts(token)
    issued = stamp.removeprefix(HOSTED)
    expected = _mac("verrijk-form-token", f"{form_key}:{stamp}:{nonce}")
    if not issued.isdigit() or len(issued) > 12 or not hmac.compare_digest(signature, expected):
        return None
    age = (now if now is not None else time.time()) - int(issued)
    return age if -60 <= age <= TOKEN_MAX_AGE else None


def is_hosted_token(form_key: str, token: str) -> bool:
    return (token or "").startswith(HOSTED) and token_age(form_key, token) is not None


def _token_parts(token: str) -> tuple[str, str, str]:
    parts = (token or "")[:100].split(".")
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("", "", "")


def _used_key(form_key: str, token: str) -> str:
    return f"verrijk:form-token:{form_key}:{_token_parts(token)[2]}"


def claim_token(form_key: str, token: str) -> bool:
    """Bind a valid token to the submission about to be accepted; False when another one holds it."""
    return bool(redis_connection().set(_used_key(form_key, token), 1, nx=True, ex=TOKEN_MAX_AGE + 120))


def release_token(form_key: str, token: str) -> None:
    """Give a claimed token back: its submission was not accepted after all (errors to correct, a lost race)."""
    redis_connection().delete(_used_key(form_key, token))


def hash_ip(ip: str) -> str:
    """A keyed hash of a client address: the same address gives the same value, but cannot be read back."""
    return hmac.new(_key("verrijk-form-ip"), (ip or "").encode(), hashlib.sha256).hexdigest()


def origin_allowed(origin: str, allowed_origins: list[str]) -> bool:
    """A browser's ``Origin``: one of the form's allowed origins or our own (the hosted page). Clients that
    send no Origin (servers, curl) are not browsers a third-party page could drive, so they pass."""
    if not origin:
        return True
    own = current_app.config["PUBLIC_URL"]
    return origin.rstrip("/") in {own, *(entry.rstrip("/") for entry in allowed_origins or [])}


def hosted_page_posting_to_itself(form_key: str, origin: str, fetch_site: str, token: str) -> bool:
    """``Origin: null`` from the hosted page itself.

    The hosted page asks for ``Referrer-Policy: same-origin``, under which browsers name our origin when it
    posts to itself; a browser (or extension) that applies a stricter policy sends ``Origin: null`` instead, as
    does any page with ``no-referrer``, a foreign one included. What tells them apart survives every referrer
    policy: ``Sec-Fetch-Site`` (set by the browser, never by a page) says the post comes from a page of our own
    origin, and the token is one the hosted page issued for this form."""
    return origin == "null" and fetch_site == "same-origin" and is_hosted_token(form_key, token)


def captcha_challenge(form_key: str) -> dict:
    challenge = altcha.create_challenge_v1(
        altcha.ChallengeOptionsV1(
            hmac_key=_key("verrijk-altcha").hex(),
            max_number=CAPTCHA_MAX_NUMBER,
            expires=datetime.now(UTC) + CAPTCHA_TTL,
            params={"form": form_key},
        )
    )
    return {
        "algorithm": challenge.algorithm,
        "challenge": challenge.challenge,
        "maxnumber": challenge.max_number,
        "salt": challenge.salt,
        "signature": challenge.signature,
    }


def captcha_solved(form_key: str, payload: str) -> bool:
    """Whether ``payload`` (base64 JSON, as the ALTCHA widget posts it) solves a challenge of ours for this
    form, unexpired and not used before."""
    if not payload or len(payload) > 2000:
        return False
    ok, _error = altcha.verify_solution_v1(payload, _key("verrijk-altcha").hex(), check_expires=True)
    if not ok:
        return False
    try:
        solved = json.loads(base64.b64decode(payload))
    except ValueError:
        return False
    if altcha.extract_params_v1(solved).get("form") != [form_key]:
        return False
    seen = f"verrijk:altcha:{solved['signature']}"
    return bool(redis_connection().set(seen, 1, nx=True, ex=int(CAPTCHA_TTL.total_seconds())))
