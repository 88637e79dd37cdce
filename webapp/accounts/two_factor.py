"""Two-factor login with TOTP (RFC 6238, the codes of authenticator apps) and recovery codes.

Enrolment: ``start_enrolment`` keeps a new secret as pending and returns it with its QR code (SVG drawn here by
segno: the secret never leaves the server); ``confirm_enrolment`` with a right code turns it on, ends the user's
other sessions and returns ten recovery codes, shown once and stored hashed (each works once). Turning it off
asks for the password. An owner may require it for the whole account (``set_required``): a user without it is
sent to enrolment after logging in and can do nothing else until done.

Checking a code (``verify``): a TOTP code of the current 30-second step or the one before or after, never the same
step twice, or an unused recovery code. Wrong codes are counted per user in Redis: after ``FREE_FAILURES`` each
try waits (as ``login_backoff``), so a six-digit code cannot be guessed; the door also limits tries per client
address. API tokens are unaffected (a token is its own factor); a SOAP login with a password is refused for a
user with two-factor login (``users.authenticate_api_user``).
"""

import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import pyotp
import segno
from flask_babel import gettext as _
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash

from webapp.extensions import db
from webapp.models import Account, RecoveryCode, User, utcnow
from webapp.platform.errors import PermissionDenied, TooManyAttempts, ValidationError
from webapp.platform.queues import redis_connection

ISSUER = "Verrijk"
RECOVERY_CODES = 10
FREE_FAILURES = 5
FAILURE_WINDOW = 15 * 60
MAX_WAIT = 300


@dataclass(frozen=True)
class Enrolment:
    secret: str
    uri: str
    qr_svg: str  # inline SVG


def needs_enrolment(user: User) -> bool:
    """Whether the account requires two-factor login and this user has not set it up."""
    return user.account.require_two_factor and user.totp_secret is None


def start_enrolment(user: User) -> Enrolment:
    """A new pending secret (replacing an earlier pending one) and its QR code."""
    user.totp_pending = pyotp.random_base32()
    db.session.commit()
    return enrolment(user)


def enrolment(user: User) -> Enrolment:
    """The pending secret shown again (the page reloaded), or a new one."""
    if user.totp_pending is None:
        return start_enrolment(user)
    uri = pyotp.TOTP(user.totp_pending).provisioning_uri(name=user.email, issuer_name=ISSUER)
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code for your authenticator app"))
    return Enrolment(user.totp_pending, uri, svg)


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn two-factor login on with a code of the pending secret; returns the recovery codes (shown once)."""
    if user.totp_pending is None:
        raise ValidationError({"code": _("Start again: scan the QR code first.")})
    step = _matching_step(user.totp_pending, code, None)
    if step is None:
        raise ValidationError({"code": _("That code is not right. Enter the 6 digits your app shows now.")})
    user.totp_secret, user.totp_pending, user.totp_last_step = user.totp_pending, None, step
    user.session_version += 1  # sessions and remember cookies from before have no second factor
    codes = _new_recovery_codes(user)
    db.session.commit()
    return codes


def regenerate_recovery_codes(user: User, password: str) -> list[str]:
    """New recovery codes (the old ones stop working); the password is asked for."""
    if user.totp_secret is None:
        raise ValidationError({"password": _("Two-factor login is off.")})
    if not check_password_hash(user.password_hash, password or ""):
        raise ValidationError({"password": _("Your password is not right.")})
    codes = _new_recovery_codes(user)
    db.session.commit()
    return codes


def disable(user: User, password: str) -> None:
    """Turn two-factor login off (the password is asked for); not while the account requires it."""
    if not check_password_hash(user.password_hash, password or ""):
        raise ValidationError({"password": _("Your password is not right.")})
    if user.account.require_two_factor:
        raise PermissionDenied(_("Your account requires two-factor login: it stays on."))
    user.totp_secret = user.totp_pending = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.commit()


def set_required(account: Account, actor: User, required: bool) -> Account:
    """Require (or stop requiring) two-factor login for every user of the account: owners only."""
    if not actor.has_role("owner"):
        raise PermissionDenied(_("Only an owner can change this."))
    if required and actor.totp_secret is None:
        raise ValidationError(_("Turn on two-factor login for yourself first."))
    account.require_two_factor = required
    db.session.commit()
    return account


def remaining_recovery_codes(user: User) -> int:
    return len(
        db.session.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).all()
    )


def verify(user: User, code: str) -> bool:
    """Check a login's second factor (TOTP code or recovery code); raises ``TooManyAttempts`` while waiting."""
    wait = wait_seconds(user)
    if wait:
        raise TooManyAttempts(_("Too many wrong codes. Try again in %(seconds)s seconds.", seconds=wait), wait)
    if user.totp_secret is None:
        return True
    cleaned = "".join((code or "").split()).replace("-", "").lower()
    step = _matching_step(user.totp_secret, cleaned, user.totp_last_step)
    if step is not None:
        user.totp_last_step = step
        db.session.commit()
        _clear(user)
        return True
    if cleaned and _use_recovery_code(user, cleaned):
        _clear(user)
        return True
    _record_failure(user)
    return False


def _matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step (now, one before or one after) whose code is ``code``, unless used already."""
    code = "".join((code or "").split())
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    now = time.time()
    for offset in (0, -1, 1):
        moment = now + offset * totp.interval
        step = totp.timecode(_utc(moment))
        if secrets.compare_digest(totp.at(moment), code) and (last_step is None or step > last_step):
            return step
    return None


def _utc(moment: float) -> datetime:
    return datetime.fromtimestamp(moment, UTC)


def _hash_code(code: str) -> str:
    return hashlib.sha256(b"verrijk-recovery:" + code.encode()).hexdigest()


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [secrets.token_hex(5) for _index in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_code(code)) for code in codes)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def _use_recovery_code(user: User, cleaned: str) -> bool:
    found = db.session.scalar(
        select(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(cleaned),
            RecoveryCode.used_at.is_(None),
        )
        .with_for_update()
    )
    if found is None:
        return False
    found.used_at = utcnow()
    db.session.commit()
    return True


def _key(user: User) -> str:
    return f"verrijk:2fa-failures:{user.id}"


def wait_seconds(user: User, *, now: float | None = None) -> int:
    failures, last = redis_connection().hmget(_key(user), "failures", "last")
    extra = int(failures or 0) - FREE_FAILURES
    if extra < 0 or last is None:
        return 0
    delay = min(2 ** min(extra, 20), MAX_WAIT)
    left = float(last) + delay - (now if now is not None else time.time())
    return max(0, math.ceil(left))


def _record_failure(user: User) -> None:
    pipeline = redis_connection().pipeline()
    pipeline.hincrby(_key(user), "failures", 1)
    pipeline.hset(_key(user), "last", time.time())
    pipeline.expire(_key(user), FAILURE_WINDOW)
    pipeline.execute()


def _clear(user: User) -> None:
    redis_connection().delete(_key(user))
