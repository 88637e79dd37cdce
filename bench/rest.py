"""Benchmark: the REST API against the bare JSON baseline of ``bench/soap.py``, in the same run, and the batch
upsert.

Uses ``bench/soap.py``'s data (``bench/profiles.py``: N profiles, Email indexed), app (the Verrijk app with its
bare JSON routes, under gunicorn) and client (one keep-alive connection per client thread), and measures,
alternating REST and JSON rounds:

- profile field updates/s: ``PUT /v4/profile/{id}/fields?access_token=…`` (a new City each call) against
  ``POST /bench/json/updateFields`` (the same service call behind a bare JSON route);
- batch upserts: ``POST /api/v1/database/{id}/profiles/batch`` with 1,000 profiles keyed on Email, half of
  them existing (a new City) and half new, sequentially: profiles/s.

Then, in this process against the same database, the same batches (new emails, other existing ones):

- the domain call alone (``batch_upserts.upsert_profiles``: no HTTP, no JSON), and
- the floor: the same writes as bare SQL in one transaction, nothing validated (one SELECT of the matches on
  the Email index, probed once per key, one UPDATE of the matched profiles' fields and one INSERT of their
  events, one INSERT of the new profiles with their events, all over ``unnest`` arrays, then COMMIT) — what
  PostgreSQL needs for these rows, whatever the code above it.

Targets: REST updates >= 0.8x JSON; batch upserts >= 10,000 profiles/s. The REST rate limit is lifted for the
run (``API_RATE_LIMIT``). Usage (the database's name must contain "bench")::

    .venv/bin/python bench/rest.py --profiles 100000 --database-url postgresql://postgres@127.0.0.1/verrijk_bench_rest
"""

import json
import os
import statistics
import sys
import time

import soap
from harness import BENCH_DIR

BATCH = 1000


class RestConnection(soap.Connection):
    """``soap.Connection`` for REST answers: any method, and 200, 201 or 204 (a 204 has no body)."""

    def send(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        request = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.socket.sendall(request + body)
        while b"\r\n\r\n" not in self.pending:
            self._receive()
        head, _, data = self.pending.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        headers = dict(line.lower().split(b":", 1) for line in lines[1:])
        length = int(headers.get(b"content-length", b"0"))
        while len(data) < length:
            self.pending = data
            self._receive()
            data = self.pending
        data, self.pending = data[:length], data[length:]
        status = int(lines[0].split()[1])
        if status not in (200, 201, 204):
            raise RuntimeError(f"{path}: HTTP {status}: {data[:300]!r}")
        return status, data

    def post(self, path: str, body: bytes, content_type: str) -> bytes:
        """The REST update for ``soap.throughput``: ``body`` is the profile id, a newline and the JSON."""
        profile_id, _, fields = body.partition(b"\n")
        self.send("PUT", f"/v4/profile/{int(profile_id)}/fields?{path}", fields)
        return b"rest-ok"


def rest_throughput(port: int, token: str, ids: list[int], clients: int, seconds: float) -> float:
    """REST field updates/s, by ``soap.throughput`` with a door whose path carries the profile."""
    original = soap.Connection
    soap.Connection = RestConnection  # type: ignore[misc]
    try:
        door = _RestDoor(token)
        return soap.throughput(port, door, door.body, ids, clients, seconds)
    finally:
        soap.Connection = original  # type: ignore[misc]


class _RestDoor(soap.Door):
    """For ``soap.throughput``: the path holds the token's query, each body its profile id (``RestConnection``)."""

    def __init__(self, token: str):
        super().__init__("rest", f"access_token={token}", "application/json", b"rest-ok")

    @staticmethod
    def body(profile_id: int, city: str) -> bytes:
        return f"{profile_id}\n".encode() + json.dumps({"City": city}).encode()


def batch_rates(port: int, token: str, database_id: int, emails: list[str], calls: int) -> list[float]:
    """Profiles/s of ``calls`` sequential batch upserts of ``BATCH`` rows (half existing emails, half new)."""
    connection = RestConnection(port)
    rates = []
    tag = str(time.time_ns())
    path = f"/api/v1/database/{database_id}/profiles/batch?access_token={token}"
    try:
        for call in range(calls):
            rows = batch_rows(emails, call, tag)
            body = json.dumps({"keys": ["Email"], "profiles": rows}).encode()
            started = time.perf_counter()
            connection.send("POST", path, body)
            rates.append(len(rows) / (time.perf_counter() - started))
    finally:
        connection.close()
    return rates


def batch_rows(emails: list[str], call: int, tag: str) -> list[dict[str, str]]:
    """A batch of ``BATCH`` rows: half of them existing emails (a new City), the rest new profiles."""
    existing = [emails[(call * BATCH // 2 + n) % len(emails)] for n in range(BATCH // 2)]
    rows = [{"Email": email, "City": f"B{tag}-{call}"} for email in dict.fromkeys(existing)]
    rows += [{"Email": f"batch{tag}-{call}-{n}@example.com", "City": "New"} for n in range(BATCH - len(rows))]
    return rows


def in_process_rates(args, database_id: int, emails: list[str], calls: int) -> tuple[list[float], list[float]]:
    """Profiles/s of the domain call and of the bare-SQL floor, alternating, on fresh rows each call."""
    from sqlalchemy import text

    from webapp import create_app
    from webapp.config import normalize_database_url
    from webapp.extensions import db
    from webapp.models import Account, Database
    from webapp.profiles import batch_upserts
    from webapp.profiles.database_config import FieldSnapshot
    from webapp.profiles.events import Origin
    from webapp.profiles.field_expressions import sort_literal, sort_value

    app = create_app({"SQLALCHEMY_DATABASE_URI": normalize_database_url(args.database_url)})
    domain, floor = [], []
    tag = str(time.time_ns())
    with app.test_request_context():
        database = db.session.get(Database, database_id)
        account_id = database.account_id
        # Snapshots: the session is removed after each call, as after a request.
        email = FieldSnapshot.of(next(f for f in database.fields if f.name == "Email"))
        city = FieldSnapshot.of(next(f for f in database.fields if f.name == "City"))
        indexed = sort_value(email, "postgresql")  # the index's expression
        for call in range(calls):
            # Emails the HTTP rounds did not touch (offset by half the sample), so no row is in any cache twice.
            rows = batch_rows(emails[len(emails) // 2 :] + emails[: len(emails) // 2], call * 2, f"d{tag}")
            started = time.perf_counter()
            account = db.session.get(Account, account_id)
            batch_upserts.upsert_profiles(account, database_id, rows, ["Email"], origin=Origin("api", "bench"))
            domain.append(len(rows) / (time.perf_counter() - started))
            db.session.remove()
            rows = batch_rows(emails[len(emails) // 2 :] + emails[: len(emails) // 2], call * 2 + 1, f"f{tag}")
            started = time.perf_counter()
            _bare_sql_batch(db, text, indexed, sort_literal, email, city, account_id, database_id, rows)
            floor.append(len(rows) / (time.perf_counter() - started))
            db.session.remove()
    return domain, floor


_FLOOR_UPDATE = (
    "WITH changed AS (UPDATE profile SET fields = profile.fields || jsonb_build_object(:city, new.city), "
    "updated_at = now() FROM unnest(CAST(:ids AS integer[]), CAST(:cities AS text[])) AS new(id, city) "
    "WHERE profile.id = new.id RETURNING profile.id) "
    "INSERT INTO profile_event (account_id, database_id, profile_id, kind, source, actor, reference, changes, "
    "created_at) SELECT :account, :database, changed.id, 'profile_updated', 'api', 'bench', '', "
    "CAST('{}' AS json), now() FROM changed"
)
_FLOOR_INSERT = (
    "WITH new AS (INSERT INTO profile (account_id, database_id, code, fields, interests, created_at, updated_at) "
    "SELECT :account, :database, md5(random()::text), created.fields, CAST('[]' AS jsonb), now(), now() "
    "FROM unnest(CAST(:fields AS jsonb[])) AS created(fields) RETURNING id) "
    "INSERT INTO profile_event (account_id, database_id, profile_id, kind, source, actor, reference, changes, "
    "created_at) SELECT :account, :database, new.id, 'profile_created', 'api', 'bench', '', "
    "CAST('{}' AS json), now() FROM new"
)


def _bare_sql_batch(db, text, indexed, sort_literal, email, city, account_id, database_id, rows) -> None:
    """The floor: the batch's reads and writes as bare SQL, nothing validated, one transaction. The matches are
    found by probing the Email index once per key (a join over the keys as an array), as the domain call does:
    for ``IN`` a list of a thousand keys the planner may choose a sequential scan."""
    from sqlalchemy import Text, bindparam, func, select
    from sqlalchemy.dialects.postgresql import ARRAY

    from webapp.models import Profile

    by_email = {row["Email"].lower(): row for row in rows}
    keys = [sort_literal(email, value, "postgresql") for value in by_email]
    wanted = func.unnest(bindparam("keys", keys, type_=ARRAY(Text))).table_valued("key").render_derived(name="wanted")
    query = select(Profile.id, Profile.fields).select_from(wanted.join(Profile, indexed == wanted.c.key))
    query = query.where(Profile.database_id == database_id)
    found = {fields[email.key].lower(): profile_id for profile_id, fields in db.session.execute(query)}
    updates = [(found[key], row["City"]) for key, row in by_email.items() if key in found]
    creates = [row for key, row in by_email.items() if key not in found]
    ids = {"account": account_id, "database": database_id}
    db.session.execute(
        text(_FLOOR_UPDATE),
        {**ids, "city": city.key, "ids": [i for i, _c in updates], "cities": [c for _i, c in updates]},
    )
    fields = [json.dumps({email.key: row["Email"], city.key: row["City"]}) for row in creates]
    db.session.execute(text(_FLOOR_INSERT), {**ids, "fields": fields})
    db.session.commit()


def main(argv: list[str] | None = None) -> None:
    args = soap.parse_args(argv)
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ["API_RATE_LIMIT"] = "100000000 per minute"
    sys.path.insert(0, str(BENCH_DIR))
    token, database_id, ids, emails = soap.prepare(args)
    server, port = soap.start_server(args)
    try:
        json_body = lambda profile_id, city: soap.json_update(token, profile_id, city)  # noqa: E731
        print(f"warming up ({len(ids)} sample profiles)", flush=True)
        soap.throughput(port, soap.JSON, json_body, ids, args.clients, 1.0)
        rest_throughput(port, token, ids, args.clients, 1.0)
        rates: dict[str, list[float]] = {"rest": [], "json": []}
        for round_number in range(args.rounds):
            for name in ("rest", "json") if round_number % 2 == 0 else ("json", "rest"):
                if name == "rest":
                    rate = rest_throughput(port, token, ids, args.clients, args.seconds)
                else:
                    rate = soap.throughput(port, soap.JSON, json_body, ids, args.clients, args.seconds)
                rates[name].append(rate)
                print(f"  round {round_number + 1} {name:>4} field updates: {rate:7.1f} calls/s", flush=True)
        batch = batch_rates(port, token, database_id, emails, max(4, args.rounds))
        print("  batch upserts:", ", ".join(f"{rate:.0f}" for rate in batch), "profiles/s", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    domain, floor = in_process_rates(args, database_id, emails, max(4, args.rounds))
    print("  in process, the domain call:", ", ".join(f"{rate:.0f}" for rate in domain), "profiles/s", flush=True)
    print("  in process, bare SQL (floor):", ", ".join(f"{rate:.0f}" for rate in floor), "profiles/s", flush=True)
    rest_rate, json_rate = statistics.median(rates["rest"]), statistics.median(rates["json"])
    pair_ratio = statistics.median(r / j for r, j in zip(rates["rest"], rates["json"], strict=True))
    batch_rate = statistics.median(batch)
    print()
    print(
        f"field updates, {args.clients} clients: REST {rest_rate:.0f} calls/s, JSON {json_rate:.0f} calls/s "
        f"(median of {args.rounds} rounds of {args.seconds:g} s; median ratio of round pairs {pair_ratio:.2f}x)"
    )
    print(f"BENCH rest_update_fields: {rest_rate:.0f} calls/s ({pair_ratio:.2f}x json) target >= 0.8x")
    domain_rate, floor_rate = statistics.median(domain), statistics.median(floor)
    print(
        f"batch upserts of {BATCH}: REST {batch_rate:.0f} profiles/s, the domain call in process {domain_rate:.0f}, "
        f"bare SQL {floor_rate:.0f} (medians; REST/bare SQL {batch_rate / floor_rate:.2f}x)"
    )
    print(
        f"BENCH rest_batch_upsert: {batch_rate:.0f} profiles/s ({batch_rate / floor_rate:.2f}x bare_sql) target 10000"
    )


if __name__ == "__main__":
    main()
