"""The suppression list: addresses of an account that mail must not go to, checked before every send.

An address is suppressed because it hard-bounced (or soft-bounced past its database's threshold), because its
owner complained (marked our mail as spam) or because it was unsubscribed, by whatever door and whatever the
database's unsubscribe behaviour. The list is keyed by account and address (lowercased), never by profile: it
survives the profile's removal, a re-import and a re-creation by a form or SOAP.

What a reason still allows (``delivery.send_mail`` asks ``blocking_reason`` before every send):

- ``marketing`` mail (templates, follow-ups, test sends of a template): nothing goes to a suppressed address;
- ``transactional`` mail (form notifications and other mail that answers a request): allowed after an
  unsubscribe (it is not marketing), refused after a bounce (the mailbox does not take mail) or a complaint;
- ``confirmation`` mail (the double opt-in link, sent at once in answer to a sign-up the person just made):
  always allowed, so that a person who unsubscribed, complained or whose mailbox bounced can prove the mailbox
  and consent again — the confirmation itself lifts the suppression (``lift_in_transaction``).

An **erased** person (``privacy``: erasure and anonymisation) leaves an entry whose ``address`` is only a keyed
hash of the address (``erased_key``: HMAC-SHA256 with ``SECRET_KEY``, prefixed ``hmac:``), never the address:
``active`` finds it by hashing the address it is asked about, so a person brought back by an import, a form, a
survey, SOAP or REST is still never mailed marketing nor transactional mail. Only a confirmation mail goes out
(the person signs up again of their own accord), and following it lifts the entry like any other.

Suppression is lifted by an admin, or by a confirmed opt-in of the address; a lifted row stays (with who lifted
it and when) so that bounce counting restarts from that moment (``hygiene.policies``).
"""

import hashlib
import hmac
from collections.abc import Iterator
from datetime import datetime
from email.utils import parseaddr
from enum import StrEnum

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from webapp.extensions import db
from webapp.models import Account, SuppressedAddress, utcnow
from webapp.platform.tenancy import owned

PAGE_SIZE = 100


class Reason(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    SOFT_BOUNCE = "soft_bounce"
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    ERASED = "erased"


REASON_LABELS = {
    Reason.UNSUBSCRIBE: _l("Unsubscribed"),
    Reason.SOFT_BOUNCE: _l("Soft bounces"),
    Reason.HARD_BOUNCE: _l("Hard bounce"),
    Reason.COMPLAINT: _l("Complaint"),
    Reason.ERASED: _l("Erased person"),
}
# A stronger reason replaces a weaker one on an address that is already suppressed, never the other way round.
_RANK = {Reason.UNSUBSCRIBE: 1, Reason.SOFT_BOUNCE: 2, Reason.HARD_BOUNCE: 3, Reason.COMPLAINT: 4, Reason.ERASED: 5}
ERASED_PREFIX = "hmac:"
# The reasons that still let each category of mail through (see the module docstring).
ALLOWED_AFTER: dict[str, frozenset[Reason]] = {
    "marketing": frozenset(),
    "transactional": frozenset({Reason.UNSUBSCRIBE}),
    "confirmation": frozenset(Reason),
}


def normalised(address: str) -> str:
    """The form an address is kept and compared in: the bare address, trimmed and lowercased."""
    return parseaddr(address)[1].strip().lower()


def erased_key(address: str) -> str:
    """What an erased person's entry holds instead of the address: a keyed hash of the normalised address."""
    digest = hmac.new(current_app.config["SECRET_KEY"].encode(), normalised(address).encode(), hashlib.sha256)
    return ERASED_PREFIX + digest.hexdigest()


def active(account_id: int, address: str) -> SuppressedAddress | None:
    """The address's suppression when it is in force (not lifted), else None; the entry of an erased person
    (found by the address's keyed hash) comes first."""
    address = normalised(address)
    if not address:
        return None
    rows = db.session.scalars(
        select(SuppressedAddress).where(
            SuppressedAddress.account_id == account_id,
            SuppressedAddress.address.in_((address, erased_key(address))),
            SuppressedAddress.lifted_at.is_(None),
        )
    ).all()
    return max(rows, key=lambda row: _RANK[Reason(row.reason)], default=None)


def suppress_erased(account_id: int, address: str, *, detail: str = "") -> SuppressedAddress | None:
    """Keep only a keyed hash of the address on the list (an erasure): the plain entry goes, the hashed one is
    put in force, in the caller's transaction."""
    address = normalised(address)
    if not address:
        return None
    plain = _row(account_id, address, lock=True)
    if plain is not None:
        db.session.delete(plain)
        db.session.flush()
    return suppress(account_id, erased_key(address), Reason.ERASED, detail=detail)


def blocking_reason(account_id: int, address: str, category: str) -> Reason | None:
    """Why mail of ``category`` may not go to the address, or None when it may."""
    row = active(account_id, address)
    if row is None or Reason(row.reason) in ALLOWED_AFTER[category]:
        return None
    return Reason(row.reason)


def blocking_reasons(account_id: int, addresses: list[str], category: str) -> dict[str, Reason]:
    """``blocking_reason`` for many addresses in one query (a mailing's batch): the blocked ones, by their
    ``normalised`` form."""
    wanted = sorted({normalised(address) for address in addresses} - {""})
    if not wanted:
        return {}
    rows = db.session.execute(
        select(SuppressedAddress.address, SuppressedAddress.reason).where(
            SuppressedAddress.account_id == account_id,
            SuppressedAddress.address.in_(wanted),
            SuppressedAddress.lifted_at.is_(None),
        )
    )
    return {address: Reason(reason) for address, reason in rows if Reason(reason) not in ALLOWED_AFTER[category]}


def suppress(
    account_id: int, address: str, reason: Reason, *, database_id: int | None = None, detail: str = ""
) -> SuppressedAddress | None:
    """Suppress the address in the caller's transaction (an empty address is ignored); a stronger reason
    replaces a weaker one, a lifted suppression is put back in force."""
    address = address if address.startswith(ERASED_PREFIX) else normalised(address)
    if not address:
        return None
    row = _row(account_id, address, lock=True)
    if row is None:
        row = _insert(account_id, address, reason, database_id, detail)
        if row is not None:
            return row
        row = _row(account_id, address, lock=True)  # another transaction inserted it meanwhile
        assert row is not None
    if row.lifted_at is not None or _RANK[reason] > _RANK[Reason(row.reason)]:
        row.reason, row.detail, row.database_id = reason, detail[:500], database_id or row.database_id
        row.suppressed_at, row.lifted_at, row.lifted_by = utcnow(), None, ""
    return row


def _insert(account_id, address, reason, database_id, detail) -> SuppressedAddress | None:
    row = SuppressedAddress(
        account_id=account_id, address=address, reason=reason, database_id=database_id, detail=detail[:500]
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return None
    return row


def lift_in_transaction(account_id: int, address: str, *, by: str) -> SuppressedAddress | None:
    """Lift the address's suppression in the caller's transaction (and an erased person's entry for it);
    returns the one that was in force."""
    lifted = None
    if normalised(address):
        for key in (erased_key(address), normalised(address)):
            row = _row(account_id, key, lock=True)
            if row is not None and row.lifted_at is None:
                row.lifted_at, row.lifted_by = utcnow(), by[:200]
                lifted = row
    return lifted


def lift(account: Account, suppression_id: int, *, by: str) -> SuppressedAddress:
    """An admin lifts a suppression (idempotent)."""
    row = get_suppression(account, suppression_id)
    if row.lifted_at is None:
        row.lifted_at, row.lifted_by = utcnow(), by[:200]
    db.session.commit()
    return row


def get_suppression(account: Account, suppression_id: int) -> SuppressedAddress:
    return owned(SuppressedAddress, account, suppression_id, _("Suppressed address not found."))


def lifted_since(account_id: int, address: str) -> datetime | None:
    """When the address's last suppression was lifted (bounce counting starts again there), or None."""
    if not normalised(address):
        return None
    rows = [_row(account_id, normalised(address)), _row(account_id, erased_key(address))]
    return max((row.lifted_at for row in rows if row is not None and row.lifted_at), default=None)


def list_suppressed(
    account: Account, *, search: str = "", include_lifted: bool = False, page: int = 1
) -> tuple[list[SuppressedAddress], int]:
    """One page of the account's suppressed addresses, newest first, and the total matching."""
    query = _filtered(account, search, include_lifted)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = max(page, 1)
    rows = db.session.scalars(
        query.order_by(SuppressedAddress.suppressed_at.desc(), SuppressedAddress.id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    return list(rows), total


def export_rows(account: Account, *, search: str = "", include_lifted: bool = False) -> Iterator[list[str]]:
    """The list as CSV rows (header first), for the admin's export."""
    yield ["address", "reason", "detail", "suppressed_at", "lifted_at", "lifted_by"]
    query = _filtered(account, search, include_lifted).order_by(SuppressedAddress.id)
    for row in db.session.scalars(query.execution_options(yield_per=1000)):
        yield [
            row.address,
            row.reason,
            row.detail,
            f"{row.suppressed_at:%Y-%m-%d %H:%M:%S}",
            f"{row.lifted_at:%Y-%m-%d %H:%M:%S}" if row.lifted_at else "",
            row.lifted_by,
        ]


def _filtered(account: Account, search: str, include_lifted: bool):
    query = select(SuppressedAddress).where(SuppressedAddress.account_id == account.id)
    if not include_lifted:
        query = query.where(SuppressedAddress.lifted_at.is_(None))
    search = search.strip().lower()
    if search:
        pattern = "%" + search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(SuppressedAddress.address.like(pattern, escape="\\"))
    return query


def _row(account_id: int, address: str, *, lock: bool = False) -> SuppressedAddress | None:
    query = select(SuppressedAddress).where(
        SuppressedAddress.account_id == account_id, SuppressedAddress.address == address
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return db.session.scalar(query)
