"""What became of each message: one ``EmailResult`` row per sent message, updated where things happen.

``delivery`` writes the row in the transaction that logs the ``SentMessage``; ``tracking`` counts opens and
clicks and marks an unsubscribe by a message's link; hygiene's intake marks bounces (the worst seen: a hard
bounce is never downgraded to soft) and complaints. Every update is one ``UPDATE`` in the caller's
transaction, found by the sent message's id or Message-ID; a message we have no row for (sent before results
were recorded, or forgotten) changes nothing. Selections' email rules and mailing results read these rows.
"""

from collections.abc import Callable
from datetime import datetime

from flask import current_app
from sqlalchemy import case, func, insert, select, update

from webapp.extensions import db
from webapp.models import EmailResult, Profile, SentMessage, utcnow

BOUNCE_TYPES = ("soft", "hard")


def record_sent(
    *,
    account_id: int,
    sent_message_id: int,
    profile_id: int | None,
    template_id: int | None,
    mailing_id: int | None,
    category: str,
    sent_at: datetime,
    database_id: int | None = None,
) -> None:
    """The row of a message just logged, in the caller's transaction (``database_id``: the profile's, when the
    caller has it; else it is read)."""
    if database_id is None and profile_id:
        database_id = db.session.scalar(select(Profile.database_id).where(Profile.id == profile_id))
    db.session.execute(
        insert(EmailResult).values(
            account_id=account_id,
            database_id=database_id,
            profile_id=profile_id,
            mailing_id=mailing_id,
            template_id=template_id,
            sent_message_id=sent_message_id,
            category=category,
            sent_at=sent_at,
            open_count=0,
            click_count=0,
            bounce="",
        )
    )


def _by_message_id(account_id: int, message_id: str):
    return (
        select(SentMessage.id)
        .where(SentMessage.account_id == account_id, SentMessage.message_id == message_id)
        .scalar_subquery()
    )


def record_open(account_id: int, message_id: str) -> None:
    """An open of the message (the first sets ``opened_at``; every one counts)."""
    if not message_id:
        return
    now = utcnow()
    db.session.execute(
        update(EmailResult)
        .where(EmailResult.sent_message_id == _by_message_id(account_id, message_id))
        .values(open_count=EmailResult.open_count + 1, opened_at=func.coalesce(EmailResult.opened_at, now))
        .execution_options(synchronize_session=False)
    )


def record_click(account_id: int, message_id: str) -> int | None:
    """A click in the message; a click is an open too (images may be blocked). Returns the mailing's id."""
    if not message_id:
        return None
    now = utcnow()
    row = db.session.execute(
        update(EmailResult)
        .where(EmailResult.sent_message_id == _by_message_id(account_id, message_id))
        .values(
            click_count=EmailResult.click_count + 1,
            clicked_at=func.coalesce(EmailResult.clicked_at, now),
            opened_at=func.coalesce(EmailResult.opened_at, now),
            open_count=case((EmailResult.open_count == 0, 1), else_=EmailResult.open_count),
        )
        .returning(EmailResult.mailing_id)
        .execution_options(synchronize_session=False)
    ).first()
    return row[0] if row else None


def subscribe_clicks(app, handler: Callable[[int, str], None]) -> None:
    """Call ``handler(mailing_id, url)`` for every click in a mailing's message, in the click's transaction
    (mailings count clicks per link: this package may not import them)."""
    app.extensions.setdefault("mail_clicks", []).append(handler)


def note_click(mailing_id: int | None, url: str) -> None:
    if mailing_id is None:
        return
    for handler in current_app.extensions.get("mail_clicks", []):
        handler(mailing_id, url)


def record_bounce(sent_message_id: int, bounce_type: str) -> None:
    """A soft or hard bounce of the message: ``bounce`` keeps the worst seen, ``bounced_at`` the first."""
    if bounce_type not in BOUNCE_TYPES:
        return
    now = utcnow()
    worst = "hard" if bounce_type == "hard" else case((EmailResult.bounce == "hard", "hard"), else_="soft")
    db.session.execute(
        update(EmailResult)
        .where(EmailResult.sent_message_id == sent_message_id)
        .values(bounce=worst, bounced_at=func.coalesce(EmailResult.bounced_at, now))
        .execution_options(synchronize_session=False)
    )


def record_complaint(sent_message_id: int) -> None:
    now = utcnow()
    db.session.execute(
        update(EmailResult)
        .where(EmailResult.sent_message_id == sent_message_id)
        .values(complained_at=func.coalesce(EmailResult.complained_at, now))
        .execution_options(synchronize_session=False)
    )


def record_unsubscribe(account_id: int, message_id: str) -> None:
    """The person unsubscribed through this message (its link or its ``mailto:`` address)."""
    if not message_id:
        return
    now = utcnow()
    db.session.execute(
        update(EmailResult)
        .where(EmailResult.sent_message_id == _by_message_id(account_id, message_id))
        .values(unsubscribed_at=func.coalesce(EmailResult.unsubscribed_at, now))
        .execution_options(synchronize_session=False)
    )


def record_unsubscribe_by_sent_id(sent_message_id: int) -> None:
    now = utcnow()
    db.session.execute(
        update(EmailResult)
        .where(EmailResult.sent_message_id == sent_message_id)
        .values(unsubscribed_at=func.coalesce(EmailResult.unsubscribed_at, now))
        .execution_options(synchronize_session=False)
    )
