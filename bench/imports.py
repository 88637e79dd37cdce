"""Benchmark: importing a CSV file of N lines x 10 fields (an email key), half new profiles, half updates,
against a raw PostgreSQL ``COPY`` of the same file into an unindexed table, in the same run.

The bench account gets a database with 10 fields (Email as the key, indexed; text, country, date, number,
decimal, choice and datetime fields) and N/2 existing profiles, written straight with ``COPY`` (setting up
is not measured). The file's even lines update those profiles (other names, cities, scores), its odd lines
create new ones. The import is uploaded, mapped and queued through the imports service; a separate worker
process (this script with ``--worker``) then applies it with ``imports_apply.apply_run`` — the service call an
RQ worker makes — and reports its wall time, CPU time and peak resident memory (``VmHWM``), and the CPU
time of the PostgreSQL backend serving it when the server runs on this machine. The baseline is
``COPY bench_copy FROM STDIN (FORMAT csv, HEADER)`` of the same file into a table of ten text columns
without indexes, through the same driver. The counts and a sample of stored values are checked.

Usage::

    .venv/bin/python bench/imports.py --database-url postgresql://postgres@127.0.0.1/verrijk_bench
    .venv/bin/python bench/imports.py --lines 100000 --reuse   # keep the schema (skip the migrations)
    .venv/bin/python bench/imports.py --lines 100000 --reuse --consent   # with a stated basis (consent records)

The database's name must contain "bench": its ``public`` schema is dropped (unless ``--reuse``) and the
bench tables are emptied at every run. Ends with ``BENCH imports: <lines/s> lines/s (<ratio>x COPY)``.
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from harness import cpu_seconds

ACCOUNT_NAME = "Verrijk bench"
CONSENT = {"purpose": "newsletter", "text": "Signed up in the shop", "basis": "consent"}
DATABASE_NAME = "Imports"
FIELDS = {
    "Email": {"type": "email", "indexed": True},
    "FirstName": {"type": "text"},
    "LastName": {"type": "text"},
    "City": {"type": "text"},
    "Country": {"type": "country"},
    "Birthday": {"type": "date"},
    "Score": {"type": "number"},
    "Revenue": {"type": "decimal"},
    "Newsletter": {"type": "choice", "options": {"choices": ["yes", "no", "weekly"]}},
    "LastOrder": {"type": "datetime"},
}
FIRST_NAMES = (
    "Anna",
    "Bas",
    "Charlotte",
    "Daan",
    "Emma",
    "Femke",
    "Gijs",
    "Hugo",
    "Iris",
    "Jan",
    "Julia",
    "Kees",
    "Lotte",
    "Maarten",
    "Noor",
    "Pieter",
    "Ruben",
    "Sanne",
    "Thijs",
    "Vera",
    "Wouter",
    "Zoë",
)
LAST_NAMES = (
    "de Jong",
    "Jansen",
    "de Vries",
    "van den Berg",
    "van Dijk",
    "Bakker",
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
    "Dekker",
    "Brouwer",
)
CITIES = ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven", "Groningen", "Antwerpen", "Gent", "Köln", "London")
COUNTRIES = ("NL", "NL", "NL", "BE", "DE", "GB", "nl", "Netherlands")
DOMAINS = ("example.com", "example.nl", "mail.example.org", "Example.BE")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines in the file (default 1,000,000)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", ""),
        help="a PostgreSQL URL whose database name contains 'bench' (default $DATABASE_URL)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep the schema: skip dropping it and migrating")
    parser.add_argument("--seed", type=int, default=2024, help="seed of the generated values")
    parser.add_argument(
        "--consent", action="store_true", help="state a lawful basis in the mapping (a consent record per profile)"
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)  # internal: apply this run and report
    return parser.parse_args(argv)


def make_app(url: str):
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    os.environ.pop("REDIS_URL", None)
    from webapp import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "REDIS_URL": "", "IMPORT_FOLDER": str(work_folder())})


def work_folder() -> Path:
    return Path(tempfile.gettempdir()) / f"verrijk-bench-imports-{os.getuid()}"


def email(number: int) -> str:
    return f"Person.{number}@{DOMAINS[number % len(DOMAINS)]}"


def write_file(path: Path, lines: int, seed: int) -> None:
    """Even lines update existing profile ``i // 2``; odd lines create a new one."""
    rng = random.Random(seed)
    start = date(1950, 1, 1)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(FIELDS)
        for line in range(lines):
            number = line // 2 if line % 2 == 0 else lines + line
            writer.writerow(
                [
                    email(number),
                    rng.choice(FIRST_NAMES),
                    rng.choice(LAST_NAMES),
                    rng.choice(CITIES),
                    rng.choice(COUNTRIES),
                    (start + timedelta(days=rng.randrange(20000))).isoformat(),
                    rng.randrange(1000),
                    f"{rng.randrange(100000) / 100:.2f}",
                    rng.choice(("yes", "no", "Weekly")),
                    f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} {rng.randrange(24):02d}:"
                    f"{rng.randrange(60):02d}:00",
                ]
            )


def reset_schema(reuse: bool) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import inspect, text

    from webapp.extensions import db

    if not reuse or "alembic_version" not in inspect(db.engine).get_table_names():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    upgrade()
    tables = ", ".join(
        name for name in inspect(db.engine).get_table_names() if name not in ("alembic_version", "bench_copy")
    )
    with db.engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(text("DROP TABLE IF EXISTS bench_copy"))
        connection.execute(text("CREATE TABLE bench_copy (" + ", ".join(f"c{i} text" for i in range(10)) + ")"))
    db.session.remove()


def seed(lines: int) -> tuple[int, int]:
    """The account, its database and fields, and ``lines // 2`` existing profiles (written with COPY)."""
    import io
    import secrets

    from webapp.accounts import accounts
    from webapp.extensions import db
    from webapp.profiles import databases
    from webapp.profiles.fields import FieldSpec, create_field

    account = accounts.get_or_create_account(ACCOUNT_NAME)
    database = databases.create_database(account, DATABASE_NAME)
    for name, spec in FIELDS.items():
        create_field(account, FieldSpec(name=name, **spec), database_id=database.id)
    keys = {f.name: f.key for f in database.fields}
    account_id, database_id = account.id, database.id
    db.session.remove()
    buffer = io.StringIO()
    for number in range((lines + 1) // 2):
        values = {
            keys["Email"]: email(number).replace(DOMAINS[3], DOMAINS[3].lower()),
            keys["FirstName"]: "Old",
            keys["Score"]: number % 7,
        }
        text_json = json.dumps(values).replace("\\", "\\\\")
        buffer.write(
            f"{account_id}\t{database_id}\t{secrets.token_hex(16)}\t{text_json}\t[]\t"
            "2024-01-01 00:00:00\t2024-01-01 00:00:00\n"
        )
    buffer.seek(0)
    connection = db.engine.raw_connection()
    try:
        with connection.cursor() as cursor:
            cursor.copy_expert(
                "COPY profile (account_id, database_id, code, fields, interests, created_at, updated_at) FROM STDIN",
                buffer,
            )
            cursor.execute("ANALYZE profile")
        connection.commit()
    finally:
        connection.close()
    return account_id, database_id


def copy_baseline(path: Path) -> float:
    from webapp.extensions import db

    connection = db.engine.raw_connection()
    try:
        with connection.cursor() as cursor, path.open("rb") as data:
            cursor.execute("TRUNCATE bench_copy")
            connection.commit()
            started = time.perf_counter()
            cursor.copy_expert("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)", data)
            connection.commit()
            return time.perf_counter() - started
    finally:
        connection.close()


def prepare_run(account_id: int, database_id: int, path: Path, consent: bool = False) -> int:
    from webapp.extensions import db
    from webapp.imports import mapping as imports_mapping
    from webapp.imports import runs as imports
    from webapp.models import Account

    account = db.session.get(Account, account_id)
    with path.open("rb") as stream:
        run = imports.upload(account, database_id, stream, "bench.csv")
    definition = imports_mapping.get_definition(account, run.definition_id)
    imports_mapping.update_definition(
        account,
        definition.id,
        mapping={name: f"field:{name}" for name in FIELDS},
        key_fields=["Email"],
        on_match="update",
        on_no_match="create",
        on_empty="leave",
        options={"consent": CONSENT} if consent else None,
    )
    imports.start_run(account, run.id)
    return run.id


def check_consents(account_id: int, figures: dict) -> None:
    """With ``--consent``: one record per profile created or updated, with the stated basis."""
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import ConsentRecord

    count = db.session.scalar(
        select(func.count()).where(ConsentRecord.account_id == account_id, ConsentRecord.item == "newsletter")
    )
    assert count == figures["created"] + figures["updated"], (count, figures)
    print(f"consent records: {count:,}")


def peak_rss_mb() -> float:
    """This process's resident-memory high-water mark. ``VmHWM`` rather than ``ru_maxrss``: on Linux the
    latter carries over the parent's peak through fork and exec, so a child would report the bench's own."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker(run_id: int) -> None:
    """Apply the run as a worker does, then print its figures as JSON (the parent reads the last line).

    Besides its own CPU time it reports that of the PostgreSQL backend serving its connection (read from
    ``/proc``, so only when the server runs on this machine): the work the import gives the server."""
    from sqlalchemy import text

    from webapp.extensions import db
    from webapp.imports import apply as imports_apply

    backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    db.session.commit()
    backend_before = cpu_seconds(backend)
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    run = imports_apply.apply_run(run_id)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    backend_after = cpu_seconds(backend)
    same_backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one() == backend
    backend_cpu = (
        backend_after - backend_before if None not in (backend_before, backend_after) and same_backend else None
    )
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_rss_mb": peak_rss_mb(),
                "cpu_seconds": cpu,
                "backend_cpu_seconds": backend_cpu,
                "status": run.status,
                "error": run.error,
                "created": run.created,
                "updated": run.updated,
                "skipped": run.skipped,
                "rejected": run.rejected,
                "lines_done": run.lines_done,
            }
        )
    )
    db.session.remove()


def check(account_id: int, database_id: int, lines: int, figures: dict) -> None:
    """The counts, and one updated and one created profile as a reader finds them."""
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import Account, Profile, ProfileEvent
    from webapp.profiles import profiles

    expected = {"created": lines // 2, "updated": (lines + 1) // 2, "rejected": 0, "status": "done"}
    actual = {name: figures[name] for name in expected}
    if actual != expected:
        raise SystemExit(f"unexpected result {actual} (expected {expected}); error: {figures['error']}")
    total = db.session.scalar(select(func.count()).select_from(Profile).where(Profile.database_id == database_id))
    event_count = db.session.scalar(select(func.count()).select_from(ProfileEvent))
    if total != lines // 2 + (lines + 1) // 2 or event_count != lines:
        raise SystemExit(f"{total} profiles and {event_count} events after the import")
    account = db.session.get(Account, account_id)
    for number in (0, lines + 1):
        found = profiles.find_profiles(account, database_id, {"Email": email(number)})
        if len(found) != 1 or found[0].fields.get(
            str(next(f.id for f in found[0].database.fields if f.name == "FirstName"))
        ) in (None, "Old"):
            raise SystemExit(f"profile {email(number)} is not as imported: {[p.fields for p in found]}")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    from sqlalchemy.engine import make_url

    from webapp.config import normalize_database_url

    url = normalize_database_url(args.database_url or "postgresql://postgres@127.0.0.1:5432/verrijk_bench")
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or "bench" not in (parsed.database or ""):
        raise SystemExit("give a PostgreSQL URL whose database name contains 'bench' (--database-url)")
    app = make_app(url)
    with app.app_context():
        if args.worker:
            worker(args.worker)
            return
        work_folder().mkdir(exist_ok=True)
        path = work_folder() / f"bench-{args.lines}-{args.seed}.csv"
        if not path.exists():
            print(f"writing {path.name} ({args.lines:,} lines)", flush=True)
            write_file(path, args.lines, args.seed)
        print(
            f"bench imports: {args.lines:,} lines x {len(FIELDS)} fields ({path.stat().st_size / 1e6:.0f} MB), "
            f"{(args.lines + 1) // 2:,} updates and {args.lines // 2:,} new profiles; "
            f"{os.cpu_count()} CPUs (shared)",
            flush=True,
        )
        reset_schema(args.reuse)
        started = time.perf_counter()
        account_id, database_id = seed(args.lines)
        print(f"seeded {(args.lines + 1) // 2:,} profiles in {time.perf_counter() - started:.1f} s", flush=True)
        copy_seconds = copy_baseline(path)
        print(
            f"COPY into an unindexed table: {copy_seconds:.2f} s, {args.lines / copy_seconds:,.0f} lines/s", flush=True
        )
        run_id = prepare_run(account_id, database_id, path, args.consent)
        from webapp.extensions import db

        db.session.remove()
        db.engine.dispose()
    command = [sys.executable, __file__, "--database-url", url, "--worker", str(run_id)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    with app.app_context():
        check(account_id, database_id, args.lines, figures)
        if args.consent:
            check_consents(account_id, figures)
    seconds = figures["seconds"]
    rate = args.lines / seconds
    print(
        f"import (worker process): {seconds:.2f} s, {rate:,.0f} lines/s, created {figures['created']:,}, "
        f"updated {figures['updated']:,}; worker CPU {figures['cpu_seconds']:.1f} s, "
        f"peak RSS {figures['peak_rss_mb']:.0f} MB"
    )
    if figures["backend_cpu_seconds"] is not None:
        print(f"PostgreSQL backend CPU for the import: {figures['backend_cpu_seconds']:.1f} s")
    print(
        f"targets: >= 0.25x COPY {'ok' if copy_seconds / seconds >= 0.25 else 'FAIL'}, "
        f">= 50,000 lines/s {'ok' if rate >= 50_000 else 'FAIL'}, "
        f"peak < 200 MB {'ok' if figures['peak_rss_mb'] < 200 else 'FAIL'}"
    )
    print(f"BENCH imports: {rate:,.0f} lines/s ({copy_seconds / seconds:.2f}x COPY)")


if __name__ == "__main__":
    main()
