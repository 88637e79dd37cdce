"""Benchmark: survey page submissions through the public API against the forms bench's bare endpoint, same run.

Sets up what ``bench/forms.py`` sets up (a fresh schema in a database whose name contains "bench", the app under
gunicorn with the bare endpoint ``POST /bench/bare`` that parses a urlencoded body and inserts one row) plus a
three-page survey on the same database: a required radio question (page 1), an open line and a rating (page
2), and an NPS question (page 3). Each client thread answers the survey again and again through
``POST /p/surveys/KEY/pages`` with an allowed ``Origin`` and a valid fill-time token: page 1 starts a response,
pages 2 and 3 resume it by the resume key the previous answer gave, and page 3 completes it. Every page
submission is counted; the bare endpoint is loaded by the same client in alternating rounds.

As in the forms bench, the rate limit (``FORM_RATE_LIMIT``, which surveys share) is off; every other check runs
(origin, honeypot, token signature, validation, conditions, the partial save per page). Ends with
``BENCH surveys: N page submissions/s (R x bare)``; target >= 0.5x bare.

Usage::

    .venv/bin/python bench/surveys.py --database-url postgresql://postgres@127.0.0.1/verrijk_bench_surveys
"""

import json
import os
import statistics
import threading
import time

from forms import NO_FORM_LIMITS, TAG, Connection, CpuMeter, Target, bare_target, parse_args, prepare, start_server

PAGES = [
    {"items": [{"id": "colour", "type": "choice", "label": "Colour", "options": ["red", "blue"], "required": True}]},
    {
        "items": [
            {
                "id": "why",
                "type": "open",
                "label": "Why?",
                "condition": {"rules": [{"source": "answer", "name": "colour", "op": "equals", "value": "red"}]},
            },
            {"id": "stars", "type": "rating", "label": "Stars", "scale": 5},
        ]
    },
    {"items": [{"id": "nps", "type": "nps", "label": "Recommend us?", "required": True}]},
]


def prepare_survey(url: str) -> tuple[str, str]:
    """The forms bench's schema plus the survey; returns its key and a valid fill-time token."""
    from webapp import create_app
    from webapp.config import normalize_database_url
    from webapp.extensions import db
    from webapp.models import Account, Database
    from webapp.surveys import builder
    from webapp.webforms import spam

    prepare(url)
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": normalize_database_url(url), "REDIS_URL": os.environ.get("REDIS_URL", "")}
    )
    with app.app_context():
        account = db.session.query(Account).one()
        database = db.session.query(Database).one()
        survey = builder.create_survey(account, database.id, "Bench")
        settings = {"languages": ["en"], "one_per_profile": False}
        builder.update_survey(
            account, survey.id, name="Bench", pages=PAGES, settings=settings, origins=["https://shop.example"]
        )
        key, token = survey.key, spam.issue_token(f"survey:{survey.key}", now=time.time() - 60)
        db.session.remove()
    return key, token


def page_targets(key: str, token: str) -> list[Target]:
    path = f"/p/surveys/{key}/pages"
    common = {"_token": token, "_hp": ""}
    return [
        Target("survey", path, {**common, "_page": "0", "q_colour": "red"}, b'"status":"page"'),
        Target("survey", path, {**common, "_page": "1", "r": TAG, "q_why": "warm", "q_stars": "4"}, b'"status":"page"'),
        Target("survey", path, {**common, "_page": "2", "r": TAG, "q_nps": "9"}, b'"status":"complete"'),
    ]


def answer_survey(connection: Connection, pages: list[Target]) -> None:
    """One respondent: three page submissions, resumed by the resume key each answer gives."""
    resume = ""
    for target in pages:
        status, data = connection.post(target, target.make_body(resume))
        if status != 200 or target.ok not in data:
            raise RuntimeError(f"{target.path}: HTTP {status}: {data[:300]!r}")
        resume = json.loads(data)["resume_key"]


def survey_throughput(port: int, pages: list[Target], clients: int, seconds: float, meter: CpuMeter | None = None):
    """Page submissions/s of ``clients`` threads answering the survey as fast as they can for ``seconds``."""
    before = meter.sample() if meter else {}
    counts = [0] * clients
    errors: list[Exception] = []
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        connection = Connection(port)
        try:
            while time.perf_counter() < deadline:
                answer_survey(connection, pages)
                counts[number] += len(pages)
        except Exception as error:  # noqa: BLE001 - reported after the run
            errors.append(error)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    after = meter.sample() if meter else {}
    cpu = {party: (after[party] - before[party]) * 1000 / max(sum(counts), 1) for party in before}
    return sum(counts) / elapsed, cpu


def main() -> None:
    from forms import throughput

    args = parse_args()
    os.environ.setdefault("SECRET_KEY", "bench-secret-key")
    key, token = prepare_survey(args.database_url)
    server, port = start_server(args)
    pages, bare = page_targets(key, token), bare_target()
    meter = CpuMeter(server.pid, args.database_url)
    try:
        print(f"rate limits are OFF for this run ({', '.join(f'{k}={v}' for k, v in NO_FORM_LIMITS.items())})")
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
        survey_throughput(port, pages, args.clients, 1.0)  # warm up
        throughput(port, bare, args.clients, 1.0)
        rates: dict[str, list[float]] = {"survey": [], "bare": []}
        for number in range(args.rounds):
            for name in ("survey", "bare") if number % 2 == 0 else ("bare", "survey"):
                if name == "survey":
                    rate, cpu = survey_throughput(port, pages, args.clients, args.seconds, meter)
                else:
                    rate, cpu = throughput(port, bare, args.clients, args.seconds, meter)
                rates[name].append(rate)
                shares = ", ".join(f"{party} {value:.2f}" for party, value in cpu.items())
                print(
                    f"  round {number + 1} {name:>6}: {rate:7.1f} requests/s; CPU ms per request: {shares}", flush=True
                )
    finally:
        server.terminate()
        server.wait(timeout=30)
    survey_rate, bare_rate = statistics.median(rates["survey"]), statistics.median(rates["bare"])
    ratio = statistics.median(s / b for s, b in zip(rates["survey"], rates["bare"], strict=True))
    print(
        f"{args.clients} clients: survey {survey_rate:.0f} page submissions/s, bare {bare_rate:.0f} inserts/s "
        f"(median of {args.rounds} rounds of {args.seconds:g} s; median ratio of round pairs {ratio:.2f}x)"
    )
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(f"BENCH surveys: {survey_rate:.0f} page submissions/s ({ratio:.2f}x bare) target >= 0.5x")


if __name__ == "__main__":
    main()
