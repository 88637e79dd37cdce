"""Refusals at send time as bounces: the receiving server said no to our RCPT TO or DATA.

``email.refusals`` hands over each final refusal (a 5xx at once, a 4xx once the sender stopped retrying); it is
journalled on the profile as a ``bounced`` event in the shape of ``reports`` (source ``bounce``), so the bounce
policies count it like a bounce that came back by mail. A refusal of mail to no profile (a form's notification
to the marketer) is only logged by its sender.
"""

from flask import current_app

from webapp.email.refusals import Refusal
from webapp.extensions import db
from webapp.hygiene.reports import Reason
from webapp.models import Profile, ProfileEvent
from webapp.profiles import events
from webapp.profiles.events import Origin

# RFC 3463 enhanced status codes (subject.detail) that name a reason; the rest is "other" (``policy`` for the
# security/policy class 7).
STATUS_REASONS = {
    "1.1": Reason.USER_UNKNOWN,
    "1.0": Reason.USER_UNKNOWN,
    "1.6": Reason.USER_UNKNOWN,
    "2.1": Reason.USER_UNKNOWN,
    "1.2": Reason.DOMAIN_NOT_FOUND,
    "4.4": Reason.DOMAIN_NOT_FOUND,
    "2.2": Reason.MAILBOX_FULL,
    "2.3": Reason.TOO_LARGE,
    "3.4": Reason.TOO_LARGE,
    "4.7": Reason.EXPIRED,
    "7.1": Reason.BLOCKED,
}


def journal_refusal(refusal: Refusal) -> None:
    """Journal the refusal as the bounce of its message, when the message went to a profile."""
    profile = db.session.get(Profile, refusal.profile_id) if refusal.profile_id else None
    if profile is None or profile.account_id != refusal.account_id:
        current_app.logger.info("refusal of %s at send time, no profile: %s", refusal.recipient, refusal.reply)
        return
    bounce = {
        "type": "hard" if refusal.permanent else "soft",
        "reason": str(reason_of(refusal.status)),
        "status": refusal.status,
        "diagnostic": f"smtp; {refusal.code} {refusal.reply}"[:1000],
        "message_id": refusal.message_id,
    }
    journal_bounce(profile, bounce, reference=refusal.message_id)


def reason_of(status: str) -> Reason:
    """The normalised reason of an enhanced status code (``5.1.1`` → user unknown)."""
    detail = status.partition(".")[2]
    if detail in STATUS_REASONS:
        return STATUS_REASONS[detail]
    return Reason.POLICY if detail.startswith("7.") else Reason.OTHER


def journal_bounce(profile: Profile, bounce: dict, *, reference: str = "") -> ProfileEvent:
    """Journal a ``bounced`` event in the shape ``reports`` documents (the policies react to it)."""
    return events.record(
        "bounced", Origin("bounce", reference=reference[:100]), profile=profile, changes={"bounce": bounce}
    )
