"""``/healthz`` for load balancers and monitors, and the owners' jobs page (issue 21, operations)."""

import socket
from datetime import timedelta

from redis import Redis

from tests.factories import make_account
from webapp.extensions import db
from webapp.models import ScheduledWork, utcnow
from webapp.platform import heartbeats


def both_beating() -> None:
    heartbeats.beat(heartbeats.WORKER, "w1")
    heartbeats.beat(heartbeats.DISPATCHER, "d1")


def test_healthz_is_ok_when_workers_and_dispatchers_beat(anonymous):
    both_beating()
    response = anonymous.get("/healthz")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] and body["redis"]
    assert body["workers"]["alive"] == 1 and body["dispatchers"]["alive"] == 1
    assert body["queues"] == {"default": {"waiting": 0, "running": 0}} and body["oldest_overdue"] is None
    assert "w1" not in response.get_data(as_text=True)  # public: counts, no names


def test_healthz_without_a_worker_is_degraded_and_strict_makes_that_a_503(anonymous):
    heartbeats.beat(heartbeats.DISPATCHER, "d1")
    response = anonymous.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded" and response.get_json()["problems"] == ["no worker"]
    assert anonymous.get("/healthz?strict=1").status_code == 503


def test_healthz_reports_the_oldest_overdue_work(anonymous):
    both_beating()
    db.session.add(ScheduledWork(kind="housekeeping", due_at=utcnow() - timedelta(minutes=30)))
    db.session.add(ScheduledWork(kind="housekeeping", due_at=utcnow() - timedelta(seconds=5)))  # not late yet
    body = anonymous.get("/healthz").get_json()
    assert body["status"] == "degraded" and body["problems"] == ["work overdue"]
    assert body["oldest_overdue"]["kind"] == "work: housekeeping" and body["oldest_overdue"]["late_seconds"] >= 1790


def test_healthz_is_503_when_redis_does_not_answer(app, anonymous):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    working = app.extensions["redis"]
    app.extensions["redis"] = Redis(port=closed_port)
    try:
        response = anonymous.get("/healthz")
    finally:
        app.extensions["redis"] = working
    assert response.status_code == 503 and response.get_json()["status"] == "down"


def failed_work(account) -> ScheduledWork:
    row = ScheduledWork(
        kind="callback", account_id=account.id, status="failed", attempts=5, last_error="Receiver said 500"
    )
    db.session.add(row)
    db.session.commit()
    return row


def test_the_jobs_page_shows_processes_and_the_accounts_own_work_to_owners(browser):
    owner = browser("owner")
    heartbeats.beat(heartbeats.WORKER, "worker-on-host-a", job_id="import-12")
    mine = failed_work(owner.user.account)
    theirs = failed_work(make_account("Other"))
    theirs.last_error = "secret of another account"
    db.session.commit()
    page = owner.get("/jobs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "worker-on-host-a" in html and "import-12" in html and "Receiver said 500" in html
    assert "secret of another account" not in html
    assert f"/jobs/work/{mine.id}/retry" in html
    assert owner.post(f"/jobs/work/{theirs.id}/retry", htmx=True).status_code == 404
    response = owner.post(f"/jobs/work/{mine.id}/retry", htmx=True)
    assert response.status_code == 200 and "toast" in response.headers["HX-Trigger"]
    db.session.refresh(mine)
    assert (mine.status, mine.attempts) == ("pending", 0)


def test_the_jobs_page_is_for_owners_only(browser):
    admin = browser("admin")
    row = failed_work(admin.user.account)
    assert admin.get("/jobs").status_code == 403
    assert admin.post(f"/jobs/work/{row.id}/retry").status_code == 403
