"""Outbound URLs (callbacks, later imports): http(s) only, and never into our own network (SSRF).

``check_outbound_url`` resolves the host and refuses private, loopback, link-local, multicast, reserved and
unspecified addresses (IPv4 and IPv6, IPv4-mapped included) unless the instance setting
``ALLOW_PRIVATE_URLS`` is on. Call it when a URL is saved; right before a request use ``pin_outbound_url``,
which checks again (DNS may change) and connects to the very address it checked.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from flask import current_app
from flask_babel import gettext as _

from webapp.platform.errors import ValidationError

MAX_URL_LENGTH = 2000


def check_outbound_url(url: str) -> str:
    """Return ``url`` stripped if it may be called; raise ``ValidationError`` (on ``url``) otherwise."""
    return _checked(url)[0]


@dataclass(frozen=True)
class PinnedTarget:
    """Where to connect for a checked URL: the checked address itself, so DNS cannot change in between.

    ``url`` has the host replaced by the address; send ``headers`` (``Host``) and ``extensions`` (the TLS server
    name, so certificates are still checked against the host name) with the request.
    """

    url: str
    headers: dict[str, str]
    extensions: dict[str, str]


def pin_outbound_url(url: str) -> PinnedTarget:
    """Check ``url`` and return a target connecting to the address that was checked (no DNS rebinding)."""
    url, addresses = _checked(url)
    if not addresses:  # private URLs allowed: nothing to pin
        return PinnedTarget(url, {}, {})
    parts = urlsplit(url)
    address = addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    host_header = parts.netloc.rsplit("@", 1)[-1]
    assert parts.hostname is not None, "_checked rejects a URL without a host name"
    extensions = {"sni_hostname": parts.hostname} if parts.scheme.lower() == "https" else {}
    return PinnedTarget(urlunsplit(parts._replace(netloc=netloc)), {"host": host_header}, extensions)


def _checked(url: str) -> tuple[str, list]:
    url = (url or "").strip()
    if not url:
        raise ValidationError({"url": _("Enter a URL.")})
    if len(url) > MAX_URL_LENGTH:
        raise ValidationError({"url": _("The URL is too long.")})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError({"url": _("This is not a valid URL.")}) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValidationError({"url": _("Only http and https URLs are allowed.")})
    host = parts.hostname
    if not host:
        raise ValidationError({"url": _("The URL has no host name.")})
    if parts.username or parts.password:
        raise ValidationError({"url": _("The URL may not contain a user name or password.")})
    if current_app.config.get("ALLOW_PRIVATE_URLS"):
        return url, []
    addresses = resolve(host, port or (443 if parts.scheme.lower() == "https" else 80))
    for address in addresses:
        if not is_public(address):
            raise ValidationError(
                {
                    "url": _(
                        "The host %(host)s resolves to a private or reserved address (%(address)s).",
                        host=host,
                        address=str(address),
                    )
                }
            )
    return url, addresses


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        raise ValidationError({"url": _("The host %(host)s could not be found.", host=host)}) from None
    addresses = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id (an AF_INET/AF_INET6 host is a str)
        addresses.append(ipaddress.ip_address(text))
    if not addresses:
        raise ValidationError({"url": _("The host %(host)s could not be found.", host=host)})
    return addresses


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for a globally routable unicast address (IPv4-mapped and 6to4/NAT64 forms judged by their IPv4)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address.sixtofour is not None:
            return is_public(address.sixtofour)
        if address in ipaddress.ip_network("64:ff9b::/96"):
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )
