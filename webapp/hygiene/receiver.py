"""The inbound mail receiver: an aiosmtpd SMTP server taking bounces, complaints and ``mailto:`` unsubscribes.

It accepts mail for ``BOUNCE_DOMAIN`` only (any other recipient is refused at RCPT, so it is never an open
relay) and hands each message to ``intake.take_in_message`` on a small thread pool (the database work is
synchronous). When that fails (the database is down, or anything unexpected) it answers ``451``: the sending
server keeps the message and tries again later, so nothing is lost.
"""

import asyncio
import logging
import signal
import socket
import threading
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

from webapp.extensions import db
from webapp.hygiene.intake import take_in_message

log = logging.getLogger(__name__)

MAX_MESSAGE_SIZE = 10 * 1024 * 1024  # RFC 1870 SIZE we announce; bounces quoting big messages fit
WORKERS = 4  # threads doing database work; more only adds connection-pool contention on a small machine


class IntakeHandler:
    """aiosmtpd hooks: refuse foreign recipients at RCPT, take the message in at DATA."""

    def __init__(self, app: Flask, *, workers: int = WORKERS):
        self.app = app
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="intake")

    def domain(self) -> str:
        return (self.app.config.get("BOUNCE_DOMAIN") or "").strip().lower()

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options):
        domain = self.domain()
        if not domain or address.rpartition("@")[2].strip().lower() != domain:
            return "550 5.7.1 Relaying denied: this server only takes mail for its bounce domain"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or (envelope.content if isinstance(envelope.content, bytes) else b"")
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self.executor, self.take_in, raw, list(envelope.rcpt_tos))
        except Exception:
            log.exception("intake failed; asking the sender to retry")
            return "451 4.3.0 Temporarily unable to store the message, please try again later"
        return "250 2.0.0 OK: taken in"

    def take_in(self, raw: bytes, recipients: list[str]) -> None:
        with self.app.app_context():
            try:
                for recipient in recipients:
                    take_in_message(raw, recipient)
            except Exception:
                db.session.rollback()
                raise

    def close(self) -> None:
        self.executor.shutdown(wait=True)


class LenientSMTP(SMTP):
    """RFC 5321 limits a line to 1000 octets, but real reports break it (SES JSON, quoted HTML): take them."""

    line_length_limit = 64 * 1024


class IntakeController(Controller):
    def factory(self) -> SMTP:
        return LenientSMTP(self.handler, **self.SMTP_kwargs)


class Receiver:
    """The SMTP server on ``host:port`` (port 0: a free one), started and stopped around the handler."""

    def __init__(self, app: Flask, host: str, port: int):
        self.handler = IntakeHandler(app)
        self.controller = IntakeController(
            self.handler,
            hostname=host,
            port=port or _free_port(host),
            data_size_limit=MAX_MESSAGE_SIZE,
            decode_data=False,
            server_hostname=app.config.get("BOUNCE_DOMAIN") or None,
        )

    @property
    def address(self) -> tuple[str, int]:
        return self.controller.hostname, self.controller.port

    def start(self) -> "Receiver":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()
        self.handler.close()


def serve(app: Flask, host: str, port: int) -> None:
    """Run the receiver until SIGTERM or SIGINT (the ``mailreceiver`` command)."""
    receiver = Receiver(app, host, port).start()
    bound_host, bound_port = receiver.address
    print(f"mail receiver listening on {bound_host}:{bound_port} for @{app.config.get('BOUNCE_DOMAIN')}", flush=True)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    try:
        while not stopping.wait(1.0):
            pass
    finally:
        receiver.stop()


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
