"""Running follow-ups with a real RQ worker, real Redis and a real SMTP server: every action, exactly once,
through Redis losing everything, SMTP going down and workers killed mid-send."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select

from tests import followup_fixtures
from tests.callback_receiver import Receiver
from tests.factories import make_followup
from tests.followup_fixtures import ADMIN, IMPORT, run_due, run_worker, runs
from tests.smtp_server import smtp_server  # noqa: F401
from tests.workers import settle_heartbeats
from webapp.extensions import db
from webapp.followups import runs as followup_runs
from webapp.followups import triggers
from webapp.models import EmailTemplate, FollowUpRun, Profile, ProfileEvent, SentMessage, Subprofile
from webapp.platform.errors import Conflict, NotFound
from webapp.platform.queues import get_queue, redis_connection
from webapp.profiles import databases, profiles

ROOT = Path(__file__).resolve().parents[2]

shop, clock = followup_fixtures.shop, followup_fixtures.clock  # the fixtures, used by name


@pytest.fixture
def smtp_url(app):
    def use(url: str) -> None:
        app.config["SMTP_URL"] = url

    yield use
    app.config["SMTP_URL"] = ""


@pytest.fixture
def template(account, shop):
    row = EmailTemplate(
        account_id=account.id,
        database_id=shop.database.id,
        name="Welcome",
        subject="Welcome {{ profile.FirstName }}",
        text="Hello {{ profile.FirstName }}!",
        html="",
    )
    db.session.add(row)
    db.session.commit()
    return row


def create(account, shop, **values):
    return profiles.create_profile(account, shop.database.id, values, origin=ADMIN)


def fields_of(profile_id: int, shop) -> dict:
    db.session.expire_all()
    stored = db.session.get(Profile, profile_id).fields
    return {name: stored.get(str(field_id)) for name, field_id in shop.field.items() if str(field_id) in stored}


def mail_followup(account, shop, template, **extra):
    return make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[{"type": "send_email", "template_id": template.id}, *extra.pop("then", [])],
        **extra,
    )


# --- actions ----------------------------------------------------------------------------------------------


def test_update_fields_with_profile_values_and_now(account, shop, clock):
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {
                "type": "update_fields",
                "values": {
                    str(shop.field["Welcome"]): "{{ today }}",
                    str(shop.field["Note"]): "Hi {{ profile.FirstName }}",
                },
            }
        ],
    )
    profile = create(account, shop, Email="a@example.com", FirstName="Ann")
    run_due()
    assert fields_of(profile.id, shop)["Note"] == "Hi Ann"
    assert fields_of(profile.id, shop)["Welcome"] == "2026-11-27"
    event = db.session.scalars(select(ProfileEvent).order_by(ProfileEvent.id.desc())).first()
    assert (event.source, event.reference) == ("follow-up", f"followup:{runs()[0].followup_id}")


def test_the_sandbox_refuses_unsafe_templates(account, shop):
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {
                "type": "update_fields",
                "values": {str(shop.field["Note"]): "{{ ''.__class__.__mro__ }}"},
            }
        ],
    )
    profile = create(account, shop, Email="a@example.com")
    run_due()
    [run] = runs()
    assert run.status == "failed" and "unsafe" in run.last_error.lower()
    assert "Note" not in fields_of(profile.id, shop)


def test_an_invalid_value_fails_the_run_without_retrying_and_keeps_the_others(account, shop):
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {
                "type": "update_fields",
                "values": {str(shop.field["Age"]): "{{ profile.FirstName }}"},
            }
        ],
    )
    bad = create(account, shop, Email="a@example.com", FirstName="Ann")
    good = create(account, shop, Email="b@example.com", FirstName="42")
    run_due()
    statuses = {run.profile_id: (run.status, run.attempts) for run in runs()}
    assert statuses == {bad.id: ("failed", 1), good.id: ("done", 1)}
    assert fields_of(good.id, shop)["Age"] == 42
    assert "Age" in runs()[0].last_error


def test_field_updates_of_a_batch_are_written_at_once_on_postgresql(account, shop, monkeypatch):
    from webapp.followups import actions as followup_actions
    from webapp.profiles import bulk_writes

    if db.engine.dialect.name != "postgresql":
        pytest.skip("the bulk writer is PostgreSQL only")
    written, one_by_one = [], []
    write_changes = bulk_writes.write_changes
    monkeypatch.setattr(
        bulk_writes, "write_changes", lambda changed: written.append(len(changed)) or write_changes(changed)
    )
    monkeypatch.setattr(followup_actions, "_apply", lambda *args: one_by_one.append(args))
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {"type": "update_fields", "values": {str(shop.field["Note"]): "hi {{ profile.FirstName }}"}},
            {"type": "set_interests", "interests": {str(shop.interest["News"]): True}},
        ],
    )
    made = [create(account, shop, Email=f"{name}@example.com", FirstName=name) for name in ("Ann", "Bob", "Cy")]
    run_due()
    assert (written, one_by_one) == ([3], [])  # one write for the batch, nothing done run by run
    assert [fields_of(profile.id, shop)["Note"] for profile in made] == ["hi Ann", "hi Bob", "hi Cy"]
    assert {db.session.get(Profile, profile.id).interests[0] for profile in made} == {shop.interest["News"]}
    updates = select(ProfileEvent).where(ProfileEvent.kind == "profile_updated", ProfileEvent.source == "follow-up")
    assert len(db.session.scalars(updates).all()) == 3
    assert {run.status for run in runs()} == {"done"}


def test_create_subprofile_and_set_interests(account, shop):
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {
                "type": "create_subprofile",
                "collection_id": shop.orders.id,
                "values": {str(shop.field["Product"]): "Gift for {{ profile.FirstName }}"},
            },
            {
                "type": "set_interests",
                "interests": {str(shop.interest["News"]): True, str(shop.interest["Sport"]): False},
            },
        ],
    )
    profile = profiles.create_profile(
        account,
        shop.database.id,
        {"Email": "a@example.com", "FirstName": "Ann"},
        origin=ADMIN,
        interests={"Sport": True},
    )
    run_due()
    [order] = db.session.scalars(select(Subprofile).where(Subprofile.profile_id == profile.id)).all()
    assert order.fields == {str(shop.field["Product"]): "Gift for Ann"}
    assert db.session.get(Profile, profile.id).interests == [shop.interest["News"]]
    assert runs()[0].status == "done" and runs()[0].step == 2


def test_create_subprofile_journals_it_with_the_run_and_an_invalid_value_fails_the_run(account, shop):
    from webapp.profiles.fields import FieldSpec, create_field

    quantity = create_field(account, FieldSpec(name="Quantity", type="number"), collection_id=shop.orders.id)
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {
                "type": "create_subprofile",
                "collection_id": shop.orders.id,
                "values": {str(quantity.id): "{{ profile.FirstName }}"},
            }
        ],
    )
    good = create(account, shop, Email="a@example.com", FirstName="3")
    bad = create(account, shop, Email="b@example.com", FirstName="Ann")
    run_due()
    [order] = db.session.scalars(select(Subprofile)).all()
    assert (order.profile_id, order.fields, len(order.code)) == (good.id, {str(quantity.id): 3}, len(good.code))
    [event] = db.session.scalars(select(ProfileEvent).where(ProfileEvent.kind == "subprofile_created")).all()
    assert (event.subprofile_id, event.source) == (order.id, "follow-up")
    statuses = {run.profile_id: (run.status, run.attempts) for run in runs()}
    assert statuses == {good.id: ("done", 1), bad.id: ("failed", 1)}
    assert "Quantity" in next(run for run in runs() if run.profile_id == bad.id).last_error


def test_unsubscribe_applies_the_database_behaviour(account, shop):
    databases.set_unsubscribe_behaviour(
        account, database_id=shop.database.id, behaviour="update", field_values={"Newsletter": "no"}
    )
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {"type": "unsubscribe"},
            {"type": "update_fields", "values": {str(shop.field["Note"]): "after"}},
        ],
    )
    profile = create(account, shop, Email="a@example.com", Newsletter="yes")
    run_due()
    assert fields_of(profile.id, shop)["Newsletter"] == "no"
    assert fields_of(profile.id, shop)["Note"] == "after"
    assert runs()[0].status == "done"


def test_remove_profile(account, shop):
    make_followup(account, shop.database, trigger={"kind": "profile_created"}, actions=[{"type": "remove_profile"}])
    profile = create(account, shop, Email="a@example.com")
    run_due()
    assert db.session.get(Profile, profile.id) is None
    [run] = runs()
    assert run.status == "done" and run.profile_id is None


def test_webhook_is_signed_and_carries_the_profile(account, shop):
    receiver = Receiver().start()
    try:
        followup = make_followup(
            account,
            shop.database,
            trigger={"kind": "profile_created"},
            actions=[{"type": "webhook", "url": receiver.url}],
        )
        profile = create(account, shop, Email="a@example.com", FirstName="Ann")
        run_due()
        [request] = receiver.requests
        body = json.loads(request.body)
        assert (body["followup"], body["profile"], body["fields"]["FirstName"]) == (followup.id, profile.id, "Ann")
        assert body["event"]["kind"] == "profile_created"
        assert request.headers["webhook-id"] == f"followup-run-{runs()[0].id}-0"
        assert runs()[0].status == "done"
    finally:
        receiver.stop()


def test_a_failing_webhook_is_retried_with_backoff_then_failed(account, shop, clock):
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[{"type": "webhook", "url": "http://127.0.0.1:9/"}],
    )
    create(account, shop, Email="a@example.com")
    waits = []
    for _attempt in range(followup_runs.MAX_ATTEMPTS):
        run_due()
        [run] = runs()
        if run.status == "failed":
            break
        waits.append(round((run.due_at - clock.moment).total_seconds()))
        clock.moment = run.due_at
    assert waits == [30, 60, 120, 240]
    [run] = runs()
    assert (run.status, run.attempts) == ("failed", 5) and run.last_error


# --- email: at most once ---------------------------------------------------------------------------------------


def test_send_email_over_smtp_once(account, shop, template, smtp_server, smtp_url):  # noqa: F811
    smtp_url(smtp_server.url)
    mail_followup(
        account, shop, template, then=[{"type": "update_fields", "values": {str(shop.field["Welcome"]): "sent"}}]
    )
    profile = create(account, shop, Email="ann@example.com", FirstName="Ann")
    run_due()
    [message] = smtp_server.wait_for(1)
    [run] = runs()
    assert message["Subject"] == "Welcome Ann" and message["To"] == "ann@example.com"
    assert (run.status, run.message_id) == ("done", message["Message-ID"])
    assert fields_of(profile.id, shop)["Welcome"] == "sent"
    run_due()
    assert len(smtp_server.envelopes) == 1


def test_smtp_down_then_back_sends_each_email_exactly_once(account, shop, template, smtp_server, smtp_url, clock):  # noqa: F811
    smtp_url(smtp_server.url)
    mail_followup(account, shop, template)
    for number in range(5):
        create(account, shop, Email=f"p{number}@example.com", FirstName=f"P{number}")
    smtp_server.stop()
    run_due()
    assert {(run.status, run.attempts) for run in runs()} == {("pending", 1)}
    assert all("MailTemporaryError" in run.last_error for run in runs())
    message_ids = {run.id: run.message_id for run in runs()}
    smtp_server.start()
    clock.advance(seconds=30)
    run_due()
    received = smtp_server.wait_for(5)
    assert {run.status for run in runs()} == {"done"}
    assert sorted(message["Message-ID"] for message in received) == sorted(message_ids.values())
    clock.advance(hours=1)
    run_due()
    assert len(smtp_server.envelopes) == 5


def test_a_permanent_refusal_fails_without_retrying(account, shop, template, smtp_server, smtp_url):  # noqa: F811
    smtp_url(smtp_server.url)
    mail_followup(account, shop, template)
    create(account, shop, Email="a@example.com")
    smtp_server.replies = ["550 no such user"]
    run_due()
    [run] = runs()
    assert (run.status, run.attempts) == ("failed", 1) and "550" in run.last_error


def crash_worker(app, kill_point: str) -> int:
    """Run the queued jobs in a real worker process that SIGKILLs itself at ``kill_point``."""
    environment = {
        **os.environ,
        "TEST_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "TEST_REDIS_URL": app.config["REDIS_URL"],
        "TEST_SMTP_URL": app.config["SMTP_URL"],
    }
    worker = subprocess.run(
        [sys.executable, "-m", "tests.followup_worker", kill_point],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return worker.returncode


def abandon_started_jobs() -> None:
    """What RQ's maintenance does once a dead worker's jobs expire: mark them failed (abandoned)."""
    StartedJobRegistry(queue=get_queue()).cleanup(timestamp=time.time() + 10**6)


def test_a_worker_killed_before_the_mark_sends_once_on_retry(app, account, shop, template, smtp_server, smtp_url):  # noqa: F811
    smtp_url(smtp_server.url)
    mail_followup(account, shop, template)
    create(account, shop, Email="a@example.com")
    followup_runs.dispatch_due_runs()
    assert crash_worker(app, "before-mark") == -9
    assert smtp_server.envelopes == []
    [run] = runs()
    assert run.status == "queued"
    abandon_started_jobs()
    assert followup_runs.requeue_lost_runs(check_after=__import__("datetime").timedelta(0)) == 1
    run_due()
    smtp_server.wait_for(1)
    assert runs()[0].status == "done"
    assert len(smtp_server.envelopes) == 1


def test_a_worker_killed_after_the_server_accepted_is_not_resent(
    app,
    account,
    shop,
    template,
    smtp_server,  # noqa: F811
    smtp_url,
):
    from datetime import timedelta

    smtp_url(smtp_server.url)
    mail_followup(account, shop, template)
    create(account, shop, Email="a@example.com")
    followup_runs.dispatch_due_runs()
    assert crash_worker(app, "after-accept") == -9
    smtp_server.wait_for(1)
    [run] = runs()
    assert run.status == "sending" and run.message_id == smtp_server.messages[0]["Message-ID"]
    abandon_started_jobs()
    assert followup_runs.requeue_lost_runs(check_after=timedelta(0)) == 1
    run_due()
    [run] = runs()
    assert run.status == "review"
    assert len(smtp_server.envelopes) == 1
    # The admin settles it: "send again" sends under the same Message-ID.
    followup_runs.resolve_review(account, run.id, resend=True)
    run_due()
    smtp_server.wait_for(2)
    assert runs()[0].status == "done"
    assert smtp_server.messages[1]["Message-ID"] == run.message_id


def test_a_worker_killed_after_a_send_is_committed_resumes_without_review(
    app,
    account,
    shop,
    template,
    smtp_server,  # noqa: F811
    smtp_url,
):
    """Issue 21, defect 6: the acceptance is committed with the sent-message row, so a worker killed in a later
    action leaves a run that simply goes on (no review, no second email, a bounce can be matched)."""
    from datetime import timedelta

    smtp_url(smtp_server.url)
    followup = mail_followup(
        account, shop, template, then=[{"type": "update_fields", "values": {str(shop.field["Note"]): "next"}}]
    )
    profile = create(account, shop, Email="a@example.com")
    followup_runs.dispatch_due_runs()
    assert crash_worker(app, "next-action") == -9
    [run] = runs(followup.id)
    assert (run.status, run.step) == ("queued", 1)
    sent = db.session.scalar(select(SentMessage).where(SentMessage.message_id == run.message_id))
    assert sent is not None and sent.profile_id == profile.id
    abandon_started_jobs()
    assert followup_runs.requeue_lost_runs(check_after=timedelta(0)) == 1
    run_due()
    [run] = runs(followup.id)
    assert (run.status, run.step) == ("done", 2)
    assert fields_of(profile.id, shop)["Note"] == "next"
    assert len(smtp_server.envelopes) == 1


def test_resolving_a_review_as_sent_goes_on_with_the_next_action(account, shop, template, clock):
    followup = mail_followup(
        account, shop, template, then=[{"type": "update_fields", "values": {str(shop.field["Note"]): "next"}}]
    )
    profile = create(account, shop, Email="a@example.com")
    [run] = runs(followup.id)
    run.status = "review"
    db.session.commit()
    with pytest.raises(Conflict):
        followup_runs.cancel_run(account, run.id)
    followup_runs.resolve_review(account, run.id, resend=False)
    run_due()
    [run] = runs()
    assert (run.status, run.step) == ("done", 2)
    assert fields_of(profile.id, shop)["Note"] == "next"


# --- durability: Redis losing everything ------------------------------------------------------------------------


def test_redis_wiped_while_1000_runs_are_pending_all_run_exactly_once(account, shop, clock):
    followup = make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {
                "type": "update_fields",
                "values": {str(shop.field["Note"]): "{{ profile.Note }}x"},
            }
        ],
    )
    profiles.bulk_create_profiles(
        account, shop.database.id, [{"Email": f"p{n}@example.com"} for n in range(1000)], origin=IMPORT
    )
    assert followup_runs.dispatch_due_runs(batch=200) == 1000
    jobs = get_queue().job_ids
    assert len(jobs) == 5 and all(job_id.startswith("followup-") for job_id in jobs)
    # One job runs, then Redis loses everything (the other four jobs with it).
    Job.fetch(jobs[0], connection=redis_connection()).perform()
    db.session.expire_all()
    redis_connection().flushdb()
    clock.advance(seconds=6)
    assert followup_runs.requeue_lost_runs() == 0  # no heartbeats yet: a live worker may run one of those jobs
    settle_heartbeats()
    assert followup_runs.requeue_lost_runs() == 800
    run_due()
    done = db.session.scalar(
        select(func.count()).where(FollowUpRun.followup_id == followup.id, FollowUpRun.status == "done")
    )
    assert done == 1000
    notes = db.session.scalars(select(Profile.fields[str(shop.field["Note"])].as_string())).all()
    assert notes == ["x"] * 1000
    written = db.session.scalar(select(func.count()).where(ProfileEvent.source == "follow-up"))
    assert written == 1000


def test_a_duplicate_job_does_nothing(account, shop):
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {
                "type": "update_fields",
                "values": {str(shop.field["Note"]): "{{ profile.Note }}x"},
            }
        ],
    )
    profile = create(account, shop, Email="a@example.com")
    followup_runs.dispatch_due_runs()
    [run] = runs()
    run_worker()
    assert followup_runs.run_batch([run.id], run.job_id) == {"done": 1}
    assert fields_of(profile.id, shop)["Note"] == "x"


# --- the admin's state changes -----------------------------------------------------------------------------------


def test_cancel_a_pending_run(account, shop, clock):
    followup = make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[{"type": "remove_profile"}],
        delay={"kind": "duration", "seconds": 60},
    )
    profile = create(account, shop, Email="a@example.com")
    [run] = runs(followup.id)
    followup_runs.cancel_run(account, run.id)
    clock.advance(minutes=5)
    run_due()
    assert runs()[0].status == "cancelled"
    assert db.session.get(Profile, profile.id) is not None
    with pytest.raises(Conflict):
        followup_runs.cancel_run(account, run.id)


def test_retry_a_failed_run(account, shop):
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {
                "type": "update_fields",
                "values": {str(shop.field["Age"]): "{{ profile.FirstName }}"},
            }
        ],
    )
    profile = create(account, shop, Email="a@example.com", FirstName="Ann")
    run_due()
    [run] = runs()
    assert run.status == "failed"
    with pytest.raises(Conflict):
        followup_runs.resolve_review(account, run.id, resend=True)
    profiles.update_profile(account, profile.id, {"FirstName": "33"}, origin=ADMIN)
    followup_runs.retry_run(account, run.id)
    run_due()
    assert runs()[0].status == "done"
    assert fields_of(profile.id, shop)["Age"] == 33


def test_runs_of_another_account_are_not_found(account, shop):
    from tests.factories import make_account

    make_followup(account, shop.database, trigger={"kind": "profile_created"}, actions=[{"type": "remove_profile"}])
    create(account, shop, Email="a@example.com")
    other = make_account("Other")
    with pytest.raises(NotFound):
        followup_runs.cancel_run(other, runs()[0].id)
    assert followup_runs.pending_counts(account, [runs()[0].followup_id]) == {runs()[0].followup_id: 1}


def test_the_dispatcher_loop_moves_due_runs(account, shop, app):
    import threading

    from webapp.platform import dispatcher

    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {
                "type": "update_fields",
                "values": {str(shop.field["Note"]): "dispatched"},
            }
        ],
    )
    profile_id = create(account, shop, Email="a@example.com").id
    stop = threading.Event()
    queue = get_queue()
    original = followup_runs.dispatch_due_runs

    def dispatch_once() -> int:
        queued = original()
        if queued:
            stop.set()
        return queued

    app.extensions["work_sources"] = [(dispatch_once, followup_runs.requeue_lost_runs)]
    try:
        dispatcher.run(stop, 0.01)
    finally:
        app.extensions["work_sources"] = [(followup_runs.dispatch_due_runs, followup_runs.requeue_lost_runs)]
    assert len([job_id for job_id in queue.job_ids if job_id.startswith("followup-")]) == 1
    run_worker()
    assert fields_of(profile_id, shop)["Note"] == "dispatched"


def test_changes_made_by_a_follow_up_reach_callbacks_and_other_follow_ups(account, shop):
    from webapp.callbacks import definitions
    from webapp.models import CallbackDelivery

    definitions.create_callback(account, shop.database.id, url="http://127.0.0.1:9/hook")
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[
            {
                "type": "update_fields",
                "values": {str(shop.field["Newsletter"]): "yes"},
            }
        ],
    )
    chained = make_followup(
        account,
        shop.database,
        actions=[{"type": "remove_profile"}],
        name="Chained",
        trigger={"kind": "profile_updated", "fields": [shop.field["Newsletter"]]},
    )
    create(account, shop, Email="a@example.com")
    run_due()
    deliveries = db.session.scalars(select(CallbackDelivery).order_by(CallbackDelivery.id)).all()
    assert [delivery.payload["type"] for delivery in deliveries] == ["create", "update", "delete"]
    assert [run.status for run in runs(chained.id)] == ["done"]


def test_a_follow_up_triggered_by_a_batch_sees_the_values_the_batch_wrote(account, shop):
    newsletter = shop.field["Newsletter"]
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[{"type": "update_fields", "values": {str(newsletter): "yes"}}],
    )
    chained = make_followup(
        account,
        shop.database,
        name="Chained",
        trigger={"kind": "profile_updated", "fields": [newsletter]},
        activation_condition={"rules": [{"field_id": newsletter, "operator": "=", "value": "yes"}]},
        actions=[{"type": "update_fields", "values": {str(shop.field["Note"]): "welcomed {{ profile.Newsletter }}"}}],
    )
    first, second = create(account, shop, Email="a@example.com"), create(account, shop, Email="b@example.com")
    run_due()
    assert [run.status for run in runs(chained.id)] == ["done", "done"]
    assert fields_of(first.id, shop)["Note"] == fields_of(second.id, shop)["Note"] == "welcomed yes"


def run_until_quiet() -> None:
    """``run_due`` for a bounded number of rounds: without the chain guard a loop of follow-ups never ends."""
    for _round in range(3 * triggers.MAX_CHAIN_DEPTH):
        if not followup_runs.dispatch_due_runs():
            return
        run_worker()
    pytest.fail("the follow-ups kept triggering each other")


def test_follow_ups_triggering_each_other_stop_at_the_chain_limit(account, shop, caplog):
    note, welcome = shop.field["Note"], shop.field["Welcome"]
    ping = make_followup(
        account,
        shop.database,
        name="Ping",
        trigger={"kind": "profile_updated", "fields": [note]},
        actions=[{"type": "update_fields", "values": {str(welcome): "{{ profile.Welcome }}w"}}],
    )
    pong = make_followup(
        account,
        shop.database,
        name="Pong",
        trigger={"kind": "profile_updated", "fields": [welcome]},
        actions=[{"type": "update_fields", "values": {str(note): "{{ profile.Note }}n"}}],
    )
    profile = create(account, shop, Email="a@example.com")
    profiles.update_profile(account, profile.id, {"Note": "start"}, origin=ADMIN)
    limit = triggers.MAX_CHAIN_DEPTH
    run_until_quiet()
    chain = runs()
    assert [run.chain_depth for run in chain] == list(range(limit + 2))
    assert [run.followup_id for run in chain] == [ping.id, pong.id] * (limit // 2 + 1)
    assert [run.status for run in chain] == ["done"] * (limit + 1) + ["failed"]
    assert f"triggered each other {limit + 1} times in a row" in chain[-1].last_error
    assert fields_of(profile.id, shop)["Welcome"] == "w" * (limit // 2 + 1)
    assert fields_of(profile.id, shop)["Note"] == "start" + "n" * (limit // 2)
    assert "triggered each other" in caplog.text


def test_a_stopped_chain_goes_one_step_further_when_retried(account, shop):
    note, welcome = shop.field["Note"], shop.field["Welcome"]
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_updated", "fields": [note]},
        actions=[{"type": "update_fields", "values": {str(welcome): "{{ profile.Welcome }}w"}}],
    )
    stopper = make_followup(
        account,
        shop.database,
        name="Stopped",
        trigger={"kind": "profile_updated", "fields": [welcome]},
        actions=[{"type": "update_fields", "values": {str(note): "{{ profile.Note }}n"}}],
    )
    profile = create(account, shop, Email="a@example.com")
    profiles.update_profile(account, profile.id, {"Note": "start"}, origin=ADMIN)
    run_until_quiet()
    stopped = runs()[-1]
    assert (stopped.followup_id, stopped.status) == (stopper.id, "failed")
    followup_runs.retry_run(account, stopped.id)
    run_until_quiet()
    after = runs()
    assert after[len(after) - 2].status == "done" and after[-1].status == "failed"
    assert after[-1].chain_depth == triggers.MAX_CHAIN_DEPTH + 2


def test_a_busy_queue_gets_fuller_jobs_later(account, shop, monkeypatch):
    make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[{"type": "update_fields", "values": {str(shop.field["Note"]): "x"}}],
    )
    create(account, shop, Email="a@example.com")
    monkeypatch.setattr(followup_runs, "MAX_WAITING_JOBS", 1)
    followup_runs.dispatch_due_runs()
    create(account, shop, Email="b@example.com")
    assert followup_runs.dispatch_due_runs() == 0  # one job waits: the new run stays pending
    assert [run.status for run in runs()] == ["queued", "pending"]
    run_worker()
    assert followup_runs.dispatch_due_runs() == 1
