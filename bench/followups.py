"""Benchmark: follow-up runs (a field-update action) against bare RQ no-op jobs, on the same 2 workers.

In one run, against PostgreSQL and Redis:

1. **Baseline**: ``--runs`` bare RQ jobs (one no-op job each, as one job per run would be) are enqueued, then
   ``--workers`` worker processes (``worker.py``, the production worker: a forked work horse per job) run them;
   jobs/s from the workers' start until the queue is drained.
2. **Burst**: ``--runs`` follow-up runs of one follow-up whose action sets a field to ``{{ now }}`` are made
   due at once; the real dispatcher (``flask dispatcher``) and the same workers run them; runs/s from the
   workers' start until the last run is done (``finished_at``).
3. **Steady**: ``--steady-runs`` runs due over time at ``--steady-rate`` runs/s; lateness is each run's
   ``finished_at - due_at`` (p50, p99), which includes the dispatcher's wait when nothing is due.

Ends with ``BENCH followups: <runs/s> runs/s (<ratio>x rq no-op jobs)`` and a line with the p99 lateness.
Targets: >= 2,000 runs/s and p99 lateness < 2 s. The baseline and the burst also print the CPU time their
processes used (workers with their forked work horses, and the dispatcher; not PostgreSQL's or Redis'), per
job and per run: unlike the rates, it hardly depends on what else runs on the machine.

Usage (the database's name must contain "bench": its schema is dropped)::

    .venv/bin/python bench/followups.py --database-url postgresql://postgres@127.0.0.1/verrijk_h4_bench \
        --redis-url redis://127.0.0.1:6379/4
"""

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

from harness import ROOT, percentile

ACCOUNT_NAME = "Follow-up bench"


def noop() -> None:
    """The baseline job: nothing at all."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", ""))
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--baseline-jobs", type=int, default=0, help="no-op jobs for the baseline (default: --runs)")
    parser.add_argument("--steady-runs", type=int, default=20_000)
    parser.add_argument("--steady-rate", type=float, default=1_000.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if "bench" not in args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL database whose name contains 'bench' (it is wiped)")
    if not args.redis_url:
        parser.error("--redis-url is needed (its database is flushed)")
    args.baseline_jobs = args.baseline_jobs or args.runs
    return args


def create_database(url: str) -> None:
    """Create the bench database if it does not exist yet."""
    import psycopg2
    from sqlalchemy.engine import make_url

    parts = make_url(url)
    connection = psycopg2.connect(
        host=parts.host, port=parts.port or 5432, user=parts.username, password=parts.password, dbname="postgres"
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parts.database,))
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{parts.database}"')
    connection.close()


def reset_schema() -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from webapp.extensions import db

    with db.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    upgrade()
    db.session.remove()


def build(runs: int) -> int:
    """The account, a database with 3 fields, ``runs`` profiles and the follow-up; returns the follow-up's id."""
    from webapp.accounts import accounts
    from webapp.extensions import db
    from webapp.followups import definitions
    from webapp.models import FollowUp
    from webapp.profiles import databases, profiles
    from webapp.profiles.events import Origin
    from webapp.profiles.fields import FieldSpec, create_field

    reset_schema()
    account = accounts.get_or_create_account(ACCOUNT_NAME)
    database = databases.create_database(account, "Customers")
    for name, kind in (("Email", "email"), ("FirstName", "text"), ("Seen", "text")):
        create_field(account, FieldSpec(name=name, type=kind), database_id=database.id)
    seen = next(field.id for field in database.fields if field.name == "Seen")
    started = time.perf_counter()
    rows = ({"Email": f"p{n}@example.com", "FirstName": f"P{n}"} for n in range(runs))
    profiles.bulk_create_profiles(account, database.id, rows, origin=Origin("import", actor="bench"))
    print(f"created {runs:,} profiles in {time.perf_counter() - started:.1f} s", flush=True)
    cleaned = definitions.check_definition(
        account,
        database.id,
        trigger={"kind": "profile_updated", "fields": [seen]},
        activation_condition={},
        execution_condition={},
        delay={"kind": "none"},
        actions=[{"type": "update_fields", "values": {str(seen): "seen {{ now }}"}}],
    )
    followup = FollowUp(account_id=account.id, database_id=database.id, name="Bench", status="active", **cleaned)
    db.session.add(followup)
    db.session.commit()
    followup_id = followup.id
    analyze()
    return followup_id


def analyze() -> None:
    from sqlalchemy import text

    from webapp.extensions import db

    db.session.remove()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def add_runs(followup_id: int, due_times: list) -> None:
    """Insert runs for the first profiles, one per due time (Core, in chunks)."""
    from sqlalchemy import insert, select

    from webapp.extensions import db
    from webapp.followups.triggers import new_run_row
    from webapp.models import FollowUp, FollowUpRun, Profile, utcnow

    profile_ids = db.session.scalars(select(Profile.id).order_by(Profile.id).limit(len(due_times))).all()
    followup = db.session.get(FollowUp, followup_id)
    now = utcnow()
    rows = [new_run_row(followup, profile_id, due, now) for profile_id, due in zip(profile_ids, due_times, strict=True)]
    for start in range(0, len(rows), 10_000):
        db.session.execute(insert(FollowUpRun), rows[start : start + 10_000])
    db.session.commit()


def environment(args: argparse.Namespace) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url, "DISPATCH_INTERVAL": "0.2"}


def start_workers(args: argparse.Namespace) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [sys.executable, "worker.py"],
            cwd=ROOT,
            env=environment(args),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(args.workers)
    ]


def start_dispatcher(args: argparse.Namespace) -> subprocess.Popen:
    flask = str(Path(sys.executable).with_name("flask"))
    return subprocess.Popen(
        [flask, "--app", "webapp", "dispatcher"],
        cwd=ROOT,
        env=environment(args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def children_cpu() -> float:
    """CPU seconds of the processes this one started and reaped (with the work horses they reaped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def baseline(args: argparse.Namespace) -> float:
    """Bare RQ no-op jobs per second on ``args.workers`` fresh worker processes."""
    from rq.registry import StartedJobRegistry

    from webapp.platform.queues import get_queue, redis_connection

    redis_connection().flushdb()
    queue = get_queue()
    for start in range(0, args.baseline_jobs, 5_000):
        jobs = [
            queue.prepare_data("bench.followups.noop", result_ttl=600)
            for _ in range(start, min(start + 5_000, args.baseline_jobs))
        ]
        queue.enqueue_many(jobs)
    started, cpu = time.perf_counter(), children_cpu()
    workers = start_workers(args)
    started_registry = StartedJobRegistry(queue=queue)
    while queue.count or started_registry.count:
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    stop(workers)
    cpu = children_cpu() - cpu
    print(
        f"baseline: {args.baseline_jobs:,} no-op jobs in {seconds:.1f} s = {args.baseline_jobs / seconds:,.0f} jobs/s; "
        f"worker CPU {cpu * 1000 / args.baseline_jobs:.1f} ms per job (with the workers' start-up)",
        flush=True,
    )
    return args.baseline_jobs / seconds


def wait_done(followup_id: int, count: int) -> None:
    from sqlalchemy import func, select

    from webapp.extensions import db
    from webapp.models import FollowUpRun

    while True:
        done = db.session.scalar(
            select(func.count()).where(
                FollowUpRun.followup_id == followup_id, FollowUpRun.status != "pending", FollowUpRun.status != "queued"
            )
        )
        db.session.rollback()
        if done >= count:
            return
        time.sleep(0.2)


def run_phase(args: argparse.Namespace, followup_id: int, due_times: list) -> tuple[list, float]:
    """Insert runs with ``due_times``, run them with the dispatcher and the workers; returns the finished rows
    and the CPU seconds the dispatcher and the workers used."""
    from sqlalchemy import delete, select

    from webapp.extensions import db
    from webapp.models import FollowUpRun
    from webapp.platform.queues import redis_connection

    db.session.execute(delete(FollowUpRun))
    db.session.commit()
    redis_connection().flushdb()
    add_runs(followup_id, due_times)
    cpu = children_cpu()
    processes = start_workers(args) + [start_dispatcher(args)]
    try:
        wait_done(followup_id, len(due_times))
    finally:
        stop(processes)
    cpu = children_cpu() - cpu
    rows = db.session.execute(select(FollowUpRun.status, FollowUpRun.due_at, FollowUpRun.finished_at)).all()
    statuses = {status for status, _due, _finished in rows}
    if statuses != {"done"}:
        raise SystemExit(f"runs ended as {statuses}, not all done")
    return rows, cpu


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = args.database_url, args.redis_url
    sys.path.insert(0, str(ROOT))
    from webapp import create_app
    from webapp.models import utcnow

    create_database(args.database_url)
    app = create_app()
    with app.app_context():
        followup_id = build(max(args.runs, args.steady_runs))
        jobs_per_second = baseline(args)

        start = utcnow()
        started = time.perf_counter()
        rows, cpu = run_phase(args, followup_id, [start] * args.runs)
        wall = time.perf_counter() - started
        last = max(finished for _status, _due, finished in rows)
        seconds = (last - start).total_seconds()
        runs_per_second = args.runs / seconds
        print(
            f"burst: {args.runs:,} runs in {seconds:.1f} s (wall with start-up {wall:.1f} s) = "
            f"{runs_per_second:,.0f} runs/s; dispatcher and worker CPU {cpu * 1000 / args.runs:.3f} ms per run "
            "(with their start-up)",
            flush=True,
        )

        begin = utcnow() + timedelta(seconds=5)
        due = [begin + timedelta(seconds=n / args.steady_rate) for n in range(args.steady_runs)]
        rows, _cpu = run_phase(args, followup_id, due)
        lateness = [(finished - due_at).total_seconds() for _status, due_at, finished in rows]
        p50, p99 = statistics.median(lateness), percentile(lateness, 0.99)
        print(
            f"steady: {args.steady_runs:,} runs due at {args.steady_rate:,.0f}/s: lateness p50 {p50:.2f} s, "
            f"p99 {p99:.2f} s, max {max(lateness):.2f} s",
            flush=True,
        )
    print(f"BENCH followups-lateness: p99 {p99:.2f} s (p50 {p50:.2f} s)")
    print(f"BENCH followups: {runs_per_second:,.0f} runs/s ({runs_per_second / jobs_per_second:.1f}x rq no-op jobs)")


if __name__ == "__main__":
    main()
