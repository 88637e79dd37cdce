"""Benchmark: DSNs over SMTP into the mail receiver, processed into records, against a bare aiosmtpd sink.

Sets up (in a database whose name contains "bench"; its schema is wiped and migrated) an account, a database
and ``--messages`` profiles, each with one logged sent message. Then starts, each as its own process:

- the receiver: ``flask --app webapp mailreceiver`` (parses each DSN, matches it by its VERP address, stores
  a ``BounceReport`` and journals a ``bounced`` event, which the database's hygiene policy (the default: a
  hard bounce suppresses the address) turns into a suppressed address, committing what arrived together);
- the sink: a bare aiosmtpd server that accepts the same recipients and answers 250 to DATA, doing nothing.

The same client (``--clients`` threads, each with one SMTP connection sending one transaction per message)
sends the same prebuilt DSNs (RFC 3464, one per sent message, to its ``bounce+…`` address) to both,
alternating rounds (sink, receiver, sink, receiver). Each receiver round sends fresh messages: every one
must become a record with its event and a suppressed address, which is checked after the run. CPU seconds
per message of the receiver and the sink processes are printed per round (less sensitive to a loaded
machine). Ends with ``BENCH bounces: N messages/s (R x sink)``; targets >= 200 messages/s and >= 0.5x the sink.

Usage::

    .venv/bin/python bench/bounces.py --database-url postgresql://postgres@127.0.0.1/verrijk_bench_bounces
"""

import argparse
import os
import smtplib
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import child_pids, cpu_seconds  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = "bounces.bench.test"
SINK = """
import signal, sys, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

class Sink:
    async def handle_RCPT(self, server, session, envelope, address, options):
        if address.rpartition("@")[2].lower() != sys.argv[2]:
            return "550 5.7.1 Relaying denied"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        return "250 OK"

class Lenient(SMTP):
    line_length_limit = 64 * 1024

class SinkController(Controller):
    def factory(self):
        return Lenient(self.handler, **self.SMTP_kwargs)

controller = SinkController(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]), decode_data=False)
controller.start()
print("ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
while not stop.wait(1):
    pass
controller.stop()
"""


def process_cpu(pid: int) -> float:
    """CPU seconds of a server process and its worker processes (a receiver may run a pool) so far."""
    return sum(cpu_seconds(each) or 0.0 for each in (pid, *child_pids(pid)))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(url: str, count: int) -> list[tuple[str, bytes]]:
    """A fresh schema with ``count`` profiles and sent messages; returns (VERP address, DSN) per message."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from webapp import create_app
    from webapp.accounts import accounts
    from webapp.config import normalize_database_url
    from webapp.email import link_tokens
    from webapp.email.delivery import new_message_id
    from webapp.extensions import db
    from webapp.models import Profile, SentMessage
    from webapp.profiles import databases, fields

    if "bench" not in urlsplit(url).path:
        sys.exit("the database's name must contain 'bench': its schema is dropped")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": normalize_database_url(url),
            "REDIS_URL": os.environ.get("REDIS_URL", ""),
            "BOUNCE_DOMAIN": DOMAIN,
        }
    )
    messages = []
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        account = accounts.get_or_create_account("Bench")
        database = databases.create_database(account, "Customers")
        email = fields.create_field(account, fields.FieldSpec(name="email", type="email"), database_id=database.id)
        for number in range(count):
            address = f"person{number}@example.com"
            profile = Profile(
                account_id=account.id,
                database_id=database.id,
                code=f"c{number}",
                fields={str(email.id): address},
                interests=[],
            )
            db.session.add(profile)
            db.session.flush()
            message_id = new_message_id(account.id)
            key = link_tokens.return_key(message_id)
            db.session.add(
                SentMessage(
                    account_id=account.id,
                    message_id=message_id,
                    return_key=key,
                    profile_id=profile.id,
                    category="marketing",
                    recipient=address,
                )
            )
            verp = link_tokens.address("bounce", account.id, key)
            assert verp is not None
            messages.append((verp, dsn(message_id, address)))
        db.session.commit()
    return messages


def dsn(message_id: str, address: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: bounce@bounces.bench.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.example.com.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\nbe delivered to one or more recipients.\r\n\r\n"
        f"<{address}>: host mx.example.com said: 550 5.1.1 <{address}>: Recipient address rejected: User unknown\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {address}\r\nOriginal-Recipient: rfc822;{address}\r\nAction: failed\r\n"
        "Status: 5.1.1\r\nRemote-MTA: dns; mx.example.com\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{address}>: Recipient address rejected: User unknown\r\n\r\n"
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\nTo: {address}\r\n"
        "From: news@shop.example\r\nSubject: Our news\r\n\r\n--b--\r\n"
    ).encode()


def wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit("a server did not start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit("a server did not start")


def load(port: int, messages: list[tuple[str, bytes]], clients: int) -> float:
    """Send every message over ``clients`` connections; messages per second."""
    chunks = [messages[index::clients] for index in range(clients)]
    errors: list[str] = []

    def client(chunk: list[tuple[str, bytes]]) -> None:
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=60) as connection:
                for recipient, data in chunk:
                    connection.sendmail("", [recipient], data)
        except smtplib.SMTPException as error:
            errors.append(str(error))

    threads = [threading.Thread(target=client, args=(chunk,)) for chunk in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        sys.exit(f"the client got errors: {errors[:3]}")
    return len(messages) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--messages", type=int, default=3000, help="per receiver round (two rounds)")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    rounds = 2
    messages = prepare(args.database_url, args.messages * rounds)
    env = {**os.environ, "DATABASE_URL": args.database_url, "BOUNCE_DOMAIN": DOMAIN}
    receiver_port, sink_port = free_port(), free_port()
    flask = [sys.executable, "-m", "flask", "--app", "webapp", "mailreceiver", "--port", str(receiver_port)]
    receiver = subprocess.Popen(flask, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(sink_port), DOMAIN], env=env, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(receiver_port, receiver)
        wait_for_port(sink_port, sink)
        sink_rates, receiver_rates = [], []
        for number in range(rounds):
            batch = messages[number * args.messages : (number + 1) * args.messages]
            sink_cpu = process_cpu(sink.pid)
            sink_rates.append(load(sink_port, batch, args.clients))
            sink_cpu = process_cpu(sink.pid) - sink_cpu
            receiver_cpu = process_cpu(receiver.pid)
            receiver_rates.append(load(receiver_port, batch, args.clients))
            receiver_cpu = process_cpu(receiver.pid) - receiver_cpu
            print(
                f"round {number + 1}: sink {sink_rates[-1]:.0f}/s, receiver {receiver_rates[-1]:.0f}/s; "
                f"CPU per message: sink {1000 * sink_cpu / len(batch):.2f} ms, "
                f"receiver {1000 * receiver_cpu / len(batch):.2f} ms; load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
    finally:
        for process in (receiver, sink):
            process.terminate()
            process.wait(timeout=30)
    stored, suppressed = count_records(args.database_url)
    if stored != len(messages) or suppressed != len(messages):
        sys.exit(f"{stored} records and {suppressed} suppressed addresses for {len(messages)} messages")
    best_receiver, best_sink = max(receiver_rates), max(sink_rates)
    print(f"records: {stored} of {len(messages)} messages, {suppressed} addresses suppressed")
    print(f"BENCH bounces: {best_receiver:.0f} messages/s ({best_receiver / best_sink:.2f}x sink)")


def count_records(url: str) -> tuple[int, int]:
    """Hard-bounce records and events, and addresses the bounce policy suppressed (one each per message)."""
    from sqlalchemy import create_engine, text

    from webapp.config import normalize_database_url

    engine = create_engine(normalize_database_url(url))
    with engine.connect() as connection:
        records = connection.execute(
            text(
                "SELECT count(*) FROM bounce_report WHERE kind = 'hard' AND EXISTS (SELECT 1 FROM profile_event e"
                " WHERE e.profile_id = bounce_report.profile_id AND e.kind = 'bounced')"
            )
        ).scalar_one()
        suppressed = connection.execute(
            text("SELECT count(*) FROM suppressed_address WHERE reason = 'hard_bounce' AND lifted_at IS NULL")
        ).scalar_one()
        return int(records), int(suppressed)


if __name__ == "__main__":
    main()
