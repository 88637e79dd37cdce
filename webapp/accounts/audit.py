"""The audit log of an account: who changed its configuration, what, when and from which address.

One mechanism for every area: a SQLAlchemy ``after_flush`` listener looks at the rows of the models listed in
``AUDITED`` that the flush inserted, updated or deleted, and writes one ``AuditEntry`` per row in the same
transaction (so a change and its entry commit or roll back together). An area another package adds is covered by
adding its model to ``AUDITED``; nothing is called from views. Profiles' data is never audited (that is the
profile journal's work), nor are runs' progress counters.

Who: the doors name the actor with ``set_actor`` (the admin: the logged-in user; REST and SOAP: the API token or
the SOAP user; the public login pages: the user themself); work without an actor (jobs, the CLI) is "system".
The actor is a context variable, reset after each request or job.

Values: changed attributes as ``{name: [old, new]}``. Secrets (passwords, token hashes, TOTP secrets, stored
credentials, DKIM private keys, SMTP URLs that may hold a password) are recorded as changed, never their values.

Entries are immutable at the ORM level: updating or deleting an ``AuditEntry`` through the session, or a bulk
``update()``/``delete()`` statement on it through the session, raises ``AuditImmutable``. (The database user the
app runs as can still change the table with raw SQL; an account's removal takes its entries with it.) The one
deletion is by age: the account's retention (``privacy.retention``) calls ``forget_before`` with its audit period,
which has a floor (``MIN_RETENTION_DAYS``) and whose changes are audited themselves (area ``privacy``), so no user
can make an entry of their own change go away.
"""

import contextvars
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

from flask import Flask
from sqlalchemy import delete, event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session

from webapp.extensions import db
from webapp.models import (
    Account,
    AccountBranding,
    ApiToken,
    AuditEntry,
    BulkRun,
    Callback,
    Collection,
    Database,
    EmailTemplate,
    ExportDefinition,
    ExportRun,
    Field,
    FollowUp,
    Form,
    HygienePolicy,
    ImportDefinition,
    ImportRun,
    IntakeCredential,
    Interest,
    Invitation,
    Mailing,
    MailSettings,
    RetentionSettings,
    Selection,
    Survey,
    User,
)


class AuditImmutable(Exception):
    """Audit entries are never changed or removed."""


@dataclass(frozen=True)
class Actor:
    """Who acts: ``label`` as people read it ("ann@example.com", "API token Shop", "system")."""

    label: str
    user_id: int | None = None
    token_id: int | None = None
    ip: str | None = None


SYSTEM = Actor("system")
_actor: contextvars.ContextVar[Actor] = contextvars.ContextVar("verrijk_audit_actor", default=SYSTEM)


def set_actor(actor: Actor) -> None:
    """Name who acts for the rest of this request or job (a door calls this; reset when the context ends)."""
    _actor.set(actor)


def current_actor() -> Actor:
    return _actor.get()


def user_actor(user: User, ip: str | None = None) -> Actor:
    return Actor(user.email, user_id=user.id, ip=ip)


def token_actor(token_id: int, name: str, ip: str | None = None) -> Actor:
    return Actor(f"API token {name}", token_id=token_id, ip=ip)


@dataclass(frozen=True)
class Audited:
    area: str
    account_id: Callable[[Any], int | None] = lambda row: row.account_id
    name: Callable[[Any], str] = lambda row: str(getattr(row, "name", "") or "")
    ignore: frozenset[str] = frozenset()
    created_only: bool = False  # runs: their start is a change of the account, their progress is not


# Attributes never worth an entry on their own (bookkeeping the product itself moves).
IGNORED = frozenset({"created_at", "updated_at", "last_used_at", "last_login_at", "config_version", "revision"})
# Attributes recorded as changed without their values.
SECRET_WORDS = ("password", "secret", "token_hash", "private_key", "credential", "smtp_url", "totp")

AREAS = (
    "settings",
    "users",
    "tokens",
    "databases",
    "fields",
    "interests",
    "collections",
    "forms",
    "surveys",
    "follow-ups",
    "callbacks",
    "imports",
    "exports",
    "email templates",
    "email settings",
    "hygiene",
    "selections",
    "mailings",
    "branding",
    "bulk actions",
    "privacy",
)
DEFAULT_RETENTION_DAYS = 730
MIN_RETENTION_DAYS = 90

AUDITED: dict[type, Audited] = {
    Account: Audited("settings", account_id=lambda row: row.id),
    User: Audited("users", name=lambda row: row.email, ignore=frozenset({"session_version", "totp_last_step"})),
    Invitation: Audited("users", name=lambda row: f"invitation {row.email}", ignore=frozenset({"sent_at"})),
    ApiToken: Audited("tokens"),
    Database: Audited("databases"),
    Field: Audited("fields"),
    Interest: Audited("interests"),
    Collection: Audited("collections"),
    Form: Audited("forms"),
    Survey: Audited("surveys"),
    FollowUp: Audited("follow-ups"),
    Callback: Audited("callbacks", name=lambda row: row.url, ignore=frozenset({"failing_since", "paused_dropped"})),
    ImportDefinition: Audited("imports", ignore=frozenset({"last_fetch", "last_error"})),
    ImportRun: Audited("imports", name=lambda row: row.file_name, created_only=True),
    ExportDefinition: Audited("exports", ignore=frozenset({"last_upload", "last_error"})),
    ExportRun: Audited("exports", name=lambda row: row.file_name, created_only=True),
    EmailTemplate: Audited("email templates"),
    MailSettings: Audited("email settings", name=lambda row: ""),
    HygienePolicy: Audited("hygiene", name=lambda row: f"database {row.database_id}"),
    IntakeCredential: Audited("hygiene", name=lambda row: row.provider),
    Selection: Audited("selections", ignore=frozenset({"counted", "counted_at"})),
    # A mailing's definition and its status changes; the send progress is its recipients' (not audited).
    Mailing: Audited("mailings", ignore=frozenset({"next_batch_at", "frozen", "started_at", "finished_at"})),
    AccountBranding: Audited("branding", name=lambda row: ""),
    BulkRun: Audited("bulk actions", name=lambda row: row.action, created_only=True),
    # The retention periods (the audit log's own among them); a run's report is the job's, not a change.
    RetentionSettings: Audited("privacy", name=lambda row: "", ignore=frozenset({"last_run_at", "last_report"})),
}


def _is_secret(name: str) -> bool:
    return any(word in name for word in SECRET_WORDS)


def _plain(value: Any) -> Any:
    """A value as JSON holds it."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | timedelta):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(item) for item in value]
    return str(value)


def _changes(row: Any, spec: Audited, action: str) -> dict[str, list[Any]]:
    state = inspect(row)
    changes: dict[str, list[Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in IGNORED or key in spec.ignore or key == "id":
            continue
        if action == "update":
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
        elif action == "create":
            old, new = None, state.attrs[key].value
            if new is None or new in ("", [], {}):
                continue
        else:
            continue
        changes[key] = ["***", "***"] if _is_secret(key) else [_plain(old), _plain(new)]
    return changes


def _entry(row: Any, spec: Audited, action: str, actor: Actor) -> dict[str, Any] | None:
    account_id = spec.account_id(row)
    if account_id is None:
        return None
    changes = _changes(row, spec, action)
    if action == "update" and not changes:
        return None
    identity = inspect(row).mapper.primary_key_from_instance(row)
    return {
        "account_id": account_id,
        "actor": actor.label[:300],
        "user_id": actor.user_id,
        "token_id": actor.token_id,
        "ip": actor.ip,
        "area": spec.area,
        "action": action,
        "object_type": type(row).__name__,
        "object_id": ",".join(str(part) for part in identity) if any(p is not None for p in identity) else None,
        "object_name": (spec.name(row) or "")[:500],
        "changes": changes,
    }


def _after_flush(session: Session, _context) -> None:
    actor = _actor.get()
    entries = []
    for rows, action in ((session.new, "create"), (session.dirty, "update"), (session.deleted, "delete")):
        for row in rows:
            spec = AUDITED.get(type(row))
            if spec is None or (spec.created_only and action != "create"):
                continue
            if action == "delete" and isinstance(row, Account):  # its entries go with it
                continue
            entry = _entry(row, spec, action, actor)
            if entry is not None:
                entries.append(entry)
    if entries:
        session.connection().execute(insert(AuditEntry), entries)


def forget_before(account_id: int, cutoff: datetime) -> int:
    """Delete the account's entries older than ``cutoff`` (the retention's audit period, in its transaction);
    returns how many. The statement goes to the connection: through the session it is refused, as any other."""
    result = db.session.connection().execute(
        delete(AuditEntry).where(AuditEntry.account_id == account_id, AuditEntry.at < cutoff)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _refuse_change(_mapper, _connection, _target) -> None:
    raise AuditImmutable("audit entries are never changed or removed")


def _refuse_bulk(state: ORMExecuteState) -> None:
    mapper = state.bind_mapper
    if (state.is_update or state.is_delete) and mapper is not None and mapper.class_ is AuditEntry:
        raise AuditImmutable("audit entries are never changed or removed")


def init_app(app: Flask) -> None:
    """Listen to every session's flushes (once per process) and reset the actor when a context ends."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _refuse_bulk)
        event.listen(AuditEntry, "before_update", _refuse_change)
        event.listen(AuditEntry, "before_delete", _refuse_change)

    @app.teardown_appcontext
    def _forget_actor(_error=None) -> None:
        _actor.set(SYSTEM)


# --- reading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditFilter:
    user_id: int | None = None
    area: str | None = None
    since: date | None = None
    until: date | None = None  # inclusive


def _query(account: Account, wanted: AuditFilter):
    statement = select(AuditEntry).where(AuditEntry.account_id == account.id)
    if wanted.user_id:
        statement = statement.where(AuditEntry.user_id == wanted.user_id)
    if wanted.area:
        statement = statement.where(AuditEntry.area == wanted.area)
    if wanted.since:
        statement = statement.where(AuditEntry.at >= datetime.combine(wanted.since, datetime.min.time()))
    if wanted.until:
        end = datetime.combine(wanted.until, datetime.min.time()) + timedelta(days=1)
        statement = statement.where(AuditEntry.at < end)
    return statement.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def list_entries(account: Account, wanted: AuditFilter, *, limit: int = 200, offset: int = 0) -> list[AuditEntry]:
    """The account's entries matching ``wanted``, newest first."""
    return list(db.session.scalars(_query(account, wanted).limit(limit).offset(offset)))


def iter_entries(account: Account, wanted: AuditFilter) -> Iterator[AuditEntry]:
    """Every matching entry, newest first, read in batches (for the CSV export)."""
    yield from db.session.scalars(_query(account, wanted).execution_options(yield_per=500))


CSV_COLUMNS = ("at (UTC)", "actor", "user id", "token id", "ip", "area", "action", "object", "id", "name", "changes")


def csv_rows(account: Account, wanted: AuditFilter) -> Iterator[list[str]]:
    """The export's rows as text cells (the door writes them with the one CSV cell writer)."""
    for entry in iter_entries(account, wanted):
        yield [
            entry.at.isoformat(sep=" ", timespec="seconds"),
            entry.actor,
            str(entry.user_id or ""),
            str(entry.token_id or ""),
            entry.ip or "",
            entry.area,
            entry.action,
            entry.object_type,
            entry.object_id or "",
            entry.object_name,
            json.dumps(entry.changes, ensure_ascii=False, sort_keys=True),
        ]
