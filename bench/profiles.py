"""Benchmark: profile lists and searches over a million profiles, each against raw SQL in the same run.

Creates N profiles (10 fields) through ``profiles.bulk_create_profiles`` in a database of its own, then
times, in the process (the service call's wall time, a fresh session per call as in a web request):

- the first page of ``list_profiles`` (sorted by id) and one sorted by the indexed FirstName field;
- an exact email search through ``find_profiles`` and through ``list_profiles(query=...)``;
- Copernica's requirement search (``search.search_profiles``, SOAP ``Database_searchProfiles``): an exact email
  and a ``LIKE 'ann%'`` on the indexed FirstName;
- a search for part of a name ``list_profiles(query="Ann")`` (anywhere in the text fields, like the list);
- the next page through the cursor (id sort and FirstName sort);

each against a hand-written SQL query returning the same rows through the same session, interleaved.
It prints the ``EXPLAIN (ANALYZE, BUFFERS)`` plan of the SQL each service call sent (captured with a
cursor hook) and ends with ``BENCH <name>: <median> ms (<ratio>x raw SQL)`` lines.

Usage (creating a million profiles takes minutes; ``--reuse`` skips it when they are already there)::

    DATABASE_URL=postgresql://postgres@127.0.0.1/verrijk_bench .venv/bin/python bench/profiles.py
    DATABASE_URL=postgresql://postgres@127.0.0.1/verrijk_bench .venv/bin/python bench/profiles.py --reuse
    .venv/bin/python bench/profiles.py --profiles 2000 --database-url sqlite:///verrijk_bench.sqlite

The database is wiped and rebuilt by the migrations unless ``--reuse`` finds it complete, so its name must
contain "bench".
"""

import argparse
import json
import math
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

ACCOUNT_NAME = "Verrijk bench"
DATABASE_NAME = "Profiles"
SQLITE_MAX_PROFILES = 20_000
WARMUPS = 3
PREFIX = "Ann"

FIELDS = {
    "Email": {"type": "email", "indexed": True},
    "FirstName": {"type": "text", "indexed": True},
    "LastName": {"type": "text"},
    "City": {"type": "text"},
    "Country": {"type": "country"},
    "Phone": {"type": "phone"},
    "Birthday": {"type": "date"},
    "Score": {"type": "number"},
    "Revenue": {"type": "decimal"},
    "Newsletter": {"type": "choice", "options": {"choices": ["yes", "no"]}},
}

FIRST_NAMES = (
    "Anna",
    "Anne",
    "Annemarie",
    "Annika",
    "Bas",
    "Bram",
    "Charlotte",
    "Daan",
    "Dirk",
    "Emma",
    "Eva",
    "Femke",
    "Fleur",
    "Gijs",
    "Hanna",
    "Hugo",
    "Iris",
    "Isa",
    "Jan",
    "Jasper",
    "Jesse",
    "Joost",
    "Julia",
    "Kees",
    "Lars",
    "Lieke",
    "Lisa",
    "Lotte",
    "Luuk",
    "Maarten",
    "Marieke",
    "Mark",
    "Max",
    "Milan",
    "Noah",
    "Noor",
    "Olivia",
    "Pieter",
    "Quinten",
    "Ruben",
    "Sander",
    "Sanne",
    "Sara",
    "Sem",
    "Sophie",
    "Stijn",
    "Tess",
    "Thijs",
    "Thomas",
    "Tim",
    "Vera",
    "Wouter",
    "Yara",
    "Zoe",
)
LAST_NAMES = (
    "de Jong",
    "Jansen",
    "de Vries",
    "van den Berg",
    "van Dijk",
    "Bakker",
    "Janssen",
    "Visser",
    "Smit",
    "Meijer",
    "de Boer",
    "Mulder",
    "de Groot",
    "Bos",
    "Vos",
    "Peters",
    "Hendriks",
    "van Leeuwen",
    "Dekker",
    "Brouwer",
    "de Wit",
    "Dijkstra",
    "Smits",
    "de Graaf",
    "van der Meer",
    "van der Linden",
    "Kok",
    "Jacobs",
    "de Haan",
    "Vermeulen",
    "van den Heuvel",
    "van der Veen",
    "van den Broek",
    "de Bruijn",
    "van der Heijden",
    "Schouten",
    "van Beek",
    "Willems",
    "van Vliet",
    "van de Ven",
    "Hoekstra",
    "Maas",
    "Verhoeven",
    "Koster",
    "van Dam",
    "van der Wal",
    "Prins",
    "Blom",
    "Huisman",
    "Peeters",
)
# (country, weight, cities, phone prefix, national digits after the prefix)
COUNTRIES = (
    (
        "NL",
        70,
        (
            "Amsterdam",
            "Rotterdam",
            "Utrecht",
            "Eindhoven",
            "Groningen",
            "Tilburg",
            "Almere",
            "Breda",
            "Nijmegen",
            "Haarlem",
            "Arnhem",
            "Zwolle",
            "Leiden",
            "Maastricht",
            "Delft",
        ),
        "+31 6",
        8,
    ),
    ("BE", 12, ("Antwerpen", "Gent", "Brussel", "Leuven", "Brugge", "Hasselt", "Mechelen"), "+32 4", 8),
    ("DE", 8, ("Berlin", "Hamburg", "Köln", "Düsseldorf", "Aachen", "Münster"), "+49 151", 8),
    ("GB", 4, ("London", "Manchester", "Bristol", "Leeds"), "+44 7", 9),
    ("FR", 3, ("Paris", "Lille", "Lyon"), "+33 6", 8),
    ("US", 3, ("Boston", "Chicago", "Seattle"), "+1 212", 7),
)
DOMAINS = (
    "gmail.com",
    "hotmail.com",
    "outlook.com",
    "ziggo.nl",
    "kpnmail.nl",
    "live.nl",
    "icloud.com",
    "yahoo.com",
    "telenet.be",
    "web.de",
)


# --- configuration --------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000, help="how many profiles (default 1,000,000)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="where to build the bench data (default: $DATABASE_URL); its name must contain 'bench'",
    )
    parser.add_argument("--repeat", type=int, default=25, help="timed runs per query, after 3 warm-ups (default 25)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the data when the database already holds exactly --profiles bench profiles",
    )
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=0,
        help="rows per bulk_create_profiles call (default 0: all in one call, one transaction)",
    )
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated values")
    parser.add_argument("--json", dest="json_path", help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")
    if args.profiles < 200 or args.repeat < 1:
        parser.error("use --profiles >= 200 and --repeat >= 1")
    return args


def check_target(url: str, profiles: int) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = parsed.database or ""
    if "bench" not in os.path.basename(name).lower():
        sys.exit(f"refusing to wipe {name!r}: the bench database's name must contain 'bench'")
    if parsed.get_backend_name() == "sqlite":
        if profiles > SQLITE_MAX_PROFILES:
            sys.exit(f"SQLite is for a smoke run only (at most {SQLITE_MAX_PROFILES:,} profiles); use PostgreSQL")
        if os.path.isabs(name):  # a relative path is taken from the instance folder (Flask-SQLAlchemy)
            os.makedirs(os.path.dirname(name), exist_ok=True)


# --- building the data -----------------------------------------------------------------------------


def profile_values(count: int, seed: int) -> Iterator[dict[str, Any]]:
    """``count`` realistic, deterministic profiles, generated lazily (memory stays flat)."""
    rng = random.Random(seed)
    weights = [country[1] for country in COUNTRIES]
    first_day, days = date(1945, 1, 1).toordinal(), date(2007, 12, 31).toordinal() - date(1945, 1, 1).toordinal()
    for number in range(1, count + 1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        country, _weight, cities, phone_prefix, digits = rng.choices(COUNTRIES, weights)[0]
        local = f"{first}.{last.replace(' ', '')}.{number}".lower()
        values: dict[str, Any] = {
            "Email": f"{local}@{rng.choice(DOMAINS)}",
            "FirstName": first,
            "LastName": last,
            "Country": country,
            "Score": rng.randint(0, 100),
            "Revenue": round(rng.lognormvariate(4, 1.2), 2),
            "Newsletter": "yes" if rng.random() < 0.6 else "no",
        }
        if rng.random() < 0.95:
            values["City"] = rng.choice(cities)
        if rng.random() < 0.85:
            values["Phone"] = f"{phone_prefix} {rng.randrange(10 ** (digits - 1), 10**digits)}"
        if rng.random() < 0.9:
            values["Birthday"] = date.fromordinal(first_day + rng.randrange(days)).isoformat()
        yield values


def progress(rows: Iterator[dict], total: int, started: float, every: int) -> Iterator[dict]:
    """Pass rows through, printing how many were handed to the service so far."""
    for number, row in enumerate(rows, start=1):
        yield row
        if number % every == 0 and number < total:
            elapsed = time.perf_counter() - started
            print(
                f"  {number:>10,} rows validated and sent  {elapsed:7.1f} s  {number / elapsed:8,.0f} rows/s",
                flush=True,
            )


def reset_schema() -> None:
    from flask_migrate import upgrade
    from sqlalchemy import inspect, text

    from webapp.extensions import db
    from webapp.models import Base

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        Base.metadata.drop_all(db.engine)
        with db.engine.begin() as connection:
            for name in inspect(connection).get_table_names():
                connection.execute(text(f'DROP TABLE IF EXISTS "{name}"'))
    upgrade()
    db.session.remove()


def find_existing(profiles: int):
    """The bench account and database when they hold exactly ``profiles`` profiles, else ``None``."""
    from sqlalchemy import func, inspect, select

    from webapp.extensions import db
    from webapp.models import Account, Database, Profile

    if "alembic_version" not in inspect(db.engine).get_table_names():
        return None
    account = db.session.scalar(select(Account).where(Account.name == ACCOUNT_NAME))
    if account is None:
        return None
    database = db.session.scalar(
        select(Database).where(Database.account_id == account.id, Database.name == DATABASE_NAME)
    )
    if database is None or sorted(f.name for f in database.fields) != sorted(FIELDS):
        return None
    count = db.session.scalar(select(func.count()).select_from(Profile).where(Profile.database_id == database.id))
    if count != profiles:
        print(f"reuse: the bench database holds {count:,} profiles, not {profiles:,}: rebuilding")
        return None
    return account, database


def build(args: argparse.Namespace) -> tuple[int, int, dict]:
    """Create the account, database, fields and profiles; returns (account id, database id, creation figures)."""
    from webapp.accounts import accounts
    from webapp.extensions import db
    from webapp.profiles import databases, profiles
    from webapp.profiles.events import Origin
    from webapp.profiles.fields import FieldSpec, create_field

    if args.reuse:
        existing = find_existing(args.profiles)
        if existing is not None:
            account, database = existing
            print(f"reuse: {args.profiles:,} profiles already there (database {database.id}); skipping creation")
            return account.id, database.id, {}
        db.session.remove()  # the check's open read transaction would block the reset's DROP SCHEMA forever
    print("resetting the schema and running the migrations")
    reset_schema()
    account = accounts.get_or_create_account(ACCOUNT_NAME)
    database = databases.create_database(account, DATABASE_NAME)
    for name, spec in FIELDS.items():
        create_field(account, FieldSpec(name=name, **spec), database_id=database.id)
    account_id, database_id = account.id, database.id
    chunk = args.chunk_size or args.profiles
    print(
        f"creating {args.profiles:,} profiles through profiles.bulk_create_profiles "
        f"({'one call, one transaction' if chunk >= args.profiles else f'calls of {chunk:,} rows'}); "
        "at a million this takes several minutes (next time: --reuse)",
        flush=True,
    )
    origin = Origin("import", actor="bench")
    started = time.perf_counter()
    rows = progress(profile_values(args.profiles, args.seed), args.profiles, started, max(args.profiles // 10, 1))
    created = 0
    while created < args.profiles:
        batch = (row for _, row in zip(range(min(chunk, args.profiles - created)), rows, strict=False))
        created += profiles.bulk_create_profiles(account, database_id, batch, origin=origin)
        account = db.session.get(type(account), account_id)
    seconds = time.perf_counter() - started
    print(
        f"created {created:,} profiles in {seconds:.1f} s: {created / seconds:,.0f} profiles/s "
        f"(peak RSS {peak_rss_mb():.0f} MB)",
        flush=True,
    )
    started = time.perf_counter()
    analyze()
    analyze_seconds = time.perf_counter() - started
    print(f"VACUUM ANALYZE: {analyze_seconds:.1f} s")
    db.session.remove()
    return (
        account_id,
        database_id,
        {
            "profiles": created,
            "seconds": round(seconds, 1),
            "profiles_per_second": round(created / seconds),
            "chunk_size": chunk,
            "peak_rss_mb": round(peak_rss_mb()),
            "analyze_seconds": round(analyze_seconds, 1),
        },
    )


def analyze() -> None:
    """Statistics for the planner (and the visibility map, so autovacuum does not start mid-run)."""
    from webapp.extensions import db

    db.session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("VACUUM (ANALYZE) profile, profile_event")
        else:
            connection.exec_driver_sql("ANALYZE")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the cases -------------------------------------------------------------------------------------


@dataclass
class Case:
    key: str
    label: str
    service: Callable[[Any], list[int]]
    raw_sql: str
    raw_params: dict[str, Any]
    compare: int
    target_ms: float | None = None
    service_ms: list[float] = field(default_factory=list)
    raw_ms: list[float] = field(default_factory=list)
    queries: int = 0
    rows: int = 0
    plan: list[str] = field(default_factory=list)
    raw_plan: list[str] = field(default_factory=list)


def value_sql(key: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"(fields ->> '{key}')"
    return f"json_extract(fields, '$.\"{key}\"')"


def sort_sql(key: str, dialect: str) -> str:
    """The expression of the field's index (``ix_profile_field_<id>``), written by hand."""
    text = f"coalesce(lower({value_sql(key, dialect)}), '')"
    return f'{text} COLLATE "C"' if dialect == "postgresql" else text


def like_pattern(query: str) -> str:
    return query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def make_cases(account_id: int, database_id: int, dialect: str, profiles: int) -> list[Case]:
    from sqlalchemy import func, select, text

    from webapp.extensions import db
    from webapp.models import Account, Database, Field, Profile
    from webapp.profiles import lists, search, text_search
    from webapp.profiles import profiles as profile_service

    fields = {f.name: f for f in db.session.scalars(select(Field).where(Field.database_id == database_id))}
    email_key, first_key = str(fields["Email"].id), str(fields["FirstName"].id)
    email_sort, first_sort = sort_sql(email_key, dialect), sort_sql(first_key, dialect)
    columns = "id, account_id, database_id, code, fields, interests, created_at, updated_at"
    scope = "account_id = :account AND database_id = :database"
    page = lists.PAGE_SIZE
    base = {"account": account_id, "database": database_id, "limit": page + 1}

    # An existing address, about 70% into the table (not a row the first page already holds).
    offset = int(profiles * 0.7)
    email = db.session.scalar(
        select(text(value_sql(email_key, dialect)))
        .select_from(Profile)
        .where(Profile.database_id == database_id)
        .order_by(Profile.id)
        .offset(offset)
        .limit(1)
    )
    account = db.session.get(Account, account_id)
    first_page = lists.list_profiles(account, database_id)
    by_name = lists.list_profiles(account, database_id, sort=f"field:{first_key}")
    last_by_name = db.session.scalar(
        select(text(first_sort)).select_from(Profile).where(Profile.id == by_name.items[-1].id)
    )
    prefix_rows = db.session.scalar(
        select(func.count())
        .select_from(Profile)
        .where(Profile.database_id == database_id)
        .where(
            text(f"({email_sort} LIKE :p ESCAPE '\\' OR {first_sort} LIKE :p ESCAPE '\\')").bindparams(
                p=like_pattern(PREFIX)
            )
        )
    )
    print(f"searching for {email!r} (profile #{offset + 1}); prefix {PREFIX!r} matches {prefix_rows:,} profiles")
    db.session.remove()

    def ids(page_or_list) -> list[int]:
        items = page_or_list.items if hasattr(page_or_list, "items") else page_or_list
        return [profile.id for profile in items]

    # The list's search finds text anywhere in the text fields (``profiles/text_search.py``): on PostgreSQL a
    # pre-filter over all values that the trigram index answers, then each text field.
    text_keys = [str(f.id) for f in text_search.text_fields(db.session.get_one(Database, database_id))]
    each_field = " OR ".join(f"lower({value_sql(key, dialect)}) LIKE :pattern ESCAPE '\\'" for key in text_keys)
    search_where = f"({each_field})"
    if dialect == "postgresql":
        search_where = f"(lower(fields::text) LIKE :pattern ESCAPE '\\' AND {search_where})"
    return [
        Case(
            "first_page",
            "first page, sort by id",
            lambda a: ids(lists.list_profiles(a, database_id)),
            f"SELECT {columns} FROM profile WHERE {scope} ORDER BY id LIMIT :limit",
            base,
            page,
            100,
        ),
        Case(
            "field_sort_page",
            "first page, sort by FirstName (indexed)",
            lambda a: ids(lists.list_profiles(a, database_id, sort=f"field:{first_key}")),
            f"SELECT {columns} FROM profile WHERE {scope} ORDER BY {first_sort}, id LIMIT :limit",
            base,
            page,
            100,
        ),
        Case(
            "email_search",
            "exact email, find_profiles",
            lambda a: ids(profile_service.find_profiles(a, database_id, {"Email": email})),
            f"SELECT {columns} FROM profile WHERE {scope} AND {email_sort} = :email ORDER BY id LIMIT :limit",
            {**base, "email": email.lower(), "limit": 100},
            100,
            50,
        ),
        Case(
            "requirement_search",
            "exact email, search_profiles (requirements)",
            lambda a: ids(search.search_profiles(a, database_id, [search.Requirement("Email", email)], length=page)),
            f"SELECT {columns} FROM profile WHERE {scope} AND {email_sort} = :email ORDER BY id LIMIT :limit",
            {**base, "email": email.lower()},
            page,
            50,
        ),
        Case(
            "requirement_like",
            f"FirstName LIKE '{PREFIX.lower()}%', search_profiles (no total)",
            lambda a: ids(
                search.search_profiles(
                    a, database_id, [search.Requirement("FirstName", PREFIX + "%", "LIKE")], length=page, count=False
                )
            ),
            f"SELECT {columns} FROM profile WHERE {scope} AND {first_sort} LIKE :pattern ORDER BY id LIMIT :limit",
            {**base, "pattern": PREFIX.lower() + "%"},
            page,
            100,
        ),
        Case(
            "email_list_search",
            "exact email, list_profiles(query=)",
            lambda a: ids(lists.list_profiles(a, database_id, query=email)),
            f"SELECT {columns} FROM profile WHERE {scope} AND {search_where} ORDER BY id LIMIT :limit",
            {**base, "pattern": "%" + like_pattern(email)},
            page,
            50,
        ),
        Case(
            "prefix_search",
            f"name part {PREFIX!r}, list_profiles(query=)",
            lambda a: ids(lists.list_profiles(a, database_id, query=PREFIX)),
            f"SELECT {columns} FROM profile WHERE {scope} AND {search_where} ORDER BY id LIMIT :limit",
            {**base, "pattern": "%" + like_pattern(PREFIX)},
            page,
            100,
        ),
        Case(
            "next_page",
            "next page via cursor, sort by id",
            lambda a: ids(lists.list_profiles(a, database_id, cursor=first_page.next_cursor)),
            f"SELECT {columns} FROM profile WHERE {scope} AND id > :last ORDER BY id LIMIT :limit",
            {**base, "last": first_page.items[-1].id},
            page,
            100,
        ),
        Case(
            "field_sort_next_page",
            "next page via cursor, sort by FirstName",
            lambda a: ids(lists.list_profiles(a, database_id, sort=f"field:{first_key}", cursor=by_name.next_cursor)),
            f"SELECT {columns} FROM profile WHERE {scope} AND ({first_sort}, id) > (:value, :last) "
            f"ORDER BY {first_sort}, id LIMIT :limit",
            {**base, "value": last_by_name, "last": by_name.items[-1].id},
            page,
            100,
        ),
    ]


# --- measuring -------------------------------------------------------------------------------------


class StatementLog:
    """Records every SQL statement (with its parameters) the engine sends while active."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[tuple[str, Any]] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append((statement, parameters))

    def __enter__(self):
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._record)


def fresh_account(account_id: int):
    """A new session with the account loaded, as a request has it before calling a service."""
    from webapp.extensions import db
    from webapp.models import Account

    db.session.remove()
    return db.session.get(Account, account_id)


def run_raw(case: Case) -> list[int]:
    from sqlalchemy import text

    from webapp.extensions import db

    return [row.id for row in db.session.execute(text(case.raw_sql), case.raw_params).all()]


def measure(case: Case, account_id: int, repeat: int) -> None:
    """Service and raw SQL calls interleaved (alternating which goes first), after warm-ups."""
    for round_ in range(WARMUPS + repeat):
        order = ("service", "raw") if round_ % 2 == 0 else ("raw", "service")
        for which in order:
            account = fresh_account(account_id)
            started = time.perf_counter()
            case.service(account) if which == "service" else run_raw(case)
            elapsed = (time.perf_counter() - started) * 1000
            if round_ >= WARMUPS:
                (case.service_ms if which == "service" else case.raw_ms).append(elapsed)
    from webapp.extensions import db

    db.session.remove()


def check_same_rows(case: Case, account_id: int, engine) -> None:
    """Same rows from both, and the statements the service sent (the profile query is explained later)."""
    account = fresh_account(account_id)
    with StatementLog(engine) as log:
        service_ids = case.service(account)
    raw_ids = run_raw(case)[: case.compare]
    if service_ids != raw_ids:
        sys.exit(
            f"{case.key}: the service returned {service_ids[:5]}... ({len(service_ids)} rows), "
            f"raw SQL {raw_ids[:5]}... ({len(raw_ids)} rows)"
        )
    case.rows, case.queries = len(service_ids), len(log.statements)
    main = [s for s in log.statements if "FROM profile" in s[0] and "LIMIT" in s[0].upper()]
    case.plan = explain(*main[-1]) if main else ["(no profile query captured)"]
    case.raw_plan = explain_text(case.raw_sql, case.raw_params)


def explain(statement: str, parameters) -> list[str]:
    from webapp.extensions import db

    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        rows = connection.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters).all()
        return [row[0] for row in rows]
    rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return [row[-1] for row in rows]


def explain_text(sql: str, params: dict) -> list[str]:
    from sqlalchemy import text

    from webapp.extensions import db

    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if db.engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    return [row[-1] for row in db.session.execute(text(prefix + sql), params).all()]


def plan_summary(plan: list[str]) -> str:
    """The plan's nodes, top to bottom, without costs; rows its filters dropped, buffers and execution time."""
    nodes, extras, removed = [], [], 0
    for line in plan:
        stripped = line.strip()
        if stripped.startswith("Execution Time"):
            extras.append("execution " + stripped.split(":", 1)[1].strip())
        elif stripped.startswith("Rows Removed by Filter"):
            removed += int(stripped.split(":", 1)[1])
        elif stripped.startswith("Buffers") and not any(extra.startswith("buffers") for extra in extras):
            extras.append("buffers " + stripped.split(":", 1)[1].strip())
        elif stripped.startswith("->") or line is plan[0]:
            nodes.append(stripped.removeprefix("->").split("  (")[0].strip())
        elif "SCAN" in stripped or "SEARCH" in stripped or "B-TREE" in stripped:
            nodes.append(stripped)
    if removed:
        extras.insert(0, f"filters dropped {removed:,} rows")
    return "; ".join([" > ".join(nodes), *extras])


def wasted_rows(plan: list[str]) -> int:
    """Rows a PostgreSQL plan read and then threw away."""
    return sum(int(line.split(":", 1)[1]) for line in plan if line.strip().startswith("Rows Removed by Filter"))


def indexes_used(plan: list[str]) -> set[str]:
    """Names of the indexes a plan reads (``Index Scan using x``, ``Bitmap Index Scan on x``, ``USING INDEX x``)."""
    names = set()
    for line in plan:
        words = line.replace("->", " ").split()
        for marker in (("Scan", "using"), ("Scan", "on"), ("USING", "INDEX")):
            for position in range(len(words) - 2):
                if (words[position], words[position + 1]) == marker:
                    names.add(words[position + 2])
    return {name for name in names if name != "profile"}


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)]


# --- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from webapp.config import normalize_database_url

    url = normalize_database_url(args.database_url)
    check_target(url, args.profiles)
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.pop("REDIS_URL", None)

    from webapp import create_app
    from webapp.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": ""})
    with app.app_context():
        dialect = db.engine.dialect.name
        server = db.session.execute(
            text("SELECT version()" if dialect == "postgresql" else "SELECT 'SQLite ' || sqlite_version()")
        ).scalar()
        db.session.remove()
        print(f"bench profiles: {args.profiles:,} profiles, {args.repeat} timed runs after {WARMUPS} warm-ups")
        print(f"database: {make_url(url).render_as_string(hide_password=True)} ({str(server).split(' on ')[0]})")
        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs (shared); times are the service call's "
            "wall time in this process, each on a fresh session"
        )
        account_id, database_id, creation = build(args)
        cases = make_cases(account_id, database_id, dialect, args.profiles)
        for case in cases:
            check_same_rows(case, account_id, db.engine)
            measure(case, account_id, args.repeat)
            print(f"  measured {case.label}", flush=True)
        report(cases, args, creation)


def report(cases: list[Case], args: argparse.Namespace, creation: dict) -> None:
    print()
    print(f"{'case':<42} {'service ms':>17} {'raw SQL ms':>17} {'ratio':>7} {'target':>9}  rows  queries")
    print(f"{'':<42} {'median':>8} {'p95':>8} {'median':>8} {'p95':>8}")
    figures = {}
    for case in cases:
        service, raw = median(case.service_ms), median(case.raw_ms)
        ratio = service / raw
        verdict = ""
        if case.target_ms is not None:
            verdict = f"<{case.target_ms:g} {'ok' if service < case.target_ms else 'FAIL'}"
        print(
            f"{case.label:<42} {service:8.2f} {p95(case.service_ms):8.2f} {raw:8.2f} {p95(case.raw_ms):8.2f} "
            f"{ratio:6.1f}x {verdict:>9} {case.rows:5} {case.queries:8}"
        )
        figures[case.key] = {
            "label": case.label,
            "service_median_ms": round(service, 3),
            "service_p95_ms": round(p95(case.service_ms), 3),
            "raw_median_ms": round(raw, 3),
            "raw_p95_ms": round(p95(case.raw_ms), 3),
            "ratio": round(ratio, 2),
            "target_ms": case.target_ms,
            "rows": case.rows,
            "queries": case.queries,
            "plan": case.plan,
            "raw_plan": case.raw_plan,
        }
    print("\nplans (EXPLAIN (ANALYZE, BUFFERS) of the profile query each service call sent, then of raw SQL):")
    for case in cases:
        print(f"- {case.label}")
        print(f"    service: {plan_summary(case.plan)}")
        print(f"    raw SQL: {plan_summary(case.raw_plan)}")
        missing = indexes_used(case.raw_plan) - indexes_used(case.plan)
        if missing:
            print(f"    NOTE: the hand-written query uses {', '.join(sorted(missing))}; the service query does not")
        wasted = wasted_rows(case.plan)
        if wasted > max(1000, 10 * case.rows):
            condition = next((line.strip() for line in case.plan if line.strip().startswith("Filter")), "")
            print(
                f"    NOTE: no index serves the service query's condition: it read and dropped {wasted:,} rows "
                f"to return {case.rows}. {condition}"
            )
    if args.json_path:
        with open(args.json_path, "w") as out:
            json.dump(
                {"profiles": args.profiles, "repeat": args.repeat, "creation": creation, "cases": figures},
                out,
                indent=2,
            )
    print()
    for key, name in (
        ("field_sort_page", "profiles_field_sort_page"),
        ("next_page", "profiles_next_page"),
        ("email_list_search", "profiles_email_list_search"),
        ("first_page", "profiles_first_page"),
        ("email_search", "profiles_email_search"),
        ("prefix_search", "profiles_prefix_search"),
        ("requirement_search", "profiles_requirement_search"),
        ("requirement_like", "profiles_requirement_like"),
    ):
        figure = figures[key]
        print(f"BENCH {name}: {figure['service_median_ms']:.2f} ms ({figure['ratio']:.1f}x raw SQL)")


if __name__ == "__main__":
    main()
