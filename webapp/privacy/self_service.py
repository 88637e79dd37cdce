"""Self-service on the signed preference (unsubscribe) page: "download my data" and "erase me".

The page is reached by the signed unsubscribe link of a mail, which names the profile. Both actions answer by
mail to the profile's own address (so only the mailbox's owner gets the data, or can confirm an erasure): a
signed link that expires after ``LINK_HOURS`` hours and names the profile with the first characters of its
secret code, so it dies with the profile (erased) or with its code (anonymised). Following the data link
downloads the access export; following the erase link shows a page whose button requests the erasure.
"""

from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from webapp.email import delivery, link_tokens, tracking
from webapp.email.sending import recipient_of
from webapp.extensions import db
from webapp.models import Account, PrivacyRequest, PrivacyRequestKind, Profile
from webapp.platform.errors import NotFound, ValidationError
from webapp.privacy import access, erasure

LINK_HOURS = 24
ACTIONS = ("data", "erase")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="privacy-self-service")


def send_link(unsubscribe_token: str, action: str) -> None:
    """Mail the profile of the unsubscribe link a signed link for ``action`` (``data`` or ``erase``)."""
    if action not in ACTIONS:
        raise NotFound(_("This link is not valid."))
    profile = tracking.profile_of_unsubscribe_link(unsubscribe_token)
    if profile is None:
        raise NotFound(_("This subscription no longer exists."))
    try:
        address = recipient_of(profile)
    except delivery.MailError:
        raise ValidationError(_("This subscription has no email address to send the link to.")) from None
    token = _serializer().dumps({"a": profile.account_id, "p": profile.id, "c": profile.code[:8], "do": action})
    url = link_tokens.public_url(f"/p/privacy/{action}/{token}")
    account = db.session.get_one(Account, profile.account_id)
    with force_locale(account.language or "en"):
        if action == "data":
            subject = _("Your data")
            text = _(
                "Follow this link within %(hours)s hours to download everything we hold about you:", hours=LINK_HOURS
            )
        else:
            subject = _("Confirm the erasure of your data")
            text = _(
                "Follow this link within %(hours)s hours to confirm that all your data is to be erased:",
                hours=LINK_HOURS,
            )
    try:
        delivery.send_mail(account.id, to=address, subject=subject, text=f"{text}\n\n{url}\n", profile_id=profile.id)
    except delivery.MailError as error:
        raise ValidationError(_("The mail could not be sent: %(error)s", error=str(error))) from None
    db.session.commit()


def _profile_of(token: str, action: str) -> Profile:
    try:
        values = _serializer().loads(token, max_age=LINK_HOURS * 3600)
    except SignatureExpired:
        raise ValidationError(_("This link has expired. Ask for a new one on the preference page.")) from None
    except BadSignature:
        raise NotFound(_("This link is not valid.")) from None
    if not isinstance(values, dict) or values.get("do") != action:
        raise NotFound(_("This link is not valid."))
    profile = db.session.get(Profile, int(values.get("p") or 0))
    if profile is None or profile.account_id != values.get("a") or profile.code[:8] != values.get("c"):
        raise NotFound(_("This link is no longer valid."))
    return profile


def data_for_link(token: str) -> dict[str, Any]:
    """The access export of the link's profile."""
    profile = _profile_of(token, "data")
    account = db.session.get_one(Account, profile.account_id)
    return access.export_for_profile(account, profile.id)


def check_erase_link(token: str) -> None:
    """Raise when the erase link is not (or no longer) valid; the door then shows the confirm button."""
    _profile_of(token, "erase")


def erase_for_link(token: str) -> PrivacyRequest:
    """The person confirmed: erase the link's profile and everything under its address."""
    profile = _profile_of(token, "erase")
    account = db.session.get_one(Account, profile.account_id)
    return erasure.request_erasure(
        account, kind=PrivacyRequestKind.ERASE, requested_by="self-service", profile_id=profile.id
    )
