"""Fault tests in the scale-out shape: two RQ workers and two dispatchers, real processes, against one
PostgreSQL and one Redis. A worker and its work horse SIGKILLed mid-run, dispatchers SIGKILLed, Redis
flushed: every follow-up email goes out exactly once, no work is lost, and the work resumes within seconds
(issue 21, defect 6: it used to wait 10 minutes for RQ's clean-up, or 5 minutes after a ``FLUSHDB``)."""

import json
import sys
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.callback_receiver import Receiver
from tests.factories import make_database, make_followup
from tests.faults.cluster import Cluster, wait_until
from tests.smtp_server import smtp_server  # noqa: F401
from webapp.callbacks import definitions
from webapp.extensions import db
from webapp.models import CallbackDelivery, EmailTemplate, FollowUpRun
from webapp.platform import heartbeats
from webapp.platform.queues import redis_connection
from webapp.profiles import profiles
from webapp.profiles.events import Origin

IMPORT = Origin("import", reference="import:1")
RESUMED_WITHIN = 60  # seconds; before the fix a killed worker's runs waited about 13 minutes

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kills process trees through /proc (Linux)"),
]


@pytest.fixture
def postgresql(app):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("several dispatchers need PostgreSQL (FOR UPDATE SKIP LOCKED); set DATABASE_URL")


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def cluster(app, ctx, postgresql, smtp_server, tmp_path):  # noqa: F811
    app.config["SMTP_URL"] = smtp_server.url
    processes = Cluster(app, tmp_path)
    yield processes
    processes.stop()
    app.config["SMTP_URL"] = ""


@pytest.fixture
def shop(account):
    database = make_database(account, fields={"Email": "email", "Note": "text"})
    template = EmailTemplate(
        account_id=account.id, database_id=database.id, name="Welcome", subject="Welcome", text="Hello!", html=""
    )
    db.session.add(template)
    db.session.commit()
    return database, template


def welcome(account, shop, *then: dict) -> None:
    """A follow-up sending the welcome email to every new profile, then doing ``then``."""
    database, template = shop
    make_followup(
        account,
        database,
        trigger={"kind": "profile_created"},
        actions=[{"type": "send_email", "template_id": template.id}, *then],
    )


def add_profiles(account, shop, start: int, count: int) -> None:
    database, _template = shop
    rows = [{"Email": f"p{n}@example.com"} for n in range(start, start + count)]
    profiles.bulk_create_profiles(account, database.id, rows, origin=IMPORT)


def statuses() -> Counter:
    db.session.expire_all()
    rows = db.session.execute(select(FollowUpRun.status, func.count()).group_by(FollowUpRun.status)).all()
    counts = Counter({status: count for status, count in rows})
    db.session.rollback()
    return counts


def all_runs_done(total: int) -> bool:
    return statuses() == Counter({"done": total})


def assert_each_sent_once(smtp_server, total: int) -> None:  # noqa: F811
    recipients = Counter(envelope.rcpt_tos[0] for envelope in smtp_server.envelopes)
    assert recipients == Counter({f"p{n}@example.com": 1 for n in range(total)})


def sending_worker() -> int | None:
    """The process id of the worker running the follow-up job, as its heartbeat says."""
    busy = [beat for beat in heartbeats.processes(heartbeats.WORKER) if beat.job_id.startswith("followup-")]
    return busy[0].pid if busy else None


def test_a_worker_killed_with_its_work_horse_mid_run_loses_nothing_and_sends_nothing_twice(
    account,
    shop,
    cluster,
    smtp_server,  # noqa: F811
    receiver,
):
    welcome(account, shop, {"type": "webhook", "url": receiver.url})
    receiver.answers = ["hang"]  # the first webhook call holds its worker until we have killed it
    add_profiles(account, shop, 0, 30)
    workers = [cluster.start_worker(), cluster.start_worker()]
    cluster.start_dispatcher()
    cluster.start_dispatcher()
    wait_until(lambda: receiver.requests, timeout=RESUMED_WITHIN, what="a worker reached the webhook")
    wait_until(lambda: sending_worker(), timeout=RESUMED_WITHIN, what="the busy worker recorded its job")
    [victim] = [process for process in workers if process.pid == sending_worker()]
    cluster.kill(victim)
    receiver.release.set()
    wait_until(lambda: all_runs_done(30), timeout=RESUMED_WITHIN, what=f"all 30 runs done (now {statuses()})")
    assert_each_sent_once(smtp_server, 30)
    called = {json.loads(request.body)["run"] for request in receiver.requests}
    assert len(called) == 30  # every run's webhook was called (the killed one again: webhooks are at-least-once)


def test_dispatchers_killed_again_and_again_lose_nothing(account, shop, cluster, smtp_server):  # noqa: F811
    database, _template = shop
    note = next(field for field in database.fields if field.name == "Note")
    welcome(account, shop, {"type": "update_fields", "values": {str(note.id): "welcomed"}})
    cluster.start_worker()
    cluster.start_worker()
    cluster.start_dispatcher()
    cluster.start_dispatcher()
    for wave in range(4):
        add_profiles(account, shop, wave * 10, 10)
        cluster.kill(cluster.dispatchers[-2])  # the older of the two running
        cluster.start_dispatcher()
    wait_until(lambda: all_runs_done(40), timeout=RESUMED_WITHIN, what=f"all 40 runs done (now {statuses()})")
    assert_each_sent_once(smtp_server, 40)


def test_redis_flushed_with_work_queued_is_requeued_within_seconds(
    account,
    shop,
    cluster,
    smtp_server,  # noqa: F811
    receiver,
):
    database, _template = shop
    welcome(account, shop)
    cluster.start_dispatcher()
    cluster.start_dispatcher()
    # No worker yet: the dispatchers move the work into Redis (follow-up runs, then callback deliveries) ...
    add_profiles(account, shop, 0, 20)
    wait_until(lambda: statuses() == Counter({"queued": 20}), timeout=RESUMED_WITHIN, what="the runs queued")
    definitions.create_callback(account, database.id, url=receiver.url)
    add_profiles(account, shop, 20, 10)
    wait_until(lambda: queued_deliveries() == 10, timeout=RESUMED_WITHIN, what="the callback deliveries queued")
    # ... and Redis loses everything.
    redis_connection().flushdb()
    cluster.start_worker()
    cluster.start_worker()
    wait_until(lambda: all_runs_done(30), timeout=RESUMED_WITHIN, what=f"all 30 runs done (now {statuses()})")
    wait_until(lambda: delivered() == 10, timeout=RESUMED_WITHIN, what="all 10 callbacks delivered")
    assert_each_sent_once(smtp_server, 30)
    assert len(receiver.requests) == 10


def queued_deliveries() -> int:
    from webapp.models import ScheduledWork

    db.session.expire_all()
    count = db.session.scalar(
        select(func.count()).where(ScheduledWork.kind == "callback", ScheduledWork.status == "queued")
    )
    db.session.rollback()
    return count or 0


def delivered() -> int:
    db.session.expire_all()
    count = db.session.scalar(select(func.count()).where(CallbackDelivery.status == "delivered"))
    db.session.rollback()
    return count or 0
