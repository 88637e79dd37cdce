"""An account's own mail settings: its SMTP server, send rate and DKIM key.

The SMTP URL (it holds a password) and the DKIM private key are stored as Fernet tokens with a key derived
from ``CREDENTIALS_KEY`` (HKDF-SHA256, as the import sources' credentials, under a label of their own); the
admin only ever sees a masked URL and the public key.
"""

import base64
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.models import Account, MailSettings, utcnow
from webapp.platform import outbound_urls
from webapp.platform.errors import ValidationError

SMTP_SCHEMES = ("smtp", "smtps")
DKIM_KEY_BITS = 2048
MIN_DKIM_KEY_BITS = 1024  # RFC 8301
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SELECTOR = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class Dkim:
    domain: str
    selector: str
    private_key: bytes


@dataclass(frozen=True)
class Effective:
    """What sending for an account uses: the SMTP URL ('' = the catcher), rate and DKIM key (or None).

    ``guarded``: the URL is the account's own, so the connection goes through ``smtp_address`` (the
    instance's ``SMTP_URL`` is the operator's and may well be a relay on localhost)."""

    smtp_url: str
    rate_per_minute: int
    dkim: Dkim | None
    guarded: bool = False


def _fernet() -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"verrijk mail settings").derive(
        current_app.config["CREDENTIALS_KEY"].encode()
    )
    return Fernet(base64.urlsafe_b64encode(key))


def _encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def _decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValidationError(
            _("The stored mail settings cannot be read (was CREDENTIALS_KEY changed?). Enter them again.")
        ) from None


def settings_of(account: Account) -> MailSettings:
    """The account's settings row (a fresh, unsaved one when it has none yet)."""
    return db.session.get(MailSettings, account.id) or MailSettings(
        account_id=account.id, smtp_url="", dkim_domain="", dkim_selector="", dkim_private_key="", dkim_public_key=""
    )


def effective(account_id: int | None) -> Effective:
    """The settings a message of this account is sent with (the app's own when there is no account)."""
    config = current_app.config
    row = db.session.get(MailSettings, account_id) if account_id else None
    own = row is not None and bool(row.smtp_url)
    smtp_url = _decrypt(row.smtp_url) if row is not None and own else config["SMTP_URL"]
    rate = row.rate_per_minute if row is not None and row.rate_per_minute else config["MAIL_RATE_LIMIT"]
    dkim = None
    if row is not None and row.dkim_private_key and row.dkim_domain and row.dkim_selector:
        dkim = Dkim(row.dkim_domain, row.dkim_selector, _decrypt(row.dkim_private_key).encode())
    return Effective(smtp_url=smtp_url, rate_per_minute=int(rate), dkim=dkim, guarded=own)


def check_smtp_url(url: str) -> str:
    """An SMTP URL we can use: ``smtp://`` or ``smtps://``, a host, a numeric port if any."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValidationError({"smtp_url": _("This is not a valid URL.")}) from None
    if parts.scheme not in SMTP_SCHEMES or not parts.hostname:
        raise ValidationError({"smtp_url": _("Use smtp://host:port or smtps://host:port.")})
    try:
        smtp_address(url)
    except ValidationError as error:
        raise ValidationError({"smtp_url": error.message}) from None
    return url


def smtp_address(url: str) -> str:
    """Where to connect for an account's SMTP URL: the address its host resolves to, when every address it
    resolves to is public (the outbound URL guard of callbacks and imports, against SSRF: no loopback, private,
    link-local or reserved address). Called when the URL is saved and again right before each connection
    (DNS may change), which then goes to the very address checked. With ``ALLOW_PRIVATE_URLS`` the host name."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if current_app.config.get("ALLOW_PRIVATE_URLS"):
        return host
    try:
        addresses = outbound_urls.resolve(host, parts.port or 25)
    except ValidationError as error:
        raise ValidationError(error.errors.get("url", error.message)) from None
    for address in addresses:
        if not outbound_urls.is_public(address):
            message = _(
                "The host %(host)s resolves to a private or reserved address (%(address)s).", host=host, address=address
            )
            raise ValidationError(message)
    return str(addresses[0])


def masked_smtp_url(account: Account) -> str:
    """The account's SMTP URL with its password replaced, for display ('' when none is set)."""
    row = db.session.get(MailSettings, account.id)
    if row is None or not row.smtp_url:
        return ""
    try:
        parts = urlsplit(_decrypt(row.smtp_url))
    except ValidationError as error:
        return error.message
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}:••••••@{netloc}" if parts.password else f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def update_settings(account: Account, *, smtp_url: str | None, rate_per_minute: int | None) -> MailSettings:
    """Save the SMTP URL (None keeps the stored one, '' removes it) and the send rate (None: the default)."""
    row = settings_of(account)
    if smtp_url is not None:
        row.smtp_url = _encrypt(check_smtp_url(smtp_url)) if smtp_url.strip() else ""
    if rate_per_minute is not None and rate_per_minute < 1:
        raise ValidationError({"rate_per_minute": _("Enter at least 1 message per minute.")})
    row.rate_per_minute = rate_per_minute
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.commit()
    return row


def generate_dkim_key(account: Account, *, domain: str, selector: str) -> MailSettings:
    """A new RSA key pair for signing this account's mail as ``domain`` (replaces any previous key)."""
    domain, selector = _checked_dkim_name(domain, selector)
    return _store_dkim_key(
        account, domain, selector, rsa.generate_private_key(public_exponent=65537, key_size=DKIM_KEY_BITS)
    )


def import_dkim_key(account: Account, *, domain: str, selector: str, private_key_pem: str) -> MailSettings:
    """Sign with an existing RSA key (PEM, PKCS#1 or PKCS#8, unencrypted): one already published in DNS."""
    errors = {}
    try:
        domain, selector = _checked_dkim_name(domain, selector)
    except ValidationError as error:
        errors.update(error.errors)
    key = None
    try:
        key = serialization.load_pem_private_key(private_key_pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        errors["dkim_private_key"] = _(
            "Paste an unencrypted RSA private key in PEM form (-----BEGIN … PRIVATE KEY-----)."
        )
    if key is not None and not isinstance(key, rsa.RSAPrivateKey):
        errors["dkim_private_key"] = _("DKIM keys here are RSA keys (rsa-sha256).")
    elif key is not None and key.key_size < MIN_DKIM_KEY_BITS:
        errors["dkim_private_key"] = _("The key has %(bits)s bits; receivers want at least 1024.", bits=key.key_size)
    if errors:
        raise ValidationError(errors)
    assert isinstance(key, rsa.RSAPrivateKey)
    return _store_dkim_key(account, domain, selector, key)


def _checked_dkim_name(domain: str, selector: str) -> tuple[str, str]:
    domain, selector = domain.strip().lower().rstrip("."), selector.strip().lower()
    errors = {}
    if not DOMAIN.match(domain):
        errors["dkim_domain"] = _("Enter a domain name like example.com.")
    if not SELECTOR.match(selector):
        errors["dkim_selector"] = _("Use letters, digits and hyphens, like verrijk1.")
    if errors:
        raise ValidationError(errors)
    return domain, selector


def _store_dkim_key(account: Account, domain: str, selector: str, key: rsa.RSAPrivateKey) -> MailSettings:
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    row = settings_of(account)
    row.dkim_domain, row.dkim_selector = domain, selector
    row.dkim_private_key = _encrypt(private_pem.decode())
    row.dkim_public_key = base64.b64encode(public_der).decode()
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.commit()
    return row


def remove_dkim_key(account: Account) -> None:
    row = db.session.get(MailSettings, account.id)
    if row is not None:
        row.dkim_domain = row.dkim_selector = row.dkim_private_key = row.dkim_public_key = ""
        row.updated_at = utcnow()
        db.session.commit()


def dkim_dns_record(row: MailSettings) -> tuple[str, str] | None:
    """The TXT record to publish for the account's DKIM key: (name, value), or None without a key."""
    if not row.dkim_public_key:
        return None
    return f"{row.dkim_selector}._domainkey.{row.dkim_domain}", f"v=DKIM1; k=rsa; p={row.dkim_public_key}"
