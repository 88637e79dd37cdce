"""Consent records: what a person agreed to, the exact text shown, when, through which door, from which IP
address, and the double opt-in confirmation.

The writers live here, below the doors' packages (web forms, surveys, imports, the APIs), so that each can
record in its own transaction; ``webapp.privacy`` reads them for the profile page, the access export and
erasure. A record is written for each consent item a person ticked (its text as shown then, a snapshot, never
a reference to the item) and for a profile created or changed by an import or an API call that states a basis.
"""

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import insert, literal, select, update

from webapp.extensions import db
from webapp.models import ConsentRecord, Profile, ProfileEvent, utcnow
from webapp.platform.errors import ValidationError

# The lawful bases of the GDPR (art. 6(1)) an import or an API caller may state.
BASES = ("consent", "contract", "legal obligation", "vital interests", "public task", "legitimate interest")
PURPOSE_LIMIT = 64
TEXT_LIMIT = 5000
WRITTEN_KINDS = ("profile_created", "profile_updated")


@dataclass(frozen=True)
class Stated:
    """A basis an import or an API call states for the profiles it writes: the ``purpose`` (kept as the record's
    item, e.g. "newsletter"), the ``text`` the person agreed to or the justification, and the ``basis``."""

    purpose: str
    text: str = ""
    basis: str = "consent"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def stated(data: Any) -> Stated | None:
    """A ``{"purpose", "text", "basis"}`` object from any door checked (None for none), or a ``ValidationError``
    keyed ``consent``."""
    if data in (None, "", {}):
        return None
    if not isinstance(data, dict) or set(data) - {"purpose", "text", "basis"}:
        raise ValidationError({"consent": _("Give the consent as an object of purpose, text and basis.")})
    purpose, text, basis = (data.get(name, "") for name in ("purpose", "text", "basis"))
    if not all(isinstance(value, str) for value in (purpose, text, basis)):
        raise ValidationError({"consent": _("The consent's purpose, text and basis are texts.")})
    purpose, text, basis = purpose.strip(), text.strip(), basis.strip().lower() or "consent"
    if not purpose or len(purpose) > PURPOSE_LIMIT:
        raise ValidationError(
            {"consent": _("Give the consent a purpose of at most %(count)s characters.", count=PURPOSE_LIMIT)}
        )
    if len(text) > TEXT_LIMIT:
        raise ValidationError({"consent": _("The consent's text has at most %(count)s characters.", count=TEXT_LIMIT)})
    if basis not in BASES:
        raise ValidationError({"consent": _("The basis is one of: %(bases)s.", bases=", ".join(BASES))})
    return Stated(purpose, text, basis)


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


def record_stated(
    profile_id: int, database_id: int, account_id: int, *, source: str, reference: str, given: Stated
) -> ConsentRecord:
    """The record of a basis stated for one profile written by an API call, in the caller's transaction."""
    return record(
        account_id=account_id,
        database_id=database_id,
        profile_id=profile_id,
        source=source,
        reference=reference,
        item=given.purpose,
        text=given.text,
        basis=given.basis,
    )


def record_stated_for_profiles(
    account_id: int, database_id: int, *, ids: list[int], codes: list[str], source: str, reference: str, given: Stated
) -> int:
    """One record per profile of the database named by id or by secret code (a batch upsert's matched and new
    profiles), written by one ``INSERT … SELECT`` in the caller's transaction. Returns how many."""
    if not ids and not codes:
        return 0
    values = (source[:16], reference[:100], given.purpose, given.text, given.basis, "")
    rows = select(Profile.account_id, Profile.database_id, Profile.id, *map(literal, values)).add_columns(
        literal(utcnow()), literal("")
    )
    rows = rows.where(
        Profile.account_id == account_id,
        Profile.database_id == database_id,
        Profile.id.in_(ids) | Profile.code.in_(codes),
    )
    columns = ["account_id", "database_id", "profile_id", "source", "reference", "item", "text", "basis", "ip"]
    result = db.session.execute(insert(ConsentRecord).from_select([*columns, "agreed_at", "confirmed_ip"], rows))
    return int(getattr(result, "rowcount", 0) or 0)


def record_stated_batch(
    account_id: int, event_ids: tuple[int, int], *, event_reference: str, reference: str, given: Stated
) -> int:
    """One record per profile an import batch created or changed (its ``profile_created`` and
    ``profile_updated`` events in the id range, of the run's reference), written by one ``INSERT … SELECT``
    in the batch's transaction. Returns how many."""
    now = utcnow()
    rows = (
        select(
            ProfileEvent.account_id,
            ProfileEvent.database_id,
            ProfileEvent.profile_id,
            *(literal(value) for value in ("import", reference[:100], given.purpose, given.text, given.basis, "")),
            literal(now),
            literal(""),
        )
        .where(
            ProfileEvent.id.between(*event_ids),
            ProfileEvent.account_id == account_id,
            ProfileEvent.source == "import",
            ProfileEvent.reference == event_reference,
            ProfileEvent.kind.in_(WRITTEN_KINDS),
        )
        .distinct()
    )
    columns = ["account_id", "database_id", "profile_id", "source", "reference", "item", "text", "basis", "ip"]
    statement = insert(ConsentRecord).from_select([*columns, "agreed_at", "confirmed_ip"], rows)
    result = db.session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
