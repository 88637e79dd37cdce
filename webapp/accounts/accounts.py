"""Accounts, the tenant boundary: created by name, found by name, and their settings (name, time zone, language).

Their users are ``users``' work, their API tokens ``tokens``'.
"""

import zoneinfo

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select

from webapp.accounts.users import LANGUAGES
from webapp.extensions import db
from webapp.models import Account
from webapp.platform.errors import NotFound, ValidationError


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


# --- API tokens -----------------------------------------------------------------------------------


# Valid tokens seen in this process by hash, each trusted for TOKEN_CACHE_SECONDS after it was read.
