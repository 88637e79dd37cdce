"""Benchmark: what the audit log's flush listener costs the product's writes.

Every flush of every session passes through ``accounts.audit``'s ``after_flush`` listener (and every ORM
statement through its ``do_orm_execute`` check). This measures, in one process on one database, alternating
rounds with the listeners attached and detached (the baseline):

- profile updates (``profiles.update_profile``: not audited, so the listener only looks and writes nothing),
  the hot path it must not slow down;
- field renames (``fields.update_field`` of another field: audited, so each also writes an entry), what an
  audited change costs.

Ends with ``BENCH audit: N profile updates/s (R x without the listener)``; the field figures are printed above.

Usage::

    .venv/bin/python bench/audit.py [--database-url postgresql://postgres@127.0.0.1/<a database with "bench">]
    [--updates 2000] [--rounds 3]

Without ``--database-url`` a SQLite file in a temporary folder. A PostgreSQL database must have "bench" in its
name: its schema is wiped and migrated.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="")
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    url = options.database_url or f"sqlite:///{tempfile.mkdtemp(prefix='verrijk-bench-audit-')}/bench.sqlite"
    if url.startswith("postgresql") and "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("the PostgreSQL database's name must contain 'bench' (its schema is wiped)")
    os.environ.setdefault("SECRET_KEY", "bench")

    from flask_migrate import upgrade
    from sqlalchemy import event, text
    from sqlalchemy.orm import Session

    from webapp import create_app
    from webapp.accounts import accounts, audit
    from webapp.extensions import db
    from webapp.profiles import databases, profiles
    from webapp.profiles.events import Origin
    from webapp.profiles.fields import FieldSpec, create_field, update_field

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        upgrade()
        account = accounts.get_or_create_account("Bench")
        database = databases.create_database(account, "Customers")
        create_field(account, FieldSpec(name="Email", type="email", indexed=True), database_id=database.id)
        create_field(account, FieldSpec(name="City", type="text"), database_id=database.id)
        note = create_field(account, FieldSpec(name="Note", type="text"), database_id=database.id)
        profile = profiles.create_profile(account, database.id, {"Email": "ann@example.com"}, origin=Origin("admin"))
        origin = Origin("admin", actor="bench")
        counter = [0]

        def attach(on: bool) -> None:
            pairs = ((Session, "after_flush", audit._after_flush), (Session, "do_orm_execute", audit._refuse_bulk))
            for target, name, listener in pairs:
                if on and not event.contains(target, name, listener):
                    event.listen(target, name, listener)
                if not on and event.contains(target, name, listener):
                    event.remove(target, name, listener)

        def profile_rate() -> float:
            started = time.perf_counter()
            for _ in range(options.updates):
                counter[0] += 1
                profiles.update_profile(account, profile.id, {"City": f"City {counter[0]}"}, origin=origin)
            return options.updates / (time.perf_counter() - started)

        def field_rate() -> float:
            count = max(50, options.updates // 10)
            started = time.perf_counter()
            for _ in range(count):
                counter[0] += 1
                update_field(account, note.id, FieldSpec(name=f"Note{counter[0]}", type="text"))
            return count / (time.perf_counter() - started)

        profile_rate()  # warm up
        with_listener, without, field_with, field_without = [], [], [], []
        for number in range(options.rounds):
            for on in (False, True) if number % 2 == 0 else (True, False):
                attach(on)
                (with_listener if on else without).append(profile_rate())
                (field_with if on else field_without).append(field_rate())
        attach(True)
        entries = db.session.scalar(text("SELECT count(*) FROM audit_entry"))
        ratios = [a / b for a, b in zip(with_listener, without, strict=True)]
        print(f"engine: {db.engine.dialect.name}; {options.rounds} round pairs; audit entries written: {entries}")
        print("profile updates/s with listener:   ", [round(rate) for rate in with_listener])
        print("profile updates/s without listener:", [round(rate) for rate in without])
        print("field updates/s with listener:     ", [round(rate) for rate in field_with])
        print("field updates/s without listener:  ", [round(rate) for rate in field_without])
        print(f"field updates: {statistics.median(field_with) / statistics.median(field_without):.2f}x without")
        median = statistics.median(with_listener)
        print(f"BENCH audit: {median:.0f} profile updates/s ({statistics.median(ratios):.2f}x without the listener)")


if __name__ == "__main__":
    main()
