"""Benchmark: the hourly date-field scan (``triggers.scan_date_triggers``) on a large database.

Builds a database of ``--profiles`` profiles with a ``Birthday`` date (not indexed) and a ``Renewal`` date
(indexed), spread over the years, ``--today`` of them on today's date in each; and two active follow-ups: a
yearly one on the birthday, and one three days before the renewal. Then scans (each scan rolled back, so
every scan does the same work) ``--repeat`` times with the current filter, and as many times with the filter
it replaced (every profile with a non-empty date, dates compared in Python), and prints per scan: wall time,
this process's CPU time, SQL statements, profiles loaded and runs made. Both must make the same runs.

Usage (the database's name must contain "bench": its schema is dropped)::

    .venv/bin/python bench/followup_date_scan.py --database-url postgresql://postgres@127.0.0.1/verrijk_h5_bench
"""

import argparse
import os
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.followups import analyze, create_database, reset_schema  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--profiles", type=int, default=200_000)
    parser.add_argument("--today", type=int, default=5, help="profiles on today's date, per date field")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    if "bench" not in args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL database whose name contains 'bench' (it is wiped)")
    return args


def build(count: int, on_today: int) -> None:
    """The account (UTC), the database, its profiles and the two date-field follow-ups."""
    from webapp.accounts import accounts
    from webapp.extensions import db
    from webapp.followups import definitions
    from webapp.models import FollowUp, utcnow
    from webapp.profiles import databases, profiles
    from webapp.profiles.events import Origin
    from webapp.profiles.fields import FieldSpec, create_field

    reset_schema()
    account = accounts.get_or_create_account("Date scan bench")
    account.time_zone = "UTC"
    database = databases.create_database(account, "Customers")
    create_field(account, FieldSpec(name="Email", type="email"), database_id=database.id)
    birthday = create_field(account, FieldSpec(name="Birthday", type="date"), database_id=database.id)
    renewal = create_field(account, FieldSpec(name="Renewal", type="date", indexed=True), database_id=database.id)
    today = utcnow().date()
    picker = random.Random(5)

    def some_day(first: date, days: int) -> str:
        return (first + timedelta(days=picker.randrange(days))).isoformat()

    def row(number: int) -> dict:
        if number < on_today:  # a birthday today, a renewal in three days
            born, renews = today.replace(year=1980).isoformat(), (today + timedelta(days=3)).isoformat()
        else:
            born, renews = some_day(date(1940, 1, 1), 70 * 365), some_day(today - timedelta(days=2000), 4000)
        return {"Email": f"p{number}@example.com", "Birthday": born, "Renewal": renews}

    started = time.perf_counter()
    profiles.bulk_create_profiles(account, database.id, map(row, range(count)), origin=Origin("import", actor="bench"))
    print(f"created {count:,} profiles in {time.perf_counter() - started:.1f} s", flush=True)
    for field, yearly, offset in ((birthday, True, 0), (renewal, False, -3)):
        trigger = {"kind": "date_field", "field_id": field.id, "offset_days": offset, "time": "00:00", "yearly": yearly}
        cleaned = definitions.check_definition(
            account,
            database.id,
            trigger=trigger,
            activation_condition={},
            execution_condition={},
            delay={"kind": "none"},
            actions=[{"type": "update_fields", "values": {str(field.id): "{{ today }}"}}],
        )
        db.session.add(FollowUp(account_id=account.id, database_id=database.id, name=field.name, **cleaned))
    db.session.commit()
    analyze()


def old_filter(field, days, *, yearly):
    """The filter the scan used before: every profile with a non-empty value in the field."""
    from webapp.models import Profile

    return Profile.fields[str(field.id)].as_string() != ""


def scan_once() -> dict[str, float]:
    from sqlalchemy import event

    from webapp.extensions import db
    from webapp.followups import triggers
    from webapp.models import Profile

    counts = {"statements": 0, "loaded": 0}

    def statement(*_args) -> None:
        counts["statements"] += 1

    def loaded(*_args) -> None:
        counts["loaded"] += 1

    db.session.remove()
    engine = db.engine
    event.listen(engine, "before_cursor_execute", statement)
    event.listen(Profile, "load", loaded)
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        runs = triggers.scan_date_triggers()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(Profile, "load", loaded)
        db.session.rollback()
    return {"wall": wall, "cpu": cpu, "runs": runs, **counts}


def measure(label: str, repeat: int) -> int:
    scans = [scan_once() for _ in range(repeat)]
    best = min(scans, key=lambda scan: scan["wall"])
    print(
        f"BENCH date-scan {label}: {best['wall'] * 1000:,.0f} ms wall, {best['cpu'] * 1000:,.0f} ms CPU, "
        f"{best['statements']} statements, {best['loaded']:,} profiles loaded, {best['runs']} runs "
        f"(best of {repeat}; load average {os.getloadavg()[0]:.2f})",
        flush=True,
    )
    return best["runs"]


def explain_renewal() -> None:
    """The plan of the indexed (non-yearly) scan query, to show it walks ``ix_profile_field_<id>``."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.followups import triggers
    from webapp.models import Field, Profile, utcnow

    field = db.session.scalar(select(Field).where(Field.name == "Renewal"))
    today = utcnow().date()
    days = [today + timedelta(days=shift + 3) for shift in range(-2, 4)]
    query = select(Profile).where(
        Profile.database_id == field.database_id, triggers._on_days(field, days, yearly=False)
    )
    compiled = query.compile(db.engine, compile_kwargs={"literal_binds": True})
    for (line,) in db.session.execute(db.text(f"EXPLAIN {compiled}")):
        print(f"  {line}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ["DATABASE_URL"] = args.database_url
    from webapp import create_app
    from webapp.followups import triggers

    create_database(args.database_url)
    app = create_app()
    with app.app_context():
        build(args.profiles, args.today)
        explain_renewal()
        now = measure("sql filter", args.repeat)
        current = triggers._on_days
        triggers._on_days = old_filter
        try:
            before = measure("python filter (before)", args.repeat)
        finally:
            triggers._on_days = current
        if now != before:
            raise SystemExit(f"the filters made different runs: {now} != {before}")


if __name__ == "__main__":
    main()
