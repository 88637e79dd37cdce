"""Role checks and the current account for admin views."""

from functools import wraps

from flask import abort
from flask_login import current_user

from webapp.models import Account


def requires(role: str):
    """Allow the view only to users with ``role`` or a stronger one (viewer < editor < admin < owner)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def current_account() -> Account:
    return current_user.account


def actor() -> str:
    """How the event journal names the current user."""
    return f"user:{current_user.id} {current_user.email}"
