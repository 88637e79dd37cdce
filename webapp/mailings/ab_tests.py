"""Choosing an A/B test's winner: the variant with the highest rate of unique opens (or clicks) among the
sample's sent messages; a tie goes to the lower variant number, a sample without any open to variant 1."""

from sqlalchemy import and_, func, select

from webapp.extensions import db
from webapp.models import EmailResult, Mailing, MailingRecipient, RecipientStatus


def variant_results(mailing: Mailing) -> dict[int, tuple[int, int, int]]:
    """Per variant number: (sent, unique opens, unique clicks) of the sample."""
    rows = db.session.execute(
        select(
            MailingRecipient.variant,
            func.count(),
            func.count(EmailResult.opened_at),
            func.count(EmailResult.clicked_at),
        )
        .select_from(MailingRecipient)
        .outerjoin(
            EmailResult,
            and_(EmailResult.mailing_id == mailing.id, EmailResult.profile_id == MailingRecipient.profile_id),
        )
        .where(
            MailingRecipient.mailing_id == mailing.id,
            MailingRecipient.status == RecipientStatus.SENT,
            MailingRecipient.variant > 0,
        )
        .group_by(MailingRecipient.variant)
    ).all()
    return {variant: (sent, opens, clicks) for variant, sent, opens, clicks in rows}


def winner(mailing: Mailing) -> int:
    """The winning variant's number (1-based)."""
    results = variant_results(mailing)
    index = 2 if mailing.ab_metric == "clicks" else 1

    def rate(number: int) -> float:
        found = results.get(number)
        return found[index] / found[0] if found and found[0] else 0.0

    numbers = range(1, len(mailing.variants or []) + 1)
    return max(numbers, key=lambda number: (rate(number), -number))
