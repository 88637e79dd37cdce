"""Consent records: what a person agreed to, the exact text shown, when, through which door, from which IP
address, and the double opt-in confirmation.

The writers live here, below the doors' packages (web forms, surveys, imports, the APIs), so that each can
record in its own transaction; ``webapp.privacy`` reads them for the profile page, the access export and
erasure. A record is written for each consent item a person ticked (its text as shown then, a snapshot, never
a reference to the item) and for a profile created or changed by an import or an API call that states a basis.
"""

from datetime import datetime

from sqlalchemy import select, update

from webapp.extensions import db
from webapp.models import ConsentRecord, utcnow


def record(
    *,
    account_id: int,
    database_id: int | None,
    profile_id: int | None,
    source: str,
    reference: str = "",
    item: str = "",
    text: str = "",
    basis: str = "consent",
    ip: str = "",
    at: datetime | None = None,
) -> ConsentRecord:
    """Add one consent record to the caller's transaction."""
    row = ConsentRecord(
        account_id=account_id,
        database_id=database_id,
        profile_id=profile_id,
        source=source[:16],
        reference=str(reference)[:100],
        item=str(item)[:64],
        text=text,
        basis=basis[:200] or "consent",
        ip=ip[:64],
        agreed_at=at or utcnow(),
    )
    db.session.add(row)
    return row


def record_items(
    *,
    account_id: int,
    database_id: int | None,
    profile_id: int | None,
    source: str,
    reference: str,
    consents: dict[str, str],
    ip: str = "",
    at: datetime | None = None,
) -> list[ConsentRecord]:
    """One record per consent item ticked (``{item id: the text shown}``), in the caller's transaction."""
    return [
        record(
            account_id=account_id,
            database_id=database_id,
            profile_id=profile_id,
            source=source,
            reference=reference,
            item=item,
            text=text,
            ip=ip,
            at=at,
        )
        for item, text in consents.items()
    ]


def confirm(
    account_id: int,
    database_id: int,
    profile_id: int,
    *,
    source: str,
    reference: str,
    ip: str = "",
    at: datetime | None = None,
) -> int:
    """Mark the profile's unconfirmed records of that form (or survey) confirmed (a double opt-in link followed),
    in the caller's transaction; with none to mark, the confirmation is a record of its own. Returns how many
    records were marked."""
    moment = at or utcnow()
    result = db.session.execute(
        update(ConsentRecord)
        .where(
            ConsentRecord.profile_id == profile_id,
            ConsentRecord.source == source,
            ConsentRecord.reference == str(reference),
            ConsentRecord.confirmed_at.is_(None),
        )
        .values(confirmed_at=moment, confirmed_ip=ip[:64])
        .execution_options(synchronize_session=False)
    )
    marked = int(getattr(result, "rowcount", 0) or 0)
    if not marked:
        row = record(
            account_id=account_id,
            database_id=database_id,
            profile_id=profile_id,
            source=source,
            reference=reference,
            basis="double opt-in",
            ip=ip,
            at=moment,
        )
        row.confirmed_at, row.confirmed_ip = moment, ip[:64]
    return marked


def of_profiles(account_id: int, profile_ids: list[int]) -> list[ConsentRecord]:
    """The records of these profiles, oldest first."""
    if not profile_ids:
        return []
    return list(
        db.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.account_id == account_id, ConsentRecord.profile_id.in_(profile_ids))
            .order_by(ConsentRecord.id)
        )
    )
