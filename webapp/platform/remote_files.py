"""Remote files over http(s)://, ftp://, ftps:// and sftp://: the checked URL, stored credentials, schedules, and
the clients, shared by fetched imports and export targets.

URLs pass the same SSRF rules as callbacks (``outbound_urls``; ``ALLOW_PRIVATE_URLS`` lifts them) and a client
connects to the address that was checked (FTPS connects by host name, so its certificate can be checked). SFTP
host keys are trusted on first use and then pinned by the caller; a different key is refused until an admin
confirms its fingerprint (``confirm_host_key``), and saving a definition never trusts one silently.

Credentials (user name, password, private key) are stored as one Fernet token with a key derived from
``CREDENTIALS_KEY`` (HKDF-SHA256); the admin only ever sees a masked form.
"""

import base64
import ftplib
import hashlib
import io
import json
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import unquote, urlsplit

import httpx
import paramiko
from croniter import croniter
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext as _

from webapp.platform import outbound_urls
from webapp.platform.errors import ValidationError


class StoresCredentials(Protocol):
    """A definition that keeps encrypted credentials (a fetched import's or an export target's)."""

    @property
    def credentials(self) -> str | None: ...


SCHEMES = ("http", "https", "ftp", "ftps", "sftp")


DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ftps": 21, "sftp": 22}


TIMEOUT = 30.0


CHUNK = 64 * 1024


MIN_INTERVAL = 60


INTERVAL = re.compile(r"^(\d+)\s*([smhd]?)$", re.IGNORECASE)


UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class TransientFetchError(Exception):
    """A fetch (or an export's upload) that may work later (timeout, refused connection, 5xx, a temporary FTP
    reply)."""


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"verrijk import credentials").derive(
        current_app.config["CREDENTIALS_KEY"].encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt_credentials(values: dict[str, str]) -> str:
    values = {name: value for name, value in values.items() if value}
    return _fernet().encrypt(json.dumps(values).encode()).decode() if values else ""


def credentials_of(definition: StoresCredentials) -> dict[str, str]:
    """The decrypted credentials (for the fetch only: never render these)."""
    if not definition.credentials:
        return {}
    try:
        return json.loads(_fernet().decrypt(definition.credentials.encode()))
    except InvalidToken:
        raise ValidationError(
            _("The stored credentials cannot be read (was CREDENTIALS_KEY changed?). Enter them again.")
        ) from None


def masked_credentials(definition: StoresCredentials) -> dict[str, str]:
    """What the admin may see: the user name, and whether a password or key is set."""
    try:
        values = credentials_of(definition)
    except ValidationError:
        return {"username": "", "password": "", "private_key": "", "unreadable": "1"}
    return {
        "username": values.get("username", ""),
        "password": "••••••" if values.get("password") else "",
        "private_key": _("a private key is set") if values.get("private_key") else "",
    }


def load_private_key(text: str) -> paramiko.PKey:
    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise ValidationError({"private_key": _("This is not an unencrypted OpenSSH or PEM private key.")})


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
                {
                    "url": _(
                        "The host %(host)s resolves to a private or reserved address (%(address)s).",
                        host=parts.hostname,
                        address=str(address),
                    )
                }
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
    raise ValidationError(
        {"schedule": _("Enter an interval like 15m, 1h or 1d, or a cron expression like 0 6 * * 1-5.")}
    )


def next_due(schedule: str, after: datetime) -> datetime | None:
    """When a schedule is next due after ``after`` (naive UTC; cron expressions are read in UTC)."""
    if not schedule:
        return None
    if match := INTERVAL.match(schedule):
        return after + timedelta(seconds=int(match.group(1)) * UNIT_SECONDS[match.group(2).lower()])
    return croniter(schedule, after).get_next(datetime)


class HashingWriter:
    def __init__(self, out):
        self.out, self.size, self.sha256 = out, 0, hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self.out.write(chunk)
        self.size += len(chunk)
        self.sha256.update(chunk)


def http_fetch(url: str, credentials: dict, previous: dict, writer: HashingWriter) -> dict | None:
    target = outbound_urls.pin_outbound_url(url)
    headers = dict(target.headers)
    if previous.get("etag"):
        headers["If-None-Match"] = previous["etag"]
    if previous.get("last_modified"):
        headers["If-Modified-Since"] = previous["last_modified"]
    auth = (credentials["username"], credentials.get("password", "")) if credentials.get("username") else None
    try:
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=False, auth=auth) as client,
            client.stream("GET", target.url, headers=headers, extensions=target.extensions) as response,
        ):
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
            found = {
                "etag": response.headers.get("etag", ""),
                "last_modified": response.headers.get("last-modified", ""),
            }
    except httpx.TransportError as error:
        raise TransientFetchError(
            _("The server could not be reached: %(error)s", error=str(error) or type(error).__name__)
        ) from None
    return {name: value for name, value in found.items() if value}


def ftp_fetch(parts, address: str, tls: bool, credentials: dict, writer: HashingWriter) -> dict:
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
    client: ftplib.FTP
    if tls:
        client = ftplib.FTP_TLS(context=tls_context(), timeout=TIMEOUT)  # noqa: S321 - customer's choice
        host = parts.hostname  # by name, so the certificate is checked against it
    else:
        client = ftplib.FTP(timeout=TIMEOUT)  # noqa: S321 - customer's choice
        host = address
    try:
        client.connect(host, parts.port or 21)
        client.login(credentials.get("username") or "anonymous", credentials.get("password", ""))
        if isinstance(client, ftplib.FTP_TLS):  # tls
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
        raise TransientFetchError(
            _("The server could not be reached: %(error)s", error=str(error) or type(error).__name__)
        ) from None
    finally:
        client.close()


def fingerprint(host_key: str) -> str:
    """OpenSSH's form of a pinned key (``"type base64"``): ``ssh-ed25519 SHA256:…`` (what ``ssh-keygen -lf`` shows)."""
    kind, _space, blob = host_key.partition(" ")
    try:
        digest = hashlib.sha256(base64.b64decode(blob, validate=True)).digest()
    except ValueError:
        return kind or "?"
    return f"{kind} SHA256:{base64.b64encode(digest).decode().rstrip('=')}"


def same_server(old_url: str, new_url: str) -> bool:
    """Whether two URLs name the same SFTP server (scheme, host, port): its pinned host key still applies."""
    old, new = urlsplit(old_url), urlsplit(new_url)
    return (old.scheme.lower(), old.hostname, old.port) == (new.scheme.lower(), new.hostname, new.port)


def server_host_key(url: str) -> str:
    """The host key (``"type base64"``) an SFTP server presents now, read without logging in."""
    checked, address = checked_url(url, names_file=False)
    parts = urlsplit(checked)
    try:
        sock = socket.create_connection((address, parts.port or 22), timeout=TIMEOUT)
    except OSError as error:
        raise TransientFetchError(_("The server could not be reached: %(error)s", error=str(error))) from None
    transport = paramiko.Transport(sock)
    try:
        transport.banner_timeout = TIMEOUT
        transport.start_client(timeout=TIMEOUT)
        key = transport.get_remote_server_key()
        return f"{key.get_name()} {key.get_base64()}"
    except (paramiko.SSHException, OSError, EOFError) as error:
        raise TransientFetchError(
            _("The server could not be reached: %(error)s", error=str(error) or type(error).__name__)
        ) from None
    finally:
        transport.close()


def confirm_host_key(url: str, confirmed_fingerprint: str) -> str:
    """The server's current host key, to pin, when its fingerprint is the one the admin confirmed.

    Asked again here (not taken from an earlier answer), so a key that changed between showing the fingerprint
    and the confirmation is refused rather than trusted unseen.
    """
    host_key = server_host_key(url)
    if fingerprint(host_key) != confirmed_fingerprint.strip():
        raise ValidationError(
            _(
                "The server now presents %(offered)s, not the key you confirmed. Nothing was changed.",
                offered=fingerprint(host_key),
            )
        )
    return host_key


def sftp_fetch(parts, address: str, credentials: dict, previous: dict, writer: HashingWriter) -> dict:
    with open_sftp(parts, address, credentials, previous.get("host_key", "")) as (sftp, host_key):
        try:
            with sftp.open(unquote(parts.path), "rb") as remote:
                while chunk := remote.read(CHUNK):
                    writer.write(chunk)
        except FileNotFoundError:
            raise ValidationError(_("The SFTP server has no file %(path)s.", path=unquote(parts.path))) from None
        except PermissionError:
            raise ValidationError(
                _("The SFTP server does not allow reading %(path)s.", path=unquote(parts.path))
            ) from None
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
            raise ValidationError(
                _(
                    "The SFTP server's host key changed: it presents %(offered)s, but %(pinned)s is pinned. "
                    "If you expect the change, check the new fingerprint with the server's administrator "
                    "and confirm it on this page (Replace host key).",
                    offered=fingerprint(host_key),
                    pinned=fingerprint(pinned_host_key),
                )
            )
        username = credentials.get("username") or ""
        if credentials.get("private_key"):
            transport.auth_publickey(username, load_private_key(credentials["private_key"]))
        else:
            transport.auth_password(username, credentials.get("password", ""))
        sftp = paramiko.SFTPClient.from_transport(transport)
        # Typed optional, but open_session raises rather than returning None, so both are always there.
        assert sftp is not None
        channel = sftp.get_channel()
        assert channel is not None
        channel.settimeout(TIMEOUT)
        yield sftp, host_key
    except paramiko.AuthenticationException:
        raise ValidationError(_("The SFTP server refused the credentials.")) from None
    except (paramiko.SSHException, OSError, EOFError) as error:
        raise TransientFetchError(
            _("The server could not be reached: %(error)s", error=str(error) or type(error).__name__)
        ) from None
    finally:
        transport.close()
