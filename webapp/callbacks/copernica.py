"""Callbacks in Copernica's style: its webhook variables and its HTTP Signature, so that receiver code written
for Copernica's webhooks works unchanged (a callback's ``style`` is ``copernica``).

**Body**, always form fields (``application/x-www-form-urlencoded``) as Copernica sends them: ``type``,
``parameters`` (the values the change set, ``parameters[City]=…``), ``timestamp`` (``YYYY-MM-DD HH:MM:SS``,
UTC), ``time`` (Unix seconds), ``profile``, ``database``, for subprofiles ``subprofile`` and ``collection``,
``created``, ``modified``, ``fields`` (``fields[City]=…``) and ``interests`` (the names of those that are on,
``interests[]=…``). Empty values are empty strings, never left out. Our own variables (``changes``, ``source``,
``event``, ``id``, ``interest_changes``) stay in the standard style.

**Signature**, as Copernica's webhook-security page documents it: the draft-cavage HTTP Signatures scheme,
``rsa-sha256`` over ``(request-target) host date content-length content-type x-copernica-id digest x-nonce``,
with ``Digest: SHA-256=…`` (RFC 3230/5843), ``X-Copernica-ID: account-<id>`` and a fresh ``X-Nonce``. The key is
the account's DKIM key, and ``keyId`` names its DNS record (``<selector>._domainkey.<domain>``): the public key
is published in DNS the way DKIM keys are, which is how Copernica publishes its own.
"""

import base64
import hashlib
import secrets
from calendar import timegm
from datetime import datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask_babel import gettext as _

from webapp.email import account_settings
from webapp.platform.errors import ValidationError

CONTENT_TYPE = "application/x-www-form-urlencoded"
SIGNED_HEADERS = (
    "(request-target)",
    "host",
    "date",
    "content-length",
    "content-type",
    "x-copernica-id",
    "digest",
    "x-nonce",
)
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"


def signing_key(account_id: int) -> account_settings.Dkim:
    """The account's DKIM key, which signs its Copernica-style calls; a clear error when there is none."""
    try:
        key = account_settings.effective(account_id).dkim
    except ValidationError:
        key = None
    if key is None:
        raise ValidationError(
            {
                "style": _(
                    "Copernica-style callbacks are signed with the account's DKIM key, published in DNS: "
                    "add one under Email → Settings first."
                )
            }
        )
    return key


def body(payload: dict[str, Any]) -> str:
    """Our stored payload as Copernica's form fields."""
    return urlencode(list(_pairs(payload)))


def _pairs(payload: dict[str, Any]):
    stamp = payload.get("timestamp", "")
    yield "type", str(payload.get("type", ""))
    changes = payload.get("changes") or {}
    yield from _map("parameters", {name: pair[1] for name, pair in changes.items()})
    yield "timestamp", stamp
    yield "time", str(_unix(stamp))
    if "subprofile" in payload:
        yield "subprofile", str(payload["subprofile"])
    yield "profile", str(payload.get("profile", ""))
    yield "database", str(payload.get("database", ""))
    if "collection" in payload:
        yield "collection", str(payload["collection"])
    yield "created", payload.get("created", "")
    yield "modified", payload.get("modified", "")
    yield from _map("fields", payload.get("fields") or {})
    for name, on in (payload.get("interests") or {}).items():
        if on:
            yield "interests[]", name


def _map(prefix: str, values: dict[str, Any]):
    for name, value in values.items():
        yield f"{prefix}[{name}]", _text(value)


def _text(value: Any) -> str:
    """Copernica's values are text: empty ones ``""``, yes/no ``1``/``0``, several choices joined by ``, ``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return ", ".join(_text(item) for item in value)
    return str(value)


def _unix(stamp: str) -> int:
    try:
        return timegm(datetime.strptime(stamp, TIMESTAMP_FORMAT).timetuple())
    except ValueError:
        return 0


def signed_headers(account_id: int, url: str, content: bytes) -> dict[str, str]:
    """The headers of one call: Host, Date, Content-Type, Content-Length, Digest, X-Copernica-ID, X-Nonce and
    the Signature over them. ``url`` is the callback's own URL (not the pinned address)."""
    key = signing_key(account_id)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {
        "host": parts.netloc.rsplit("@", 1)[-1],
        "date": formatdate(usegmt=True),
        "content-length": str(len(content)),
        "content-type": CONTENT_TYPE,
        "x-copernica-id": f"account-{account_id}",
        "digest": "SHA-256=" + base64.b64encode(hashlib.sha256(content).digest()).decode(),
        "x-nonce": secrets.token_hex(16),
    }
    lines = [f"(request-target): post {target}"] + [f"{name}: {headers[name]}" for name in SIGNED_HEADERS[1:]]
    signature = _sign(key.private_key, "\n".join(lines).encode())
    headers["signature"] = (
        f'keyId="{key.selector}._domainkey.{key.domain}",algorithm="rsa-sha256",'
        f'headers="{" ".join(SIGNED_HEADERS)}",signature="{signature}"'
    )
    return headers


def _sign(private_pem: bytes, message: bytes) -> str:
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey), "DKIM keys are RSA keys (account_settings)"
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()
