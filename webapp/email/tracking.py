"""What the signed links in our email do: record an open or a click, unsubscribe.

A token that does not verify is refused (``NotFound``), so a click link can never redirect to a target we did
not sign. Opens and clicks are journalled as ``email_opened``/``email_clicked`` events with source "email"
(every open and click counts: repeats are events too), and counted on the message's ``EmailResult``
(``results``), as is an unsubscribe by its link. A profile removed since the mail was sent is no error:
the pixel still answers and the click still redirects.
"""

from enum import StrEnum
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.email import link_tokens, results, suppression
from webapp.email.delivery import MailError
from webapp.email.sending import recipient_of
from webapp.extensions import db
from webapp.models import Account, Profile, SentMessage
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


def link_account_id(token: str) -> int:
    """The account an unsubscribe link belongs to (its branding and language); NotFound for a bad token."""
    return int(_verified("unsubscribe", token)["a"])


def _profile(values: dict) -> Profile | None:
    return profile_for_code(values["a"], values["p"])


def profile_of_unsubscribe_link(token: str) -> Profile | None:
    """The profile an unsubscribe link names (None when it is gone); NotFound for a bad token. The preference
    page's other actions (privacy self-service) act on this profile."""
    return _profile(_verified("unsubscribe", token))


def record_open(token: str) -> None:
    values = _verified("open", token)
    profile = _profile(values)
    results.record_open(values["a"], str(values.get("m", "")))
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
    results.note_click(results.record_click(values["a"], str(values.get("m", ""))), url)
    if profile is not None:
        changes = {"message_id": values.get("m", ""), "url": url}
        events.record("email_clicked", _origin(values), profile=profile, changes=changes)
    db.session.commit()
    return url


def _origin(values: dict) -> Origin:
    return Origin("email", reference=str(values.get("m", ""))[:100])


class Unsubscribed(StrEnum):
    """What an unsubscribe link did (or, before the POST, whether there is anything left to do)."""

    ASK = "ask"  # subscribed: the page asks first (link scanners must not unsubscribe anyone)
    UPDATED = "updated"  # the database's unsubscribe values were set
    REMOVED = "removed"  # the profile was removed
    SUPPRESSED = "suppressed"  # no profile value changed ("nothing", or "update" without values): only the list
    ALREADY = "already"  # unsubscribed or suppressed before
    UNKNOWN = "unknown"  # the profile and the message are gone: nothing to act on


# What counts as unsubscribed after the POST (the account's page of its own may then take over)
UNSUBSCRIBED = frozenset({Unsubscribed.UPDATED, Unsubscribed.REMOVED, Unsubscribed.SUPPRESSED, Unsubscribed.ALREADY})


def unsubscribe_state(token: str) -> Unsubscribed:
    """Before a POST: ``ALREADY`` when the link's address gets no marketing mail any more, else ``ASK``
    (``UNKNOWN`` when neither the profile nor the message is known); NotFound for a bad token."""
    values = _verified("unsubscribe", token)
    profile = _profile(values)
    address = _address(values, profile)
    if address and suppression.blocking_reason(values["a"], address, "marketing"):
        return Unsubscribed.ALREADY
    if profile is not None:
        return Unsubscribed.ASK if is_subscribed(profile) else Unsubscribed.ALREADY
    return Unsubscribed.ASK if address else Unsubscribed.UNKNOWN


def unsubscribe_by_link(token: str) -> Unsubscribed:
    """Apply the database's unsubscribe behaviour (idempotent: an unsubscribed or removed profile stays so).

    Whatever the behaviour, the address goes on the suppression list (the ``unsubscribed`` event puts it
    there; for a profile removed since the mail, the address the message went to is suppressed here), so no
    marketing mail reaches it again (issue 22). Returns what actually happened, for the page to say."""
    values = _verified("unsubscribe", token)
    state = unsubscribe_state(token)
    if state in (Unsubscribed.ALREADY, Unsubscribed.UNKNOWN):
        return state
    profile = _profile(values)
    results.record_unsubscribe(values["a"], str(values.get("m", "")))
    if profile is None:  # removed since the mail: keep the address from getting any more
        suppression.suppress(values["a"], _address(values, None), suppression.Reason.UNSUBSCRIBE, detail="link")
        db.session.commit()
        return Unsubscribed.SUPPRESSED
    account = db.session.get_one(Account, values["a"])  # the profile is of this account
    origin = Origin("unsubscribe", actor="link", reference=str(values.get("m", ""))[:100])
    behaviour = unsubscribe(account, profile.id, origin=origin)
    if behaviour == "remove":
        return Unsubscribed.REMOVED
    return Unsubscribed.SUPPRESSED if is_subscribed(profile) else Unsubscribed.UPDATED


def _address(values: dict, profile: Profile | None) -> str:
    """The address the link is about: the profile's, else the one the message went to (the sent-message log)."""
    if profile is not None:
        try:
            return recipient_of(profile)
        except MailError:
            return ""
    message_id = str(values.get("m", ""))
    query = select(SentMessage.recipient).where(
        SentMessage.account_id == values["a"], SentMessage.message_id == message_id
    )
    return (db.session.scalar(query) or "") if message_id else ""
