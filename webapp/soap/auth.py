"""Who is calling, and the one way every SOAP method runs a service call.

Credentials, in order: the ``access_token`` member of the call, an ``Authorization: Bearer …`` header, the
per-call ``login{username, account, password}`` member Copernica documents on every method, or the
``soap_session`` cookie set by ``login`` (legacy clients; admins and owners only). None of them is the fault
``Not logged on`` — the exact string old clients answer by calling ``login`` again. A ``login`` (the method
or the member) with a wrong password is the fault ``Invalid login`` instead, so that such a client stops
rather than loops into the rate limit.

The view checks the credentials before Spyne reads the call (``gate.py``, ``authenticate``) and keeps the
caller in ``g``; ``run`` uses it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from spyne import Fault

from webapp.accounts import audit, tokens, users
from webapp.extensions import db
from webapp.models import Account, User
from webapp.platform.errors import DomainError, NotFound, TooManyAttempts
from webapp.profiles.events import Origin

COOKIE_NAME = "soap_session"
SESSION_SECONDS = 24 * 3600
NOT_LOGGED_ON = "Not logged on"
INVALID_LOGIN = "Invalid login"
TOO_MANY_LOGINS = "Too many login attempts. Wait a minute, then try again."
READ_ONLY_FAULT = "This token may only read: give it the write scope to change data."
WRITE_VERBS = ("create", "update", "remove", "set", "move", "copy", "add", "delete", "send", "import", "start")
"""A method changes data when the verb after its object (``Database_createField``: ``create…``) starts with
one of these, or is ``unsubscribe`` (``Database_unsubscribeValues`` only reads)."""


@dataclass(frozen=True)
class Caller:
    account: Account
    origin: Origin
    actor: audit.Actor = audit.SYSTEM  # who the audit log names for changes made by this call
    scope: str = "admin"
    """The token's scope (``webapp.accounts.tokens.SCOPES``); an admin's or owner's login may do everything."""


@dataclass(frozen=True)
class LoginData:
    """Copernica's ``login`` member: an API user's e-mail address, password and (optionally) account name."""

    username: str
    password: str
    account: str = ""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="verrijk soap session")


def session_cookie(user: User) -> str:
    """The value of the ``soap_session`` cookie for a logged-on API user. It carries the user's session version,
    so a password change or "log out everywhere" (``accounts.users.end_sessions``) ends it as it ends the admin's."""
    return _serializer().dumps({"user": user.id, "account": user.account_id, "version": user.session_version})


def _user_caller(user: User) -> Caller:
    actor = audit.user_actor(user, request.remote_addr)
    return Caller(user.account, Origin("soap", actor=f"user:{user.id} {user.email}"), actor)


def _token_caller(token: tokens.TokenCaller) -> Caller:
    actor = audit.token_actor(token.token_id, token.name, request.remote_addr)
    return Caller(token.account, Origin("soap", actor=f"token:{token.token_id}"), actor, token.scope)


def caller(access_token: str | None, login: LoginData | None = None) -> Caller:
    """The account and event origin of this call, or a fault (``Not logged on``, ``Invalid login``)."""
    secret = (access_token or "").strip() or _bearer()
    if secret:
        token = tokens.token_for_secret(secret)
        if token is not None:
            return _token_caller(token)
        raise Fault("Client", NOT_LOGGED_ON)
    if login is not None and login.username:
        return _user_caller(_check_password(login, count_success=False))
    found = _cookie_caller()
    if found is None:
        raise Fault("Client", NOT_LOGGED_ON)
    return found


def is_write(method: str) -> bool:
    """Whether ``method`` changes data (``WRITE_VERBS``); as in the REST API, a read-only token may not."""
    verb = method.rpartition("_")[2]
    return verb == "unsubscribe" or (verb != method and verb.startswith(WRITE_VERBS))


def check_scope(found: Caller, method: str) -> None:
    """The fault for a token whose scope does not allow ``method`` (a read-only token and a write)."""
    if is_write(method) and not tokens.scope_allows(found.scope, "write"):
        raise Fault("Client", READ_ONLY_FAULT)


def header_or_cookie_caller() -> Caller | None:
    """The caller of a valid Bearer header or session cookie, or None (never a fault)."""
    secret = _bearer()
    if secret:
        token = tokens.token_for_secret(secret)
        return _token_caller(token) if token else None
    return _cookie_caller()


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


def _cookie_caller() -> Caller | None:
    cookie = request.cookies.get(COOKIE_NAME)
    if not cookie:
        return None
    try:
        data = _serializer().loads(cookie, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    user = db.session.get(User, int(data["user"])) if isinstance(data, dict) and "user" in data else None
    if (
        user is not None
        and user.deactivated_at is None
        and user.totp_secret is None
        and user.account_id == data.get("account")
        and user.session_version == data.get("version")
        and user.has_role("admin")
    ):
        return _user_caller(user)
    return None


def _login_limit():
    from limits import parse

    from webapp.extensions import limiter

    return limiter.limiter, parse(current_app.config["LOGIN_RATE_LIMIT"]), ("soap-login", request.remote_addr or "")


def login_allowed() -> bool:
    """Whether this client address is still under the login rate limit (counts nothing)."""
    strategy, limit, key = _login_limit()
    return strategy.test(limit, *key)


def _check_password(login: LoginData, *, count_success: bool) -> User:
    """The API user of ``login``, or ``Invalid login``; attempts share the admin login's rate limit.

    The ``login`` method counts every attempt; the per-call member only failed ones (a client sends it with
    every call), so a wrong password still meets the limit after ``LOGIN_RATE_LIMIT`` tries.
    """
    strategy, limit, key = _login_limit()
    allowed = strategy.hit(limit, *key) if count_success else strategy.test(limit, *key)
    if not allowed:
        raise Fault("Client", TOO_MANY_LOGINS)
    try:
        user = users.authenticate_api_user(login.username, login.password, login.account or None)
    except (TooManyAttempts, users.SecondFactorRequired) as error:
        raise Fault("Client", error.message) from None
    if user is None:
        if not count_success:
            strategy.hit(limit, *key)
        raise Fault("Client", INVALID_LOGIN)
    return user


def login(username: str | None, password: str | None, account: str | None) -> int:
    """Check an API user's password and set the session cookie (sent by the view after the call)."""
    user = _check_password(LoginData(username or "", password or "", account or ""), count_success=True)
    g.soap_cookie = session_cookie(user)
    return 1


def run(action: Callable[[Caller], Any], *, empty: Any = None) -> Any:
    """Call ``action(caller)`` for the caller the view checked, mapping domain errors: ``NotFound`` → ``empty``,
    others → faults."""
    who = g.get("soap_caller")
    if who is None:
        raise Fault("Client", NOT_LOGGED_ON)
    audit.set_actor(who.actor)
    try:
        return action(who)
    except NotFound:
        db.session.rollback()
        return empty
    except DomainError as error:
        db.session.rollback()
        raise Fault("Client", error.message) from None
