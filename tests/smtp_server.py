"""A real SMTP server for mail tests (aiosmtpd on 127.0.0.1): records what it accepts, can refuse or go down.

Use the ``smtp_server`` fixture (``from tests.smtp_server import smtp_server  # noqa: F401``), or build a
variant with ``SmtpServer(username=…, password=…, starttls=True, cert_dir=tmp_path)``.
"""

import datetime
import email.policy
import socket
import ssl
import threading
from dataclasses import dataclass
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


@dataclass
class Envelope:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # as received, for checking DKIM signatures


class SmtpServer:
    """``.url``; ``.messages`` (received ``EmailMessage``s) and ``.envelopes``; ``.replies`` to answer the next
    RCPT or DATA with, e.g. ``["451 try later"]``, ``[None, "554 spam"]`` (None: as usual); ``.stop()``/``.start()``.
    Plain AUTH without TLS makes aiosmtpd warn: mark such a test
    ``@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")``."""

    def __init__(self, *, username: str = "", password: str = "", starttls: bool = False, cert_dir: Path | None = None):
        self.port = _free_port()
        self.envelopes: list[Envelope] = []
        self.replies: list[str | None] = []
        self.received = threading.Condition()
        self.username, self.password = username, password
        self.tls_context = _self_signed_context(cert_dir) if starttls else None
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        scheme_options = "?starttls=require&verify=0" if self.tls_context else ""
        credentials = f"{self.username}:{self.password}@" if self.username else ""
        return f"smtp://{credentials}127.0.0.1:{self.port}{scheme_options}"

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(envelope.data, policy=email.policy.default) for envelope in self.envelopes]

    def start(self) -> "SmtpServer":
        options = {}
        if self.username:
            # LOGIN is left out: after a refused PLAIN, smtplib tries LOGIN, which aiosmtpd leaves hanging.
            options.update(authenticator=self._authenticate, auth_required=True, auth_exclude_mechanism=["LOGIN"])
            options["auth_require_tls"] = self.tls_context is not None
        if self.tls_context:
            options.update(tls_context=self.tls_context, require_starttls=True)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """Wait until ``count`` messages have arrived (fails the test after ``timeout`` seconds)."""
        with self.received:
            arrived = self.received.wait_for(lambda: len(self.envelopes) >= count, timeout=timeout)
        assert arrived, f"expected {count} messages, got {len(self.envelopes)}"
        return self.messages

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == self.username and auth_data.password.decode() == self.password
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself

    def _reply(self) -> str | None:
        """The next scripted reply; ``None`` in ``replies`` means "answer as usual" for that step."""
        return self.replies.pop(0) if self.replies else None


class _Handler:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd's name
        reply = self.server._reply()
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        reply = self.server._reply()
        if reply:
            return reply
        with self.server.received:
            self.server.envelopes.append(Envelope(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            self.server.received.notify_all()
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _self_signed_context(cert_dir: Path | None) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    assert cert_dir is not None, "STARTTLS needs a cert_dir (tmp_path)"
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = cert_dir / "smtp-cert.pem", cert_dir / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()
