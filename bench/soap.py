"""Benchmark: the SOAP API against a bare JSON endpoint doing the same service calls, in the same run.

Builds (or, with ``--reuse``, finds) the profiles of ``bench/profiles.py`` — N profiles with 10 fields,
Email and FirstName indexed — then starts the app under gunicorn (gthread workers) with two extra bare JSON
routes (``create_bench_app`` below; they exist only in this benchmark) and measures, alternating SOAP and
JSON rounds, with a plain HTTP client (``Connection``, one keep-alive connection per client thread) sending
prebuilt envelopes:

- ``Profile_updateFields`` calls/s (random profiles, a new City each call) with ``--clients`` threads;
- ``Database_searchProfiles`` on the indexed Email field (``=`` a random existing address): latency of
  sequential calls (p50, p95);

and the same through ``POST /bench/json/...``. Both doors authenticate with the same API token and call the
same service functions, so the ratio is the cost of SOAP (parsing, validating, serialising XML) and Spyne.
It also times sequential ``Profile_updateFields`` calls (p50, p95) through both doors, and reports each
throughput round's CPU time per call of the gunicorn workers, the PostgreSQL backends and the client
(``CpuMeter``: a figure that, unlike calls/s, hardly moves with other work on a shared machine). Ends with
``BENCH <name>: <figure> <unit> (<ratio>x json)`` lines; targets: SOAP updates >= 300 calls/s and >= 0.5x
JSON, search p50 < 10 ms.

First it measures what calls nobody may make the server work hard for cost (issue 13), as CPU per call of
the gunicorn workers against a plain ``Profile_updateFields`` in the same block: a gzip body of about 32 KB
that inflates to 10 MB of ``pair`` elements with a wrong token (refused while inflating, by the size limit),
the largest body the limit lets through with a wrong token last (refused without a parse: no valid
credentials in it) and, for scale, that body with a valid token (read by Spyne). ``--refusals-only`` stops
after that part.

Usage (the database's name must contain "bench": it is wiped unless ``--reuse`` finds the data)::

    .venv/bin/python bench/soap.py --database-url postgresql://postgres@127.0.0.1/verrijk_bench_soap
    .venv/bin/python bench/soap.py --reuse --database-url postgresql://postgres@127.0.0.1/verrijk_bench_soap
    .venv/bin/python bench/soap.py --profiles 2000 --seconds 3 --database-url sqlite:////tmp/verrijk_bench.sqlite
"""

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time

from harness import BENCH_DIR, child_pids, cpu_seconds, percentile, start_gunicorn

NS = "http://verrijk/soap"
WRONG_TOKEN = "vrk_" + "x" * 43  # the shape of a token, so the server looks it up  # noqa: S105


# --- the app under test ---------------------------------------------------------------------------


def create_bench_app():
    """The Verrijk app plus two bare JSON routes over the same services as the SOAP methods (gunicorn entry)."""
    from flask import jsonify, request

    from webapp import create_app
    from webapp.config import normalize_database_url
    from webapp.extensions import csrf
    from webapp.profiles import profiles, search
    from webapp.soap import auth, shapes

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": normalize_database_url(os.environ["DATABASE_URL"]),
            "REDIS_URL": os.environ.get("REDIS_URL", ""),
        }
    )

    def update_fields():
        body = request.get_json()
        caller = auth.caller(body.get("access_token"))
        profiles.update_profile(caller.account, int(body["id"]), body["fields"], origin=caller.origin)
        return jsonify(value=1)

    def search_profiles():
        body = request.get_json()
        caller = auth.caller(body.get("access_token"))
        requirements = [search.Requirement(**r) for r in body.get("requirements", [])]
        found = search.search_profiles(
            caller.account, int(body["id"]), requirements, start=body.get("start", 0), length=body.get("length", 100)
        )
        items = [
            {
                "id": p.id,
                "code": p.code,
                "created": shapes.timestamp(p.created_at),
                "modified": shapes.timestamp(p.updated_at),
                "fields": shapes.profile_fields(p),
                "interests": shapes.profile_interests(p),
            }
            for p in found.items
        ]
        return jsonify(start=found.start, length=len(items), total=found.total, items=items)

    for rule, view in (("/bench/json/updateFields", update_fields), ("/bench/json/searchProfiles", search_profiles)):
        app.add_url_rule(rule, rule, view, methods=["POST"])
        csrf.exempt(view)
    return app


# --- the client -----------------------------------------------------------------------------------


def soap_update(token: str, profile_id: int, city: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:v="{NS}"><e:Body><v:Profile_updateFields><parameters><v:access_token>{token}</v:access_token>'
        f"<v:id>{profile_id}</v:id><v:fields><v:pair><v:key>City</v:key><v:value>{city}</v:value></v:pair>"
        "</v:fields></parameters></v:Profile_updateFields></e:Body></e:Envelope>"
    ).encode()


def soap_search(token: str, database_id: int, email: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:v="{NS}"><e:Body><v:Database_searchProfiles><parameters><v:access_token>{token}</v:access_token>'
        f"<v:id>{database_id}</v:id><v:requirements><v:requirement><v:fieldname>Email</v:fieldname>"
        f"<v:value>{email}</v:value><v:operator>=</v:operator></v:requirement></v:requirements>"
        "<v:allproperties>true</v:allproperties></parameters></v:Database_searchProfiles></e:Body></e:Envelope>"
    ).encode()


def json_update(token: str, profile_id: int, city: str) -> bytes:
    return json.dumps({"access_token": token, "id": profile_id, "fields": {"City": city}}).encode()


def json_search(token: str, database_id: int, email: str) -> bytes:
    return json.dumps(
        {
            "access_token": token,
            "id": database_id,
            "requirements": [{"fieldname": "Email", "value": email, "operator": "="}],
        }
    ).encode()


class Door:
    def __init__(self, name: str, path: str, content_type: str, ok: bytes):
        self.name, self.path, self.content_type, self.ok = name, path, content_type, ok


SOAP = Door("soap", "/soap", "text/xml; charset=utf-8", b">1</")
JSON = Door("json", "/bench/json/updateFields", "application/json", b'"value":1')
JSON_SEARCH = "/bench/json/searchProfiles"


class Connection:
    """One keep-alive HTTP/1.1 connection that posts prebuilt bodies and reads answers by Content-Length.

    Leaner than ``http.client`` (which parses every answer's headers with the ``email`` package): the client
    shares the machine's cores with the server it measures, and loads both doors alike.
    """

    def __init__(self, port: int):
        self.port = port
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.pending = b""

    def post(self, path: str, body: bytes, content_type: str, extra: str = "", status_ok=(200,)) -> bytes:
        request = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: {content_type}\r\n"
            f"{extra}Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.socket.sendall(request + body)
        while b"\r\n\r\n" not in self.pending:
            self._receive()
        head, _, data = self.pending.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = dict(line.lower().split(b":", 1) for line in lines[1:])
        length = int(headers[b"content-length"])
        while len(data) < length:
            self.pending = data
            self._receive()
            data = self.pending
        data, self.pending = data[:length], data[length:]
        status = int(lines[0].split()[1])
        if status not in status_ok:
            raise RuntimeError(f"{path}: HTTP {status}: {data[:300]!r}")
        if headers.get(b"connection", b"").strip() == b"close":
            self.close()
            self.socket, self.pending = socket.create_connection(("127.0.0.1", self.port), timeout=30), b""
        return data

    def _receive(self) -> None:
        chunk = self.socket.recv(65536)
        if not chunk:
            raise RuntimeError("the server closed the connection")
        self.pending += chunk

    def close(self) -> None:
        self.socket.close()


def throughput(port: int, door: Door, make_body, ids: list[int], clients: int, seconds: float) -> float:
    """Calls/s of ``clients`` threads updating ``ids`` (round robin) for ``seconds``.

    Every call sets a value never sent before, so each one really writes (a profile event and all).
    """
    tag = time.time_ns()
    counts = [0] * clients
    errors: list[Exception] = []
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        connection = Connection(port)
        index = number
        try:
            while time.perf_counter() < deadline:
                body = make_body(ids[index % len(ids)], f"{door.name}{tag}-{index}")
                data = connection.post(door.path, body, door.content_type)
                if door.ok not in data:
                    raise RuntimeError(f"unexpected answer: {data[:300]!r}")
                counts[number] += 1
                index += clients
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
    if errors:
        raise errors[0]
    return sum(counts) / (time.perf_counter() - started)


def latencies(port: int, path: str, bodies: list[bytes], content_type: str, expect: bytes) -> list[float]:
    connection = Connection(port)
    result = []
    try:
        for body in bodies:
            started = time.perf_counter()
            data = connection.post(path, body, content_type)
            result.append((time.perf_counter() - started) * 1000)
            if expect not in data:
                raise RuntimeError(f"search found nothing: {data[:300]!r}")
    finally:
        connection.close()
    return result


class CpuMeter:
    """CPU time (user + system, from Linux's /proc) of the gunicorn workers, the PostgreSQL backends of the
    bench database and this client, so that a round's figure can be read per call as well as per second.

    Calls/s on a shared machine follow whatever else runs; CPU per call hardly does, so it shows whether a
    change made a call cheaper. Each part is None where it cannot be read (no /proc, a remote database).
    """

    PARTS = ("app", "postgresql", "client")

    def __init__(self, server_pid: int, database_url: str):
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        from webapp.config import normalize_database_url

        self.server_pid = server_pid
        url = normalize_database_url(database_url)
        self.engine = create_engine(url, poolclass=NullPool) if url.startswith("postgresql") else None

    def snapshot(self) -> dict[str, dict[int, float]]:
        return {
            "app": self._times(child_pids(self.server_pid)),
            "postgresql": self._times(self._backends()),
            "client": {os.getpid(): sum(os.times()[:2]) * 1000},
        }

    def per_call(self, before: dict, after: dict, calls: float) -> dict[str, float | None]:
        """CPU ms per call of each part between two snapshots (processes present in both)."""
        result = {}
        for part in self.PARTS:
            common = before[part].keys() & after[part].keys()
            result[part] = sum(after[part][pid] - before[part][pid] for pid in common) / calls if common else None
        return result

    def _backends(self) -> list[int]:
        if self.engine is None:
            return []
        from sqlalchemy import text

        others = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        with self.engine.connect() as connection:
            return list(connection.scalars(text(others)))

    @staticmethod
    def _times(pids: list[int]) -> dict[int, float]:
        """CPU ms of each process still there."""
        return {pid: seconds * 1000 for pid in pids if (seconds := cpu_seconds(pid)) is not None}


def describe_cpu(costs: list[dict[str, float | None]]) -> str:
    """Median CPU ms per call of each part over rounds, e.g. ``app 2.90 + postgresql 0.80 + client 0.20 ms``."""
    parts = []
    for part in CpuMeter.PARTS:
        values = [cost[part] for cost in costs if cost[part] is not None]
        parts.append(f"{part} {statistics.median(values):.2f}" if values else f"{part} n/a")
    return " + ".join(parts) + " ms"


# --- calls nobody may make the server work hard for --------------------------------------------


def soap_pairs_call(token: str, profile_id: int, size: int, same: bool = False) -> bytes:
    """``Profile_updateFields`` in Copernica's layout with about ``size`` bytes of pairs (all alike with
    ``same``: a gzip bomb), the token last (WSDL order) inside ``parameters``."""
    pair = "<v:pair><v:key>Nofield{n}</v:key><v:value>some value {n}</v:value></v:pair>"
    count = size // len(pair.format(n=100000))
    pairs = "".join(pair.format(n=0 if same else n) for n in range(count))
    return (
        '<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:v="{NS}"><e:Body><v:Profile_updateFields><parameters><v:id>{profile_id}</v:id><v:fields>{pairs}</v:fields>'
        f"<v:access_token>{token}</v:access_token></parameters></v:Profile_updateFields></e:Body></e:Envelope>"
    ).encode()


def app_cpu_per_call(port: int, meter: "CpuMeter", body: bytes, calls: int, extra: str = "") -> tuple[float, bytes]:
    """CPU ms per call of the gunicorn workers for ``calls`` sequential posts of ``body`` (any status)."""
    connection = Connection(port)
    try:
        before = meter.snapshot()
        for _ in range(calls):
            answer = connection.post("/soap", body, SOAP.content_type, extra, status_ok=(200, 400, 413, 500))
        cost = meter.per_call(before, meter.snapshot(), calls)["app"]
    finally:
        connection.close()
    return (cost if cost is not None else float("nan")), answer


def refusals(port: int, token: str, ids: list[int], meter: "CpuMeter", limit: int) -> None:
    """Issue 13's unauthenticated big bodies, against plain updates in the same block (one BENCH line)."""
    import gzip

    bomb = gzip.compress(soap_pairs_call(WRONG_TOKEN, ids[0], 10 * 1024 * 1024, same=True), compresslevel=9)
    largest = soap_pairs_call(WRONG_TOKEN, ids[0], limit - 4096)
    largest_valid = soap_pairs_call(token, ids[0], limit - 4096)
    gzip_header = "Content-Encoding: gzip\r\n"
    rows = []
    for round_number in range(3):
        plain = [soap_update(token, ids[n % len(ids)], f"Plain{round_number}-{n}") for n in range(50)]
        connection = Connection(port)
        before = meter.snapshot()
        for body in plain:
            connection.post("/soap", body, SOAP.content_type)
        update_ms = meter.per_call(before, meter.snapshot(), len(plain))["app"] or float("nan")
        connection.close()
        bomb_ms, bomb_answer = app_cpu_per_call(port, meter, bomb, 20, gzip_header)
        largest_ms, largest_answer = app_cpu_per_call(port, meter, largest, 10)
        valid_ms, _ = app_cpu_per_call(port, meter, largest_valid, 2)
        rows.append((update_ms, bomb_ms, largest_ms, valid_ms))
        print(
            f"  round {round_number + 1}: app CPU per call: updateFields {update_ms:.2f} ms; "
            f"{len(bomb) // 1024} KB gzip of 10 MB, wrong token {bomb_ms:.2f} ms; "
            f"{len(largest) // 1024} KB of pairs, wrong token {largest_ms:.2f} ms; same, valid token "
            f"{valid_ms:.0f} ms",
            flush=True,
        )
    assert b"too large" in bomb_answer and b"Not logged on" in largest_answer, (bomb_answer, largest_answer)
    update_ms, bomb_ms, largest_ms, valid_ms = (statistics.median(column) for column in zip(*rows, strict=True))
    print(
        f"refusals (median of 3 rounds): 10 MB gzip bomb {bomb_ms:.2f} ms, largest allowed body without valid "
        f"credentials {largest_ms:.2f} ms, with a valid token {valid_ms:.0f} ms; updateFields {update_ms:.2f} ms"
    )
    print(
        f"BENCH soap_unauthenticated_big_body: {max(bomb_ms, largest_ms):.2f} ms app CPU per call "
        f"({max(bomb_ms, largest_ms) / update_ms:.1f}x updateFields)"
    )


# --- setting up -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--reuse", action="store_true", help="keep the profiles when they are already there")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each throughput round")
    parser.add_argument(
        "--rounds", type=int, default=6, help="SOAP/JSON round pairs, alternating which goes first (medians reported)"
    )
    parser.add_argument("--clients", type=int, default=8, help="client threads in throughput rounds")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: CPUs)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--worker-class", default="gthread", help="gunicorn worker class (gthread or sync)")
    parser.add_argument("--searches", type=int, default=300, help="sequential searches per door")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument(
        "--refusals-only", action="store_true", help="measure only the unauthenticated big bodies (and their baseline)"
    )
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")
    args.chunk_size = 0  # for bench/profiles.build
    return args


def prepare(args: argparse.Namespace) -> tuple[str, int, list[int], list[str]]:
    """Profiles (built or reused), a fresh API token, and a sample of profile ids and their emails."""
    sys.path.insert(0, str(BENCH_DIR))
    import profiles as profiles_bench
    from sqlalchemy import select

    from webapp import create_app
    from webapp.accounts.tokens import create_api_token
    from webapp.config import normalize_database_url
    from webapp.extensions import db
    from webapp.models import Account, Database, Profile

    url = normalize_database_url(args.database_url)
    profiles_bench.check_target(url, args.profiles)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": os.environ.get("REDIS_URL", "")})
    with app.app_context():
        account_id, database_id, _ = profiles_bench.build(args)
        account = db.session.get(Account, account_id)
        _, token = create_api_token(account, f"bench soap {time.time_ns()}")
        database = db.session.get(Database, database_id)
        email_key = next(f.key for f in database.fields if f.name == "Email")
        low, high = (
            db.session.execute(
                select(Profile.id).where(Profile.database_id == database_id).order_by(Profile.id).limit(1)
            ).scalar(),
            db.session.execute(
                select(Profile.id).where(Profile.database_id == database_id).order_by(Profile.id.desc()).limit(1)
            ).scalar(),
        )
        rng = random.Random(args.seed)
        wanted = sorted({rng.randint(low, high) for _ in range(2000)})
        rows = db.session.execute(select(Profile.id, Profile.fields).where(Profile.id.in_(wanted))).all()
        ids = [row.id for row in rows]
        emails = [row.fields[email_key] for row in rows if row.fields.get(email_key)]
        db.session.remove()
    rng.shuffle(ids)
    rng.shuffle(emails)
    return token, database_id, ids, emails


def start_server(args: argparse.Namespace) -> tuple[subprocess.Popen, int]:
    workers = args.workers or os.cpu_count() or 2
    env = {**os.environ, "DATABASE_URL": args.database_url, "SECRET_KEY": os.environ.get("SECRET_KEY", "bench")}
    server, port = start_gunicorn(
        "soap:create_bench_app()",
        "/soap?wsdl",
        workers=workers,
        threads=args.threads,
        worker_class=args.worker_class,
        env=env,
    )
    threads = f" x {args.threads} threads" if args.worker_class == "gthread" else ""
    print(f"gunicorn on port {port}: {workers} {args.worker_class} workers{threads}", flush=True)
    return server, port


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    token, database_id, ids, emails = prepare(args)
    server, port = start_server(args)
    try:
        run(args, port, token, database_id, ids, emails, CpuMeter(server.pid, args.database_url))
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(args, port: int, token: str, database_id: int, ids: list[int], emails: list[str], meter: CpuMeter) -> None:
    limit = int(os.environ.get("SOAP_MAX_REQUEST_BYTES", str(2 * 1024 * 1024)))
    print("unauthenticated big bodies", flush=True)
    refusals(port, token, ids, meter, limit)
    if args.refusals_only:
        return
    bodies = {
        "soap": lambda profile_id, city: soap_update(token, profile_id, city),
        "json": lambda profile_id, city: json_update(token, profile_id, city),
    }
    print(f"warming up ({len(ids)} sample profiles, {len(emails)} sample emails)", flush=True)
    for door in (SOAP, JSON):
        throughput(port, door, bodies[door.name], ids, args.clients, 1.0)
    rates: dict[str, list[float]] = {"soap": [], "json": []}
    costs: dict[str, list[dict]] = {"soap": [], "json": []}
    for round_number in range(args.rounds):
        for door in (SOAP, JSON) if round_number % 2 == 0 else (JSON, SOAP):
            before, started = meter.snapshot(), time.perf_counter()
            rate = throughput(port, door, bodies[door.name], ids, args.clients, args.seconds)
            calls = rate * (time.perf_counter() - started)
            costs[door.name].append(meter.per_call(before, meter.snapshot(), calls))
            rates[door.name].append(rate)
            print(
                f"  round {round_number + 1} {door.name:>4} updateFields: {rate:7.1f} calls/s, CPU per call "
                f"{describe_cpu(costs[door.name][-1:])} (load average {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    update_soap_ms, update_json_ms = [], []
    for half in (ids[: args.searches : 2], ids[1 : args.searches : 2]):
        update_soap_ms += latencies(
            port, "/soap", [soap_update(token, i, f"SeqS{i}") for i in half], SOAP.content_type, SOAP.ok
        )
        update_json_ms += latencies(
            port, JSON.path, [json_update(token, i, f"SeqJ{i}") for i in half], JSON.content_type, JSON.ok
        )
    sample = emails[: args.searches]
    soap_ms, json_ms = [], []
    for half in (sample[::2], sample[1::2]):
        soap_ms += latencies(
            port,
            "/soap",
            [soap_search(token, database_id, e) for e in half],
            SOAP.content_type,
            b"<tns:total>1</tns:total>",
        )
        json_ms += latencies(
            port, JSON_SEARCH, [json_search(token, database_id, e) for e in half], "application/json", b'"total":1'
        )
    soap_rate, json_rate = statistics.median(rates["soap"]), statistics.median(rates["json"])
    # The machine is shared: each round pair ran back to back, so the median of their ratios is steadier.
    pair_ratio = statistics.median(s / j for s, j in zip(rates["soap"], rates["json"], strict=True))
    soap_p50, json_p50 = percentile(soap_ms, 0.5), percentile(json_ms, 0.5)
    print()
    print(
        f"updateFields, {args.clients} clients: SOAP {soap_rate:.0f} calls/s, JSON {json_rate:.0f} calls/s "
        f"(median of {args.rounds} rounds of {args.seconds:g} s; median ratio of round pairs {pair_ratio:.2f}x)"
    )
    print(
        f"updateFields, CPU per call (median of rounds): SOAP {describe_cpu(costs['soap'])}; "
        f"JSON {describe_cpu(costs['json'])}"
    )
    print(
        f"updateFields, sequential: SOAP p50 {percentile(update_soap_ms, 0.5):.2f} ms p95 "
        f"{percentile(update_soap_ms, 0.95):.2f} ms; JSON p50 {percentile(update_json_ms, 0.5):.2f} ms p95 "
        f"{percentile(update_json_ms, 0.95):.2f} ms"
    )
    print(
        f"searchProfiles on indexed Email, sequential: SOAP p50 {soap_p50:.2f} ms p95 "
        f"{percentile(soap_ms, 0.95):.2f} ms; JSON p50 {json_p50:.2f} ms p95 {percentile(json_ms, 0.95):.2f} ms"
    )
    print(f"BENCH soap_update_fields: {soap_rate:.0f} calls/s ({pair_ratio:.2f}x json) target >= 300 and >= 0.5x")
    print(f"BENCH soap_search_p50: {soap_p50:.2f} ms ({soap_p50 / json_p50:.2f}x json) target < 10 ms")


if __name__ == "__main__":
    main()
