"""Who calls, read before Spyne reads the call: nobody makes the endpoint work hard for free.

Spyne builds the whole request as Python objects before a method runs; for a body of many ``pair``
elements that is seconds of CPU. So the view asks ``caller_of`` first, which reads no more than it must:

1. A body is only parsed when it may carry credentials worth checking: a valid API token somewhere in its
   bytes (a C-speed search for the token's shape, then the token lookup), a valid Bearer header or session
   cookie, or a ``login`` element from an address still under the login rate limit. Anything else is the
   fault ``Not logged on`` (or ``Too many login attempts``) at once, whatever the body's size.
2. Otherwise ``read_head`` finds the method and its ``access_token`` and ``login`` members (in the method
   element, or in its ``parameters`` in Copernica's layout) with a streaming parse that keeps no more than
   one member in memory and stops at the token; ``auth.caller`` checks them as it always has (the member,
   then the header, the per-call login, the cookie), and ``auth.check_scope`` refuses a read-only token a
   method that writes. The ``login`` method itself goes on to Spyne, which rate-limits it.

Only a checked caller's call reaches Spyne; ``SOAP_MAX_REQUEST_BYTES`` bounds what step 2 may cost.
"""

import io
import re
from dataclasses import dataclass

from lxml import etree

from webapp.accounts import tokens
from webapp.soap import auth
from webapp.soap.auth import Caller, LoginData
from webapp.soap.layout import PARAMETERS

SOAP_BODY = "{http://schemas.xmlsoap.org/soap/envelope/}Body"
TOKEN_SHAPE = re.compile(re.escape(tokens.TOKEN_PREFIX).encode() + rb"[A-Za-z0-9_-]{16,128}")
LOGIN_ELEMENT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?login[\s/>]")
EDGE_CANDIDATES = 2
PARSER_OPTIONS = {"resolve_entities": False, "load_dtd": False, "no_network": True, "huge_tree": False}


@dataclass(frozen=True)
class CallHead:
    """The method a request calls and the credentials it carries in its body."""

    method: str
    access_token: str | None = None
    login: LoginData | None = None


def _local(tag) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _login(element) -> LoginData:
    """The ``login`` member's texts (the password as sent: spaces may be part of it)."""
    values = {_local(child.tag): child.text or "" for child in element}
    return LoginData(values.get("username", "").strip(), values.get("password", ""), values.get("account", "").strip())


def read_head(body: bytes) -> CallHead:
    """The method and credentials of a SOAP request (raises ``etree.XMLSyntaxError`` on bad XML).

    The members are in the method element (the flat layout) or in its ``parameters`` (Copernica's).
    """
    method = member = ""
    login = None
    depth = 0  # Envelope 1, Body 2, the method 3, its members 4 (or ``parameters`` 4, its members 5)
    members = 4
    for event, element in etree.iterparse(io.BytesIO(body), events=("start", "end"), **PARSER_OPTIONS):
        if event == "start":
            depth += 1
            if depth == 3 and not method and element.getparent().tag == SOAP_BODY:
                method = _local(element.tag)
            elif depth == 4 and _local(element.tag) == PARAMETERS:
                members = 5
            elif depth == members:
                member = _local(element.tag)
            continue
        depth -= 1
        if depth == members - 1 and member == "access_token" and (element.text or "").strip():
            return CallHead(method, element.text.strip(), login)
        if depth == members - 1 and member == "login":
            login = _login(element)
        if depth >= members - 1 and member != "login":
            _forget(element)
        if depth == 3 and members == 5:
            members, member = 4, ""  # a second ``parameters`` is not read
        if depth == 2 and method:
            break
    return CallHead(method, None, login)


def has_parameters(body: bytes) -> bool:
    """Whether the method element's first member is ``parameters`` (Copernica's layout); reads no further."""
    depth = 0
    for event, element in etree.iterparse(io.BytesIO(body), events=("start", "end"), **PARSER_OPTIONS):
        if event == "end":
            depth -= 1
            if depth <= 3:
                return False
            continue
        depth += 1
        if depth == 4 and element.getparent().getparent().tag == SOAP_BODY:
            return _local(element.tag) == PARAMETERS
    return False


def _forget(element) -> None:
    """Drop a finished element and its earlier siblings, so that memory stays flat however long the body."""
    element.clear()
    parent = element.getparent()
    while element.getprevious() is not None:
        del parent[0]


def caller_of(body: bytes) -> Caller | None:
    """The checked caller of a request (None for the ``login`` method, which Spyne runs), or a fault.

    Raises ``spyne.Fault`` without credentials and ``etree.XMLSyntaxError`` when a body worth reading is
    not XML.
    """
    from spyne import Fault

    has_login = LOGIN_ELEMENT.search(body) is not None
    if not has_login and not _may_authenticate(body):
        raise Fault("Client", auth.NOT_LOGGED_ON)
    if has_login and not auth.login_allowed() and not _may_authenticate(body):
        raise Fault("Client", auth.TOO_MANY_LOGINS)
    head = read_head(body)
    if head.method == "login":
        return None
    found = auth.caller(head.access_token, head.login)
    auth.check_scope(found, head.method)
    return found


def _may_authenticate(body: bytes) -> bool:
    """A valid token in the body's bytes, or valid header or cookie credentials.

    Only the first and the last two token-shaped strings are looked up (``access_token`` is the last member
    in WSDL order, hand-written envelopes tend to put it first), so junk costs at most four lookups.
    """
    found = list(dict.fromkeys(match.group() for match in TOKEN_SHAPE.finditer(body)))
    for secret in dict.fromkeys(found[:EDGE_CANDIDATES] + found[-EDGE_CANDIDATES:]):
        if tokens.token_for_secret(secret.decode()) is not None:
            return True
    return auth.header_or_cookie_caller() is not None
