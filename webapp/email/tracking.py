"""What the signed links in our email do: record an open or a click, unsubscribe.

A token that does not verify is refused (``NotFound``), so a click link can never redirect to a target we did
not sign. Opens and clicks are journalled as ``email_opened``/``email_clicked`` events with source "email"
(every open and click counts: repeats are events too). A profile removed since the mail was sent is no error:
the pixel still answers and the click still redirects.
"""

from urllib.parse import urlsplit

from flask_babel import gettext as _

from webapp.email import link_tokens
from webapp.extensions import db
from webapp.models import Account, Profile
from webapp.platform.errors import NotFound
from webapp.profiles import events
from webapp.profiles.events import Origin
from webapp.profiles.merges import profile_for_code
from webapp.profiles.unsubscribe import is_subscribed, unsubscribe


def _verified(purpose: str, token: str) -> dict:
    values = link_tokens.unsign(purpose, token)
    if values is None or not isinstance(values.get("a"), int) or not isinstance(values.get("p"), str):
        raise NotFound(_("This link is not valid."))
    return values


def _profile(values: dict) -> Profile | None:
    return profile_for_code(values["a"], values["p"])


def record_open(token: str) -> None:
    values = _verified("open", token)
    profile = _profile(values)
    if profile is not None:
        events.record("email_opened", _origin(values), profile=profile, changes={"message_id": values.get("m", "")})
        db.session.commit()


def record_click(token: str) -> str:
    """Journal the click; returns the signed target to redirect to."""
    values = _verified("click", token)
    url = values.get("u")
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise NotFound(_("This link is not valid."))
    profile = _profile(values)
    if profile is not None:
        changes = {"message_id": values.get("m", ""), "url": url}
        events.record("email_clicked", _origin(values), profile=profile, changes=changes)
        db.session.commit()
    return url


def _origin(values: dict) -> Origin:
    return Origin("email", reference=str(values.get("m", ""))[:100])


def unsubscribe_target(token: str) -> Profile | None:
    """The profile an unsubscribe link is for (None when it was removed since); NotFound for a bad token."""
    return _profile(_verified("unsubscribe", token))


def is_unsubscribed(token: str) -> bool:
    profile = unsubscribe_target(token)
    return profile is None or not is_subscribed(profile)


def unsubscribe_by_link(token: str) -> None:
    """Apply the database's unsubscribe behaviour (idempotent: an unsubscribed or removed profile stays so)."""
    values = _verified("unsubscribe", token)
    profile = _profile(values)
    if profile is None or not is_subscribed(profile):
        return
    account = db.session.get_one(Account, values["a"])  # the profile is of this account
    unsubscribe(
        account, profile.id, origin=Origin("unsubscribe", actor="link", reference=str(values.get("m", ""))[:100])
    )
