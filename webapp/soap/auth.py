"""Who is calling, and the one way every SOAP method runs a service call.

Credentials, in order: the ``access_token`` member of the call, an ``Authorization: Bearer …`` header, or
the ``soap_session`` cookie set by ``login`` (legacy clients; admins and owners only). Anything else is the
fault ``Not logged on`` — the exact string old clients re-login on.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from spyne import Fault

from webapp.accounts import tokens, users
from webapp.extensions import db
from webapp.models import Account, User
from webapp.platform.errors import DomainError, NotFound, TooManyAttempts
from webapp.profiles.events import Origin

COOKIE_NAME = "soap_session"
SESSION_SECONDS = 24 * 3600
NOT_LOGGED_ON = "Not logged on"


@dataclass(frozen=True)
class Caller:
    account: Account
    origin: Origin


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="verrijk soap session")


def session_cookie(user: User) -> str:
    """The value of the ``soap_session`` cookie for a logged-on API user."""
    return _serializer().dumps({"user": user.id, "account": user.account_id})


def caller(access_token: str | None) -> Caller:
    """The account and event origin of this call, or the fault ``Not logged on``."""
    secret = (access_token or "").strip()
    header = request.headers.get("Authorization", "")
    if not secret and header[:7].lower() == "bearer ":
        secret = header[7:].strip()
    if secret:
        token = tokens.token_for_secret(secret)
        if token is not None:
            return Caller(token.account, Origin("soap", actor=f"token:{token.token_id}"))
        raise Fault("Client", NOT_LOGGED_ON)
    cookie = request.cookies.get(COOKIE_NAME)
    if cookie:
        try:
            data = _serializer().loads(cookie, max_age=SESSION_SECONDS)
        except BadSignature:
            data = None
        user = db.session.get(User, int(data["user"])) if isinstance(data, dict) and "user" in data else None
        if user is not None and user.account_id == data.get("account") and user.has_role("admin"):
            return Caller(user.account, Origin("soap", actor=f"user:{user.id} {user.email}"))
    raise Fault("Client", NOT_LOGGED_ON)


def login(username: str | None, password: str | None, account: str | None) -> int:
    """Check an API user's password and set the session cookie (sent by the view after the call).

    Attempts share the admin login's rate limit (``LOGIN_RATE_LIMIT`` per client address).
    """
    from limits import parse

    from webapp.extensions import limiter

    if not limiter.limiter.hit(parse(current_app.config["LOGIN_RATE_LIMIT"]), "soap-login", request.remote_addr or ""):
        raise Fault("Client", "Too many login attempts. Wait a minute, then try again.")
    try:
        user = users.authenticate_api_user(username or "", password or "", account or None)
    except TooManyAttempts as error:
        raise Fault("Client", error.message) from None
    if user is None:
        raise Fault("Client", NOT_LOGGED_ON)
    g.soap_cookie = session_cookie(user)
    return 1


def run(access_token: str | None, action: Callable[[Caller], Any], *, empty: Any = None) -> Any:
    """Authenticate, call ``action(caller)`` and map domain errors: ``NotFound`` → ``empty``, others → faults."""
    who = caller(access_token)
    try:
        return action(who)
    except NotFound:
        db.session.rollback()
        return empty
    except DomainError as error:
        db.session.rollback()
        raise Fault("Client", error.message) from None
