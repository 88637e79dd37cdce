"""Benchmark: web form submissions through the public API against a bare Flask endpoint, in the same run.

Sets up (in a database whose name contains "bench"; its schema is wiped and migrated) an account, a database
(Email indexed, FirstName, Newsletter choice, an interest) and a *create* form with those items plus a
consent. Then starts the app under gunicorn (2 gthread workers, as the issue asks) with one extra route,
``POST /bench/bare``, that parses the same urlencoded body and inserts one row into a table of its own (it
exists only in this benchmark). The same client (8 threads, each with one keep-alive HTTP/1.1 connection
sending prebuilt requests) loads both, alternating rounds:

- submissions/s: ``POST /p/forms/KEY/submissions`` with a new email address each time (each one creates a
  profile, its events and the submission record, in one transaction), with an allowed ``Origin``, a valid
  fill-time token and an idempotency key;
- CPU milliseconds per request of the client, the gunicorn processes and the database's backends (from
  ``/proc``), a figure that holds on a shared machine where the rates do not;
- p99 latency at half the peak rate: a paced load at 50 % of the measured form peak, latency counted from
  each request's scheduled send time (so a stall is not hidden).

The app runs with ``FORM_RATE_LIMIT=off``, ``FORM_RATE_LIMIT_PER_FORM=off`` and ``FORM_MIN_FILL_SECONDS=0``:
**form rate limits and the minimum fill time are switched off** (a load generator on one address would
otherwise be throttled by design). Every other check runs (origin,
honeypot, token signature, validation, idempotency key); each submission carries a fresh fill-time token
(a token lets in one submission), issued ahead of the rounds.

Then the abuse round (``bench/forms_abuse.py``, ``--abuse-seconds``): the app **with its default rate limits**,
flooded from one address with spam, reused tokens and real submissions, reporting the database's growth per
minute. Ends with ``BENCH forms_submissions: N
submissions/s (R x bare)``; targets >= 500 submissions/s and >= 0.5x bare.

Usage::

    .venv/bin/python bench/forms.py --database-url postgresql://postgres@127.0.0.1/verrijk_bench_forms
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode, urlsplit

from harness import child_pids, cpu_seconds, percentile, start_gunicorn

ORIGIN = "https://shop.example"
BARE_TABLE = "bench_bare_row"
# Configuration of the app under test: no form rate limits, no minimum fill time.
NO_FORM_LIMITS = {"FORM_RATE_LIMIT": "off", "FORM_RATE_LIMIT_PER_FORM": "off", "FORM_MIN_FILL_SECONDS": "0"}
TOKENS_PER_SECOND = 2000


# --- the app under test ---------------------------------------------------------------------------


def create_bench_app(default_limits: bool = False):
    """The Verrijk app without form limits (``NO_FORM_LIMITS``; with ``default_limits`` as configured by
    default) plus the bare endpoint (gunicorn entry)."""
    from flask import jsonify, request
    from sqlalchemy import text

    from webapp import create_app
    from webapp.config import normalize_database_url
    from webapp.extensions import csrf, db

    settings = {
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(os.environ["DATABASE_URL"]),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        **({} if default_limits else NO_FORM_LIMITS),
    }
    # A connection for every gunicorn thread: with fewer, the pool would open and close extra connections
    # (a new database backend per request for both targets). The app's other engine options stay.
    engine = create_app(settings).config["SQLALCHEMY_ENGINE_OPTIONS"]
    threads = int(os.environ.get("BENCH_THREADS", "4"))
    app = create_app({**settings, "SQLALCHEMY_ENGINE_OPTIONS": {**engine, "pool_size": max(5, threads)}})

    def bare():
        email = request.form.get("email", "")
        db.session.execute(
            text(f"INSERT INTO {BARE_TABLE} (email, created_at) VALUES (:email, now())"), {"email": email}
        )
        db.session.commit()
        return jsonify(status="ok")

    app.add_url_rule("/bench/bare", "bench_bare", bare, methods=["POST"])
    csrf.exempt(bare)
    return app


def prepare(url: str) -> tuple[str, dict[str, str], str]:
    """A fresh schema with the form; returns its key, the item names and a valid fill-time token."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from webapp import create_app
    from webapp.accounts import accounts
    from webapp.config import normalize_database_url
    from webapp.extensions import db
    from webapp.models import Form
    from webapp.profiles import databases
    from webapp.profiles.fields import FieldSpec, create_field

    if "bench" not in urlsplit(url).path:
        sys.exit("the database's name must contain 'bench': its schema is dropped")
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": normalize_database_url(url), "REDIS_URL": os.environ.get("REDIS_URL", "")}
    )
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        with db.engine.begin() as connection:
            connection.execute(
                text(f"CREATE TABLE {BARE_TABLE} (id serial PRIMARY KEY, email text, created_at timestamp)")
            )
        account = accounts.get_or_create_account("Bench")
        database = databases.create_database(account, "Signups")
        for spec in (
            FieldSpec(name="Email", type="email", indexed=True),
            FieldSpec(name="FirstName", type="text"),
            FieldSpec(name="Newsletter", type="choice", options={"choices": ["yes", "no"]}),
        ):
            create_field(account, spec, database_id=database.id)
        interest = databases.create_interest(account, database.id, "Weekly")
        db.session.refresh(database)
        fields = {field.name: field.id for field in database.fields}
        items = [
            {"id": "e", "type": "field", "field_id": fields["Email"], "required": True},
            {"id": "n", "type": "field", "field_id": fields["FirstName"]},
            {"id": "l", "type": "field", "field_id": fields["Newsletter"], "widget": "radio"},
            {"id": "w", "type": "interest", "interest_id": interest.id},
            {"id": "ok", "type": "consent", "text": "I agree to the terms.", "required": True},
        ]
        form = Form(
            account_id=account.id,
            database_id=database.id,
            name="Bench",
            items=items,
            allowed_origins=[ORIGIN],
            settings={"success_message": "Thanks"},
        )
        db.session.add(form)
        db.session.commit()
        names = {
            "email": f"f{fields['Email']}",
            "name": f"f{fields['FirstName']}",
            "newsletter": f"f{fields['Newsletter']}",
            "interest": f"i{interest.id}",
        }
        key = form.key
        db.session.remove()
    return key, names, TokenPool(app, key)


class TokenPool:
    """Fill-time tokens for the form, issued ahead (a token lets in one submission), handed out one by one."""

    def __init__(self, app, key: str):
        self.app, self.key, self.tokens, self.lock = app, key, [], threading.Lock()

    def fill(self, count: int) -> None:
        from webapp.webforms import spam

        with self.app.app_context():
            self.tokens.extend(spam.issue_token(self.key, now=time.time() - 60) for _ in range(count))

    def take(self) -> str:
        with self.lock:
            if not self.tokens:
                raise RuntimeError("the token pool ran dry: raise TOKENS_PER_SECOND")
            return self.tokens.pop()


# --- the client -----------------------------------------------------------------------------------


TAG = "{tag}"  # stands for each request's tag in a pre-encoded body; urlencoded, it cannot clash with a value
TOKEN = "{token}"  # stands for a fresh fill-time token


class Target:
    """A POST endpoint and its urlencoded body, encoded once with ``TAG`` for the part that changes (and
    ``TOKEN`` for a fresh token from ``tokens``)."""

    def __init__(self, name: str, path: str, fields: dict[str, str], ok: bytes, tokens: "TokenPool | None" = None):
        self.name, self.path, self.ok, self.tokens = name, path, ok, tokens
        self.template = urlencode(fields).encode()
        self.placeholder = urlencode({"": TAG})[1:].encode()
        self.token_placeholder = urlencode({"": TOKEN})[1:].encode()
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Origin: {ORIGIN}\r\nContent-Length: "
        ).encode()

    def make_body(self, tag: str) -> bytes:
        body = self.template.replace(self.placeholder, tag.encode())  # tags are [a-z0-9-]: nothing to quote
        if self.tokens is not None:
            body = body.replace(self.token_placeholder, self.tokens.take().encode())  # [A-Za-z0-9._-] only
        return body


def form_target(key: str, names: dict[str, str], tokens: TokenPool) -> Target:
    fields = {
        names["email"]: f"{TAG}@example.com",
        names["name"]: "Ann",
        names["newsletter"]: "yes",
        names["interest"]: "1",
        "cok": "1",
        "_token": TOKEN,
        "_hp": "",
        "_idempotency_key": TAG,
    }
    return Target("form", f"/p/forms/{key}/submissions", fields, b'"status":"ok"', tokens)


def bare_target() -> Target:
    fields = {"email": f"{TAG}@example.com", "_token": "x" * 40, "_hp": "", "cok": "1"}
    return Target("bare", "/bench/bare", fields, b'"status":"ok"')


HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN}


class Connection:
    """One keep-alive HTTP/1.1 connection that sends a target's prebuilt request and reads a response with a
    Content-Length: all the bench needs, with less client CPU than ``http.client`` (the client shares the
    machine with the server). Both targets are loaded through it the same way."""

    def __init__(self, port: int):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.socket.makefile("rb")

    def post(self, target: Target, body: bytes) -> tuple[int, bytes]:
        self.socket.sendall(b"%s%d\r\n\r\n%s" % (target.head, len(body), body))
        status = int(self.reader.readline().split()[1])
        length = 0
        for line in iter(self.reader.readline, b"\r\n"):
            if not line:
                raise ConnectionError("the server closed the connection")
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        return status, self.reader.read(length)

    def close(self) -> None:
        self.reader.close()
        self.socket.close()


def send(connection: Connection, target: Target, tag: str) -> None:
    status, data = connection.post(target, target.make_body(tag))
    if status != 200 or target.ok not in data:
        raise RuntimeError(f"{target.path}: HTTP {status}: {data[:300]!r}")


def throughput(
    port: int, target: Target, clients: int, seconds: float, meter: "CpuMeter | None" = None
) -> tuple[float, dict[str, float]]:
    """Requests/s of ``clients`` threads sending as fast as they can for ``seconds``, and the CPU
    milliseconds per request of each party (with a ``meter``)."""
    run = time.time_ns()
    before = meter.sample() if meter else {}
    counts = [0] * clients
    errors: list[Exception] = []
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        connection = Connection(port)
        try:
            while time.perf_counter() < deadline:
                send(connection, target, f"{target.name}{run}-{number}-{counts[number]}")
                counts[number] += 1
        except Exception as error:  # noqa: BLE001 - reported after the run
            errors.append(error)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    done = sum(counts)
    after = meter.sample() if meter else {}
    cpu = {party: (after[party] - before[party]) * 1000 / max(done, 1) for party in before}
    return done / elapsed, cpu


def paced_latencies(port: int, target: Target, rate: float, clients: int, seconds: float) -> list[float]:
    """Latencies (ms) of requests sent at ``rate`` per second in total, measured from their scheduled time."""
    run = time.time_ns()
    interval = clients / rate
    result: list[float] = []
    errors: list[Exception] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def client(number: int) -> None:
        connection = Connection(port)
        due = start + number * interval / clients
        mine = []
        try:
            while due < start + seconds:
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                send(connection, target, f"p{target.name}{run}-{number}-{len(mine)}")
                mine.append((time.perf_counter() - due) * 1000)
                due += interval
        except Exception as error:  # noqa: BLE001 - reported after the run
            errors.append(error)
        finally:
            connection.close()
            with lock:
                result.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return result


class CpuMeter:
    """CPU seconds used by the client (this process), the gunicorn processes and the database's backends: a
    load-independent figure per request on a shared machine (Linux ``/proc``)."""

    def __init__(self, server_pid: int, database_url: str):
        import psycopg2

        self.server_pid = server_pid
        self.monitor = psycopg2.connect(database_url) if database_url.startswith("postgresql") else None
        if self.monitor is not None:
            self.monitor.autocommit = True

    def sample(self) -> dict[str, float]:
        return {"client": time.process_time(), "server": self._server(), "database": self._database()}

    def _server(self) -> float:
        pids = [self.server_pid, *child_pids(self.server_pid)]
        return sum(cpu_seconds(pid) or 0.0 for pid in pids)

    def _database(self) -> float:
        if self.monitor is None:
            return 0.0
        with self.monitor.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            return sum(cpu_seconds(pid) or 0.0 for (pid,) in cursor.fetchall())


# --- running ----------------------------------------------------------------------------------------


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, int]:
    env = {**os.environ, **NO_FORM_LIMITS, "DATABASE_URL": args.database_url, "BENCH_THREADS": str(args.threads)}
    server, port = start_gunicorn(
        "forms:create_bench_app()", "/embed.js", workers=args.workers, threads=args.threads, env=env
    )
    print(f"gunicorn on port {port}: {args.workers} gthread workers x {args.threads} threads", flush=True)
    return server, port


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each throughput round")
    parser.add_argument("--rounds", type=int, default=4, help="form/bare round pairs (medians reported)")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--latency-seconds", type=float, default=10.0, help="length of the paced latency run")
    parser.add_argument(
        "--abuse-seconds", type=float, default=60.0, help="length of the flood with default limits (0: none)"
    )
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    key, names, tokens = prepare(args.database_url)
    # Enough for the warm-up, the rounds and the paced run at a generous rate (a token serves one submission).
    tokens.fill(int(TOKENS_PER_SECOND * (2 + args.rounds * args.seconds + args.latency_seconds / 2)))
    server, port = start_server(args)
    try:
        meter = CpuMeter(server.pid, args.database_url)
        bench_line = run(args, port, form_target(key, names, tokens), bare_target(), meter)
    finally:
        server.terminate()
        server.wait(timeout=30)
    if args.abuse_seconds > 0:
        import forms_abuse  # it imports this module's client: not at the top

        forms_abuse.run_abuse(args, key, names, tokens)
    print(bench_line)


def run(args: argparse.Namespace, port: int, form: Target, bare: Target, meter: CpuMeter) -> str:
    """The rounds, printed as they go; returns the BENCH line (printed last, after the abuse round)."""
    settings = ", ".join(f"{name}={value}" for name, value in NO_FORM_LIMITS.items())
    print(f"form rate limits and the minimum fill time are OFF for this run ({settings})", flush=True)
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    for target in (form, bare):
        throughput(port, target, args.clients, 1.0)  # warm up
    rates: dict[str, list[float]] = {"form": [], "bare": []}
    cpus: dict[str, list[dict[str, float]]] = {"form": [], "bare": []}
    for number in range(args.rounds):
        for target in (form, bare) if number % 2 == 0 else (bare, form):
            rate, cpu = throughput(port, target, args.clients, args.seconds, meter)
            rates[target.name].append(rate)
            cpus[target.name].append(cpu)
            shares = ", ".join(f"{party} {value:.2f}" for party, value in cpu.items())
            print(
                f"  round {number + 1} {target.name:>4}: {rate:7.1f} requests/s; CPU ms per request: {shares}",
                flush=True,
            )
    form_rate, bare_rate = statistics.median(rates["form"]), statistics.median(rates["bare"])
    # The machine is shared: each round pair ran back to back, so the median of their ratios is steadier.
    ratio = statistics.median(f / b for f, b in zip(rates["form"], rates["bare"], strict=True))
    half = form_rate / 2
    latencies = paced_latencies(port, form, half, args.clients, args.latency_seconds)
    print()
    print(
        f"{args.clients} clients: form {form_rate:.0f} submissions/s, bare {bare_rate:.0f} inserts/s "
        f"(median of {args.rounds} rounds of {args.seconds:g} s; median ratio of round pairs {ratio:.2f}x)"
    )
    print(
        f"at half the form peak ({half:.0f}/s, {len(latencies)} submissions): p50 {percentile(latencies, 0.5):.1f} "
        f"ms, p99 {percentile(latencies, 0.99):.1f} ms"
    )
    for name, rounds in cpus.items():
        medians = {party: statistics.median(cpu[party] for cpu in rounds) for party in rounds[0]}
        shares = ", ".join(f"{party} {value:.2f}" for party, value in medians.items())
        print(f"CPU ms per request, {name} (median of rounds): {shares}, total {sum(medians.values()):.2f}")
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    return f"BENCH forms_submissions: {form_rate:.0f} submissions/s ({ratio:.2f}x bare) target >= 500 and >= 0.5x"


if __name__ == "__main__":
    main()
