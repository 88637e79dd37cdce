"""Who is calling: an API token as the ``access_token`` query parameter (as Copernica's clients send it) or
an ``Authorization: Bearer …`` header. Anything else is a 401 problem; a token of one account only ever
reaches that account's data (every domain call is scoped to ``g.api_account``).

A token's scope (``accounts.tokens.SCOPES``) decides what it may call: ``read`` only reads (GET), ``write`` also
changes profiles and subprofiles; ``admin`` may do everything. A route may name the scope it needs with
``@needs(scope)`` (the configuration resources: callbacks, follow-ups); otherwise a read needs ``read`` and
anything else ``write``. A call beyond the scope is a 403 problem."""

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, g, request
from flask_babel import gettext as _

from webapp.accounts import audit, tokens
from webapp.blueprints.api import bp
from webapp.blueprints.api.problems import problem
from webapp.profiles.events import Origin

View = TypeVar("View", bound=Callable)


def needs(scope: str) -> Callable[[View], View]:
    """Mark a route as needing ``scope`` (one of ``tokens.SCOPES``) whatever its method."""
    assert scope in tokens.SCOPES, scope

    def mark(view: View) -> View:
        view.api_scope = scope  # type: ignore[attr-defined]
        return view

    return mark


def needed_scope() -> str:
    view = current_app.view_functions.get(request.endpoint or "")
    marked = getattr(view, "api_scope", None)
    if marked:
        return marked
    return "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"


def token_secret() -> str:
    secret = request.args.get("access_token", "").strip()
    header = request.headers.get("Authorization", "")
    if not secret and header[:7].lower() == "bearer ":
        secret = header[7:].strip()
    return secret


@bp.before_request
def authenticate():
    found = tokens.token_for_secret(token_secret())
    if found is None:
        return problem(
            401,
            _("Give a valid API token: the access_token parameter or an Authorization: Bearer header."),
            headers={"WWW-Authenticate": 'Bearer realm="verrijk"'},
        )
    needed = needed_scope()
    if not tokens.scope_allows(found.scope, needed):
        if needed == "admin":
            return problem(403, _("This call changes the account's set-up: it needs a token with the admin scope."))
        return problem(403, _("This token may only read: give it the write scope to change data."))
    audit.set_actor(audit.token_actor(found.token_id, found.name, request.remote_addr))
    g.api_account = found.account
    g.api_token_id = found.token_id
    g.api_origin = Origin("api", actor=f"token:{found.token_id}")
    return None
