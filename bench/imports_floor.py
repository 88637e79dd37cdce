"""Benchmark: the least work PostgreSQL does to store what an import of ``bench/imports.py``'s file stores,
against the same baseline (a raw ``COPY`` of the file into an unindexed table), in the same run.

No import logic at all: no parsing into types, no key lookups, no policies, no diffs. The rows the import
would write are prepared in Python beforehand (not measured), with the profile ids already known, and
then written with PostgreSQL's fastest means, each step in one transaction:

1. ``COPY`` of the N/2 new profiles into ``profile``;
2. ``COPY`` of the N/2 updates (profile id, new values) into a temporary table, and one
   ``UPDATE profile … FROM`` it by primary key;
3. ``COPY`` of the N events (one per line, with their old → new values) into ``profile_event``.

That is done twice: into the real tables (as migrated, with their indexes, including the Email field's
expression index), and into bare copies of them that keep only their primary keys, with room on each page
(``fillfactor`` 30) so that every update is a HOT update — a lower bound for any schema that keeps a
profile row and an event row per line. The ratio printed is the baseline's time over the sum of the steps:
no import of this file into such tables can do better than that ratio.

Usage::

    .venv/bin/python bench/imports_floor.py --database-url postgresql://postgres@127.0.0.1/verrijk_bench
    .venv/bin/python bench/imports_floor.py --lines 100000 --reuse

The database's name must contain "bench" (the same rules as ``bench/imports.py``, whose file and seed it
uses). Ends with ``BENCH imports_floor: <lines/s> lines/s (<ratio>x COPY)`` for the real tables.
"""

import csv
import json
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import imports as bench
from harness import cpu_seconds

STEPS = ("insert new profiles (COPY)", "update profiles (COPY + UPDATE … FROM)", "insert events (COPY)")


def file_rows(path: Path) -> Iterator[list[str]]:
    with path.open(newline="", encoding="utf-8") as data:
        reader = csv.reader(data)
        next(reader)
        yield from reader


def typed(names: list[str], row: list[str]) -> dict[str, object]:
    values: dict[str, object] = dict(zip(names, row, strict=True))
    values["Score"] = int(values["Score"])
    values["Revenue"] = float(values["Revenue"])
    return values


def copy_text(value: str) -> str:
    """A value for ``COPY``'s text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def prepare(path: Path, folder: Path, keys: dict[str, str], ids: tuple[int, int], database: tuple[int, int]):
    """The three ``COPY`` inputs, written to files: new profiles, updates, events."""
    first_id, next_id = ids
    account_id, database_id = database
    names = list(bench.FIELDS)
    files = {name: (folder / f"{name}.copy").open("w", encoding="utf-8") for name in ("new", "updates", "events")}
    stamp = "2024-06-01 00:00:00"
    try:
        for line, row in enumerate(file_rows(path)):
            values = {keys[name]: value for name, value in typed(names, row).items()}
            fields = copy_text(json.dumps(values, separators=(",", ":")))
            if line % 2 == 0:
                profile_id = first_id + line // 2
                old = {keys["Email"]: row[0], keys["FirstName"]: "Old", keys["Score"]: (line // 2) % 7}
                diff = {key: [old.get(key), value] for key, value in values.items() if old.get(key) != value}
                files["updates"].write(f"{profile_id}\t{fields}\n")
                kind = "profile_updated"
            else:
                profile_id = next_id
                next_id += 1
                diff = {key: [None, value] for key, value in values.items()}
                files["new"].write(
                    f"{profile_id}\t{account_id}\t{database_id}\t{secrets.token_hex(16)}\t{fields}\t[]\t{stamp}\t{stamp}\n"
                )
                kind = "profile_created"
            changes = copy_text(json.dumps({"fields": diff, "interests": {}}, separators=(",", ":")))
            files["events"].write(
                f"{account_id}\t{database_id}\t{profile_id}\t{kind}\timport\timport 1\t\t{changes}\t{stamp}\n"
            )
    finally:
        for handle in files.values():
            handle.close()


@contextmanager
def timed(connection, figures: list[tuple[float, float | None]]):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    connection.commit()
    cpu_before = cpu_seconds(backend)
    started = time.perf_counter()
    yield
    connection.commit()
    seconds = time.perf_counter() - started
    cpu_after = cpu_seconds(backend)
    figures.append((seconds, None if None in (cpu_before, cpu_after) else cpu_after - cpu_before))


def write_all(connection, folder: Path, profile: str, event: str) -> tuple[list[tuple[float, float | None]], str]:
    """The three steps' wall and backend CPU times, and how many of the updates were HOT updates."""
    figures: list[tuple[float, float | None]] = []
    with connection.cursor() as cursor:
        with timed(connection, figures), (folder / "new.copy").open() as data:
            cursor.copy_expert(
                f"COPY {profile} (id, account_id, database_id, code, fields, interests, created_at, updated_at) "
                "FROM STDIN",
                data,
            )
        with timed(connection, figures), (folder / "updates.copy").open() as data:
            cursor.execute("CREATE TEMPORARY TABLE floor_updates (id integer, fields jsonb) ON COMMIT DROP")
            cursor.copy_expert("COPY floor_updates (id, fields) FROM STDIN", data)
            cursor.execute(
                f"UPDATE {profile} AS p SET fields = p.fields || u.fields, updated_at = now() "  # noqa: S608
                "FROM floor_updates AS u WHERE p.id = u.id"
            )
            cursor.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = %s", (profile,)
            )
            updated, hot = cursor.fetchone()
        with timed(connection, figures), (folder / "events.copy").open() as data:
            cursor.copy_expert(
                f"COPY {event} (account_id, database_id, profile_id, kind, source, reference, actor, changes, "
                "created_at) FROM STDIN",
                data,
            )
    return figures, f"{hot:,} of {updated:,} updates HOT (no new index entries)"


def bare_tables(connection, seeded: tuple[int, int]) -> None:
    """Copies of ``profile`` and ``profile_event`` with only their primary keys, holding the seeded profiles
    (ids ``seeded[0]`` to ``seeded[1]``)."""
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS floor_profile, floor_event")
        cursor.execute(
            "CREATE TABLE floor_profile (LIKE profile INCLUDING DEFAULTS, PRIMARY KEY (id)) WITH (fillfactor = 30)"
        )
        cursor.execute("CREATE TABLE floor_event (LIKE profile_event INCLUDING DEFAULTS, PRIMARY KEY (id))")
        cursor.execute("INSERT INTO floor_profile SELECT * FROM profile WHERE id BETWEEN %s AND %s", seeded)
    connection.commit()


def report(label: str, written: tuple[list[tuple[float, float | None]], str], copy_seconds: float, lines: int) -> float:
    figures, hot = written
    total = sum(seconds for seconds, _ in figures)
    print(f"{label}, {hot}:")
    for step, (seconds, cpu) in zip(STEPS, figures, strict=True):
        backend = "" if cpu is None else f", backend CPU {cpu:.1f} s"
        print(f"  {step}: {seconds:.2f} s{backend}")
    print(f"  in all: {total:.2f} s, {lines / total:,.0f} lines/s, {copy_seconds / total:.2f}x COPY")
    return total


def main() -> None:
    args = bench.parse_args()
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from webapp.config import normalize_database_url

    url = normalize_database_url(args.database_url or "postgresql://postgres@127.0.0.1:5432/verrijk_bench")
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or "bench" not in (parsed.database or ""):
        raise SystemExit("give a PostgreSQL URL whose database name contains 'bench' (--database-url)")
    app = bench.make_app(url)
    with app.app_context(), tempfile.TemporaryDirectory() as scratch:
        from webapp.extensions import db

        bench.work_folder().mkdir(exist_ok=True)
        path = bench.work_folder() / f"bench-{args.lines}-{args.seed}.csv"
        if not path.exists():
            bench.write_file(path, args.lines, args.seed)
        print(f"bench imports_floor: {args.lines:,} lines x {len(bench.FIELDS)} fields, the writes alone", flush=True)
        bench.reset_schema(args.reuse)
        account_id, database_id = bench.seed(args.lines)
        keys = {
            name: str(key)
            for name, key in db.session.execute(
                text("SELECT name, id FROM field WHERE database_id = :d AND collection_id IS NULL"), {"d": database_id}
            )
        }
        first_id, last_id = db.session.execute(text("SELECT min(id), max(id) FROM profile")).one()
        db.session.remove()
        prepare(path, Path(scratch), keys, (first_id, last_id + 1), (account_id, database_id))
        copy_seconds = bench.copy_baseline(path)
        print(f"COPY into an unindexed table: {copy_seconds:.2f} s, {args.lines / copy_seconds:,.0f} lines/s")
        connection = db.engine.raw_connection()
        try:
            real = report(
                "real tables",
                write_all(connection, Path(scratch), "profile", "profile_event"),
                copy_seconds,
                args.lines,
            )
            bare_tables(connection, (first_id, last_id))
            report(
                "bare tables (primary keys only, fillfactor 30)",
                write_all(connection, Path(scratch), "floor_profile", "floor_event"),
                copy_seconds,
                args.lines,
            )
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE floor_profile, floor_event")
            connection.commit()
        finally:
            connection.close()
    print(f"BENCH imports_floor: {args.lines / real:,.0f} lines/s ({copy_seconds / real:.2f}x COPY)")


if __name__ == "__main__":
    main()
