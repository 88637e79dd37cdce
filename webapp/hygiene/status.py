"""A profile's email status, for the admin and for later features (selections): its bounces and whether its
address is suppressed."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from webapp.email import suppression
from webapp.extensions import db
from webapp.hygiene.policies import address_of, bounces_in_a_row
from webapp.models import Account, ProfileEvent
from webapp.profiles.profiles import get_profile


@dataclass(frozen=True)
class EmailStatus:
    address: str
    bounce_count: int
    hard_bounces_in_a_row: int
    soft_bounces_in_a_row: int
    last_bounce_at: datetime | None
    last_bounce_type: str
    last_bounce_reason: str
    suppressed: bool
    suppression_reason: str


def email_status(account: Account, profile_id: int) -> EmailStatus:
    """The profile's bounces (all of them, and in a row as the policies count them), its last bounce, and its
    address's suppression (``suppressed`` means no marketing mail goes to it)."""
    profile = get_profile(account, profile_id)
    address = address_of(profile)
    bounced = select(ProfileEvent).where(ProfileEvent.profile_id == profile.id, ProfileEvent.kind == "bounced")
    count = db.session.scalar(select(func.count()).select_from(bounced.subquery())) or 0
    last = db.session.scalar(bounced.order_by(ProfileEvent.id.desc()).limit(1))
    bounce = ((last.changes or {}).get("bounce") or {}) if last is not None else {}
    row = suppression.active(account.id, address) if address else None
    return EmailStatus(
        address=address,
        bounce_count=count,
        hard_bounces_in_a_row=bounces_in_a_row(profile, "hard"),
        soft_bounces_in_a_row=bounces_in_a_row(profile, "soft"),
        last_bounce_at=last.created_at if last is not None else None,
        last_bounce_type=str(bounce.get("type") or ""),
        last_bounce_reason=str(bounce.get("reason") or ""),
        suppressed=row is not None,
        suppression_reason=row.reason if row is not None else "",
    )
