"""Who a mailing goes to: the members of its target selections minus those of its exclusion selections, frozen
into ``mailing_recipient`` rows by one ``INSERT … SELECT`` (never loaded into Python), and the A/B sample."""

from typing import Any, cast

from flask_babel import gettext as _
from sqlalchemy import CursorResult, Select, func, insert, literal, select, union, update

from webapp.extensions import db
from webapp.models import Mailing, MailingRecipient, Profile, RecipientStatus, Selection
from webapp.platform.errors import ValidationError
from webapp.selections.membership import member_ids


def _changed(statement) -> int:
    """Rows an UPDATE changed (Session.execute is typed to return a plain Result, without ``rowcount``)."""
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount or 0


def _selections(mailing: Mailing, ids: list[int]) -> list[Selection]:
    found = list(
        db.session.scalars(
            select(Selection).where(
                Selection.id.in_(ids or [0]),
                Selection.account_id == mailing.account_id,
                Selection.database_id == mailing.database_id,
            )
        )
    )
    if len(found) != len(set(ids)):
        raise ValidationError({"target_ids": _("A selection of this mailing no longer exists.")})
    return found


def audience(mailing: Mailing) -> Select:
    """``SELECT profile.id`` of the mailing's recipients, as of now."""
    targets = [member_ids(selection) for selection in _selections(mailing, mailing.target_ids or [])]
    if not targets:
        raise ValidationError({"target_ids": _("Choose at least one selection to send to.")})
    members = targets[0] if len(targets) == 1 else union(*targets)
    query = select(Profile.id).where(
        Profile.account_id == mailing.account_id,
        Profile.database_id == mailing.database_id,
        Profile.id.in_(members),
    )
    for selection in _selections(mailing, mailing.exclude_ids or []):
        query = query.where(Profile.id.not_in(member_ids(selection)))
    return query


def count(mailing: Mailing) -> int:
    """How many profiles the mailing would go to now."""
    return db.session.scalar(select(func.count()).select_from(audience(mailing).subquery())) or 0


def freeze(mailing: Mailing, *, status: RecipientStatus = RecipientStatus.PENDING) -> int:
    """Insert one recipient row per member, in the caller's transaction; returns how many."""
    members = audience(mailing).subquery()
    rows = select(
        literal(mailing.id),
        members.c.id,
        literal(0),
        literal(str(status)),
        literal(""),
        literal(""),
        literal(""),
        literal(""),
        literal(0),
    ).order_by(members.c.id)
    columns = ["mailing_id", "profile_id", "variant", "status", "reason", "error", "message_id", "job_id", "attempts"]
    db.session.execute(insert(MailingRecipient).from_select(columns, rows))
    return _counted(mailing.id)


def _counted(mailing_id: int) -> int:
    return db.session.scalar(select(func.count()).where(MailingRecipient.mailing_id == mailing_id)) or 0


def split_sample(mailing: Mailing, frozen: int) -> int:
    """A/B test: ``ab_percent`` of the held recipients, chosen at random, become pending, spread evenly over
    the variants (1, 2, …); the rest stays held for the winner. Returns the sample's size."""
    variants = len(mailing.variants or [])
    size = max(variants, round(frozen * mailing.ab_percent / 100)) if frozen else 0
    ranked = (
        select(MailingRecipient.id, func.row_number().over(order_by=func.random()).label("rank"))
        .where(MailingRecipient.mailing_id == mailing.id, MailingRecipient.status == RecipientStatus.HELD)
        .subquery()
    )
    sample = select(ranked.c.id, (ranked.c.rank % variants + 1).label("variant")).where(ranked.c.rank <= size)
    chosen = sample.subquery()
    db.session.execute(
        update(MailingRecipient)
        .where(MailingRecipient.id == chosen.c.id)
        .values(status=RecipientStatus.PENDING, variant=chosen.c.variant)
        .execution_options(synchronize_session=False)
    )
    return min(size, frozen)


def release_held(mailing: Mailing, winner: int) -> int:
    """The held recipients get the winning variant."""
    return _changed(
        update(MailingRecipient)
        .where(MailingRecipient.mailing_id == mailing.id, MailingRecipient.status == RecipientStatus.HELD)
        .values(status=RecipientStatus.PENDING, variant=winner)
        .execution_options(synchronize_session=False)
    )
