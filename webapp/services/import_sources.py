"""Fetched and scheduled imports: a definition's file from http(s)://, ftp://, ftps:// or sftp://.

``fetch`` streams the file into the imports folder with well-kept clients (httpx, ftplib, paramiko), after the
same SSRF rules as callbacks (``platform/outbound_urls.py``; ``ALLOW_PRIVATE_URLS`` lifts them) and connecting to the
address that was checked (FTPS connects by host name, so its certificate can be checked). An unchanged file is
skipped: HTTP sends ``If-None-Match``/``If-Modified-Since``; otherwise size and SHA-256 are compared with the
definition's ``last_fetch``. SFTP host keys are trusted on first use and then pinned in ``last_fetch``
(saving the source trusts the current key again).

Credentials (user name, password, private key) are stored as one Fernet token with a key derived from
``CREDENTIALS_KEY`` (HKDF-SHA256); the admin only ever sees a masked form.

Schedules are durable rows of kind ``import_fetch`` (one pending per definition): the handler fetches, creates a
run and starts it through ``imports.start_run`` (the ``import`` kind), and schedules the next row. A run of the
definition still waiting or running makes it skip that turn (runs never overlap). Transient errors retry with
the work rows' backoff for ``FETCH_ATTEMPTS`` attempts before the schedule moves on; the last error is kept on
the definition.
"""

import base64
import ftplib
import hashlib
import io
import json
import re
import secrets
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx
import paramiko
from croniter import croniter
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.utils import secure_filename

from webapp.extensions import db
from webapp.models import Account, ImportDefinition, ImportRun, ScheduledWork, utcnow
from webapp.platform import outbound_urls, work
from webapp.platform.errors import ValidationError
from webapp.profiles.databases import get_database
from webapp.services import imports

SCHEMES = ("http", "https", "ftp", "ftps", "sftp")
DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ftps": 21, "sftp": 22}
TIMEOUT = 30.0
CHUNK = 64 * 1024
FETCH_ATTEMPTS = 3
MIN_INTERVAL = 60
INTERVAL = re.compile(r"^(\d+)\s*([smhd]?)$", re.IGNORECASE)
UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
BUSY = ("pending", "queued", "running")
KIND = "import_fetch"


class TransientFetchError(Exception):
    """A fetch (or an export's upload) that may work later (timeout, refused connection, 5xx, a temporary FTP
    reply)."""


@dataclass
class Fetched:
    path: Path
    file_name: str
    size: int


# --- credentials ----------------------------------------------------------------------------------


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"verrijk import credentials").derive(
        current_app.config["CREDENTIALS_KEY"].encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_credentials(values: dict[str, str]) -> str:
    values = {name: value for name, value in values.items() if value}
    return _fernet().encrypt(json.dumps(values).encode()).decode() if values else ""


def credentials_of(definition: ImportDefinition) -> dict[str, str]:
    """The decrypted credentials (for the fetch only: never render these)."""
    if not definition.credentials:
        return {}
    try:
        return json.loads(_fernet().decrypt(definition.credentials.encode()))
    except InvalidToken:
        raise ValidationError(_("The stored credentials cannot be read (was CREDENTIALS_KEY changed?). "
                                "Enter them again.")) from None


def masked_credentials(definition: ImportDefinition) -> dict[str, str]:
    """What the admin may see: the user name, and whether a password or key is set."""
    try:
        values = credentials_of(definition)
    except ValidationError:
        return {"username": "", "password": "", "private_key": "", "unreadable": "1"}
    return {"username": values.get("username", ""), "password": "••••••" if values.get("password") else "",
            "private_key": _("a private key is set") if values.get("private_key") else ""}


def load_private_key(text: str) -> paramiko.PKey:
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise ValidationError({"private_key": _("This is not an unencrypted OpenSSH or PEM private key.")})


# --- URLs and schedules ---------------------------------------------------------------------------


def check_source_url(url: str) -> str:
    """A fetchable URL: one of ``SCHEMES``, a host, no credentials in it, and (unless ``ALLOW_PRIVATE_URLS``)
    a host resolving to public addresses only."""
    return checked_url(url)[0]


def checked_url(url: str, *, names_file: bool = True) -> tuple[str, str]:
    """The URL and the address to connect to (the host itself when private URLs are allowed). An (S)FTP URL must
    name a file unless ``names_file`` is false (export targets name a folder)."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError({"url": _("This is not a valid URL.")}) from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ValidationError({"url": _("Only http, https, ftp, ftps and sftp URLs can be fetched.")})
    if parts.username or parts.password:
        raise ValidationError({"url": _("Put the user name and password in their own fields, not in the URL.")})
    if not parts.hostname:
        raise ValidationError({"url": _("The URL has no host name.")})
    if names_file and scheme not in ("http", "https") and not parts.path.strip("/"):
        raise ValidationError({"url": _("The URL must name a file.")})
    if scheme in ("http", "https"):
        return outbound_urls.check_outbound_url(url), parts.hostname
    if current_app.config.get("ALLOW_PRIVATE_URLS"):
        return url, parts.hostname
    addresses = outbound_urls.resolve(parts.hostname, port or DEFAULT_PORTS[scheme])
    for address in addresses:
        if not outbound_urls.is_public(address):
            raise ValidationError(
                {"url": _("The host %(host)s resolves to a private or reserved address (%(address)s).",
                          host=parts.hostname, address=str(address))}
            )
    return url, str(addresses[0])


def check_schedule(text: str) -> str:
    """An interval (``90``, ``15m``, ``1h``, ``1d``; at least a minute) or a cron expression; empty: none."""
    text = " ".join((text or "").split())
    if not text:
        return ""
    if match := INTERVAL.match(text):
        if int(match.group(1)) * UNIT_SECONDS[match.group(2).lower()] < MIN_INTERVAL:
            raise ValidationError({"schedule": _("Fetch at most once a minute.")})
        return text.lower().replace(" ", "")
    if len(text.split()) == 5 and croniter.is_valid(text):
        return text
    raise ValidationError({"schedule": _("Enter an interval like 15m, 1h or 1d, or a cron expression like "
                                         "0 6 * * 1-5.")})


def next_due(schedule: str, after: datetime) -> datetime | None:
    """When a schedule is next due after ``after`` (naive UTC; cron expressions are read in UTC)."""
    if not schedule:
        return None
    if match := INTERVAL.match(schedule):
        return after + timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2).lower()])
    return croniter(schedule, after).get_next(datetime)


# --- setting a source -----------------------------------------------------------------------------


def set_source(account: Account, definition_id: int, *, source_url: str, schedule: str = "", username: str = "",
               password: str = "", private_key: str = "", clear_secrets: bool = False) -> ImportDefinition:
    """Set (or, with an empty URL, remove) a definition's source, credentials and schedule.

    An empty password or key keeps the stored one (the admin never gets it back to resubmit), unless
    ``clear_secrets``."""
    definition = imports.get_definition(account, definition_id)
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
    values = {"username": username.strip()[:255],
              "password": password or stored.get("password", ""),
              "private_key": private_key.strip() or stored.get("private_key", "")}
    if url != definition.source_url:
        definition.last_fetch = {}
    elif "host_key" in (definition.last_fetch or {}):  # saving is the admin's word to trust the server's key
        definition.last_fetch = {k: v for k, v in definition.last_fetch.items() if k != "host_key"}
    definition.source_url, definition.schedule = url, schedule
    definition.credentials = encrypt_credentials(values) if url else ""
    _reschedule(definition)
    db.session.commit()
    return definition


def create_source(account: Account, database_id: int, *, source_url: str, schedule: str = "", username: str = "",
                  password: str = "", private_key: str = "") -> ImportDefinition:
    """A new definition fetching its file from ``source_url``; its first file waits for a mapping."""
    database = get_database(account, database_id)
    if not (source_url or "").strip():
        raise ValidationError({"source_url": _("Enter a URL.")})
    name = PurePosixPath(unquote(urlsplit((source_url or "").strip()).path)).name or (source_url or "").strip()
    definition = ImportDefinition(account_id=account.id, database_id=database.id, name=name[:100] or "import",
                                  mapping={}, key_fields=[], options={"encoding": "", "delimiter": "",
                                                                       "quotechar": "", "date_order": ""})
    db.session.add(definition)
    db.session.flush()
    try:
        return set_source(account, definition.id, source_url=source_url, schedule=schedule, username=username,
                          password=password, private_key=private_key)
    except ValidationError:
        db.session.rollback()
        raise


def _waiting_rows(definition_id: int) -> list[ScheduledWork]:
    rows = db.session.scalars(
        select(ScheduledWork).where(ScheduledWork.kind == KIND, ScheduledWork.status.in_(("pending", "queued")))
    )
    return [row for row in rows if int(row.payload.get("definition_id", 0)) == definition_id]


def _reschedule(definition: ImportDefinition, *, exclude: int | None = None) -> ScheduledWork | None:
    """Keep exactly one pending fetch row for a scheduled definition, due at its next time (none if unscheduled).
    Queued rows (a fetch in progress) are left alone: they schedule the next turn themselves."""
    rows = [row for row in _waiting_rows(definition.id) if row.id != exclude]
    pending = [row for row in rows if row.status == "pending" and not row.payload.get("once")]
    due = next_due(definition.schedule, utcnow()) if definition.source_url else None
    for row in pending[1:] if due else pending:
        db.session.delete(row)
    if due is None or any(row.status == "queued" for row in rows):
        return None
    if pending:
        pending[0].due_at = due
        return pending[0]
    return work.schedule(KIND, due_at=due, payload={"definition_id": definition.id},
                         account_id=definition.account_id)


def fetch_now(account: Account, definition_id: int) -> ScheduledWork:
    """Fetch at once (in a worker): the waiting row is made due now, or a one-off row is added."""
    definition = imports.get_definition(account, definition_id)
    if not definition.source_url:
        raise ValidationError(_("This import has no source URL."))
    rows = _waiting_rows(definition.id)
    if any(row.status == "queued" for row in rows):
        raise ValidationError(_("A fetch of this import is in progress already."))
    if rows:
        rows[0].due_at = utcnow()
        row = rows[0]
    else:
        row = work.schedule(KIND, payload={"definition_id": definition.id, "once": True},
                            account_id=definition.account_id)
    db.session.commit()
    return row


def fetched_definitions(account: Account, database_id: int) -> list[dict]:
    """The database's fetched imports with their next run, for the imports tab."""
    rows = db.session.scalars(
        select(ImportDefinition)
        .where(ImportDefinition.account_id == account.id, ImportDefinition.database_id == database_id,
               ImportDefinition.source_url != "")
        .order_by(ImportDefinition.id)
    )
    return [{"definition": row, "next_run": next_run_at(row)} for row in rows]


def recent_runs(definition: ImportDefinition, *, limit: int = 20) -> list[ImportRun]:
    """The definition's latest runs, newest first."""
    return list(db.session.scalars(
        select(ImportRun).where(ImportRun.definition_id == definition.id).order_by(ImportRun.id.desc()).limit(limit)
    ))


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
            writer = _HashingWriter(out)
            if scheme in ("http", "https"):
                headers = _http_fetch(url, credentials, previous, writer)
                if headers is None:
                    path.unlink()
                    return None
            elif scheme in ("ftp", "ftps"):
                headers = _ftp_fetch(parts, address, scheme == "ftps", credentials, writer)
            else:
                headers = _sftp_fetch(parts, address, credentials, previous, writer)
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


class _HashingWriter:
    def __init__(self, out):
        self.out, self.size, self.sha256 = out, 0, hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.out.write(chunk)
        self.size += len(chunk)
        self.sha256.update(chunk)


def _http_fetch(url: str, credentials: dict, previous: dict, writer: _HashingWriter) -> dict | None:
    target = outbound_urls.pin_outbound_url(url)
    headers = dict(target.headers)
    if previous.get("etag"):
        headers["If-None-Match"] = previous["etag"]
    if previous.get("last_modified"):
        headers["If-Modified-Since"] = previous["last_modified"]
    auth = (credentials["username"], credentials.get("password", "")) if credentials.get("username") else None
    try:
        with httpx.Client(timeout=TIMEOUT, follow_redirects=False, auth=auth) as client, \
                client.stream("GET", target.url, headers=headers, extensions=target.extensions) as response:
            status = response.status_code
            if status == 304:
                return None
            if status in (408, 425, 429) or status >= 500:
                raise TransientFetchError(_("The server answered %(status)s.", status=status))
            if status in (401, 403):
                raise ValidationError(_("The server refused the credentials (%(status)s).", status=status))
            if status != 200:
                raise ValidationError(_("The server answered %(status)s.", status=status))
            for chunk in response.iter_bytes(CHUNK):
                writer.write(chunk)
            found = {"etag": response.headers.get("etag", ""),
                     "last_modified": response.headers.get("last-modified", "")}
    except httpx.TransportError as error:
        raise TransientFetchError(_("The server could not be reached: %(error)s", error=str(error) or
                                    type(error).__name__)) from None
    return {name: value for name, value in found.items() if value}


def _ftp_fetch(parts, address: str, tls: bool, credentials: dict, writer: _HashingWriter) -> dict:
    with open_ftp(parts, address, tls, credentials) as client:
        client.retrbinary(f"RETR {unquote(parts.path)}", writer.write, blocksize=CHUNK)
    return {}


def tls_context() -> ssl.SSLContext:
    """The TLS context of ftps:// connections: the system's certificate authorities, plus ``TLS_CA_FILE``
    when set (e.g. an in-house CA). Certificates and host names are always verified."""
    context = ssl.create_default_context()
    if current_app.config.get("TLS_CA_FILE"):
        context.load_verify_locations(cafile=current_app.config["TLS_CA_FILE"])
    return context


@contextmanager
def open_ftp(parts, address: str, tls: bool, credentials: dict) -> Iterator[ftplib.FTP]:
    """A logged-in FTP (or FTPS, with a protected data channel) client; FTP replies and network errors become
    ``TransientFetchError`` (temporary) or ``ValidationError`` (permanent). Shared with export uploads."""
    if tls:
        client = ftplib.FTP_TLS(context=tls_context(), timeout=TIMEOUT)  # noqa: S321 - customer's choice
        host = parts.hostname  # by name, so the certificate is checked against it
    else:
        client = ftplib.FTP(timeout=TIMEOUT)  # noqa: S321 - customer's choice
        host = address
    try:
        client.connect(host, parts.port or 21)
        client.login(credentials.get("username") or "anonymous", credentials.get("password", ""))
        if tls:
            client.prot_p()
        yield client
        client.quit()
    except ftplib.error_temp as error:
        raise TransientFetchError(_("The FTP server answered: %(reply)s", reply=str(error))) from None
    except ftplib.error_perm as error:
        if str(error).startswith("530"):
            raise ValidationError(_("The FTP server refused the credentials: %(reply)s", reply=str(error))) from None
        raise ValidationError(_("The FTP server answered: %(reply)s", reply=str(error))) from None
    except ssl.SSLCertVerificationError as error:
        raise ValidationError(_("The FTPS certificate is not valid: %(error)s", error=str(error))) from None
    except (OSError, EOFError, ftplib.error_reply, ftplib.error_proto) as error:
        raise TransientFetchError(_("The server could not be reached: %(error)s", error=str(error) or
                                    type(error).__name__)) from None
    finally:
        client.close()


def _sftp_fetch(parts, address: str, credentials: dict, previous: dict, writer: _HashingWriter) -> dict:
    with open_sftp(parts, address, credentials, previous.get("host_key", "")) as (sftp, host_key):
        try:
            with sftp.open(unquote(parts.path), "rb") as remote:
                while chunk := remote.read(CHUNK):
                    writer.write(chunk)
        except FileNotFoundError:
            raise ValidationError(_("The SFTP server has no file %(path)s.", path=unquote(parts.path))) from None
        except PermissionError:
            raise ValidationError(_("The SFTP server does not allow reading %(path)s.",
                                    path=unquote(parts.path))) from None
    return {"host_key": host_key}


@contextmanager
def open_sftp(parts, address: str, credentials: dict, pinned_host_key: str):
    """An authenticated SFTP client and the server's host key (``"type base64"``), refusing a host key other
    than ``pinned_host_key`` (when given). Network errors become ``TransientFetchError``, refused credentials a
    ``ValidationError``. Shared with export uploads."""
    try:
        sock = socket.create_connection((address, parts.port or 22), timeout=TIMEOUT)
    except OSError as error:
        raise TransientFetchError(_("The server could not be reached: %(error)s", error=str(error))) from None
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = transport.auth_timeout = TIMEOUT
        transport.start_client(timeout=TIMEOUT)
        key = transport.get_remote_server_key()
        host_key = f"{key.get_name()} {key.get_base64()}"
        if pinned_host_key and pinned_host_key != host_key:
            raise ValidationError(_("The SFTP server's host key changed. If that is expected, save the source "
                                    "again to trust the new key."))
        username = credentials.get("username") or ""
        if credentials.get("private_key"):
            transport.auth_publickey(username, load_private_key(credentials["private_key"]))
        else:
            transport.auth_password(username, credentials.get("password", ""))
        sftp = paramiko.SFTPClient.from_transport(transport)
        sftp.get_channel().settimeout(TIMEOUT)
        yield sftp, host_key
    except paramiko.AuthenticationException:
        raise ValidationError(_("The SFTP server refused the credentials.")) from None
    except (paramiko.SSHException, OSError, EOFError) as error:
        raise TransientFetchError(_("The server could not be reached: %(error)s", error=str(error) or
                                    type(error).__name__)) from None
    finally:
        transport.close()


# --- the work kind --------------------------------------------------------------------------------


def fetch_and_start(definition: ImportDefinition) -> ImportRun | None:
    """Fetch the file and create a run for it; start it when the definition has a mapping that fits.

    Commits (like the ``import`` kind): the run, its ``import`` work row and the definition together."""
    fetched = fetch(definition)
    if fetched is None:
        definition.last_error = ""
        return None
    run = ImportRun(account_id=definition.account_id, definition_id=definition.id,
                    database_id=definition.database_id, file_name=fetched.file_name[:255],
                    file_path=str(fetched.path), file_size=fetched.size)
    db.session.add(run)
    definition.last_error = ""
    db.session.commit()
    account = db.session.get(Account, definition.account_id)
    if not definition.mapping:
        return run  # the first file: an admin maps it, then starts it
    try:
        imports.start_run(account, run.id)
    except ValidationError as error:
        db.session.rollback()
        definition = db.session.get(ImportDefinition, definition.id)
        definition.last_error = _("The file was fetched but not imported: %(error)s", error=error.message)
        db.session.commit()
    return db.session.get(ImportRun, run.id)


def _busy(definition_id: int) -> bool:
    return db.session.scalar(
        select(ImportRun.id).where(ImportRun.definition_id == definition_id, ImportRun.status.in_(BUSY)).limit(1)
    ) is not None


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
        definition.last_error = _("Skipped at %(time)s: the previous run of this import has not finished.",
                                  time=utcnow().strftime("%Y-%m-%d %H:%M"))
    else:
        try:
            fetch_and_start(definition)
        except TransientFetchError as error:
            db.session.rollback()
            if row.attempts + 1 < FETCH_ATTEMPTS:
                _record_error(definition_id, str(error))
                raise
            definition = db.session.get(ImportDefinition, definition_id)
            definition.last_error = str(error)
        except ValidationError as error:
            db.session.rollback()
            definition = db.session.get(ImportDefinition, definition_id)
            definition.last_error = error.message
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
