"""Benchmark: the SOAP API against a bare JSON endpoint doing the same service calls, in the same run.

Builds (or, with ``--reuse``, finds) the profiles of ``bench/profiles.py`` — N profiles with 10 fields,
Email and FirstName indexed — then starts the app under gunicorn (gthread workers) with two extra bare JSON
routes (``create_bench_app`` below; they exist only in this benchmark) and measures, alternating SOAP and
JSON rounds, with a plain HTTP client (``http.client``, one keep-alive connection per client thread) sending
prebuilt envelopes:

- ``Profile_updateFields`` calls/s (random profiles, a new City each call) with ``--clients`` threads;
- ``Database_searchProfiles`` on the indexed Email field (``=`` a random existing address): latency of
  sequential calls (p50, p95);

and the same through ``POST /bench/json/...``. Both doors authenticate with the same API token and call the
same service functions, so the ratio is the cost of SOAP (parsing, validating, serialising XML) and Spyne.
It also times sequential ``Profile_updateFields`` calls (p50, p95) through both doors. Ends with
``BENCH <name>: <figure> <unit> (<ratio>x json)`` lines; targets: SOAP updates >= 300 calls/s and >= 0.5x
JSON, search p50 < 10 ms.

Usage (the database's name must contain "bench": it is wiped unless ``--reuse`` finds the data)::

    .venv/bin/python bench/soap.py --database-url postgresql://postgres@127.0.0.1/verrijk_bench_soap
    .venv/bin/python bench/soap.py --reuse --database-url postgresql://postgres@127.0.0.1/verrijk_bench_soap
    .venv/bin/python bench/soap.py --profiles 2000 --seconds 3 --database-url sqlite:////tmp/verrijk_bench.sqlite
"""

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
NS = "http://verrijk/soap"


# --- the app under test ---------------------------------------------------------------------------


def create_bench_app():
    """The Verrijk app plus two bare JSON routes over the same services as the SOAP methods (gunicorn entry)."""
    from flask import jsonify, request

    from webapp import create_app
    from webapp.config import normalize_database_url
    from webapp.extensions import csrf
    from webapp.services import profile_search, profiles
    from webapp.soap import auth, shapes

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": normalize_database_url(os.environ["DATABASE_URL"]),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
    })

    def update_fields():
        body = request.get_json()
        caller = auth.caller(body.get("access_token"))
        profiles.update_profile(caller.account, int(body["id"]), body["fields"], origin=caller.origin)
        return jsonify(value=1)

    def search_profiles():
        body = request.get_json()
        caller = auth.caller(body.get("access_token"))
        requirements = [profile_search.Requirement(**r) for r in body.get("requirements", [])]
        found = profile_search.search_profiles(caller.account, int(body["id"]), requirements,
                                               start=body.get("start", 0), length=body.get("length", 100))
        items = [
            {"id": p.id, "code": p.code, "created": shapes.timestamp(p.created_at),
             "modified": shapes.timestamp(p.updated_at), "fields": shapes.profile_fields(p),
             "interests": shapes.profile_interests(p)}
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
        f'xmlns:v="{NS}"><e:Body><v:Profile_updateFields><v:access_token>{token}</v:access_token>'
        f"<v:id>{profile_id}</v:id><v:fields><v:pair><v:key>City</v:key><v:value>{city}</v:value></v:pair>"
        "</v:fields></v:Profile_updateFields></e:Body></e:Envelope>"
    ).encode()


def soap_search(token: str, database_id: int, email: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?><e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:v="{NS}"><e:Body><v:Database_searchProfiles><v:access_token>{token}</v:access_token>'
        f"<v:id>{database_id}</v:id><v:requirements><v:requirement><v:fieldname>Email</v:fieldname>"
        f"<v:value>{email}</v:value><v:operator>=</v:operator></v:requirement></v:requirements>"
        "<v:allproperties>true</v:allproperties></v:Database_searchProfiles></e:Body></e:Envelope>"
    ).encode()


def json_update(token: str, profile_id: int, city: str) -> bytes:
    return json.dumps({"access_token": token, "id": profile_id, "fields": {"City": city}}).encode()


def json_search(token: str, database_id: int, email: str) -> bytes:
    return json.dumps({"access_token": token, "id": database_id,
                       "requirements": [{"fieldname": "Email", "value": email, "operator": "="}]}).encode()


class Door:
    def __init__(self, name: str, path: str, content_type: str, ok: bytes):
        self.name, self.path, self.content_type, self.ok = name, path, content_type, ok


SOAP = Door("soap", "/soap", "text/xml; charset=utf-8", b">1</")
JSON = Door("json", "/bench/json/updateFields", "application/json", b'"value":1')
JSON_SEARCH = "/bench/json/searchProfiles"


def post(connection: http.client.HTTPConnection, path: str, body: bytes, content_type: str) -> bytes:
    connection.request("POST", path, body, {"Content-Type": content_type})
    response = connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise RuntimeError(f"{path}: HTTP {response.status}: {data[:300]!r}")
    return data


def throughput(port: int, door: Door, make_body, ids: list[int], clients: int, seconds: float) -> float:
    """Calls/s of ``clients`` threads updating ``ids`` (round robin) for ``seconds``.

    Every call sets a value never sent before, so each one really writes (a profile event and all).
    """
    tag = time.time_ns()
    counts = [0] * clients
    errors: list[Exception] = []
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        index = number
        try:
            while time.perf_counter() < deadline:
                body = make_body(ids[index % len(ids)], f"{door.name}{tag}-{index}")
                data = post(connection, door.path, body, door.content_type)
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
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    result = []
    try:
        for body in bodies:
            started = time.perf_counter()
            data = post(connection, path, body, content_type)
            result.append((time.perf_counter() - started) * 1000)
            if expect not in data:
                raise RuntimeError(f"search found nothing: {data[:300]!r}")
    finally:
        connection.close()
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# --- setting up -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--reuse", action="store_true", help="keep the profiles when they are already there")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each throughput round")
    parser.add_argument("--rounds", type=int, default=6,
                        help="SOAP/JSON round pairs, alternating which goes first (medians reported)")
    parser.add_argument("--clients", type=int, default=8, help="client threads in throughput rounds")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: CPUs)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--searches", type=int, default=300, help="sequential searches per door")
    parser.add_argument("--seed", type=int, default=2024)
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
    from webapp.config import normalize_database_url
    from webapp.extensions import db
    from webapp.models import Account, Database, Profile
    from webapp.services.accounts import create_api_token

    url = normalize_database_url(args.database_url)
    profiles_bench.check_target(url, args.profiles)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": os.environ.get("REDIS_URL", "")})
    with app.app_context():
        account_id, database_id, _ = profiles_bench.build(args)
        account = db.session.get(Account, account_id)
        _, token = create_api_token(account, f"bench soap {time.time_ns()}")
        database = db.session.get(Database, database_id)
        email_key = next(f.key for f in database.fields if f.name == "Email")
        low, high = db.session.execute(
            select(Profile.id).where(Profile.database_id == database_id).order_by(Profile.id).limit(1)
        ).scalar(), db.session.execute(
            select(Profile.id).where(Profile.database_id == database_id).order_by(Profile.id.desc()).limit(1)
        ).scalar()
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
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    workers = args.workers or os.cpu_count() or 2
    env = {**os.environ, "DATABASE_URL": args.database_url, "SECRET_KEY": os.environ.get("SECRET_KEY", "bench")}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(workers), "--worker-class", "gthread",
         "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}", "--keep-alive", "30",
         "--log-level", "warning", "--pythonpath", f"{ROOT},{BENCH_DIR}", "soap:create_bench_app()"],
        cwd=ROOT, env=env,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/soap?wsdl")
            if connection.getresponse().status == 200:
                connection.close()
                break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            sys.exit("gunicorn did not start")
        time.sleep(0.2)
    print(f"gunicorn on port {port}: {workers} gthread workers x {args.threads} threads", flush=True)
    return server, port


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    token, database_id, ids, emails = prepare(args)
    server, port = start_server(args)
    try:
        run(args, port, token, database_id, ids, emails)
    finally:
        server.terminate()
        server.wait(timeout=30)


def run(args, port: int, token: str, database_id: int, ids: list[int], emails: list[str]) -> None:
    bodies = {
        "soap": lambda profile_id, city: soap_update(token, profile_id, city),
        "json": lambda profile_id, city: json_update(token, profile_id, city),
    }
    print(f"warming up ({len(ids)} sample profiles, {len(emails)} sample emails)", flush=True)
    for door in (SOAP, JSON):
        throughput(port, door, bodies[door.name], ids, args.clients, 1.0)
    rates: dict[str, list[float]] = {"soap": [], "json": []}
    for round_number in range(args.rounds):
        for door in (SOAP, JSON) if round_number % 2 == 0 else (JSON, SOAP):
            rate = throughput(port, door, bodies[door.name], ids, args.clients, args.seconds)
            rates[door.name].append(rate)
            print(f"  round {round_number + 1} {door.name:>4} updateFields: {rate:7.1f} calls/s", flush=True)
    update_soap_ms, update_json_ms = [], []
    for half in (ids[: args.searches : 2], ids[1 : args.searches : 2]):
        update_soap_ms += latencies(port, "/soap", [soap_update(token, i, f"SeqS{i}") for i in half],
                                    SOAP.content_type, SOAP.ok)
        update_json_ms += latencies(port, JSON.path, [json_update(token, i, f"SeqJ{i}") for i in half],
                                    JSON.content_type, JSON.ok)
    sample = emails[: args.searches]
    soap_ms, json_ms = [], []
    for half in (sample[::2], sample[1::2]):
        soap_ms += latencies(port, "/soap", [soap_search(token, database_id, e) for e in half],
                             SOAP.content_type, b"<tns:total>1</tns:total>")
        json_ms += latencies(port, JSON_SEARCH, [json_search(token, database_id, e) for e in half],
                             "application/json", b'"total":1')
    soap_rate, json_rate = statistics.median(rates["soap"]), statistics.median(rates["json"])
    # The machine is shared: each round pair ran back to back, so the median of their ratios is steadier.
    pair_ratio = statistics.median(s / j for s, j in zip(rates["soap"], rates["json"], strict=True))
    soap_p50, json_p50 = percentile(soap_ms, 0.5), percentile(json_ms, 0.5)
    print()
    print(f"updateFields, {args.clients} clients: SOAP {soap_rate:.0f} calls/s, JSON {json_rate:.0f} calls/s "
          f"(median of {args.rounds} rounds of {args.seconds:g} s; median ratio of round pairs {pair_ratio:.2f}x)")
    print(f"updateFields, sequential: SOAP p50 {percentile(update_soap_ms, 0.5):.2f} ms p95 "
          f"{percentile(update_soap_ms, 0.95):.2f} ms; JSON p50 {percentile(update_json_ms, 0.5):.2f} ms p95 "
          f"{percentile(update_json_ms, 0.95):.2f} ms")
    print(f"searchProfiles on indexed Email, sequential: SOAP p50 {soap_p50:.2f} ms p95 "
          f"{percentile(soap_ms, 0.95):.2f} ms; JSON p50 {json_p50:.2f} ms p95 {percentile(json_ms, 0.95):.2f} ms")
    print(f"BENCH soap_update_fields: {soap_rate:.0f} calls/s ({pair_ratio:.2f}x json)"
          f" target >= 300 and >= 0.5x")
    print(f"BENCH soap_search_p50: {soap_p50:.2f} ms ({soap_p50 / json_p50:.2f}x json) target < 10 ms")


if __name__ == "__main__":
    main()
