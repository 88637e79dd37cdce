"""Benchmark: a mailing to ``--recipients`` profiles into a local SMTP sink, against a plain loop that sends the
same already-rendered, already-signed messages over the same number of SMTP connections, in the same run.

Against PostgreSQL and Redis:

1. **Build**: an account with a DKIM key and no send-rate limit, a database of ``--recipients`` profiles, a
   template (html with a tracked link, the open pixel, the unsubscribe footer), a selection of everyone.
2. **Mailing**: the real dispatcher (``flask dispatcher``) and ``--workers`` RQ workers (``worker.py``) send the
   mailing — freeze, batches, a claim committed before each SMTP transaction, the sent-message log, the
   ``EmailResult`` and the journal event after it, one SMTP connection per batch — to the sink, an aiosmtpd
   server in a process of its own that counts what it accepts and keeps the first ``--keep`` messages as
   received. Messages/s from ``send_now`` (once every process has started) until the dispatcher marks the
   mailing done.
3. **Plain loop**: ``--workers`` processes, each with one SMTP connection (smtplib), send ``--recipients``
   messages in total — the kept messages of step 2, byte for byte (rendered and DKIM-signed), in turn — to the
   same sink. Messages/s.

4. **Where the CPU goes** (``/proc``, figures that depend little on the machine's other load): during the mailing
   and during the loop, CPU per message of each part — the workers (with their work horses), the dispatcher,
   the sink, PostgreSQL, the rest of the machine — and so the most messages/s the machine's cores could carry
   (``CpuParts``). After the mailing, in this process: CPU per message of building a message (from the
   skeleton, and the per-message way), DKIM signing and the database work of one message (``measure_floor``).

Ends with ``BENCH mailing: <messages/s> messages/s (<ratio>x plain SMTP loop)``. Targets: >= 500 messages/s and
>= 0.7x the loop.

Usage (the database's name must contain "bench": its schema is dropped)::

    .venv/bin/python bench/mailing.py --database-url postgresql://postgres@127.0.0.1/verrijk_mailing_bench \
        --redis-url redis://127.0.0.1:6379/3
"""

import argparse
import multiprocessing
import os
import pickle
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import ROOT, machine_busy_seconds, postgres_cpu_between, postgres_cpu_seconds

ACCOUNT_NAME = "Mailing bench"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="RQ workers, and SMTP connections of the loop")
    parser.add_argument("--keep", type=int, default=2_000, help="messages the sink keeps for the plain loop")
    parser.add_argument("--floor", type=int, default=1_000, help="messages of the floor measurement")
    parser.add_argument("--reuse", action="store_true", help="keep the profiles of an earlier run")
    args = parser.parse_args(argv)
    if "bench" not in args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL database whose name contains 'bench' (it is wiped)")
    if not args.redis_url:
        parser.error("--redis-url is needed (its database is flushed)")
    return args


# --- the sink: aiosmtpd in a process of its own ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_sink(port: int, keep_path: str, keep: int, count_path: str) -> None:
    """Accept everything; write the count to ``count_path`` now and then; keep the first ``keep`` messages."""
    import asyncio

    from aiosmtpd.controller import Controller

    class Handler:
        def __init__(self):
            self.count, self.kept = 0, []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
            self.count += 1
            if len(self.kept) < keep:
                self.kept.append((envelope.mail_from, envelope.rcpt_tos[0], envelope.original_content))
                if len(self.kept) == keep:
                    Path(keep_path).write_bytes(pickle.dumps(self.kept))
            if self.count % 500 == 0:
                Path(count_path).write_text(str(self.count))
            return "250 OK"

    handler = Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(0.2)
            Path(count_path).write_text(str(handler.count))
            if handler.kept and len(handler.kept) < keep:
                Path(keep_path).write_bytes(pickle.dumps(handler.kept))
    finally:
        asyncio.run(asyncio.sleep(0))
        controller.stop()


def received(count_path: str) -> int:
    try:
        return int(Path(count_path).read_text() or 0)
    except (OSError, ValueError):
        return 0


# --- building -------------------------------------------------------------------------------------------------


def create_database(url: str) -> None:
    import psycopg2
    from sqlalchemy.engine import make_url

    parts = make_url(url)
    connection = psycopg2.connect(
        host=parts.host, port=parts.port or 5432, user=parts.username, password=parts.password, dbname="postgres"
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parts.database,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{parts.database}"')
    connection.close()


def build(recipients: int, reuse: bool) -> int:
    """The account, database, profiles, template, selection and mailing; returns the mailing's id."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from webapp.accounts import accounts
    from webapp.email import account_settings, templates
    from webapp.email.templates import TemplateValues
    from webapp.extensions import db
    from webapp.mailings import definitions
    from webapp.models import Database, Profile, Selection
    from webapp.profiles import databases, profiles
    from webapp.profiles.events import Origin
    from webapp.profiles.fields import FieldSpec, create_field

    existing = 0
    if reuse:
        try:
            existing = db.session.scalar(select(func.count()).select_from(Profile)) or 0
        except Exception:  # noqa: BLE001 - no schema yet
            db.session.rollback()
    if existing != recipients:
        db.session.rollback()
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        db.session.remove()
        account = accounts.get_or_create_account(ACCOUNT_NAME)
        database = databases.create_database(account, "Customers")
        for name, kind in (("Email", "email"), ("FirstName", "text")):
            create_field(account, FieldSpec(name=name, type=kind), database_id=database.id)
        started = time.perf_counter()
        for start in range(0, recipients, 20_000):
            rows = [
                {"Email": f"p{n}@example.com", "FirstName": f"P{n}"}
                for n in range(start, min(start + 20_000, recipients))
            ]
            profiles.bulk_create_profiles(account, database.id, rows, origin=Origin("import", actor="bench"))
        print(f"created {recipients:,} profiles in {time.perf_counter() - started:.1f} s", flush=True)
        account_settings.update_settings(account, smtp_url=None, rate_per_minute=100_000_000)
        account_settings.generate_dkim_key(account, domain="shop.example", selector="bench")
        templates.save_template(
            account,
            TemplateValues(
                name="News",
                subject="News for {{ profile.FirstName }}",
                html='<h1>Hello {{ profile.FirstName }}</h1><p>Our <a href="https://shop.example/sale">sale</a>'
                " starts today.</p>" + "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>" * 20,
                sender="Shop <news@shop.example>",
            ),
        )
        db.session.add(Selection(account_id=account.id, database_id=database.id, name="Everyone", rules={}))
        db.session.commit()
    account = accounts.get_or_create_account(ACCOUNT_NAME)
    database = db.session.scalars(select(Database).where(Database.account_id == account.id)).one()
    template = templates.list_templates(account)[0]
    everyone = db.session.scalars(select(Selection).where(Selection.database_id == database.id)).one()
    mailing = definitions.create_mailing(
        account,
        definitions.MailingValues(
            name=f"Bench {time.time():.0f}", database_id=database.id, template_id=template.id, target_ids=[everyone.id]
        ),
    )
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    return mailing.id


# --- the two runs -----------------------------------------------------------------------------------------------


def environment(args: argparse.Namespace, sink_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "SMTP_URL": sink_url,
        "DISPATCH_INTERVAL": "0.2",
        "LOG_LEVEL": "WARNING",
    }


def start(command: list[str], env: dict[str, str], log_path: str) -> subprocess.Popen:
    """A process of the run, its output in ``log_path`` (printed when the run fails)."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class CpuParts:
    """Where the machine's CPU went during a run, per message: the given processes (with the children they waited
    for), PostgreSQL, and the rest of the machine (``/proc``; empty elsewhere). A figure per part, unlike
    messages/s, hardly depends on what else the machine is doing, and their sum says how many messages/s the
    machine's cores could carry at most."""

    def __init__(self, processes: dict[str, list[int]]):
        self.processes = processes
        self.started = self._reading()

    def _reading(self) -> tuple[dict[str, float], dict[int, float], float | None]:
        own = {part: sum(cpu_seconds(pid) for pid in pids) for part, pids in self.processes.items()}
        return own, postgres_cpu_seconds(), machine_busy_seconds()

    def report(self, what: str, messages: int) -> None:
        own, postgres, busy = self._reading()
        parts = {part: own[part] - self.started[0][part] for part in own}
        database = postgres_cpu_between(self.started[1], postgres)
        if database is not None:
            parts["PostgreSQL"] = database
        if busy is not None and self.started[2] is not None:
            parts["rest of the machine"] = max(0.0, busy - self.started[2] - sum(parts.values()))
        total = sum(parts.values())
        if not messages or not total:
            return
        figures = ", ".join(f"{part} {seconds * 1000 / messages:.2f}" for part, seconds in parts.items())
        ceiling = (os.cpu_count() or 1) / (total / messages)
        print(
            f"CPU per message, {what}, ms: {figures}; in all {total * 1000 / messages:.2f} ms, so at most "
            f"{ceiling:,.0f} messages/s on {os.cpu_count()} cores",
            flush=True,
        )


def run_mailing(args: argparse.Namespace, mailing_id: int, sink_url: str, folder: str, sink_pid: int) -> float:
    from sqlalchemy import func, select

    from webapp.accounts import accounts
    from webapp.extensions import db
    from webapp.mailings import lifecycle
    from webapp.models import Mailing, MailingRecipient
    from webapp.platform.queues import redis_connection

    redis_connection().flushdb()
    env = environment(args, sink_url)
    flask = str(Path(sys.executable).with_name("flask"))
    log_path = os.path.join(folder, "processes.log")
    processes = [start([sys.executable, "worker.py"], env, log_path) for _ in range(args.workers)]
    processes.append(start([flask, "--app", "webapp", "dispatcher"], env, log_path))
    wait_until_up(args.workers, processes, log_path)  # start-up is not measured
    account = accounts.get_or_create_account(ACCOUNT_NAME)
    meter = CpuParts(
        {
            "workers": [process.pid for process in processes[: args.workers]],
            "dispatcher": [processes[-1].pid],
            "sink": [sink_pid],
        }
    )
    started = time.perf_counter()
    lifecycle.send_now(account, mailing_id)
    try:
        while True:  # until the dispatcher finds nothing left and marks the mailing done (one row read)
            time.sleep(0.5)
            status = db.session.scalar(select(Mailing.status).where(Mailing.id == mailing_id))
            db.session.rollback()
            if status != "sending":
                break
            if any(process.poll() is not None for process in processes):
                sys.exit(f"a worker or the dispatcher stopped; see {log_path}")
        seconds = time.perf_counter() - started
        meter.report("mailing", args.recipients)
    finally:
        stop(processes)
    counts = dict(
        db.session.execute(
            select(MailingRecipient.status, func.count())
            .where(MailingRecipient.mailing_id == mailing_id)
            .group_by(MailingRecipient.status)
        ).all()
    )
    db.session.rollback()
    sent = counts.get("sent", 0)
    print(f"mailing: {counts} in {seconds:.1f} s = {sent / seconds:,.0f} messages/s", flush=True)
    return sent / seconds


def wait_until_up(workers: int, processes: list[subprocess.Popen], log_path: str) -> None:
    """Until every worker and the dispatcher has recorded its heartbeat (each beats once it has started), and a
    second more for their first rounds."""
    from webapp.platform import heartbeats

    def alive(role: str) -> int:
        return sum(1 for beat in heartbeats.processes(role) if beat.alive)

    while alive(heartbeats.WORKER) < workers or not alive(heartbeats.DISPATCHER):
        if any(process.poll() is not None for process in processes):
            sys.exit(f"a worker or the dispatcher stopped; see {log_path}")
        time.sleep(0.2)
    time.sleep(1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children it waited for (an RQ worker forks a work horse
    per job) so far (Linux ``/proc``; 0 elsewhere): unlike messages/s, this hardly depends on what else the
    machine is doing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def measure_floor(mailing_id: int, count: int) -> dict[str, float]:
    """Where a message's CPU goes, in this process, after the mailing (same run, same load), in milliseconds per
    message (CPU time of this process; the database's own CPU is not in it), over ``count`` of the mailing's
    profiles: building a message the way a batch does (``mass_mail.Variant.build``: rendered once per variant,
    filled in per recipient), building it the per-message way (render, links, text part, MIME: what every
    message cost before), DKIM signing, and the database work of one message (``Confirmations``: its
    confirmation with the next claim in one statement, and the commit), with its wall time too."""
    from sqlalchemy import select

    from webapp.email import account_settings, delivery, link_tokens, mass_mail, sending, templates
    from webapp.extensions import db
    from webapp.mailings.confirmations import Confirmations, Sent
    from webapp.models import Account, Mailing, MailingRecipient, Profile, utcnow

    mailing = db.session.get_one(Mailing, mailing_id)
    account = db.session.get_one(Account, mailing.account_id)
    template = templates.get_template(account, mailing.template_id or 0)
    settings = account_settings.effective(account.id)
    assert settings.dkim is not None
    rows = db.session.execute(
        select(MailingRecipient.id, Profile)
        .join(Profile, Profile.id == MailingRecipient.profile_id)
        .where(MailingRecipient.mailing_id == mailing_id)
        .order_by(MailingRecipient.id)
        .limit(count)
    ).all()
    variant = mass_mail.Variant(account, template.id)
    assert variant.content is not None, "the bench's template is plain substitution"
    figures: dict[str, float] = {}
    built = []
    started = time.process_time()
    for _row_id, profile in rows:
        built.append(variant.build(profile, delivery.new_message_id(account.id, template.sender))[0])
    figures["build (skeleton)"] = time.process_time() - started
    started = time.process_time()
    for _row_id, profile in rows:
        message_id = delivery.new_message_id(account.id, template.sender)
        links = sending.Links(account.id, profile.code, message_id)
        rendered = templates.render(template, profile, unsubscribe_url=links.unsubscribe)
        html, text = sending.finished_parts(account, template, rendered, links)
        delivery.build_message(
            to=sending.recipient_of(profile),
            subject=rendered.subject,
            text=text,
            html=html,
            sender=template.sender,
            reply_to=None,
            headers=link_tokens.list_unsubscribe_headers(account.id, profile.code, message_id),
            message_id=message_id,
        ).as_bytes(policy=delivery.SMTP_POLICY)
    figures["build (per message, before)"] = time.process_time() - started
    started = time.process_time()
    for data in built:
        delivery.sign_dkim(data, settings.dkim)
    figures["DKIM signing"] = time.process_time() - started
    db.session.commit()
    session = db.session()
    session.expire_on_commit = False  # as ``send_batch`` does: the loaded profiles stay loaded across commits
    confirmations = Confirmations("bench-floor")  # no row is queued under this job: each claim changes nothing
    message_ids = [delivery.new_message_id(account.id, template.sender) for _row in rows]
    started, wall = time.process_time(), time.perf_counter()
    for (row_id, profile), message_id in zip(rows, message_ids, strict=True):
        confirmations.claim(row_id, message_id)
        confirmations.confirm(
            Sent(
                row_id=row_id,
                account_id=account.id,
                database_id=profile.database_id,
                profile_id=profile.id,
                mailing_id=mailing_id,
                template_id=template.id,
                message_id=message_id,
                return_key=link_tokens.return_key(message_id),
                recipient=sending.recipient_of(profile),
                subject="floor",
                reference="bench:floor",
                sent_at=utcnow(),
            )
        )
    confirmations.flush()
    db.session.commit()
    figures["database (CPU here)"] = time.process_time() - started
    figures["database (wall)"] = time.perf_counter() - wall
    session.expire_on_commit = True
    figures = {name: seconds * 1000 / len(rows) for name, seconds in figures.items()}
    print(
        f"floor over {len(rows):,} messages in this process, ms per message: "
        + ", ".join(f"{name} {value:.2f}" for name, value in figures.items()),
        flush=True,
    )
    return figures


def loop_process(port: int, messages: list[tuple[str, str, bytes]], count: int, start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))
    client = smtplib.SMTP("127.0.0.1", port)
    client.ehlo()
    for number in range(count):
        sender, recipient, data = messages[number % len(messages)]
        client.sendmail(sender, [recipient], data)
    client.quit()


def run_loop(args: argparse.Namespace, port: int, keep_path: str, sink_pid: int) -> float:
    messages = pickle.loads(Path(keep_path).read_bytes())  # noqa: S301 - the file this run wrote
    shares = [
        args.recipients // args.workers + (1 if n < args.recipients % args.workers else 0) for n in range(args.workers)
    ]
    start_at = time.time() + 1
    processes = [
        multiprocessing.Process(target=loop_process, args=(port, messages, share, start_at)) for share in shares
    ]
    meter = CpuParts({"sink": [sink_pid], "clients": [os.getpid()]})  # joined clients count as this process's
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    seconds = time.time() - start_at
    meter.report("plain loop", args.recipients)
    print(
        f"plain loop: {args.recipients:,} messages ({len(messages):,} kept ones in turn, "
        f"{sum(len(data) for _s, _r, data in messages) // len(messages):,} bytes on average) over "
        f"{args.workers} connections in {seconds:.1f} s = {args.recipients / seconds:,.0f} messages/s",
        flush=True,
    )
    return args.recipients / seconds


def main() -> None:
    args = parse_args()
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = args.database_url, args.redis_url
    sys.path.insert(0, str(ROOT))
    create_database(args.database_url)
    port = free_port()
    folder = tempfile.mkdtemp(prefix="mailing-bench-")
    keep_path, count_path = os.path.join(folder, "kept.pickle"), os.path.join(folder, "count")
    sink = multiprocessing.Process(target=run_sink, args=(port, keep_path, args.keep, count_path), daemon=True)
    sink.start()
    sink_url = f"smtp://127.0.0.1:{port}?starttls=never"

    from webapp import create_app

    app = create_app()
    with app.app_context():
        mailing_id = build(args.recipients, args.reuse)
        mailing_rate = run_mailing(args, mailing_id, sink_url, folder, sink.pid)
        measure_floor(mailing_id, min(args.recipients, args.floor))
    print(f"the sink received {received(count_path):,} messages", flush=True)
    loop_rate = run_loop(args, port, keep_path, sink.pid)
    sink.terminate()
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (shared with other work)", flush=True
    )
    print(f"BENCH mailing: {mailing_rate:,.0f} messages/s ({mailing_rate / loop_rate:.2f}x plain SMTP loop)")


if __name__ == "__main__":
    main()
