"""Scheduled exports: an export of a database (or a collection) uploaded to an (S)FTP or HTTP target.

A definition says what to export (the options of ``exports/files.py``) and where to: ``ftp://``, ``ftps://``
or ``sftp://`` URLs name a folder, ``http(s)://`` URLs receive the file with a PUT or POST (the file name is
appended to a URL ending in ``/``). Target URLs pass the SSRF rules of imports (``platform.remote_files``), credentials
are encrypted and masked the same way, and the (S)FTP connections are those of fetched imports.

The export is streamed into an anonymous temporary file (never into memory) and uploaded from there; (S)FTP
uploads go to ``<name>.part`` first and are renamed when complete, so the receiver never picks up half a file.
The file name is a template: ``{date}`` (``2026-11-27``), ``{time}`` (``0630``, UTC) and ``{run}`` (the run id).

A definition may export only the members of a selection of its database (a collection's selection: its
matching subprofiles). Membership is asked of SQL at each run, so every upload holds who is a member then; the
selections package supplies that query through ``register_selection_members`` (it sits above this one).

Schedules (an interval or a cron expression, as for imports) are durable rows of kind ``export_upload``, one
pending per definition; "run now" makes it due at once (or adds a one-off row). Each turn is an ``ExportRun``
row. Runs never overlap: a turn finding another turn's run still in progress is skipped. Transient errors
(timeouts, refused connections, 5xx, temporary FTP replies) are retried with the work rows' backoff for
``UPLOAD_ATTEMPTS`` attempts within the same run; then, like permanent errors, the run fails, the error is
kept on the definition for the admin, and the schedule moves on.
"""

import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import IO
from urllib.parse import quote, unquote, urlsplit

import httpx
from flask_babel import gettext as _
from sqlalchemy import Select, select

from webapp.exports import files
from webapp.extensions import db
from webapp.models import (
    Account,
    ExportDefinition,
    ExportRun,
    ExportRunStatus,
    ScheduledWork,
    Selection,
    WorkStatus,
    utcnow,
)
from webapp.platform import outbound_urls, remote_files, work
from webapp.platform.errors import NotFound, ValidationError
from webapp.platform.remote_files import TransientFetchError
from webapp.platform.tenancy import owned
from webapp.profiles.databases import get_collection, get_database

KIND = "export_upload"
HTTP_METHODS = ("PUT", "POST")
UPLOAD_ATTEMPTS = 3
CHUNK = 64 * 1024
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
PLACEHOLDERS = ("date", "time", "run")
IN_PROGRESS = (ExportRunStatus.RUNNING, ExportRunStatus.RETRYING)
WAITING = (WorkStatus.PENDING, WorkStatus.QUEUED)

_selection_members: list[Callable[[Selection], Select]] = []


def register_selection_members(members_of: Callable[[Selection], Select]) -> None:
    """The hook the selections package fills: a ``SELECT id`` of a selection's members (profiles, or a
    collection selection's subprofiles), which an export of that selection streams."""
    _selection_members[:] = [members_of]


@dataclass(frozen=True)
class TargetSpec:
    """Everything an admin sets on a scheduled export. ``collection_id`` None: the database's profiles;
    ``fields`` empty: all of them. ``selection_id`` set: only that selection's members (its collection, if it
    has one, replaces ``collection_id``). An empty ``password``/``private_key`` keeps the stored one."""

    name: str
    target_url: str
    file_name: str
    collection_id: int | None = None
    selection_id: int | None = None
    fields: tuple[str, ...] = ()
    format: str = "csv"
    delimiter: str = ","
    interests: bool = True
    gzip: bool = False
    bom: bool = False
    protect_formulas: bool = True
    http_method: str = "PUT"
    schedule: str = ""
    username: str = ""
    password: str = ""
    private_key: str = ""
    clear_secrets: bool = False


# --- definitions ----------------------------------------------------------------------------------


def get_export(account: Account, definition_id: int) -> ExportDefinition:
    return owned(ExportDefinition, account, definition_id, _("Export not found."))


def list_exports(account: Account, database_id: int) -> list[ExportDefinition]:
    database = get_database(account, database_id)
    return list(
        db.session.scalars(
            select(ExportDefinition)
            .where(ExportDefinition.account_id == account.id, ExportDefinition.database_id == database.id)
            .order_by(ExportDefinition.id)
        )
    )


def list_runs(definition: ExportDefinition, *, limit: int = 20) -> list[ExportRun]:
    return list(
        db.session.scalars(
            select(ExportRun).where(ExportRun.definition_id == definition.id).order_by(ExportRun.id.desc()).limit(limit)
        )
    )


def create_export(account: Account, database_id: int, spec: TargetSpec) -> ExportDefinition:
    """A new scheduled export of a database (or of one of its collections)."""
    database = get_database(account, database_id)
    definition = ExportDefinition(account_id=account.id, database_id=database.id)
    _apply(account, definition, spec)
    db.session.add(definition)
    db.session.flush()
    _reschedule(definition)
    db.session.commit()
    return definition


def update_export(account: Account, definition_id: int, spec: TargetSpec) -> ExportDefinition:
    """Change a scheduled export. Its pinned SFTP host key stays while the server stays (``replace_host_key``)."""
    definition = get_export(account, definition_id)
    old_url = definition.target_url
    _apply(account, definition, spec)
    if not remote_files.same_server(old_url, definition.target_url):
        definition.last_upload = {k: v for k, v in (definition.last_upload or {}).items() if k != "host_key"}
    _reschedule(definition)
    db.session.commit()
    return definition


def host_key_check(account: Account, definition_id: int) -> tuple[str, str]:
    """(pinned fingerprint, fingerprint the SFTP server presents now), for the admin to compare and confirm."""
    definition = get_export(account, definition_id)
    pinned = (definition.last_upload or {}).get("host_key", "")
    return (remote_files.fingerprint(pinned) if pinned else ""), remote_files.fingerprint(
        remote_files.server_host_key(definition.target_url)
    )


def replace_host_key(account: Account, definition_id: int, confirmed_fingerprint: str) -> ExportDefinition:
    """Pin the SFTP server's current host key, when it is the one whose fingerprint the admin confirmed."""
    definition = get_export(account, definition_id)
    host_key = remote_files.confirm_host_key(definition.target_url, confirmed_fingerprint)
    definition.last_upload = {**(definition.last_upload or {}), "host_key": host_key}
    db.session.commit()
    return definition


def delete_export(account: Account, definition_id: int) -> None:
    """Remove a scheduled export, its runs and its waiting work (a run in progress finishes its upload)."""
    definition = get_export(account, definition_id)
    for row in _waiting_rows(definition.id):
        if row.status == WorkStatus.PENDING:
            db.session.delete(row)
    db.session.delete(definition)
    db.session.commit()


def _apply(account: Account, definition: ExportDefinition, spec: TargetSpec) -> None:
    """Validate ``spec`` (every error at once, nothing changed on error) and set it on ``definition``."""
    errors: dict[str, str] = {}
    collection_id = spec.collection_id
    selection = _selection_of(account, definition.database_id, spec.selection_id)
    if spec.selection_id is not None and selection is None:
        errors["selection_id"] = _("Choose a selection of this database.")
    elif selection is not None:
        collection_id = selection.collection_id
    if collection_id is not None:
        collection = get_collection(account, collection_id)
        if collection.database_id != definition.database_id:
            raise NotFound(_("Collection not found."))
    name = " ".join((spec.name or "").split())[:100]
    if not name:
        errors["name"] = _("Enter a name.")
    options = files.ExportOptions(
        format=spec.format,
        delimiter=spec.delimiter,
        fields=list(spec.fields) or None,
        interests=spec.interests,
        gzip=spec.gzip,
        bom=spec.bom,
        protect_formulas=spec.protect_formulas,
    )
    try:
        _export_of(account, definition.database_id, collection_id, options)  # checks; reads nothing yet
    except ValidationError as error:
        errors.update(error.errors or {"format": error.message})
    try:
        target_url = check_target_url(spec.target_url)
    except ValidationError as error:
        errors["target_url"] = error.errors.get("url") or error.message
        target_url = ""
    method = (spec.http_method or "PUT").upper()
    if method not in HTTP_METHODS:
        errors["http_method"] = _("Choose PUT or POST.")
    try:
        file_name = check_file_name(spec.file_name)
    except ValidationError as error:
        errors.update(error.errors)
        file_name = ""
    try:
        schedule = remote_files.check_schedule(spec.schedule)
    except ValidationError as error:
        errors.update(error.errors)
        schedule = ""
    if spec.private_key.strip():
        try:
            remote_files.load_private_key(spec.private_key.strip())
        except ValidationError as error:
            errors.update(error.errors)
    if errors:
        raise ValidationError(errors)
    stored = {} if spec.clear_secrets else remote_files.credentials_of(definition)
    credentials = {
        "username": spec.username.strip()[:255],
        "password": spec.password or stored.get("password", ""),
        "private_key": spec.private_key.strip() or stored.get("private_key", ""),
    }
    if target_url != definition.target_url:
        definition.last_upload = {}
    definition.name, definition.collection_id, definition.fields = name, collection_id, list(spec.fields)
    definition.selection_id = selection.id if selection else None
    definition.options = {
        "format": options.format,
        "delimiter": options.delimiter,
        "interests": options.interests,
        "gzip": options.gzip,
        "bom": options.bom,
        "protect_formulas": options.protect_formulas,
    }
    definition.target_url, definition.http_method, definition.file_name = target_url, method, file_name
    definition.schedule = schedule
    definition.credentials = remote_files.encrypt_credentials(credentials)


def _selection_of(account: Account, database_id: int, selection_id: int | None) -> Selection | None:
    """The chosen selection when it is one of the account's selections of this database, else None (another
    account's id gets the same answer as an unknown one)."""
    if selection_id is None:
        return None
    try:
        selection = owned(Selection, account, selection_id, _("Selection not found."))
    except NotFound:
        return None
    return selection if selection.database_id == database_id else None


def check_target_url(url: str) -> str:
    """An upload target: ``ftp://``, ``ftps://`` or ``sftp://`` (a folder) or ``http(s)://``, under the SSRF rules
    of fetched imports."""
    return remote_files.checked_url(url, names_file=False)[0]


def check_file_name(template: str) -> str:
    """A file name template: no folders, only the placeholders ``{date}``, ``{time}`` and ``{run}``."""
    template = (template or "").strip()
    if not template:
        raise ValidationError({"file_name": _("Enter a file name.")})
    if "/" in template or "\\" in template or template.startswith(".") or len(template) > 200:
        raise ValidationError({"file_name": _("Enter a file name without folders (it may not start with a dot).")})
    unknown = [name for name in PLACEHOLDER.findall(template) if name not in PLACEHOLDERS]
    if unknown or PLACEHOLDER.sub("", template).count("{") or PLACEHOLDER.sub("", template).count("}"):
        raise ValidationError({"file_name": _("Use only {date}, {time} and {run} in the file name.")})
    return template


def render_file_name(template: str, moment: datetime, run_id: int) -> str:
    values = {"date": moment.strftime("%Y-%m-%d"), "time": moment.strftime("%H%M"), "run": str(run_id)}
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def default_file_name(name: str, file_format: str, gzip: bool) -> str:
    """A suggestion for a new export: ``customers-{date}.csv.gz``."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-").lower() or "export"
    return f"{stem}-{{date}}.{file_format}" + (".gz" if gzip else "")


def masked_credentials(definition: ExportDefinition) -> dict[str, str]:
    return remote_files.masked_credentials(definition)


def _export_of(
    account: Account,
    database_id: int,
    collection_id: int | None,
    options: files.ExportOptions,
    selection: Selection | None = None,
) -> files.Export:
    """The export (``selection``: of its members, by the SQL the selections package registered)."""
    members = _selection_members[0](selection) if selection is not None else None
    if collection_id is None:
        return files.export_database(account, database_id, options, members=members)
    return files.export_collection(account, collection_id, options, members=members)


def _options_of(definition: ExportDefinition) -> files.ExportOptions:
    options = definition.options or {}
    return files.ExportOptions(
        format=options.get("format", "csv"),
        delimiter=options.get("delimiter", ","),
        fields=list(definition.fields) or None,
        interests=bool(options.get("interests", True)),
        gzip=bool(options.get("gzip")),
        bom=bool(options.get("bom")),
        protect_formulas=bool(options.get("protect_formulas", True)),
    )


# --- schedule ---------------------------------------------------------------------------------------


def _waiting_rows(definition_id: int) -> list[ScheduledWork]:
    rows = db.session.scalars(
        select(ScheduledWork).where(ScheduledWork.kind == KIND, ScheduledWork.status.in_(WAITING))
    )
    return [row for row in rows if int(row.payload.get("definition_id", 0)) == definition_id]


def _reschedule(definition: ExportDefinition, *, exclude: int | None = None) -> None:
    """Keep exactly one pending row for a scheduled definition, due at its next time (none if unscheduled).
    A queued scheduled row (an upload in progress) schedules the next turn itself; a one-off row does not."""
    rows = [row for row in _waiting_rows(definition.id) if row.id != exclude]
    pending = [row for row in rows if row.status == WorkStatus.PENDING and not row.payload.get("once")]
    due = remote_files.next_due(definition.schedule, utcnow())
    for row in pending[1:] if due else pending:
        db.session.delete(row)
    if due is None or any(row.status == WorkStatus.QUEUED and not row.payload.get("once") for row in rows):
        return
    if pending:
        pending[0].due_at = due
    else:
        work.schedule(KIND, due_at=due, payload={"definition_id": definition.id}, account_id=definition.account_id)


def run_now(account: Account, definition_id: int) -> ScheduledWork:
    """Export and upload at once (in a worker): the waiting row is made due now, or a one-off row is added."""
    definition = get_export(account, definition_id)
    rows = _waiting_rows(definition.id)
    if any(row.status == WorkStatus.QUEUED for row in rows) or _in_progress(definition.id, None):
        raise ValidationError(_("An upload of this export is in progress already."))
    if rows:
        row = rows[0]
        row.due_at = utcnow()
    else:
        row = work.schedule(
            KIND, payload={"definition_id": definition.id, "once": True}, account_id=definition.account_id
        )
    db.session.commit()
    return row


def next_run_at(definition: ExportDefinition) -> datetime | None:
    return min((row.due_at for row in _waiting_rows(definition.id)), default=None)


def ensure_schedules() -> None:
    """Housekeeping: every scheduled definition has its pending row (repairs a crash between two commits)."""
    for definition in db.session.scalars(select(ExportDefinition).where(ExportDefinition.schedule != "")):
        if not _waiting_rows(definition.id):
            _reschedule(definition)


# --- one run ------------------------------------------------------------------------------------------


def _in_progress(definition_id: int, work_id: int | None) -> bool:
    """Whether another turn's run of the definition is uploading or waiting for a retry (a run whose work row
    has ended, e.g. a worker killed for good, no longer counts)."""
    rows = db.session.execute(
        select(ExportRun.work_id).where(ExportRun.definition_id == definition_id, ExportRun.status.in_(IN_PROGRESS))
    ).scalars()
    others = [row_id for row_id in rows if row_id != work_id]
    if not others:
        return False
    return (
        db.session.scalar(
            select(ScheduledWork.id).where(ScheduledWork.id.in_(others), ScheduledWork.status.in_(WAITING)).limit(1)
        )
        is not None
    )


def upload(definition: ExportDefinition, run: ExportRun) -> None:
    """Write the export into a temporary file and upload it; sets the run's file name and size (not committed).

    Raises ``TransientFetchError`` (worth a retry) or ``ValidationError``."""
    url, address = remote_files.checked_url(definition.target_url, names_file=False)
    account = db.session.get_one(Account, definition.account_id)
    selection = db.session.get(Selection, definition.selection_id) if definition.selection_id else None
    export = _export_of(account, definition.database_id, definition.collection_id, _options_of(definition), selection)
    run.file_name = render_file_name(definition.file_name, run.started_at, run.id)[:255]
    credentials = remote_files.credentials_of(definition)
    with _spooled(export.chunks) as (spool, size):
        run.size = size
        scheme = urlsplit(url).scheme.lower()
        if scheme in ("http", "https"):
            _http_upload(url, definition.http_method, credentials, spool, size, run.file_name, export.content_type)
        elif scheme in ("ftp", "ftps"):
            _ftp_upload(urlsplit(url), address, scheme == "ftps", credentials, spool, run.file_name)
        else:
            host_key = _sftp_upload(
                urlsplit(url),
                address,
                credentials,
                spool,
                size,
                run.file_name,
                (definition.last_upload or {}).get("host_key", ""),
            )
            definition.last_upload = {**(definition.last_upload or {}), "host_key": host_key}


@contextmanager
def _spooled(chunks: Iterator[bytes]) -> Iterator[tuple[IO[bytes], int]]:
    """The export's chunks written to an anonymous temporary file (gone when closed), rewound for reading."""
    with tempfile.TemporaryFile() as spool:
        for chunk in chunks:
            spool.write(chunk)
        size = spool.tell()
        spool.seek(0)
        yield spool, size


def _read_chunks(spool: IO[bytes]) -> Iterator[bytes]:
    while chunk := spool.read(CHUNK):
        yield chunk


def _http_upload(
    url: str, method: str, credentials: dict, spool: IO[bytes], size: int, file_name: str, content_type: str
) -> None:
    if url.endswith("/"):
        url += quote(file_name)
    target = outbound_urls.pin_outbound_url(url)
    headers = {
        **target.headers,
        "Content-Type": content_type,
        "Content-Length": str(size),
        "Content-Disposition": f'attachment; filename="{file_name}"',
    }
    auth = (credentials["username"], credentials.get("password", "")) if credentials.get("username") else None
    try:
        with httpx.Client(timeout=remote_files.TIMEOUT, follow_redirects=False, auth=auth) as client:
            response = client.request(
                method, target.url, content=_read_chunks(spool), headers=headers, extensions=target.extensions
            )
    except httpx.TransportError as error:
        raise TransientFetchError(
            _("The server could not be reached: %(error)s", error=str(error) or type(error).__name__)
        ) from None
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in (408, 425, 429) or status >= 500:
        raise TransientFetchError(_("The server answered %(status)s.", status=status))
    if status in (401, 403):
        raise ValidationError(_("The server refused the credentials (%(status)s).", status=status))
    raise ValidationError(_("The server answered %(status)s.", status=status))


def _remote_paths(parts, file_name: str) -> tuple[str, str]:
    folder = unquote(parts.path).rstrip("/")
    final = f"{folder}/{file_name}"
    return final + ".part", final


def _ftp_upload(parts, address: str, tls: bool, credentials: dict, spool: IO[bytes], file_name: str) -> None:
    partial, final = _remote_paths(parts, file_name)
    with remote_files.open_ftp(parts, address, tls, credentials) as client:
        client.storbinary(f"STOR {partial}", spool, blocksize=CHUNK)
        client.rename(partial, final)


def _sftp_upload(
    parts, address: str, credentials: dict, spool: IO[bytes], size: int, file_name: str, pinned_host_key: str
) -> str:
    partial, final = _remote_paths(parts, file_name)
    with remote_files.open_sftp(parts, address, credentials, pinned_host_key) as (sftp, host_key):
        try:
            sftp.putfo(spool, partial, file_size=size, confirm=True)
            sftp.posix_rename(partial, final)
        except (FileNotFoundError, PermissionError):
            raise ValidationError(_("The SFTP server does not allow writing %(path)s.", path=final)) from None
    return host_key


# --- the work kind --------------------------------------------------------------------------------


def run_export_work(row: ScheduledWork) -> None:
    """The ``export_upload`` kind: one turn of a definition's schedule (or a "run now").

    The run is committed as running before the upload, so the admin sees it. A transient error keeps the run
    (status ``retrying``) and raises, so the work row retries with backoff and the next attempt reuses the run;
    the ``UPLOAD_ATTEMPTS``-th failure, or a permanent error, fails the run and the schedule moves on."""
    definition_id = int(row.payload["definition_id"])
    work_id, once = row.id, bool(row.payload.get("once"))
    definition = db.session.get(ExportDefinition, definition_id)
    if definition is None:
        return
    run = db.session.scalar(
        select(ExportRun).where(ExportRun.definition_id == definition_id, ExportRun.work_id == work_id)
    )
    if run is None and _in_progress(definition_id, work_id):
        definition.last_error = _(
            "Skipped at %(time)s: the previous upload of this export has not finished.",
            time=utcnow().strftime("%Y-%m-%d %H:%M"),
        )
    else:
        _attempt(definition, run, row)
    definition = db.session.get(ExportDefinition, definition_id)
    if definition is not None and not once:
        _reschedule(definition, exclude=work_id)


def _attempt(definition: ExportDefinition, run: ExportRun | None, row: ScheduledWork) -> None:
    definition_id, work_id, attempts = definition.id, row.id, row.attempts
    if run is None:
        run = ExportRun(account_id=definition.account_id, definition_id=definition_id, work_id=work_id, attempts=0)
        db.session.add(run)
    run.status, run.attempts, run.error, run.started_at = ExportRunStatus.RUNNING, run.attempts + 1, "", utcnow()
    db.session.commit()
    run_id = run.id
    try:
        upload(definition, run)
    except TransientFetchError as error:
        db.session.rollback()
        if attempts + 1 < UPLOAD_ATTEMPTS:
            _finish(run_id, ExportRunStatus.RETRYING, _("%(error)s (will retry)", error=str(error)))
            db.session.commit()
            raise
        _finish(run_id, ExportRunStatus.FAILED, str(error))
    except ValidationError as error:
        db.session.rollback()
        _finish(run_id, ExportRunStatus.FAILED, error.message)
    except Exception as error:
        db.session.rollback()
        _finish(run_id, ExportRunStatus.FAILED, f"{type(error).__name__}: {error}")
        db.session.commit()
        raise
    else:
        run.status, run.finished_at = ExportRunStatus.DONE, utcnow()
        definition.last_error = ""
        definition.last_upload = {
            **(definition.last_upload or {}),
            "at": run.finished_at.isoformat(" ", "seconds"),
            "file_name": run.file_name,
            "size": run.size,
        }


def _finish(run_id: int, status: ExportRunStatus, message: str) -> None:
    run = db.session.get_one(ExportRun, run_id)
    run.status, run.error = status, message[:2000]
    if status == ExportRunStatus.FAILED:
        run.finished_at = utcnow()
    definition = db.session.get(ExportDefinition, run.definition_id)
    if definition is not None:
        definition.last_error = run.error


def init_app(app) -> None:
    with app.app_context():
        work.register_kind(KIND, run_export_work)
        work.add_housekeeping(ensure_schedules)
