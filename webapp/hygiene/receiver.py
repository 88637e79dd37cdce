"""The inbound mail receiver: an aiosmtpd SMTP server taking bounces, complaints and ``mailto:`` unsubscribes.

It accepts mail for ``BOUNCE_DOMAIN`` only (any other recipient is refused at RCPT, so it is never an open
relay) and hands each message to ``intake.take_in_messages`` on a writer thread (the database work is
synchronous), which commit what arrived together. It answers 250 only after the commit; when that fails
(the database is down, or anything unexpected) it answers ``451``: the sending server keeps the message
and tries again later, so nothing is lost.
"""

import asyncio
import logging
import queue
import signal
import socket
import threading
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from flask import Flask

from webapp.extensions import db
from webapp.hygiene.intake import take_in_messages

log = logging.getLogger(__name__)

MAX_MESSAGE_SIZE = 10 * 1024 * 1024  # RFC 1870 SIZE we announce; bounces quoting big messages fit
WRITERS = 1  # the thread doing database work: one writer takes bigger batches, cheaper per message than two
BATCH = 64  # messages committed together at most


@dataclass
class Arrival:
    """One message waiting for the writer: its bytes and recipients, and the SMTP session awaiting the answer."""

    raw: bytes
    recipients: list[str]
    loop: asyncio.AbstractEventLoop
    answer: asyncio.Future


class IntakeHandler:
    """aiosmtpd hooks: refuse foreign recipients at RCPT; at DATA, hand the message to the writers and answer
    once it is committed (250) or could not be (451).

    Writers take what has arrived together (up to ``BATCH`` messages) and commit it in one transaction: a
    commit costs more than reading a report, so concurrent senders share one.
    """

    def __init__(self, app: Flask, *, writers: int = WRITERS):
        self.app = app
        self.arrivals: queue.Queue[Arrival | None] = queue.Queue()
        self.writers = [threading.Thread(target=self.write, name=f"intake-{n}", daemon=True) for n in range(writers)]
        for writer in self.writers:
            writer.start()

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
        answer = loop.create_future()
        self.arrivals.put(Arrival(raw, list(envelope.rcpt_tos), loop, answer))
        if await answer:
            return "250 2.0.0 OK: taken in"
        return "451 4.3.0 Temporarily unable to store the message, please try again later"

    def write(self) -> None:
        while True:
            first = self.arrivals.get()
            if first is None:
                self.arrivals.put(None)  # the stop signal is for every writer
                return
            batch = [first]
            while len(batch) < BATCH and not _unsubscribes(first):
                try:
                    following = self.arrivals.get_nowait()
                except queue.Empty:
                    break
                if following is None:
                    self.arrivals.put(None)  # the stop signal is for every writer
                    break
                if _unsubscribes(following):
                    self.take_in([following])  # an unsubscribe commits on its own: never retried with a batch
                    continue
                batch.append(following)
            self.take_in(batch)

    def take_in(self, batch: list[Arrival]) -> None:
        """Commit the batch; when that fails, each message alone, so one bad message fails only itself."""
        with self.app.app_context():
            if len(batch) > 1 and self._committed(batch):
                return
            for arrival in batch:
                self._committed([arrival])

    def _committed(self, batch: list[Arrival]) -> bool:
        try:
            take_in_messages([(arrival.raw, recipient) for arrival in batch for recipient in arrival.recipients])
        except Exception:
            db.session.rollback()
            if len(batch) == 1:
                log.exception("intake failed; asking the sender to retry")
                _answer(batch[0], False)
            return False
        for arrival in batch:
            _answer(arrival, True)
        return True

    def close(self) -> None:
        self.arrivals.put(None)
        for writer in self.writers:
            writer.join()


def _unsubscribes(arrival: Arrival) -> bool:
    return any(recipient.lower().startswith("unsubscribe+") for recipient in arrival.recipients)


def _answer(arrival: Arrival, taken_in: bool) -> None:
    def settle() -> None:
        if not arrival.answer.done():
            arrival.answer.set_result(taken_in)

    arrival.loop.call_soon_threadsafe(settle)


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
