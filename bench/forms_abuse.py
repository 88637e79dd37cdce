"""The abuse round of ``bench/forms.py``: one client address flooding a form under the default rate limits.

A second gunicorn serves the app as configured by default (``FORM_RATE_LIMIT`` 20 a minute per address and
form, ``FORM_RATE_LIMIT_PER_FORM`` 600 a minute). The same client threads send, from one address and as fast
as they can, a mix of what an attacker sends: spam with a forged token and 100 fields of 500 characters (the
biggest spam log row), a filled honeypot, a reused fill-time token, and real submissions with fresh tokens. It
reports the answers by status and how much the database grew per minute (``pg_database_size`` and the rows of
``form_submission``): bounded by the limiter and the spam log's capped sample, whatever the flood's rate. A
second, shorter flood runs with the rate limits off and only what is refused (no real submissions): there the
spam log's cap alone (``SPAM_LOG_SAMPLES_PER_DAY`` rows per form and day, counted beyond) bounds the growth.
"""

import os
import threading
import time
from collections import Counter

from harness import start_gunicorn

SPAM_FIELDS = {f"x{n}": "s" * 500 for n in range(100)}


def hostile_targets(key: str, names: dict[str, str], tokens) -> list:
    from forms import TAG, TOKEN, Target

    path, any_answer = f"/p/forms/{key}/submissions", b""
    valid = {names["email"]: f"{TAG}@example.com", "cok": "1", "_token": TOKEN, "_hp": ""}
    used = tokens.take()
    return [
        Target("spam", path, {**SPAM_FIELDS, names["email"]: f"{TAG}@example.com", "_token": "1.forged.x"}, any_answer),
        Target("honeypot", path, {**valid, "_hp": "http://spam.example", "_token": used}, any_answer),
        Target("reused", path, {**valid, "_token": used}, any_answer),
        Target("valid", path, valid, any_answer, tokens),
    ]


def flood(port: int, targets: list, clients: int, seconds: float) -> Counter:
    """Answers by HTTP status of ``clients`` threads sending ``targets`` in turn as fast as they can."""
    from forms import Connection

    run, statuses, lock = time.time_ns(), Counter(), threading.Lock()
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        connection, mine, sent = Connection(port), Counter(), 0
        try:
            while time.perf_counter() < deadline:
                target = targets[sent % len(targets)]
                status, _ = connection.post(target, target.make_body(f"abuse{run}-{number}-{sent}"))
                mine[status] += 1
                sent += 1
        finally:
            connection.close()
            with lock:
                statuses.update(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def footprint(database_url: str) -> dict[str, int]:
    """The database's size in bytes, and the spam log's rows and counts."""
    import psycopg2

    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_database_size(current_database()), pg_total_relation_size('form_submission'), "
            "(SELECT count(*) FROM form_submission), (SELECT coalesce(sum(refused), 0) FROM form_day_stat)"
        )
        size, table, rows, refused = cursor.fetchone()
    connection.close()
    return {"database bytes": size, "form_submission bytes": table, "rows": rows, "refused counted": refused}


def run_abuse(args, key: str, names: dict[str, str], tokens) -> None:
    """Two floods: with the default rate limits (everything an attacker sends), then with the limits off and
    only what is refused (spam, honeypot, reused tokens), where the spam log's sample cap alone bounds growth."""
    targets = hostile_targets(key, names, tokens)
    with_limits = "forms:create_bench_app(default_limits=True)"
    flood_round(args, with_limits, targets, args.abuse_seconds, "default rate limits, one address")
    without_limits = "forms:create_bench_app()"
    refused_only = [target for target in targets if target.name != "valid"]
    flood_round(args, without_limits, refused_only, args.abuse_seconds / 2, "rate limits OFF, refused requests only")


def flood_round(args, app: str, targets: list, seconds: float, title: str) -> None:
    env = {**os.environ, "DATABASE_URL": args.database_url, "BENCH_THREADS": str(args.threads)}
    for name in ("FORM_RATE_LIMIT", "FORM_RATE_LIMIT_PER_FORM", "FORM_MIN_FILL_SECONDS"):
        env.pop(name, None)
    server, port = start_gunicorn(app, "/embed.js", workers=args.workers, threads=args.threads, env=env)
    try:
        before = footprint(args.database_url)
        statuses = flood(port, targets, args.clients, seconds)
        after = footprint(args.database_url)
    finally:
        server.terminate()
        server.wait(timeout=30)
    total, per_minute = sum(statuses.values()), 60 / seconds
    answers = ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
    print()
    print(f"abuse, {title}, {args.clients} clients for {seconds:g} s:")
    print(f"  {total} requests ({total / seconds:.0f}/s); answers {answers}")
    for name in before:
        grown = after[name] - before[name]
        print(f"  {name}: +{grown} (+{grown * per_minute:.0f} per minute)")
