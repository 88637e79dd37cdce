"""Who is calling: an API token as the ``access_token`` query parameter (as Copernica's clients send it) or
an ``Authorization: Bearer …`` header. Anything else is a 401 problem; a token of one account only ever
reaches that account's data (every domain call is scoped to ``g.api_account``)."""

from flask import g, request

from webapp.accounts import tokens
from webapp.blueprints.api import bp
from webapp.blueprints.api.problems import problem
from webapp.profiles.events import Origin


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
            "Give a valid API token: the access_token parameter or an Authorization: Bearer header.",
            headers={"WWW-Authenticate": 'Bearer realm="verrijk"'},
        )
    g.api_account = found.account
    g.api_origin = Origin("api", actor=f"token:{found.token_id}")
    return None
