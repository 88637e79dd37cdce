"""Password reset by email ("forgot password").

Asking for a reset answers the same whatever the address (known, unknown, deactivated, rate-limited): no
enumeration. For an active user it adds a ``PasswordReset`` row and a durable work row (``password_reset_mail``)
in one transaction; the job makes the link and sends it, so the answer does not wait for SMTP either (timing
tells nothing). Per address at most ``MAX_REQUESTS_PER_HOUR`` mails go out (counted in Redis under a keyed hash
of the address); the door limits requests per client address as well.

The link is signed, expires after an hour and works once (``one_time_links``; only a hash is stored). Setting a
new password through it ends every session and remember cookie of the user and uses up every other reset link of
theirs; API tokens stay. It does not log in: the login (with its second factor, if any) follows.
"""

import hashlib
import hmac
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from werkzeug.security import generate_password_hash

from webapp.accounts import login_backoff, one_time_links
from webapp.accounts.users import check_password_rules
from webapp.email import delivery
from webapp.extensions import db
from webapp.models import PasswordReset, ScheduledWork, User, utcnow
from webapp.platform import work
from webapp.platform.errors import ValidationError
from webapp.platform.queues import redis_connection

PURPOSE = "password reset"
LIFETIME = timedelta(hours=1)
MAX_REQUESTS_PER_HOUR = 3
WORK_KIND = "password_reset_mail"


def link_path(token: str) -> str:
    return f"/reset/{token}"


def _counter_key(email: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, b"verrijk-reset:" + email.encode(), hashlib.sha256)
    return f"verrijk:reset-requests:{digest.hexdigest()[:32]}"


def _within_limit(email: str) -> bool:
    key = _counter_key(email)
    pipeline = redis_connection().pipeline()
    pipeline.incr(key)
    pipeline.expire(key, 3600, nx=True)
    count, _expiry = pipeline.execute()
    return int(count) <= MAX_REQUESTS_PER_HOUR


def request_reset(email: str) -> None:
    """Ask for a reset link for ``email``; returns nothing either way (see the module's docstring)."""
    email = (email or "").strip().lower()
    if not email or len(email) > 255 or not _within_limit(email):
        return
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or user.deactivated_at is not None:
        return
    reset = PasswordReset(user_id=user.id, expires_at=utcnow() + LIFETIME)
    db.session.add(reset)
    db.session.flush()
    work.schedule(WORK_KIND, payload={"reset": reset.id}, account_id=user.account_id)
    db.session.commit()


def run_reset_mail_work(row: ScheduledWork) -> None:
    """Make the link and send it (a link not sent before its hour is over is not sent at all)."""
    reset = db.session.get(PasswordReset, int(row.payload.get("reset", 0)))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        return
    user = db.session.get(User, reset.user_id)
    if user is None or user.deactivated_at is not None:
        return
    token, reset.token_hash = one_time_links.make(PURPOSE, reset.id)
    url = current_app.config["PUBLIC_URL"] + link_path(token)
    text = "\n".join(
        [
            _("Someone asked to reset the password of %(email)s in Verrijk.", email=user.email),
            "",
            _("Choose a new password with this link (it works once, for an hour):"),
            url,
            "",
            _("Not you? Ignore this message: your password stays as it is."),
        ]
    )
    delivery.send_mail(
        user.account_id, to=user.email, subject=_("Reset your Verrijk password"), text=text, category="transactional"
    )


def _refused() -> ValidationError:
    return ValidationError(
        _("This password reset link is not valid: it was used, it expired, or it is incomplete. Ask for a new one.")
    )


def check_link(token: str) -> PasswordReset:
    """The unused, unexpired reset this link is for, or ``ValidationError``."""
    found = one_time_links.read(PURPOSE, token, int(LIFETIME.total_seconds()))
    if found is None:
        raise _refused()
    reset = db.session.get(PasswordReset, found[0])
    if (
        reset is None
        or not one_time_links.same_hash(reset.token_hash, found[1])
        or reset.used_at is not None
        or reset.expires_at <= utcnow()
    ):
        raise _refused()
    user = db.session.get(User, reset.user_id)
    if user is None or user.deactivated_at is not None:
        raise _refused()
    return reset


def reset_password(token: str, password: str) -> User:
    """Set the new password; every session ends, every reset link of the user is used up; tokens stay."""
    reset = db.session.scalar(select(PasswordReset).where(PasswordReset.id == check_link(token).id).with_for_update())
    if reset is None or reset.used_at is not None:
        raise _refused()
    check_password_rules(password)
    user = db.session.get_one(User, reset.user_id)
    now = utcnow()
    user.password_hash = generate_password_hash(password)
    user.password_change_due = False
    user.session_version += 1
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    db.session.commit()
    login_backoff.clear(user.email)
    return user
