"""Signed links and addresses in the mail we send: open pixel, click redirect, unsubscribe, VERP return path.

Links carry an itsdangerous token signed with SECRET_KEY, one salt per purpose, naming the account, the
profile (by its secret code, so links of a merged profile keep working) and the message. A click token also
holds its target, so the redirect can never be pointed elsewhere.

Addresses (``bounce+…@BOUNCE_DOMAIN``, ``unsubscribe+…@BOUNCE_DOMAIN``) must fit a 64-octet local part and
survive mail systems that lowercase it, so they carry ``<account id>.<return key>.<signature>``: the return key
is a digest of the Message-ID (``SentMessage.return_key``) and the signature a lowercase base32 HMAC.
"""

import base64
import functools
import hashlib
import hmac
from urllib.parse import urlsplit

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

PURPOSES = ("open", "click", "unsubscribe")
ADDRESS_PREFIXES = ("bounce", "unsubscribe")


def _serializer(purpose: str) -> URLSafeSerializer:
    return _serializer_for(current_app.config["SECRET_KEY"], purpose)


@functools.lru_cache(maxsize=32)
def _serializer_for(secret: str, purpose: str) -> URLSafeSerializer:
    """One serializer per key and purpose (a mailing signs several links per message)."""
    return URLSafeSerializer(secret, salt=f"verrijk-mail-{purpose}")


def sign(purpose: str, **values) -> str:
    assert purpose in PURPOSES
    return _serializer(purpose).dumps(values)


def unsign(purpose: str, token: str) -> dict | None:
    """The values of a token made by ``sign`` for this purpose, or None when it is forged or malformed."""
    try:
        values = _serializer(purpose).loads(token)
    except BadSignature:
        return None
    return values if isinstance(values, dict) else None


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_URL"] + path


def link(purpose: str, **values) -> str:
    """The public URL of a signed link (``/p/o/…``, ``/p/c/…``, ``/p/u/…``)."""
    return public_url(f"/p/{purpose[0]}/{sign(purpose, **values)}")


def is_trackable(url: str) -> bool:
    """Only web links are wrapped for click tracking (not mailto:, tel:, anchors or our own links)."""
    parts = urlsplit(url.strip())
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not url.startswith(public_url("/p/"))


# --- return addresses --------------------------------------------------------------------------------


def return_key(message_id: str) -> str:
    """A short, lowercase digest of a Message-ID: how an address names the message."""
    digest = hashlib.sha256(message_id.encode()).digest()
    return base64.b32encode(digest).decode().lower()[:16]


def _address_signature(prefix: str, account_id: int, key: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(secret, f"verrijk-mail-address:{prefix}:{account_id}.{key}".encode(), hashlib.sha256)
    return base64.b32encode(mac.digest()).decode().lower()[:12]


def address(prefix: str, account_id: int, key: str) -> str | None:
    """``prefix+<account>.<key>.<signature>@BOUNCE_DOMAIN``, or None when BOUNCE_DOMAIN is not set."""
    assert prefix in ADDRESS_PREFIXES
    domain = current_app.config["BOUNCE_DOMAIN"]
    if not domain:
        return None
    return f"{prefix}+{account_id}.{key}.{_address_signature(prefix, account_id, key)}@{domain}"


def parse_address(value: str) -> tuple[str, int, str] | None:
    """(prefix, account id, return key) of an address made by ``address``; None when not ours or forged."""
    local, _at, _domain = value.strip().strip("<>").lower().rpartition("@")
    prefix, plus, token = local.partition("+")
    parts = token.split(".")
    if not plus or prefix not in ADDRESS_PREFIXES or len(parts) != 3 or not parts[0].isdigit():
        return None
    account_id, key, signature = int(parts[0]), parts[1], parts[2]
    if not hmac.compare_digest(signature, _address_signature(prefix, account_id, key)):
        return None
    return prefix, account_id, key


def list_unsubscribe_headers(
    account_id: int, profile_code: str, message_id: str, link: str | None = None
) -> dict[str, str]:
    """RFC 2369 ``List-Unsubscribe`` (the signed page and, with BOUNCE_DOMAIN, a mailto) and RFC 8058 one-click
    (``link``: the message's unsubscribe link when the caller has it signed already)."""
    targets = [f"<{link or unsubscribe_link(account_id, profile_code, message_id)}>"]
    mailbox = address("unsubscribe", account_id, return_key(message_id))
    if mailbox:
        targets.append(f"<mailto:{mailbox}?subject=unsubscribe>")
    return {"List-Unsubscribe": ", ".join(targets), "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def unsubscribe_link(account_id: int, profile_code: str, message_id: str) -> str:
    return link("unsubscribe", a=account_id, p=profile_code, m=message_id)
