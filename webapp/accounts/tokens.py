"""API tokens of an account: 256-bit random strings shown once; only their SHA-256 is stored (a fast hash is right
for a high-entropy secret). Each process trusts a token it has checked for ``TOKEN_CACHE_SECONDS``.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload, make_transient_to_detached

from webapp.extensions import db
from webapp.models import Account, ApiToken, User, utcnow
from webapp.platform.errors import ValidationError
from webapp.platform.tenancy import owned

# Tokens this process has checked recently, by hash; tests move the clock.
_clock = time.monotonic

TOKEN_PREFIX = "vrk_"  # noqa: S105  (a label in front of every token, not a secret)


TOKEN_USE_RESOLUTION = timedelta(minutes=1)


# How long a process trusts an API token it has read (the bound on revocation in other processes).
TOKEN_CACHE_SECONDS = 5.0


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# What a token may do, each scope including the ones before it: read, change profiles, everything.
SCOPES = ("read", "write", "admin")


def scope_allows(scope: str, needed: str) -> bool:
    """Whether a token of ``scope`` may do what needs ``needed`` (``admin`` ⊃ ``write`` ⊃ ``read``)."""
    return scope in SCOPES and SCOPES.index(scope) >= SCOPES.index(needed)


def create_api_token(
    account: Account, name: str, scope: str = "admin", *, created_by: User | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is never shown again. ``created_by``: the user
    who makes it (deactivating them revokes it)."""
    if scope not in SCOPES:
        raise ValidationError({"scope": _("Choose what the token may do: read, write or admin.")})
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": _("A token name has 1 to 100 characters.")})
    if db.session.scalar(select(ApiToken.id).where(ApiToken.account_id == account.id, ApiToken.name == name)):
        raise ValidationError({"name": _("A token with this name already exists.")})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        account_id=account.id,
        name=name,
        token_hash=_hash_token(secret),
        prefix=secret[:8],
        scope=scope,
        created_by_id=created_by.id if created_by is not None else None,
    )
    db.session.add(token)
    db.session.commit()
    return token, secret


def list_api_tokens(account: Account) -> list[ApiToken]:
    return list(
        db.session.scalars(select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.created_at))
    )


def revoke_api_token(account: Account, token_id: int) -> None:
    token = owned(ApiToken, account, token_id, _("Token not found."))
    token.revoked_at = token.revoked_at or utcnow()
    db.session.commit()
    _known_tokens.pop(token.token_hash, None)


def revoke_tokens_of(user: User) -> list[str]:
    """Revoke (in the caller's transaction) the unrevoked tokens ``user`` created; returns their hashes, for
    ``forget`` after the commit."""
    found = list(
        db.session.scalars(
            select(ApiToken).where(
                ApiToken.account_id == user.account_id,
                ApiToken.created_by_id == user.id,
                ApiToken.revoked_at.is_(None),
            )
        )
    )
    now = utcnow()
    for token in found:
        token.revoked_at = now
    return [token.token_hash for token in found]


def forget(token_hashes: list[str]) -> None:
    """Stop trusting these tokens in this process at once (other processes: within ``TOKEN_CACHE_SECONDS``)."""
    for token_hash in token_hashes:
        _known_tokens.pop(token_hash, None)


def account_for_token(secret: str) -> Account | None:
    """The account a valid, unrevoked API token acts for (with admin rights), or None."""
    found = token_for_secret(secret)
    return found.account if found is not None else None


@dataclass(frozen=True)
class TokenCaller:
    """Who an API token acts for: the token's id, its account (in the current session) and its scope."""

    token_id: int
    account: Account
    scope: str = "admin"
    name: str = ""


@dataclass(frozen=True)
class _KnownToken:
    token_id: int
    account: Account  # detached: merged into each caller's session without a query
    checked_at: float
    scope: str
    name: str


def token_for_secret(secret: str) -> TokenCaller | None:
    """The valid, unrevoked API token with this secret and its account, or None.

    A SOAP client calls hundreds of times a second with the same token, so each process trusts a token it
    has read for ``TOKEN_CACHE_SECONDS`` (no query then). Revoking a token forgets it in the revoking
    process at once; another process may accept it, and see its account's settings as they were, for at
    most ``TOKEN_CACHE_SECONDS`` more. Its use is noted at most once a minute: a client calling hundreds of
    times a second should not write the token row on every call.
    """
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token_hash = _hash_token(secret)
    known = _known_tokens.get(token_hash)
    if known is not None and _clock() - known.checked_at < TOKEN_CACHE_SECONDS:
        return TokenCaller(known.token_id, db.session.merge(known.account, load=False), known.scope, known.name)
    _known_tokens.pop(token_hash, None)
    checked_at = _clock()
    token = db.session.scalar(
        select(ApiToken).options(joinedload(ApiToken.account)).where(ApiToken.token_hash == token_hash)
    )
    if token is None or token.revoked_at is not None:
        return None
    _known_tokens[token_hash] = _KnownToken(
        token.id, _detached_copy(token.account), checked_at, token.scope, token.name
    )
    found = TokenCaller(token.id, token.account, token.scope, token.name)
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOKEN_USE_RESOLUTION:
        token.last_used_at = now
        db.session.commit()
    return found


def _detached_copy(account: Account) -> Account:
    """A session-less copy of ``account``'s columns that ``merge(load=False)`` takes as loaded."""
    copy = Account(**{column.key: getattr(account, column.key) for column in inspect(Account).column_attrs})
    make_transient_to_detached(copy)
    return copy


_known_tokens: dict[str, _KnownToken] = {}
