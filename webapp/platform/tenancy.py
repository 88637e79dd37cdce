"""Tenancy: a row is reached through its account. ``owned`` fetches a row by id and gives it only to its own account;
a row of another account is as absent as a row that does not exist (``NotFound`` either way, never saying which)."""

from typing import Any, Protocol, TypeVar

from webapp.extensions import db
from webapp.models import Account
from webapp.platform.errors import NotFound

MAX_ID = 2**31 - 1  # ids are 32-bit integers; a larger one cannot exist (and overflows the database driver)


class AccountRow(Protocol):
    @property
    def account_id(self) -> int | None: ...


Row = TypeVar("Row", bound=AccountRow)


def owned(model: type[Row], account: Account | int, row_id: int, message: str, *, options: Any = None) -> Row:
    """The ``model`` row with id ``row_id`` when it belongs to ``account`` (an account or its id), else
    ``NotFound(message)``. ``options`` are loader options for ``db.session.get``."""
    account_id = account if isinstance(account, int) else account.id
    row = db.session.get(model, row_id, options=options) if 0 < row_id <= MAX_ID else None
    if row is None or row.account_id != account_id:
        raise NotFound(message)
    return row
