"""Users of an account: roles, passwords, language, and logging in (the admin and legacy SOAP logins).

Passwords are hashed with scrypt (Werkzeug's default KDF); a login with an unknown address costs as much as a wrong
password (a dummy hash), so timing tells nothing.
"""

import functools

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.accounts import login_backoff
from webapp.extensions import db
from webapp.models import ROLES, Account, User, utcnow
from webapp.platform.errors import Conflict, NotFound, PermissionDenied, TooManyAttempts, ValidationError
from webapp.platform.tenancy import owned

MIN_PASSWORD_LENGTH = 10


class SecondFactorRequired(PermissionDenied):
    """A password login for a user with two-factor login where no second factor can be given (SOAP)."""


LANGUAGES = ("en", "nl")


@functools.cache
def _dummy_hash() -> str:
    """A hash to check against when the user does not exist, so that timing does not reveal addresses."""
    return generate_password_hash("not a password")


def role_labels() -> dict[str, str]:
    """Each role's name for people, in the interface language."""
    return {"viewer": _l("Viewer"), "editor": _l("Editor"), "admin": _l("Admin"), "owner": _l("Owner")}


def _roles_message() -> str:
    return _("Choose one of: %(roles)s.", roles=", ".join(str(label) for label in role_labels().values()))


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


def create_user(
    account: Account,
    *,
    email: str,
    password: str,
    role: str,
    actor: User | None = None,
    password_change_due: bool | None = None,
) -> User:
    """Create a user. ``actor`` is the user who does it (None for the system: setup, CLI, tests);
    only an owner makes owners. A password someone else chose (an actor's, by default) is to be changed: the
    admin asks the new user until they do."""
    if role == "owner" and actor is not None and not actor.has_role("owner"):
        raise PermissionDenied(_("Only an owner can make or unmake owners."))
    email, errors = _check_user_input(email, password, role)
    if not errors and db.session.scalar(select(User.id).where(User.email == email)):
        errors["email"] = _("A user with this email address already exists.")
    if errors:
        raise ValidationError(errors)
    due = actor is not None if password_change_due is None else password_change_due
    user = User(
        account_id=account.id,
        email=email,
        password_hash=generate_password_hash(password),
        role=role,
        password_change_due=due,
    )
    db.session.add(user)
    db.session.commit()
    return user


def list_users(account: Account) -> list[User]:
    return list(db.session.scalars(select(User).where(User.account_id == account.id).order_by(User.email)))


def get_user_by_id(user_id: int) -> User:
    """A user by id, whatever the account (for a door that holds a checked link naming the user)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_("User not found."))
    return user


def get_user(account: Account, user_id: int) -> User:
    return owned(User, account, user_id, _("User not found."))


def change_role(account: Account, actor: User, user_id: int, role: str) -> User:
    """Change a user's role. Only an owner makes or unmakes owners; the last owner stays an owner."""
    user = get_user(account, user_id)
    if role not in ROLES:
        raise ValidationError({"role": _roles_message()})
    if "owner" in (role, user.role) and not actor.has_role("owner"):
        raise PermissionDenied(_("Only an owner can make or unmake owners."))
    if user.role == "owner" and role != "owner" and user.deactivated_at is None and _owner_count(account) == 1:
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
    """Active owners (a deactivated owner cannot act as one)."""
    return db.session.execute(
        select(func.count())
        .select_from(User)
        .where(User.account_id == account.id, User.role == "owner", User.deactivated_at.is_(None))
    ).scalar_one()


def deactivate_user(account: Account, actor: User, user_id: int) -> User:
    """Deactivate a user: they cannot log in, every session and remember cookie of theirs ends and the API tokens
    they created are revoked, at once. Not oneself; only an owner deactivates an owner; the last active owner
    stays. Their data (and what they made) stays; ``reactivate_user`` lets them log in again (revoked tokens
    stay revoked)."""
    from webapp.accounts import tokens

    user = get_user(account, user_id)
    if user.id == actor.id:
        raise Conflict(_("You cannot deactivate yourself."))
    if user.role == "owner" and not actor.has_role("owner"):
        raise PermissionDenied(_("Only an owner can deactivate an owner."))
    if user.deactivated_at is not None:
        return user
    if user.role == "owner" and _owner_count(account) <= 1:
        raise Conflict(_("An account keeps at least one active owner."))
    user.deactivated_at = utcnow()
    user.session_version += 1
    revoked = tokens.revoke_tokens_of(user)
    db.session.commit()
    tokens.forget(revoked)
    return user


def reactivate_user(account: Account, actor: User, user_id: int) -> User:
    user = get_user(account, user_id)
    if user.role == "owner" and not actor.has_role("owner"):
        raise PermissionDenied(_("Only an owner can reactivate an owner."))
    user.deactivated_at = None
    db.session.commit()
    return user


def check_password_rules(password: str | None) -> None:
    """The rules every new password meets (set by an admin, a user, an invitee or a reset)."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            {"password": _("A password has at least %(count)s characters.", count=MIN_PASSWORD_LENGTH)}
        )


def set_password(user: User, password: str) -> None:
    check_password_rules(password)
    user.password_hash = generate_password_hash(password)
    user.password_change_due = False
    user.session_version += 1  # every session and remember cookie of the old password ends
    db.session.commit()


def change_password(user: User, *, current: str, new: str) -> None:
    """Change one's own password: the current one must be given (and right)."""
    if not check_password_hash(user.password_hash, current or ""):
        raise ValidationError({"current": _("Your current password is not right.")})
    set_password(user, new)


def end_sessions(user: User) -> None:
    """End every login session and remember cookie of the user (logging out: a copied cookie dies too)."""
    user.session_version += 1
    db.session.commit()


def user_of_session(session_id: str) -> User | None:
    """The user a login session or remember cookie names (``id:version``), if that version is still current."""
    user_id, _sep, version = (session_id or "").partition(":")
    if not (user_id.isdigit() and version.isdigit()) or len(user_id) > 10:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.deactivated_at is not None or str(user.session_version) != version:
        return None
    return user


def set_language(user: User, language: str) -> None:
    if language not in LANGUAGES:
        raise ValidationError({"language": _("Choose English or Dutch.")})
    user.language = language
    db.session.commit()


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None (in about the same time either way).

    Raises ``TooManyAttempts`` while the address is in its backoff after wrong passwords (``login_backoff``):
    the password is not even checked then, so guessing gains nothing."""
    wait = login_backoff.wait_seconds(email)
    if wait:
        message = _("Too many wrong passwords for this account. Try again in %(seconds)s seconds.", seconds=wait)
        raise TooManyAttempts(message, wait)
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        check_password_hash(_dummy_hash(), password or "")
        login_backoff.record_failure(email)
        return None
    if not check_password_hash(user.password_hash, password or ""):
        login_backoff.record_failure(email)
        return None
    login_backoff.clear(email)
    if user.deactivated_at is not None:
        raise PermissionDenied(_("This user is deactivated. Ask an admin of your account to reactivate you."))
    user.last_login_at = utcnow()
    db.session.commit()
    return user


def authenticate_api_user(email: str, password: str, account_name: str | None = None) -> User | None:
    """Like ``authenticate``, for machine logins (SOAP ``login``): admins and owners only; a deactivated user is
    None. A user with two-factor login raises ``SecondFactorRequired`` (a password alone is not enough: such a
    client uses an API token)."""
    try:
        user = authenticate(email, password)
    except PermissionDenied:
        return None
    if user is not None and user.totp_secret is not None:
        raise SecondFactorRequired(
            _("This user logs in with two-factor authentication: use an API token for the SOAP API.")
        )
    if user is None or not user.has_role("admin"):
        return None
    if account_name and user.account.name.lower() != account_name.strip().lower():
        return None
    return user
