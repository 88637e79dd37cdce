"""Accounts, users (roles, passwords) and API tokens.

Passwords are hashed with scrypt (Werkzeug's default KDF). API tokens are 256-bit random strings; only
their SHA-256 is stored (a fast hash is right for a high-entropy secret), and they are shown once.
"""

import functools
import hashlib
import secrets
import time
import zoneinfo
from dataclasses import dataclass
from datetime import timedelta

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import joinedload, make_transient_to_detached
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models import ROLES, Account, ApiToken, User, utcnow
from webapp.platform.errors import Conflict, NotFound, PermissionDenied, ValidationError

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "vrk_"  # noqa: S105  (a label in front of every token, not a secret)
LANGUAGES = ("en", "nl")
TOKEN_USE_RESOLUTION = timedelta(minutes=1)
# How long a process trusts an API token it has read (the bound on revocation in other processes).
TOKEN_CACHE_SECONDS = 5.0
_clock = time.monotonic


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the user does not exist, so that timing does not reveal addresses."""
    return generate_password_hash("not a password")


def role_labels() -> dict[str, str]:
    """Each role's name for people, in the interface language."""
    return {"viewer": _l("Viewer"), "editor": _l("Editor"), "admin": _l("Admin"), "owner": _l("Owner")}


def _roles_message() -> str:
    return _("Choose one of: %(roles)s.", roles=", ".join(str(label) for label in role_labels().values()))


def get_or_create_account(name: str) -> Account:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"account": _("An account name has 1 to 100 characters.")})
    account = db.session.scalar(select(Account).where(func.lower(Account.name) == name.lower()))
    if account is None:
        account = Account(name=name)
        db.session.add(account)
        db.session.commit()
    return account


def get_account_by_name(name: str) -> Account:
    account = db.session.scalar(select(Account).where(func.lower(Account.name) == name.strip().lower()))
    if account is None:
        raise NotFound(_("No account named %(name)s.", name=name))
    return account


def update_account_settings(
    account: Account, *, name: str, time_zone: str, language: str, default_sender: str
) -> Account:
    errors = {}
    name = (name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = _("An account name has 1 to 100 characters.")
    elif db.session.scalar(
        select(Account.id).where(func.lower(Account.name) == name.lower(), Account.id != account.id)
    ):
        errors["name"] = _("That name is taken.")
    if time_zone not in zoneinfo.available_timezones():
        errors["time_zone"] = _("Choose a time zone from the list.")
    if language not in LANGUAGES:
        errors["language"] = _("Choose English or Dutch.")
    sender = (default_sender or "").strip()
    if sender:
        try:
            sender = validate_email(sender, check_deliverability=False).normalized
        except EmailNotValidError:
            errors["default_sender"] = _("The default sender must be an email address.")
    if errors:
        raise ValidationError(errors)
    account.name, account.time_zone, account.language, account.default_sender = name, time_zone, language, sender
    db.session.commit()
    return account


# --- users ----------------------------------------------------------------------------------------


def _check_user_input(email: str, password: str | None, role: str) -> tuple[str, dict[str, str]]:
    errors = {}
    try:
        email = validate_email((email or "").strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:  # its own message is English only
        errors["email"] = _("Enter a valid email address, like name@example.com.")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = _("A password has at least %(count)s characters.", count=MIN_PASSWORD_LENGTH)
    if role not in ROLES:
        errors["role"] = _roles_message()
    return email, errors


def create_user(account: Account, *, email: str, password: str, role: str, actor: User | None = None) -> User:
    """Create a user. ``actor`` is the user who does it (None for the system: setup, CLI, tests);
    only an owner makes owners."""
    if role == "owner" and actor is not None and not actor.has_role("owner"):
        raise PermissionDenied(_("Only an owner can make or unmake owners."))
    email, errors = _check_user_input(email, password, role)
    if not errors and db.session.scalar(select(User.id).where(User.email == email)):
        errors["email"] = _("A user with this email address already exists.")
    if errors:
        raise ValidationError(errors)
    user = User(account_id=account.id, email=email, password_hash=generate_password_hash(password), role=role)
    db.session.add(user)
    db.session.commit()
    return user


def list_users(account: Account) -> list[User]:
    return list(db.session.scalars(select(User).where(User.account_id == account.id).order_by(User.email)))


def get_user(account: Account, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or user.account_id != account.id:
        raise NotFound(_("User not found."))
    return user


def change_role(account: Account, actor: User, user_id: int, role: str) -> User:
    """Change a user's role. Only an owner makes or unmakes owners; the last owner stays an owner."""
    user = get_user(account, user_id)
    if role not in ROLES:
        raise ValidationError({"role": _roles_message()})
    if "owner" in (role, user.role) and not actor.has_role("owner"):
        raise PermissionDenied(_("Only an owner can make or unmake owners."))
    if user.role == "owner" and role != "owner" and _owner_count(account) == 1:
        raise Conflict(_("An account keeps at least one owner."))
    user.role = role
    db.session.commit()
    return user


def delete_user(account: Account, actor: User, user_id: int) -> None:
    user = get_user(account, user_id)
    if user.id == actor.id:
        raise Conflict(_("You cannot remove yourself."))
    if user.role == "owner" and not actor.has_role("owner"):
        raise PermissionDenied(_("Only an owner can remove an owner."))
    db.session.delete(user)
    db.session.commit()


def _owner_count(account: Account) -> int:
    return db.session.execute(
        select(func.count()).select_from(User).where(User.account_id == account.id, User.role == "owner")
    ).scalar_one()


def set_password(user: User, password: str) -> None:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            {"password": _("A password has at least %(count)s characters.", count=MIN_PASSWORD_LENGTH)}
        )
    user.password_hash = generate_password_hash(password)
    db.session.commit()


def change_password(user: User, *, current: str, new: str) -> None:
    """Change one's own password: the current one must be given (and right)."""
    if not check_password_hash(user.password_hash, current or ""):
        raise ValidationError({"current": _("Your current password is not right.")})
    set_password(user, new)


def set_language(user: User, language: str) -> None:
    if language not in LANGUAGES:
        raise ValidationError({"language": _("Choose English or Dutch.")})
    user.language = language
    db.session.commit()


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None (in about the same time either way)."""
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def authenticate_api_user(email: str, password: str, account_name: str | None = None) -> User | None:
    """Like ``authenticate``, for machine logins (SOAP ``login``): admins and owners only."""
    user = authenticate(email, password)
    if user is None or not user.has_role("admin"):
        return None
    if account_name and user.account.name.lower() != account_name.strip().lower():
        return None
    return user


# --- API tokens -----------------------------------------------------------------------------------


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(account: Account, name: str) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is never shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": _("A token name has 1 to 100 characters.")})
    if db.session.scalar(select(ApiToken.id).where(ApiToken.account_id == account.id, ApiToken.name == name)):
        raise ValidationError({"name": _("A token with this name already exists.")})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(account_id=account.id, name=name, token_hash=_hash_token(secret), prefix=secret[:8])
    db.session.add(token)
    db.session.commit()
    return token, secret


def list_api_tokens(account: Account) -> list[ApiToken]:
    return list(
        db.session.scalars(select(ApiToken).where(ApiToken.account_id == account.id).order_by(ApiToken.created_at))
    )


def revoke_api_token(account: Account, token_id: int) -> None:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.account_id != account.id:
        raise NotFound(_("Token not found."))
    token.revoked_at = token.revoked_at or utcnow()
    db.session.commit()
    _known_tokens.pop(token.token_hash, None)


def account_for_token(secret: str) -> Account | None:
    """The account a valid, unrevoked API token acts for (with admin rights), or None."""
    found = token_for_secret(secret)
    return found.account if found is not None else None


@dataclass(frozen=True)
class TokenCaller:
    """Who an API token acts for: the token's id and its account (in the current session)."""

    token_id: int
    account: Account


@dataclass(frozen=True)
class _KnownToken:
    token_id: int
    account: Account  # detached: merged into each caller's session without a query
    checked_at: float


# Valid tokens seen in this process by hash, each trusted for TOKEN_CACHE_SECONDS after it was read.
_known_tokens: dict[str, _KnownToken] = {}


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
        return TokenCaller(known.token_id, db.session.merge(known.account, load=False))
    _known_tokens.pop(token_hash, None)
    checked_at = _clock()
    token = db.session.scalar(
        select(ApiToken).options(joinedload(ApiToken.account)).where(ApiToken.token_hash == token_hash)
    )
    if token is None or token.revoked_at is not None:
        return None
    _known_tokens[token_hash] = _KnownToken(token.id, _detached_copy(token.account), checked_at)
    found = TokenCaller(token.id, token.account)
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
