"""The SOAP door: a Spyne application, wire-compatible with Copernica's legacy SOAP API, at ``/soap``.

``POST /soap`` takes SOAP 1.1 calls in Copernica's layout (``parameters`` in, ``result`` out: ``layout.py``)
or in the flat layout of Verrijk's earlier WSDL, answered in the layout they come in; ``GET
/soap?SOAPAPI=WSDL`` (or ``?wsdl``) serves Copernica's WSDL and ``/soap/flat?SOAPAPI=WSDL`` the flat one
(``wsdl.py``), whose endpoint address is ``PUBLIC_URL`` + the path when ``PUBLIC_URL`` is configured and
otherwise the address the request came in on. Each method is a thin adapter over the domain packages (see
``auth.run``).

Spyne runs inside a Flask view, so each call has the app and request context (the database session is
removed after it, like any request) and CSRF does not apply (SOAP authenticates by token). The view also
does what Spyne does not:

- it reads at most ``SOAP_MAX_REQUEST_BYTES`` (gzip request bodies are inflated within the same limit; 2 MB
  unless configured: a real call is a few kilobytes);
- it checks the caller before Spyne reads the call (``gate.py``): a call without valid credentials is
  answered ``Not logged on`` after one streaming pass, never deserialised;
- it answers an empty body, bad XML and a DOCTYPE with a SOAP fault, and logs a client's fault as one
  warning line (Spyne would log a traceback at ERROR);
- it tolerates a missing SOAPAction (dispatch is on the body element) and a missing or SOAP 1.2
  (``application/soap+xml``) content type on a 1.1 envelope;
- it gzips the response when the client accepts it.

XML is parsed without DTDs, entity expansion or network access: a document whose prolog carries a DOCTYPE
(the billion laughs, external entities) is refused with a fault before it is parsed (the same text inside a
CDATA value is data, not a DTD), and ``SafeSoap11`` checks the parsed document again (Spyne's parser
already has ``resolve_entities``, ``load_dtd`` and network access off; we pass them explicitly so that a
Spyne upgrade cannot turn them on).
"""

import gzip
import io
import logging
import re
import zlib

from flask import Flask, Response, current_app, g, request

GZIP_MIN_BYTES = 512
DOCTYPE_REFUSED = "Document type declarations (DTDs, entities) are not allowed."
EMPTY_REQUEST = "The request is empty: POST a SOAP envelope."
# What may come before a DOCTYPE in a document: an XML declaration, processing instructions, comments, space.
_PROLOG_DOCTYPE = re.compile(r"^\ufeff?\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<!DOCTYPE", re.DOTALL)
logger = logging.getLogger(__name__)
# Copernica's operations are rpc/literal, whose part accessors are unqualified: ``<result>``, not Spyne's
# ``<tns:result>`` (its members stay qualified, as the schema says). No other element is named ``result``.
_RESULT_ACCESSOR = re.compile(rb"<(/?)tns:result([\s/>])")
NOT_AN_ENVELOPE = "The request is not a SOAP envelope: it is empty, or not text in its declared character set."


COPERNICA, FLAT = "copernica", "flat"
"""The two message layouts (``layout.py``): Copernica's (``parameters`` in, ``result`` out; ``/soap``) and the
flat one Verrijk's WSDL described before (parameters directly in the method element; ``/soap/flat``)."""


def services() -> list:
    """The flat services, one per object family (imported here: nothing runs at import time)."""
    from webapp.soap.account import AccountService
    from webapp.soap.collection import CollectionService
    from webapp.soap.database import DatabaseService
    from webapp.soap.interest import InterestService
    from webapp.soap.miniview import MiniViewService
    from webapp.soap.profile import ProfileService
    from webapp.soap.subprofile import SubprofileService
    from webapp.soap.view import ViewService

    return [
        AccountService,
        DatabaseService,
        InterestService,
        CollectionService,
        ProfileService,
        SubprofileService,
        ViewService,
        MiniViewService,
    ]


def build_application(layout: str = COPERNICA):
    """The Spyne application with every service, in ``layout``."""
    from spyne import Application, const
    from spyne.model.fault import Fault
    from spyne.protocol.soap import Soap11

    from webapp.soap.layout import copernica_service
    from webapp.soap.shapes import read_map
    from webapp.soap.types import NAMESPACE, Map

    XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"

    class SafeSoap11(Soap11):
        """SOAP 1.1 with a parser that never loads a DTD, resolves entities or touches the network, and that
        reads maps (``pair`` sequences) in one pass (``shapes.read_map``) rather than through Spyne's generic,
        per-element path, which costs about 100 µs a pair."""

        def from_element(self, ctx, cls, element):
            if cls is Map and not element.get(XSI_NIL):
                return read_map(element)
            return super().from_element(ctx, cls, element)

        def create_in_document(self, ctx, charset=None):
            try:
                super().create_in_document(ctx, charset)
            except (StopIteration, UnicodeDecodeError):  # Spyne's answers to an empty or undecodable body
                raise Fault("Client.XMLSyntaxError", NOT_AN_ENVELOPE) from None
            root = ctx.in_document[0]
            if root.getroottree().docinfo.doctype:
                raise Fault("Client.XMLSyntaxError", DOCTYPE_REFUSED)

    # Spyne runs a full gc.collect() after a call at most once a second per process (to close attachment
    # files early); it stalls every thread for tens of milliseconds at a million rows' worth of heap. Our
    # calls open no files, so leave collection to Python.
    const.MIN_GC_INTERVAL = float("inf")
    protocol_options = {
        "resolve_entities": False,
        "load_dtd": False,
        "no_network": True,
        "huge_tree": False,
        "dtd_validation": False,
    }
    _log_client_faults_in_one_line()
    flat = services()
    return Application(
        flat if layout == FLAT else [copernica_service(service) for service in flat],
        tns=NAMESPACE,
        name="VerrijkFlat" if layout == FLAT else "Verrijk",
        in_protocol=SafeSoap11(validator="soft", **protocol_options),
        out_protocol=Soap11(),
    )


class _ClientFaultLine(logging.Filter):
    """Turns Spyne's ERROR-with-traceback for a client's fault into one WARNING line (a server's stays)."""

    def filter(self, record: logging.LogRecord) -> bool:
        from spyne.model.fault import Fault

        fault = record.exc_info[1] if record.exc_info else record.msg
        if isinstance(fault, Fault) and str(fault.faultcode).split(".")[0].endswith("Client"):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            message = str(fault.faultstring)
            message = message if len(message) <= 300 else message[:300] + "…"
            record.msg, record.args, record.exc_info, record.exc_text = "SOAP client fault: %s", (message,), None, None
        return True


def _log_client_faults_in_one_line() -> None:
    for name in ("spyne.application.client", "spyne.server._base", "spyne.server.wsgi"):
        spyne_logger = logging.getLogger(name)
        if not any(isinstance(f, _ClientFaultLine) for f in spyne_logger.filters):
            spyne_logger.addFilter(_ClientFaultLine())


def register_soap(app: Flask) -> None:
    """Mount the SOAP door at ``/soap`` and ``/soap/flat`` (exempt from CSRF: it authenticates by token)."""
    from webapp.extensions import csrf

    app.add_url_rule("/soap", "soap", soap_endpoint, methods=["GET", "POST"])
    app.add_url_rule("/soap/flat", "soap_flat", flat_soap_endpoint, methods=["GET", "POST"])
    csrf.exempt(soap_endpoint)
    csrf.exempt(flat_soap_endpoint)


def _state(layout: str) -> dict:
    """The Spyne application and WSGI adapter of ``layout`` for this Flask app, built on first use."""
    states = current_app.extensions.setdefault("soap", {})
    state = states.get(layout)
    if state is None:
        from spyne.server.wsgi import WsgiApplication

        application = build_application(layout)
        limit = current_app.config["SOAP_MAX_REQUEST_BYTES"]
        state = {"wsgi": WsgiApplication(application, max_content_length=limit * 4), "wsdl": {}}
        states[layout] = state
    return state


def soap_endpoint():
    """``GET``: the WSDL (Copernica's layout). ``POST``: one SOAP call in either layout: a call whose method
    element holds ``parameters`` is Copernica's, one with its members directly in it the flat one (and is
    answered flat), so that clients generated from Verrijk's earlier WSDL keep working."""
    return _endpoint(COPERNICA)


def flat_soap_endpoint():
    """The flat layout's WSDL (for clients generated from Verrijk's earlier WSDL, which post here); calls are
    answered as at ``/soap``, in the layout they come in."""
    return _endpoint(FLAT)


def _endpoint(wsdl_layout: str):
    from webapp.soap import gate

    if request.method == "GET":
        if "wsdl" in {key.lower() for key in request.args} or request.args.get("SOAPAPI", "").upper() == "WSDL":
            return _wsdl(wsdl_layout)
        return Response("POST SOAP 1.1 envelopes here; the WSDL is at ?SOAPAPI=WSDL.\n", mimetype="text/plain")
    body = _read_body()
    if isinstance(body, Response):
        return body
    refused = _check_caller(body)
    if refused is not None:
        return refused
    return _compress(_call_spyne(body, COPERNICA if gate.has_parameters(body) else FLAT))


def _check_caller(body: bytes) -> Response | None:
    """Keep the checked caller in ``g.soap_caller``; a fault response when there is none (``gate.py``)."""
    from lxml import etree
    from spyne.model.fault import Fault

    from webapp.soap import gate

    try:
        g.soap_caller = gate.caller_of(body)
    except etree.XMLSyntaxError as error:
        logger.warning("SOAP client fault: XML syntax error: %s", error)
        return _fault("Client.XMLSyntaxError", f"The request is not well-formed XML: {error}", 400)
    except Fault as fault:
        logger.warning("SOAP client fault: %s", fault.faultstring)
        return _fault(fault.faultcode, fault.faultstring, 500)
    return None


def _wsdl(layout: str) -> Response:
    from spyne.interface.wsdl.wsdl11 import Wsdl11

    from webapp.soap.wsdl import copernica_names

    base = current_app.config["PUBLIC_URL"] if current_app.config["PUBLIC_URL_SET"] else request.host_url
    address = base.rstrip("/") + ("/soap/flat" if layout == FLAT else "/soap")
    state = _state(layout)
    document = state["wsdl"].get(address)
    if document is None:
        wsdl = Wsdl11(state["wsgi"].app.interface)
        wsdl.build_interface_document(address)
        document = state["wsdl"][address] = copernica_names(wsdl.get_interface_document(), flat=layout == FLAT)
    return _compress(Response(document, mimetype="text/xml"))


def _read_body() -> bytes | Response:
    limit = current_app.config["SOAP_MAX_REQUEST_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        return _fault("Client", "The request is too large.", 413)
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        return _fault("Client", "The request is too large.", 413)
    if request.headers.get("Content-Encoding", "").lower() in ("gzip", "x-gzip"):
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            body = inflater.decompress(body, limit + 1)
        except zlib.error:
            return _fault("Client", "The gzip request body is not valid.", 400)
        if len(body) > limit or inflater.unconsumed_tail:
            return _fault("Client", "The request is too large.", 413)
    if not body.strip():
        return _fault("Client", EMPTY_REQUEST, 400)
    if _has_doctype(body):
        return _fault("Client", DOCTYPE_REFUSED, 400)
    return body


def _has_doctype(body: bytes) -> bool:
    """True when the document's prolog declares a DTD (in any encoding an XML document may use).

    Only the prolog counts: ``<!DOCTYPE html>`` inside a CDATA value (an HTML template) is data.
    """
    for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        if "<!DOCTYPE".encode(encoding) in body:
            width = len("<".encode(encoding))
            text = body[: len(body) - len(body) % width].decode(encoding, errors="replace")
            if _PROLOG_DOCTYPE.match(text):
                return True
    return False


def _call_spyne(body: bytes, layout: str) -> Response:
    environ = dict(request.environ)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["QUERY_STRING"] = ""
    # A SOAP 1.1 envelope sent as application/soap+xml (SOAP 1.2's media type), or without a type, is fine.
    content_type = environ.get("CONTENT_TYPE", "")
    if not content_type.startswith("multipart/"):
        charset = request.mimetype_params.get("charset", "utf-8")
        environ["CONTENT_TYPE"] = f"text/xml; charset={charset}"
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return lambda data: None

    chunks = b"".join(_state(layout)["wsgi"](environ, start_response))
    if layout == COPERNICA:
        chunks = _RESULT_ACCESSOR.sub(rb"<\1result\2", chunks, count=2)
    response = Response(chunks, status=int(captured["status"].split()[0]))
    for name, value in captured["headers"]:
        if name.lower() not in ("content-length", "set-cookie"):
            response.headers[name] = value
    cookie = g.pop("soap_cookie", None)
    if cookie:
        from webapp.soap.auth import COOKIE_NAME, SESSION_SECONDS

        response.set_cookie(
            COOKIE_NAME,
            cookie,
            max_age=SESSION_SECONDS,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["PUBLIC_URL"].startswith("https://"),
            path="/soap",
        )
    return response


def _compress(response: Response) -> Response:
    accepted = request.headers.get("Accept-Encoding", "").lower()
    data = response.get_data()
    if "gzip" in accepted and len(data) >= GZIP_MIN_BYTES:
        response.set_data(gzip.compress(data, compresslevel=5))
        response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = "Accept-Encoding"
    return response


def _fault(code: str, message: str, status: int) -> Response:
    from xml.sax.saxutils import escape

    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soap11env:Envelope xmlns:soap11env="http://schemas.xmlsoap.org/soap/envelope/"><soap11env:Body>'
        f"<soap11env:Fault><faultcode>soap11env:{escape(code)}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring></soap11env:Fault></soap11env:Body></soap11env:Envelope>"
    )
    return Response(envelope, status=status, mimetype="text/xml")
