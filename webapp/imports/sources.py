"""Fetched and scheduled imports: a definition's file from http(s)://, ftp://, ftps:// or sftp://.

``fetch`` streams the file into the imports folder with the clients of ``platform.remote_files``. An unchanged
file is skipped: HTTP sends ``If-None-Match``/``If-Modified-Since``; otherwise size and SHA-256 are compared with
the definition's ``last_fetch``. SFTP host keys are pinned in ``last_fetch`` (``replace_host_key`` trusts the
current key again).

Schedules are durable rows of kind ``import_fetch`` (one pending per definition): the handler fetches, creates a
run and starts it through ``runs.start_run`` (the ``import`` kind), and schedules the next row. A run of the
definition still waiting or running makes it skip that turn (runs never overlap). Transient errors retry with
the work rows' backoff for ``FETCH_ATTEMPTS`` attempts before the schedule moves on; the last error is kept on
the definition.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.utils import secure_filename

from webapp.extensions import db
from webapp.imports import mapping as imports_mapping
from webapp.imports import runs as imports
from webapp.models import Account, ImportDefinition, ImportRun, ImportRunStatus, ScheduledWork, WorkStatus, utcnow
from webapp.platform import remote_files, work
from webapp.platform.errors import NotFound, ValidationError
from webapp.platform.remote_files import (
    HashingWriter,
    TransientFetchError,
    check_schedule,
    checked_url,
    credentials_of,
    encrypt_credentials,
    ftp_fetch,
    http_fetch,
    load_private_key,
    next_due,
    sftp_fetch,
)
from webapp.profiles.databases import get_database

FETCH_ATTEMPTS = 3
BUSY = (ImportRunStatus.PENDING, ImportRunStatus.QUEUED, ImportRunStatus.RUNNING)
KIND = "import_fetch"


@dataclass
class Fetched:
    path: Path
    file_name: str
    size: int


# --- credentials ----------------------------------------------------------------------------------


# --- URLs and schedules ---------------------------------------------------------------------------


def check_source_url(url: str) -> str:
    """A fetchable URL: one of ``SCHEMES``, a host, no credentials in it, and (unless ``ALLOW_PRIVATE_URLS``)
    a host resolving to public addresses only."""
    return checked_url(url)[0]


# --- setting a source -----------------------------------------------------------------------------


def set_source(
    account: Account,
    definition_id: int,
    *,
    source_url: str,
    schedule: str = "",
    username: str = "",
    password: str = "",
    private_key: str = "",
    clear_secrets: bool = False,
) -> ImportDefinition:
    """Set (or, with an empty URL, remove) a definition's source, credentials and schedule.

    An empty password or key keeps the stored one (the admin never gets it back to resubmit), unless
    ``clear_secrets``."""
    definition = imports_mapping.get_definition(account, definition_id)
    errors: dict[str, str] = {}
    url = ""
    if (source_url or "").strip():
        try:
            url = check_source_url(source_url)
        except ValidationError as error:
            errors["source_url"] = error.errors.get("url") or error.message
    try:
        schedule = check_schedule(schedule)
    except ValidationError as error:
        errors.update(error.errors)
    if schedule and not url:
        errors["schedule"] = _("A schedule needs a source URL.")
    if private_key.strip():
        try:
            load_private_key(private_key.strip())
        except ValidationError as error:
            errors.update(error.errors)
    if errors:
        raise ValidationError(errors)
    stored = {} if clear_secrets else credentials_of(definition)
    values = {
        "username": username.strip()[:255],
        "password": password or stored.get("password", ""),
        "private_key": private_key.strip() or stored.get("private_key", ""),
    }
    if url != definition.source_url:
        pinned = (definition.last_fetch or {}).get("host_key")
        keep = pinned and remote_files.same_server(definition.source_url, url)
        definition.last_fetch = {"host_key": pinned} if keep else {}
    definition.source_url, definition.schedule = url, schedule
    definition.credentials = encrypt_credentials(values) if url else ""
    _reschedule(definition)
    db.session.commit()
    return definition


def host_key_check(account: Account, definition_id: int) -> tuple[str, str]:
    """(pinned fingerprint, fingerprint the SFTP server presents now), for the admin to compare and confirm."""
    definition = imports_mapping.get_definition(account, definition_id)
    pinned = (definition.last_fetch or {}).get("host_key", "")
    return (remote_files.fingerprint(pinned) if pinned else ""), remote_files.fingerprint(
        remote_files.server_host_key(definition.source_url)
    )


def replace_host_key(account: Account, definition_id: int, confirmed_fingerprint: str) -> ImportDefinition:
    """Pin the SFTP server's current host key, when it is the one whose fingerprint the admin confirmed."""
    definition = imports_mapping.get_definition(account, definition_id)
    host_key = remote_files.confirm_host_key(definition.source_url, confirmed_fingerprint)
    definition.last_fetch = {**(definition.last_fetch or {}), "host_key": host_key}
    db.session.commit()
    return definition


def create_source(
    account: Account,
    database_id: int,
    *,
    source_url: str,
    schedule: str = "",
    username: str = "",
    password: str = "",
    private_key: str = "",
) -> ImportDefinition:
    """A new definition fetching its file from ``source_url``; its first file waits for a mapping."""
    database = get_database(account, database_id)
    if not (source_url or "").strip():
        raise ValidationError({"source_url": _("Enter a URL.")})
    name = PurePosixPath(unquote(urlsplit((source_url or "").strip()).path)).name or (source_url or "").strip()
    definition = ImportDefinition(
        account_id=account.id,
        database_id=database.id,
        name=name[:100] or "import",
        mapping={},
        key_fields=[],
        options={"encoding": "", "delimiter": "", "quotechar": "", "date_order": ""},
    )
    db.session.add(definition)
    db.session.flush()
    try:
        return set_source(
            account,
            definition.id,
            source_url=source_url,
            schedule=schedule,
            username=username,
            password=password,
            private_key=private_key,
        )
    except ValidationError:
        db.session.rollback()
        raise


def _waiting_rows(definition_id: int) -> list[ScheduledWork]:
    rows = db.session.scalars(
        select(ScheduledWork).where(
            ScheduledWork.kind == KIND, ScheduledWork.status.in_((WorkStatus.PENDING, WorkStatus.QUEUED))
        )
    )
    return [row for row in rows if int(row.payload.get("definition_id", 0)) == definition_id]


def _reschedule(definition: ImportDefinition, *, exclude: int | None = None) -> ScheduledWork | None:
    """Keep exactly one pending fetch row for a scheduled definition, due at its next time (none if unscheduled).
    Queued rows (a fetch in progress) are left alone: they schedule the next turn themselves."""
    rows = [row for row in _waiting_rows(definition.id) if row.id != exclude]
    pending = [row for row in rows if row.status == WorkStatus.PENDING and not row.payload.get("once")]
    due = next_due(definition.schedule, utcnow()) if definition.source_url else None
    for row in pending[1:] if due else pending:
        db.session.delete(row)
    if due is None or any(row.status == WorkStatus.QUEUED for row in rows):
        return None
    if pending:
        pending[0].due_at = due
        return pending[0]
    return work.schedule(KIND, due_at=due, payload={"definition_id": definition.id}, account_id=definition.account_id)


def fetch_now(account: Account, definition_id: int) -> ScheduledWork:
    """Fetch at once (in a worker): the waiting row is made due now, or a one-off row is added."""
    definition = imports_mapping.get_definition(account, definition_id)
    if not definition.source_url:
        raise ValidationError(_("This import has no source URL."))
    rows = _waiting_rows(definition.id)
    if any(row.status == WorkStatus.QUEUED for row in rows):
        raise ValidationError(_("A fetch of this import is in progress already."))
    if rows:
        rows[0].due_at = utcnow()
        row = rows[0]
    else:
        row = work.schedule(
            KIND, payload={"definition_id": definition.id, "once": True}, account_id=definition.account_id
        )
    db.session.commit()
    return row


def fetch_once(
    account: Account,
    database_id: int,
    *,
    source_url: str,
    username: str = "",
    password: str = "",
    settings: dict[str, Any] | None = None,
) -> ImportDefinition:
    """An import of one remote file (the REST door's import from a URL): a definition without a schedule,
    fetched at once in a worker through ``fetch`` (the outbound URL guard, credentials, size checks). With
    ``settings`` (``mapping.update_definition``'s arguments) the fetched file starts by itself; without, it
    is pre-mapped like an upload and waits, as a first fetched file does, to be started."""
    definition = create_source(account, database_id, source_url=source_url, username=username, password=password)
    if settings is not None:
        try:
            imports_mapping.update_definition(account, definition.id, **settings)
        except ValidationError:
            db.session.rollback()
            db.session.delete(imports_mapping.get_definition(account, definition.id))
            db.session.commit()
            raise
    fetch_now(account, definition.id)
    return definition


def get_source(account: Account, definition_id: int) -> ImportDefinition:
    """A definition that fetches its file (another account's, or an uploaded file's, is not found)."""
    definition = imports_mapping.get_definition(account, definition_id)
    if not definition.source_url:
        raise NotFound(_("Import not found."))
    return definition


def fetched_definitions(account: Account, database_id: int) -> list[dict]:
    """The database's fetched imports with their next run, for the imports tab."""
    rows = db.session.scalars(
        select(ImportDefinition)
        .where(
            ImportDefinition.account_id == account.id,
            ImportDefinition.database_id == database_id,
            ImportDefinition.source_url != "",
        )
        .order_by(ImportDefinition.id)
    )
    return [{"definition": row, "next_run": next_run_at(row)} for row in rows]


def recent_runs(definition: ImportDefinition, *, limit: int = 20) -> list[ImportRun]:
    """The definition's latest runs, newest first."""
    return list(
        db.session.scalars(
            select(ImportRun).where(ImportRun.definition_id == definition.id).order_by(ImportRun.id.desc()).limit(limit)
        )
    )


def next_run_at(definition: ImportDefinition) -> datetime | None:
    rows = _waiting_rows(definition.id)
    return min((row.due_at for row in rows), default=None)


def ensure_schedules() -> None:
    """Housekeeping: every scheduled definition has its pending row (repairs a crash between two commits)."""
    for definition in db.session.scalars(select(ImportDefinition).where(ImportDefinition.schedule != "")):
        if definition.source_url and not _waiting_rows(definition.id):
            _reschedule(definition)


# --- fetching -------------------------------------------------------------------------------------


def fetch(definition: ImportDefinition) -> Fetched | None:
    """Download the definition's file into the imports folder; ``None`` when it did not change.

    Updates ``definition.last_fetch`` (not committed). Raises ``TransientFetchError`` or ``ValidationError``."""
    url, address = checked_url(definition.source_url)
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    credentials = credentials_of(definition)
    directory = imports.upload_directory() / str(definition.account_id)
    directory.mkdir(parents=True, exist_ok=True)
    name = secure_filename(PurePosixPath(unquote(parts.path)).name) or "import.csv"
    path = directory / f"{secrets.token_hex(8)}-{name}"
    previous = dict(definition.last_fetch or {})
    try:
        with path.open("wb") as out:
            writer = HashingWriter(out)
            if scheme in ("http", "https"):
                headers = http_fetch(url, credentials, previous, writer)
                if headers is None:
                    path.unlink()
                    return None
            elif scheme in ("ftp", "ftps"):
                headers = ftp_fetch(parts, address, scheme == "ftps", credentials, writer)
            else:
                headers = sftp_fetch(parts, address, credentials, previous, writer)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    digest = writer.sha256.hexdigest()
    record = {**headers, "size": writer.size, "sha256": digest, "at": utcnow().isoformat(timespec="seconds")}
    unchanged = previous.get("sha256") == digest and previous.get("size") == writer.size
    definition.last_fetch = record
    if unchanged:
        path.unlink()
        return None
    if not writer.size:
        path.unlink()
        raise ValidationError(_("The fetched file is empty."))
    return Fetched(path=path, file_name=name, size=writer.size)


# --- the work kind --------------------------------------------------------------------------------


def fetch_and_start(definition: ImportDefinition) -> ImportRun | None:
    """Fetch the file and create a run for it; start it when the definition has a mapping that fits.

    Commits (like the ``import`` kind): the run, its ``import`` work row and the definition together."""
    fetched = fetch(definition)
    if fetched is None:
        definition.last_error = ""
        return None
    run = ImportRun(
        account_id=definition.account_id,
        definition_id=definition.id,
        database_id=definition.database_id,
        file_name=fetched.file_name[:255],
        file_path=str(fetched.path),
        file_size=fetched.size,
    )
    db.session.add(run)
    definition.last_error = ""
    db.session.commit()
    account = db.session.get_one(Account, definition.account_id)
    if not definition.mapping:
        _map_first_file(account, definition, run)
        return run  # the first file: an admin checks its mapping, then starts it
    try:
        imports.start_run(account, run.id)
    except ValidationError as error:
        db.session.rollback()
        definition = db.session.get_one(ImportDefinition, definition.id)
        definition.last_error = _("The file was fetched but not imported: %(error)s", error=_reasons(error))
        db.session.commit()
    return db.session.get(ImportRun, run.id)


def _map_first_file(account: Account, definition: ImportDefinition, run: ImportRun) -> None:
    """Pre-map the first fetched file like an upload (``runs.first_settings``); a file whose header cannot be
    read is left unmapped (its run page says why)."""
    try:
        _format, header = imports.run_header(account, run.id)
    except ValidationError:
        return
    schema = imports_mapping.schema_of(get_database(account, definition.database_id))
    for name, value in imports.first_settings(account, schema, header).items():
        setattr(definition, name, value)
    db.session.commit()


def _reasons(error: ValidationError) -> str:
    """An error's messages for a person, without the names of the inputs they belong to (``file:``)."""
    return "; ".join(error.errors.values())


def _busy(definition_id: int) -> bool:
    return (
        db.session.scalar(
            select(ImportRun.id).where(ImportRun.definition_id == definition_id, ImportRun.status.in_(BUSY)).limit(1)
        )
        is not None
    )


def run_fetch_work(row: ScheduledWork) -> None:
    """The ``import_fetch`` kind: skip the turn while a run of the definition waits or runs, else fetch and
    start; then schedule the next turn. Transient errors raise (the row retries with backoff) until the
    ``FETCH_ATTEMPTS``-th attempt; then, like permanent errors, they are recorded and the schedule moves on."""
    definition_id = int(row.payload["definition_id"])
    definition = db.session.get(ImportDefinition, definition_id)
    if definition is None or not definition.source_url:
        return
    once = bool(row.payload.get("once"))
    if _busy(definition_id):
        definition.last_error = _(
            "Skipped at %(time)s: the previous run of this import has not finished.",
            time=utcnow().strftime("%Y-%m-%d %H:%M"),
        )
    else:
        try:
            fetch_and_start(definition)
        except TransientFetchError as error:
            db.session.rollback()
            if row.attempts + 1 < FETCH_ATTEMPTS:
                _record_error(definition_id, str(error))
                raise
            definition = db.session.get_one(ImportDefinition, definition_id)
            definition.last_error = str(error)
        except ValidationError as error:
            db.session.rollback()
            definition = db.session.get_one(ImportDefinition, definition_id)
            definition.last_error = _reasons(error)
    definition = db.session.get(ImportDefinition, definition_id)
    if definition is not None and not once:
        _reschedule(definition, exclude=row.id)


def _record_error(definition_id: int, message: str) -> None:
    definition = db.session.get(ImportDefinition, definition_id)
    if definition is not None:
        definition.last_error = _("%(error)s (will retry)", error=message)
        db.session.commit()


def init_app(app) -> None:
    with app.app_context():
        work.register_kind(KIND, run_fetch_work)
        work.add_housekeeping(ensure_schedules)
