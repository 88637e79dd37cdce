"""Benchmark: a selection of three rules counted and its first page listed, against hand-written SQL.

Builds (in a PostgreSQL database whose name contains "bench"; its schema is wiped and migrated) an account, a
database with the fields Email, City (indexed) and Age, an interest News, ``--profiles`` profiles and
``--results`` email results (INSERT … SELECT generate_series: about a minute for a million and five million),
then a selection of three rules, made through the selections service::

    City = "Amsterdam"  AND  interest News  AND  opened any mailing in the last 30 days

and times, in this process with a fresh session per call as in a web request, interleaved with the same work
done by a hand-written SQL query of the same result through the same session:

- the count (``selections.count_selection``, which also stores the count) against ``SELECT count(*) …``;
- the first page of 20 members (``selections.members``, without its total) against ``… ORDER BY id LIMIT 20``.

The rows are checked to be the same. Ends with ``BENCH selections: <count + first page> ms (<ratio>x
hand-written SQL)``; targets < 1 s and <= 2x.

Usage::

    .venv/bin/python bench/selections.py --database-url postgresql://postgres@127.0.0.1/verrijk_selections_bench
    .venv/bin/python bench/selections.py --reuse --database-url postgresql://postgres@127.0.0.1/verrijk_selections_bench
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACCOUNT_NAME = "Verrijk selections bench"
DATABASE_NAME = "Selections bench"
SELECTION_NAME = "Amsterdam readers"
CITIES = (
    "Amsterdam",
    "Rotterdam",
    "Utrecht",
    "Den Haag",
    "Eindhoven",
    "Groningen",
    "Tilburg",
    "Almere",
    "Breda",
    "Delft",
)
WARMUPS = 3

RAW_WHERE = """
    p.account_id = :account AND p.database_id = :database
    AND lower(p.fields ->> :city) = 'amsterdam'
    AND p.interests @> CAST(:news AS jsonb)
    AND EXISTS (SELECT 1 FROM email_result e WHERE e.profile_id = p.id AND e.opened_at >= :since)
"""
RAW_COUNT = f"SELECT count(*) FROM profile p WHERE {RAW_WHERE}"  # noqa: S608 - constant text
RAW_PAGE = f"SELECT p.* FROM profile p WHERE {RAW_WHERE} ORDER BY p.id LIMIT 20"  # noqa: S608 - constant text


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--results", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run of the same size")
    return parser.parse_args()


def check_target(url: str) -> None:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        sys.exit("this bench runs on PostgreSQL (the target is about a million profiles)")
    if "bench" not in (parsed.database or "").lower():
        sys.exit(f"refusing to wipe {parsed.database!r}: the bench database's name must contain 'bench'")


def reset_schema() -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from webapp.extensions import db

    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade()
    db.session.remove()


def build(args: argparse.Namespace) -> tuple[int, int]:
    """The account, database, profiles and email results; returns (account id, database id)."""
    from sqlalchemy import func, select, text

    from webapp.accounts import accounts
    from webapp.extensions import db
    from webapp.models import Database, EmailResult, Profile
    from webapp.profiles import databases
    from webapp.profiles.fields import FieldSpec, create_field

    if args.reuse:
        database = db.session.scalar(select(Database).where(Database.name == DATABASE_NAME))
        if database is not None:
            profiles = db.session.scalar(select(func.count()).where(Profile.database_id == database.id))
            results = db.session.scalar(select(func.count()).select_from(EmailResult))
            if profiles == args.profiles and results == args.results:
                print(f"reuse: {profiles:,} profiles and {results:,} email results already there")
                return database.account_id, database.id
    print("resetting the schema and running the migrations", flush=True)
    reset_schema()
    account = accounts.get_or_create_account(ACCOUNT_NAME)
    database = databases.create_database(account, DATABASE_NAME)
    email = create_field(account, FieldSpec(name="Email", type="email", indexed=True), database_id=database.id)
    city = create_field(account, FieldSpec(name="City", type="text", indexed=True), database_id=database.id)
    age = create_field(account, FieldSpec(name="Age", type="number"), database_id=database.id)
    news = databases.create_interest(account, database.id, "News")
    account_id, database_id = account.id, database.id
    cities = "ARRAY[" + ", ".join(f"'{name}'" for name in CITIES) + "]"
    started = time.perf_counter()
    db.session.execute(
        text(
            f"""
            INSERT INTO profile (account_id, database_id, code, fields, interests, created_at, updated_at)
            SELECT :account, :database, md5('bench' || g), jsonb_build_object(
                       :email, 'p' || g || '@example.com',
                       :city, ({cities})[1 + (g * 7) % {len(CITIES)}],
                       :age, g % 80),
                   CASE WHEN g % 3 = 0 THEN CAST(:news AS jsonb) ELSE '[]'::jsonb END,
                   now() AT TIME ZONE 'utc', now() AT TIME ZONE 'utc'
            FROM generate_series(1, :count) AS g
            """  # noqa: S608 - our own constants
        ),
        {
            "account": account_id,
            "database": database_id,
            "email": str(email.id),
            "city": str(city.id),
            "age": str(age.id),
            "news": f"[{news.id}]",
            "count": args.profiles,
        },
    )
    first = db.session.scalar(select(func.min(Profile.id)).where(Profile.database_id == database_id))
    print(f"  {args.profiles:,} profiles in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    # Foreign keys are checked by triggers, one call per row: the data is made consistent by construction
    # (ids of the profiles just made), so they are skipped for this session's insert only.
    db.session.execute(text("SET LOCAL session_replication_role = replica"))
    db.session.execute(text("SELECT setseed(0.42)"))
    db.session.execute(
        text(
            """
            INSERT INTO email_result (account_id, database_id, profile_id, mailing_id, category, sent_at,
                                      opened_at, open_count, clicked_at, click_count, bounce)
            SELECT :account, :database, :first + r.profile, 1 + g % 60, 'marketing', r.sent,
                   CASE WHEN r.opened THEN r.sent + interval '1 hour' END, CASE WHEN r.opened THEN 1 ELSE 0 END,
                   NULL, 0, CASE WHEN g % 97 = 0 THEN 'hard' ELSE '' END
            FROM generate_series(1, :count) AS g,
                 LATERAL (SELECT floor(random() * :profiles)::int AS profile,
                                 now() AT TIME ZONE 'utc' - floor(random() * 90) * interval '1 day' AS sent,
                                 random() < 0.25 AS opened,
                                 g AS keep) AS r
            """
        ),
        {
            "account": account_id,
            "database": database_id,
            "first": first,
            "profiles": args.profiles,
            "count": args.results,
        },
    )
    db.session.commit()
    print(f"  {args.results:,} email results in {time.perf_counter() - started:.1f} s", flush=True)
    db.session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE) profile, email_result")
    return account_id, database_id


def selection_for(account_id: int, database_id: int) -> int:
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import Account, Database, Selection
    from webapp.selections import selections

    existing = db.session.scalar(select(Selection.id).where(Selection.name == SELECTION_NAME))
    if existing is not None:
        return existing
    account = db.session.get_one(Account, account_id)
    database = db.session.get_one(Database, database_id)
    fields = {field.name: field.id for field in database.fields}
    rules = {
        "match": "all",
        "rules": [
            {"field_id": fields["City"], "operator": "=", "value": "Amsterdam"},
            {"interest_id": database.interests[0].id, "value": True},
            {"email": "opened", "days": 30},
        ],
    }
    return selections.create_selection(account, database_id, SELECTION_NAME, rules=rules).id


def raw_params(database_id: int, account_id: int) -> dict:
    from datetime import timedelta

    from webapp.extensions import db
    from webapp.models import Database, utcnow

    database = db.session.get_one(Database, database_id)
    fields = {field.name: field.id for field in database.fields}
    return {
        "account": account_id,
        "database": database_id,
        "city": str(fields["City"]),
        "news": f"[{database.interests[0].id}]",
        "since": utcnow() - timedelta(days=30),
    }


def main() -> None:
    args = parse_args()
    from webapp.config import normalize_database_url

    url = normalize_database_url(args.database_url)
    check_target(url)
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    from sqlalchemy import text

    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import Account
    from webapp.selections import selections

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": ""})
    with app.app_context():
        print(f"bench selections: {args.profiles:,} profiles, {args.results:,} email results, {args.repeat} runs")
        account_id, database_id = build(args)
        selection_id = selection_for(account_id, database_id)
        params = raw_params(database_id, account_id)

        def service() -> tuple[int, list[int]]:
            db.session.remove()
            account = db.session.get_one(Account, account_id)
            counted = selections.count_selection(account, selection_id).value
            page = selections.members(account, selection_id, length=20, total=False)
            return counted, [row.id for row in page.items]

        def raw() -> tuple[int, list[int]]:
            db.session.remove()
            counted = db.session.execute(text(RAW_COUNT), params).scalar_one()
            page = [row.id for row in db.session.execute(text(RAW_PAGE), params)]
            return counted, page

        expected, got = raw(), service()
        if expected != got:
            sys.exit(
                f"different results: hand-written {expected[0]} {expected[1][:5]}…, service {got[0]} {got[1][:5]}…"
            )
        print(f"members: {got[0]:,}; first page {got[1][:5]}…")
        times: dict[str, list[float]] = {"service": [], "raw": []}
        for round_ in range(WARMUPS + args.repeat):
            order = ("service", "raw") if round_ % 2 == 0 else ("raw", "service")
            for name in order:
                started = time.perf_counter()
                service() if name == "service" else raw()
                if round_ >= WARMUPS:
                    times[name].append((time.perf_counter() - started) * 1000)
        ours, theirs = statistics.median(times["service"]), statistics.median(times["raw"])
        print(f"service (count + first page): median {ours:.1f} ms, all {[round(t) for t in times['service']]}")
        print(f"hand-written SQL:             median {theirs:.1f} ms, all {[round(t) for t in times['raw']]}")
        fast, close = ours < 1000, ours <= 2 * theirs
        print(f"targets: < 1000 ms ({'met' if fast else 'NOT met'}), <= 2x ({'met' if close else 'NOT met'})")
        print(f"BENCH selections: {ours:.0f} ms ({ours / theirs:.2f}x hand-written SQL)")


if __name__ == "__main__":
    main()
