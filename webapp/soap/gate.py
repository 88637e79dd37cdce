"""Who calls, read before Spyne reads the call: nobody makes the endpoint work hard for free.

Spyne builds the whole request as Python objects before a method runs; for a body of many ``pair``
elements that is seconds of CPU. So the view first looks for the credentials: a Bearer header or the
session cookie, else the ``access_token`` and ``login`` members of the call, found by a streaming parse
that keeps no more than one member in memory and stops at the token (clients send members in WSDL order,
where ``access_token`` is last, so a call without credentials costs one pass of a C parser over a body
that ``SOAP_MAX_REQUEST_BYTES`` already bounds). Only a checked caller's call reaches Spyne.
"""

import io
from dataclasses import dataclass

from lxml import etree

from webapp.soap.auth import LoginData

SOAP_BODY = "{http://schemas.xmlsoap.org/soap/envelope/}Body"
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
    values = {_local(child.tag): (child.text or "").strip() for child in element}
    return LoginData(values.get("username", ""), values.get("password", ""), values.get("account", ""))


def read_head(body: bytes) -> CallHead:
    """The method and credentials of a SOAP request (raises ``etree.XMLSyntaxError`` on bad XML)."""
    method = member = ""
    login = None
    depth = 0  # Envelope 1, Body 2, the method 3, its members 4
    for event, element in etree.iterparse(io.BytesIO(body), events=("start", "end"), **PARSER_OPTIONS):
        if event == "start":
            depth += 1
            if depth == 3 and not method and element.getparent().tag == SOAP_BODY:
                method = _local(element.tag)
            elif depth == 4:
                member = _local(element.tag)
            continue
        depth -= 1
        if depth == 3 and member == "access_token" and (element.text or "").strip():
            return CallHead(method, element.text.strip(), login)
        if depth == 3 and member == "login":
            login = _login(element)
        if depth >= 3 and member != "login":
            _forget(element)
        if depth == 2 and method:
            break
    return CallHead(method, None, login)


def _forget(element) -> None:
    """Drop a finished element and its earlier siblings, so that memory stays flat however long the body."""
    element.clear()
    parent = element.getparent()
    while element.getprevious() is not None:
        del parent[0]
