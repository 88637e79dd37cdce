"""Benchmark: the dashboard's figures and the substring search over a database of many profiles, each against a
baseline measured in the same run.

Builds (or, with ``--reuse``, finds) the profiles of ``bench/profiles.py`` — the same account, database and
values — then spreads their creation over the last 60 days and journals an ``email_sent`` event for one profile
in ten and an ``unsubscribed`` event for one in a hundred (as the dashboard reads them), counts today's
subscribers (the housekeeping task), and times, on a fresh session per call as in a web request:

- ``dashboard.figures.figures`` (every figure of the dashboard page: nine aggregate queries) against
  ``SELECT count(*)`` of the database's profiles, which the databases page pays on each view;
- the first page of the profile list searching ``example.nl`` (``list_profiles``, substring search through the
  trigram index) against the same page found by a plain scan (the same SQL without the trigram pre-filter);

and ends with ``BENCH dashboard: <median> ms (<ratio>x count)`` and ``BENCH substring_search: <median> ms
(<ratio>x scan)`` lines.

Usage (the database's name must contain "bench"; building a million profiles takes minutes)::

    .venv/bin/python bench/dashboard.py --database-url postgresql://postgres@127.0.0.1/verrijk_bench
    .venv/bin/python bench/dashboard.py --reuse --database-url postgresql://postgres@127.0.0.1/verrijk_bench
    .venv/bin/python bench/dashboard.py --profiles 2000 --database-url sqlite:///verrijk_bench.sqlite
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent), str(Path(__file__).resolve().parent)]  # this checkout

import profiles as profiles_bench  # noqa: E402 - bench/profiles.py builds the data

WARMUPS = 3
QUERY = "example.nl"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profiles", type=int, default=1_000_000, help="how many profiles (default 1,000,000)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per case, after 3 warm-ups (default 15)")
    parser.add_argument("--reuse", action="store_true", help="keep the data when it is already there")
    parser.add_argument("--chunk-size", type=int, default=0)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")
    return args


def spread(account_id: int, database_id: int) -> None:
    """Creation days over the last 60 days, and the journal the dashboard reads (idempotent)."""
    from sqlalchemy import text

    from webapp.dashboard import day_counts
    from webapp.extensions import db
    from webapp.models import Database

    postgresql = db.engine.dialect.name == "postgresql"
    ago = "now() - (id % 60) * interval '1 day'" if postgresql else "datetime('now', '-' || (id % 60) || ' days')"
    db.session.execute(text(f"UPDATE profile SET created_at = {ago} WHERE database_id = :d"), {"d": database_id})  # noqa: S608
    done = db.session.scalar(
        text("SELECT count(*) FROM profile_event WHERE database_id = :d AND kind = 'email_sent'"), {"d": database_id}
    )
    if not done:
        db.session.execute(
            text(
                "INSERT INTO profile_event (account_id, database_id, profile_id, kind, source, reference, actor, "
                "changes, created_at) SELECT account_id, database_id, id, CASE WHEN id % 100 = 0 THEN "
                "'unsubscribed' ELSE 'email_sent' END, 'email', '', '', '{}', created_at FROM profile "
                "WHERE database_id = :d AND id % 10 = 0"
            ),
            {"d": database_id},
        )
    day_counts.count_database(db.session.get_one(Database, database_id))
    db.session.commit()
    profiles_bench.analyze()


def timed(call, repeat: int) -> list[float]:
    from webapp.extensions import db

    times = []
    for round_ in range(WARMUPS + repeat):
        db.session.remove()
        started = time.perf_counter()
        call()
        if round_ >= WARMUPS:
            times.append((time.perf_counter() - started) * 1000)
    db.session.remove()
    return times


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from sqlalchemy import select, text

    from webapp.config import normalize_database_url

    url = normalize_database_url(args.database_url)
    profiles_bench.check_target(url, args.profiles)
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.pop("REDIS_URL", None)

    from webapp import create_app
    from webapp.dashboard import figures
    from webapp.extensions import db
    from webapp.models import Account, Database, Profile
    from webapp.profiles import lists, text_search

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": ""})
    with app.app_context():
        print(f"bench dashboard: {args.profiles:,} profiles, {args.repeat} timed runs after {WARMUPS} warm-ups")
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs (shared); wall time in this process")
        args.json_path = None
        account_id, database_id, _creation = profiles_bench.build(args)
        spread(account_id, database_id)
        trigram = text_search.trigram_index_exists()
        print(f"trigram index: {'yes' if trigram else 'no (SQLite, or PostgreSQL without pg_trgm)'}")

        def account():
            return db.session.get_one(Account, account_id)

        dashboard_ms = timed(lambda: figures.figures(account(), database_id), args.repeat)
        count_sql = text("SELECT count(*) FROM profile WHERE account_id = :a AND database_id = :d")
        count_ms = timed(
            lambda: db.session.execute(count_sql, {"a": account_id, "d": database_id}).scalar(), args.repeat
        )

        def search_page():
            return [p.id for p in lists.list_profiles(account(), database_id, query=QUERY).items]

        database = db.session.get_one(Database, database_id)
        fields_condition = text_search.text_condition(database, QUERY)
        if trigram:  # the same condition without the pre-filter: what a scan costs
            fields_condition = (
                fields_condition.clauses[-1] if hasattr(fields_condition, "clauses") else fields_condition
            )
        scan = (
            select(Profile.id)
            .where(Profile.account_id == account_id, Profile.database_id == database_id, fields_condition)
            .order_by(Profile.id)
            .limit(lists.PAGE_SIZE + 1)
        )

        def scan_page():
            return list(db.session.scalars(scan))[: lists.PAGE_SIZE]

        assert search_page() == scan_page(), "the search and the scan found different profiles"
        search_ms = timed(search_page, args.repeat)
        scan_ms = timed(scan_page, args.repeat)
        shown = figures.figures(account(), database_id)
        print(
            f"figures: {shown.profiles_now:,} profiles, {shown.new_profiles.total:,} new in 30 days, "
            f"{shown.emails_sent.total:,} emails sent, {shown.unsubscribes.total:,} unsubscribes"
        )
        for label, values in (
            ("dashboard figures", dashboard_ms),
            ("count(*) of the database", count_ms),
            (f"list search {QUERY!r}, first page", search_ms),
            ("the same page by a scan", scan_ms),
        ):
            print(f"  {label:<36} median {statistics.median(values):9.1f} ms   max {max(values):9.1f} ms")
        dashboard, count = statistics.median(dashboard_ms), statistics.median(count_ms)
        search, plain = statistics.median(search_ms), statistics.median(scan_ms)
        print(f"BENCH dashboard: {dashboard:.1f} ms ({dashboard / count:.2f}x count of the database's profiles)")
        print(f"BENCH substring_search: {search:.1f} ms ({search / plain:.2f}x scan)")


if __name__ == "__main__":
    main()
