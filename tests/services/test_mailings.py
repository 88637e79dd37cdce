"""Mailings against a real SMTP server: freeze, send in batches, pause, resume, cancel, 4xx retries, skips,
A/B winner, scheduled and periodic starts, test sends, and results counted on ``EmailResult``."""

from collections import Counter
from datetime import datetime, timedelta

import pytest
from rq.job import Job, JobStatus
from sqlalchemy import func, select, update

from tests.factories import make_database
from tests.smtp_server import smtp_server  # noqa: F401
from webapp.email import link_tokens, suppression, templates, tracking
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.hygiene import intake
from webapp.hygiene.reports import Kind, Report
from webapp.mailings import ab_tests, batches, definitions, lifecycle, results
from webapp.mailings.definitions import MailingValues
from webapp.models import (
    EmailResult,
    Mailing,
    MailingRecipient,
    MailingStatus,
    Profile,
    ProfileEvent,
    ScheduledWork,
    Selection,
    SentMessage,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import Conflict, ValidationError
from webapp.platform.queues import redis_connection
from webapp.profiles import profiles
from webapp.profiles.events import Origin
from webapp.profiles.unsubscribe import unsubscribe

IMPORT = Origin("import", reference="import:1")
HTML = '<p>Hi {{ profile.FirstName }}, see <a href="https://shop.example/bikes">bikes</a>.</p>'


@pytest.fixture
def smtp(app, smtp_server):  # noqa: F811
    app.config["SMTP_URL"] = smtp_server.url
    yield smtp_server
    app.config["SMTP_URL"] = ""


@pytest.fixture
def shop(account):
    database = make_database(account)
    rows = [{"Email": f"p{n}@example.com", "FirstName": f"P{n}"} for n in range(12)]
    profiles.bulk_create_profiles(account, database.id, rows, origin=IMPORT)
    template = templates.save_template(
        account, TemplateValues(name="News", subject="News for {{ profile.FirstName }}", html=HTML, text="")
    )
    everyone = Selection(account_id=account.id, database_id=database.id, name="Everyone", rules={})
    db.session.add(everyone)
    db.session.commit()
    return database, template, everyone


def new_mailing(account, shop, **overrides) -> Mailing:
    database, template, everyone = shop
    values = MailingValues(
        name="December news", database_id=database.id, template_id=template.id, target_ids=[everyone.id]
    )
    for name, value in overrides.items():
        setattr(values, name, value)
    return definitions.create_mailing(account, values)


def send_everything(rounds: int = 20) -> None:
    """What the dispatcher and the workers do, in this process: dispatch, run every queued job, again."""
    for _ in range(rounds):
        batches.dispatch_due_batches()
        jobs = db.session.execute(
            select(MailingRecipient.job_id, MailingRecipient.id)
            .where(MailingRecipient.status == "queued")
            .order_by(MailingRecipient.id)
        ).all()
        db.session.rollback()
        if not jobs:
            return
        by_job: dict[str, list[int]] = {}
        for job_id, row_id in jobs:
            by_job.setdefault(job_id, []).append(row_id)
        for job_id, ids in by_job.items():
            batches.send_batch(ids, job_id)


def statuses(mailing_id: int) -> Counter:
    rows = db.session.execute(
        select(MailingRecipient.status, func.count())
        .where(MailingRecipient.mailing_id == mailing_id)
        .group_by(MailingRecipient.status)
    ).all()
    db.session.rollback()
    return Counter(dict(rows))


def received(smtp_server) -> Counter:  # noqa: F811
    return Counter(envelope.rcpt_tos[0] for envelope in smtp_server.envelopes)


def test_a_mailing_is_frozen_sent_once_to_each_member_and_every_message_has_its_result(account, shop, smtp):
    mailing = new_mailing(account, shop)
    lifecycle.send_now(account, mailing.id)
    assert mailing.status == MailingStatus.SENDING and mailing.frozen == 12
    # a profile added after the start is not a recipient: the audience was frozen
    database = shop[0]
    profiles.create_profile(account, database.id, {"Email": "late@example.com"}, origin=IMPORT)
    send_everything()
    assert received(smtp) == Counter({f"p{n}@example.com": 1 for n in range(12)})
    assert statuses(mailing.id) == Counter({"sent": 12})
    db.session.refresh(mailing)
    assert mailing.status == MailingStatus.DONE and mailing.finished_at is not None
    rows = db.session.scalars(select(EmailResult).where(EmailResult.mailing_id == mailing.id)).all()
    assert len(rows) == 12 and all(row.sent_message_id and row.database_id == database.id for row in rows)
    assert {message["Subject"] for message in smtp.messages} == {f"News for P{n}" for n in range(12)}
    assert all(message["List-Unsubscribe"] for message in smtp.messages)


def test_a_batch_writes_each_message_in_one_statement_with_the_rows_of_a_single_send(account, shop, smtp):
    """The confirmation of message i and the claim of i+1 are one statement (PostgreSQL); the rows are those
    ``delivery.send_mail`` and ``events.record`` write for one message."""
    from sqlalchemy import event

    mailing = new_mailing(account, shop)
    lifecycle.send_now(account, mailing.id)
    batches.dispatch_due_batches()
    rows = db.session.execute(select(MailingRecipient.job_id, MailingRecipient.id).order_by(MailingRecipient.id))
    jobs = rows.all()
    db.session.rollback()
    assert len({job_id for job_id, _id in jobs}) == 1
    statements: list[str] = []

    def seen(connection, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        batches.send_batch([row_id for _job, row_id in jobs], jobs[0][0])
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert statuses(mailing.id) == Counter({"sent": 12})
    if db.engine.dialect.name == "postgresql":
        assert sum(statement.lstrip().startswith("WITH") for statement in statements) == 13  # 12 claims, 1 last
        assert len(statements) < 13 + 15  # what the batch reads once (profiles, suppression, settings, …)
    recipients = {row.message_id: row for row in db.session.scalars(select(MailingRecipient))}
    logged = db.session.scalars(select(SentMessage)).all()
    assert {row.message_id for row in logged} == set(recipients)
    for row in logged:
        assert row.return_key == link_tokens.return_key(row.message_id) and row.category == "marketing"
        assert row.origin_reference == f"mailing:{mailing.id}" and row.template_id == mailing.template_id
        assert row.recipient.startswith("p") and row.subject.startswith("News for P")
        assert row.profile_id == recipients[row.message_id].profile_id
    results_by_log = {row.sent_message_id: row for row in db.session.scalars(select(EmailResult))}
    assert {results_by_log[row.id].profile_id for row in logged} == {row.profile_id for row in logged}
    assert all(results_by_log[row.id].mailing_id == mailing.id for row in logged)
    journal = db.session.scalars(select(ProfileEvent).where(ProfileEvent.kind == "email_sent")).all()
    assert {(event.profile_id, event.changes["message_id"]) for event in journal} == {
        (row.profile_id, row.message_id) for row in logged
    }
    assert all(event.source == "email" and event.reference == f"mailing:{mailing.id}" for event in journal)
    if db.engine.dialect.name == "postgresql":
        assert all(event.txid for event in journal)


def test_exclusions_and_several_targets(account, shop, smtp):
    database, template, everyone = shop
    other = make_database(account, "Other")
    profiles.create_profile(account, other.id, {"Email": "other@example.com"}, origin=IMPORT)
    again = Selection(account_id=account.id, database_id=database.id, name="Again", rules={})
    db.session.add(again)
    db.session.commit()
    mailing = new_mailing(account, shop, target_ids=[everyone.id, again.id])
    lifecycle.send_now(account, mailing.id)
    assert mailing.frozen == 12  # a member of two targets once; another database's profile never
    excluded = new_mailing(account, shop, name="Nobody", exclude_ids=[again.id])
    lifecycle.send_now(account, excluded.id)
    assert excluded.frozen == 0 and excluded.status == MailingStatus.DONE


def test_suppressed_unsubscribed_and_removed_profiles_are_skipped_and_counted(account, shop, smtp):
    suppression.suppress(account.id, "p1@example.com", suppression.Reason.HARD_BOUNCE)
    suppression.suppress(account.id, "p2@example.com", suppression.Reason.COMPLAINT)
    db.session.commit()
    by_address = {
        profile.fields[next(iter(profile.fields))]: profile.id for profile in db.session.scalars(select(Profile))
    }
    mailing = new_mailing(account, shop)
    lifecycle.send_now(account, mailing.id)
    # after the freeze: one profile removed, one unsubscribed
    profiles.delete_profile(account, by_address["p3@example.com"], origin=Origin("admin"))
    unsubscribe(account, by_address["p4@example.com"], origin=Origin("admin"))
    send_everything()
    counted = results.results_of(account, mailing.id)
    assert counted.skipped == {"hard_bounce": 1, "complaint": 1, "removed": 1, "unsubscribed": 1}
    assert not {f"p{n}@example.com" for n in (1, 2, 3, 4)} & set(received(smtp))
    assert counted.sent == len(smtp.envelopes) == 8
    assert counted.by_status == {"sent": 8, "skipped": 4}


def test_a_4xx_is_retried_later_and_never_counted_as_sent(account, shop, smtp):
    smtp.replies = ["451 4.7.1 Try again later"]  # the first RCPT
    mailing = new_mailing(account, shop)
    lifecycle.send_now(account, mailing.id)
    send_everything()
    assert statuses(mailing.id) == Counter({"sent": 11, "pending": 1})
    deferred = db.session.scalars(select(MailingRecipient).where(MailingRecipient.status == "pending")).one()
    assert deferred.attempts == 1 and deferred.due_at > utcnow() and "451" in deferred.error
    assert results.results_of(account, mailing.id).sent == 11
    assert mailing.status == MailingStatus.SENDING  # not done while one waits
    db.session.execute(update(MailingRecipient).values(due_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    send_everything()
    assert statuses(mailing.id) == Counter({"sent": 12})
    assert received(smtp) == Counter({f"p{n}@example.com": 1 for n in range(12)})


def test_a_5xx_refusal_fails_the_recipient_and_counts_as_a_hard_bounce(account, shop, smtp):
    smtp.replies = ["550 5.1.1 No such user"]
    mailing = new_mailing(account, shop)
    lifecycle.send_now(account, mailing.id)
    send_everything()
    assert statuses(mailing.id) == Counter({"sent": 11, "failed": 1})
    counted = results.results_of(account, mailing.id)
    assert counted.hard_bounces == 1 and counted.sent == 11


def test_pause_resume_and_cancel(account, shop, smtp):
    mailing = new_mailing(account, shop)
    lifecycle.send_now(account, mailing.id)
    lifecycle.pause(account, mailing.id)
    assert batches.dispatch_due_batches() == 0  # nothing is handed out while paused
    with pytest.raises(Conflict):
        lifecycle.pause(account, mailing.id)
    lifecycle.resume(account, mailing.id)
    batches.dispatch_due_batches()
    [job_id] = {row.job_id for row in db.session.scalars(select(MailingRecipient))}
    ids = list(db.session.scalars(select(MailingRecipient.id).order_by(MailingRecipient.id)))
    lifecycle.pause(account, mailing.id)  # paused with a batch queued: the batch gives its rows back
    assert batches.send_batch(ids, job_id) == {"released": 12}
    assert statuses(mailing.id) == Counter({"pending": 12}) and not smtp.envelopes
    lifecycle.resume(account, mailing.id)
    batches.dispatch_due_batches()
    [job_id] = {row.job_id for row in db.session.scalars(select(MailingRecipient))}
    lifecycle.cancel(account, mailing.id)  # cancelled with the batch queued: nothing of it is sent
    batches.send_batch(ids, job_id)
    assert statuses(mailing.id) == Counter({"cancelled": 12}) and not smtp.envelopes
    with pytest.raises(Conflict):
        lifecycle.resume(account, mailing.id)


def test_a_throttle_sizes_and_spaces_the_batches(account, shop, smtp):
    mailing = new_mailing(account, shop, per_minute=30)
    lifecycle.send_now(account, mailing.id)
    assert batches.dispatch_due_batches() == 5  # 10 seconds' worth
    assert batches.dispatch_due_batches() == 0  # the next batch waits
    db.session.refresh(mailing)
    assert mailing.next_batch_at > utcnow() + timedelta(seconds=9)


def test_the_recipients_at_hand_are_shared_out_over_the_free_lanes(account, shop, monkeypatch):
    """Jobs are as large as ``BATCH`` allows when there is plenty to send, and what is left is shared out over
    the free lanes in jobs of at least ``MIN_BATCH``, so a small mailing still goes out over several workers."""

    def job_sizes() -> list[int]:
        rows = db.session.execute(
            select(func.count()).where(MailingRecipient.status == "queued").group_by(MailingRecipient.job_id)
        ).all()
        db.session.rollback()
        return sorted(size for (size,) in rows)

    monkeypatch.setattr(batches, "BATCH", 5)
    monkeypatch.setattr(batches, "MIN_BATCH", 2)
    monkeypatch.setattr(batches, "LANES", 2)
    mailing = new_mailing(account, shop)
    lifecycle.send_now(account, mailing.id)
    assert batches.dispatch_due_batches() == 10  # 12 at hand: two full jobs
    assert job_sizes() == [5, 5]
    db.session.execute(update(MailingRecipient).where(MailingRecipient.status == "queued").values(status="sent"))
    db.session.commit()
    assert batches.dispatch_due_batches() == 2  # 2 left for 2 lanes: one job, not two of one
    assert job_sizes() == [2]


def test_a_small_remainder_is_split_over_the_free_lanes(account, shop, monkeypatch):
    monkeypatch.setattr(batches, "BATCH", 100)
    monkeypatch.setattr(batches, "MIN_BATCH", 2)
    monkeypatch.setattr(batches, "LANES", 4)
    mailing = new_mailing(account, shop)
    lifecycle.send_now(account, mailing.id)
    assert batches.dispatch_due_batches() == 12
    rows = db.session.execute(
        select(func.count()).where(MailingRecipient.status == "queued").group_by(MailingRecipient.job_id)
    ).all()
    db.session.rollback()
    assert sorted(size for (size,) in rows) == [3, 3, 3, 3]  # 12 over 4 lanes, not one job of 12


def test_a_per_domain_limit_puts_the_rest_of_that_domain_back_for_later(account, shop, smtp):
    mailing = new_mailing(account, shop, domain_limits={"example.com": 6})  # a burst of 1 per 10 s
    lifecycle.send_now(account, mailing.id)
    send_everything(rounds=1)
    assert len(smtp.envelopes) == 1
    assert statuses(mailing.id) == Counter({"sent": 1, "pending": 11})


def test_a_killed_batch_goes_on_where_it_stopped_and_the_interrupted_message_is_for_review(account, shop, smtp):
    mailing = new_mailing(account, shop)
    lifecycle.send_now(account, mailing.id)
    batches.dispatch_due_batches()
    rows = list(db.session.scalars(select(MailingRecipient).order_by(MailingRecipient.id)))
    # as a worker killed mid-send leaves it: the first three sent, the fourth claimed, the rest queued
    for row in rows[:3]:
        row.status, row.sent_at = "sent", utcnow()
    rows[3].status, rows[3].message_id = "sending", "<x@example.com>"
    for row in rows:
        row.queued_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert batches.requeue_lost_batches() == 0  # its job is still waiting in Redis
    Job.fetch(rows[0].job_id, connection=redis_connection()).set_status(JobStatus.FAILED)  # the worker died
    assert batches.requeue_lost_batches() == 9
    assert statuses(mailing.id) == Counter({"sent": 3, "review": 1, "pending": 8})
    send_everything()
    assert statuses(mailing.id) == Counter({"sent": 11, "review": 1})
    assert len(smtp.envelopes) == 8
    review = results.review_list(account, mailing.id)
    assert [row.id for row in review] == [rows[3].id]
    lifecycle.resolve_review(account, mailing.id, rows[3].id, resend=True)
    send_everything()
    assert statuses(mailing.id) == Counter({"sent": 12}) and len(smtp.envelopes) == 9


def test_ab_test_sends_the_variants_to_a_sample_and_the_winner_to_the_rest(account, shop, smtp):
    variants = [{"subject": "Version A"}, {"subject": "Version B"}]
    mailing = new_mailing(account, shop, variants=variants, ab_percent=50, ab_wait_minutes=60)
    lifecycle.send_now(account, mailing.id)
    assert mailing.status == MailingStatus.TESTING
    send_everything()
    assert statuses(mailing.id) == Counter({"sent": 6, "held": 6})
    subjects = Counter(message["Subject"] for message in smtp.messages)
    assert subjects == Counter({"Version A": 3, "Version B": 3})
    # every receiver of B opens it
    for message in smtp.messages:
        if message["Subject"] == "Version B":
            sent = db.session.scalars(select(SentMessage).where(SentMessage.message_id == message["Message-ID"])).one()
            profile = db.session.get(Profile, sent.profile_id)
            tracking.record_open(link_tokens.sign("open", a=account.id, p=profile.code, m=sent.message_id))
    assert ab_tests.winner(mailing) == 2
    row = db.session.scalars(select(ScheduledWork).where(ScheduledWork.kind == "mailing-ab")).one()
    assert row.due_at >= utcnow() + timedelta(minutes=59)
    work.run_work(row.id)
    db.session.refresh(mailing)
    assert mailing.ab_winner == 2 and mailing.status == MailingStatus.SENDING
    send_everything()
    assert Counter(message["Subject"] for message in smtp.messages) == Counter({"Version A": 3, "Version B": 9})
    assert statuses(mailing.id) == Counter({"sent": 12})


def test_a_scheduled_mailing_starts_at_its_time_and_rescheduling_replaces_the_time(account, shop, smtp):
    mailing = new_mailing(account, shop)
    with pytest.raises(ValidationError):
        lifecycle.schedule_at(account, mailing.id, utcnow() - timedelta(minutes=1))
    lifecycle.schedule_at(account, mailing.id, utcnow() + timedelta(hours=1))
    lifecycle.schedule_at(account, mailing.id, utcnow() + timedelta(hours=2))
    first, second = db.session.scalars(select(ScheduledWork).where(ScheduledWork.kind == "mailing-start")).all()
    work.run_work(first.id)  # the replaced time: nothing happens
    db.session.refresh(mailing)
    assert mailing.status == MailingStatus.SCHEDULED
    work.run_work(second.id)
    db.session.refresh(mailing)
    assert mailing.status == MailingStatus.SENDING and mailing.frozen == 12


def test_a_periodic_mailing_sends_each_occurrence_as_a_mailing_and_schedules_the_next(account, shop, smtp):
    account.time_zone = "Europe/Amsterdam"
    mailing = new_mailing(account, shop, repeat={"weekdays": [0], "time": "09:00"})  # Mondays at 09:00
    lifecycle.start_repeating(account, mailing.id)
    assert mailing.status == MailingStatus.PERIODIC
    first = db.session.scalars(select(ScheduledWork).where(ScheduledWork.kind == "mailing-repeat")).one()
    local = lifecycle.utc_to_local(first.due_at, lifecycle.zone_of(account))
    assert (local.weekday(), local.hour, local.minute) == (0, 9, 0) and first.due_at > utcnow()
    work.run_work(first.id)
    occurrence = db.session.scalars(select(Mailing).where(Mailing.parent_id == mailing.id)).one()
    assert occurrence.status == MailingStatus.SENDING and occurrence.frozen == 12
    second = db.session.scalars(
        select(ScheduledWork).where(ScheduledWork.kind == "mailing-repeat", ScheduledWork.status == "pending")
    ).one()
    following = lifecycle.utc_to_local(second.due_at, lifecycle.zone_of(account))
    assert (following.date() - local.date(), following.hour, following.minute) == (timedelta(days=7), 9, 0)
    send_everything()
    assert len(smtp.envelopes) == 12
    lifecycle.cancel(account, mailing.id)
    work.run_work(second.id)  # cancelled: no further occurrence
    assert db.session.scalar(select(func.count()).where(Mailing.parent_id == mailing.id)) == 1


def test_next_occurrence_in_the_account_zone(account):
    account.time_zone = "Europe/Amsterdam"
    repeat = {"weekdays": [0, 3], "time": "09:00"}
    wednesday = datetime(2026, 12, 2, 12, 0)  # UTC
    assert lifecycle.next_occurrence(repeat, account, wednesday) == datetime(2026, 12, 3, 8, 0)  # Thursday 09:00 CET
    assert lifecycle.next_occurrence(repeat, account, datetime(2026, 12, 3, 8, 0)) == datetime(2026, 12, 7, 8, 0)


def test_results_count_opens_clicks_links_bounces_complaints_and_unsubscribes(account, shop, smtp):
    mailing = new_mailing(account, shop)
    lifecycle.send_now(account, mailing.id)
    send_everything()
    sent = db.session.scalars(select(SentMessage).order_by(SentMessage.id)).all()
    codes = {profile.id: profile.code for profile in db.session.scalars(select(Profile))}

    def token(purpose, message, **extra):
        return link_tokens.sign(purpose, a=account.id, p=codes[message.profile_id], m=message.message_id, **extra)

    tracking.record_open(token("open", sent[0]))
    tracking.record_open(token("open", sent[0]))
    tracking.record_click(token("click", sent[1], u="https://shop.example/bikes"))
    tracking.record_click(token("click", sent[1], u="https://shop.example/bikes"))
    tracking.record_click(token("click", sent[2], u="https://shop.example/other"))
    intake.keep(Report(kind=Kind.HARD_BOUNCE, status="5.1.1"), sent[3], b"bounce")
    intake.keep(Report(kind=Kind.SOFT_BOUNCE, status="4.2.2"), sent[3], b"later soft")  # hard stays hard
    intake.keep(Report(kind=Kind.SOFT_BOUNCE, status="4.2.2"), sent[4], b"soft")
    intake.keep(Report(kind=Kind.COMPLAINT), sent[5], b"abuse")
    tracking.unsubscribe_by_link(token("unsubscribe", sent[6]))
    counted = results.results_of(account, mailing.id)
    assert (counted.sent, counted.unique_opens, counted.opens) == (12, 3, 4)  # a click is an open too
    assert (counted.unique_clicks, counted.clicks) == (2, 3)
    assert (counted.hard_bounces, counted.soft_bounces, counted.delivered) == (1, 1, 10)
    assert (counted.complaints, counted.unsubscribes) == (1, 1)
    assert {link.url: link.click_count for link in counted.links} == {
        "https://shop.example/bikes": 2,
        "https://shop.example/other": 1,
    }
    first = db.session.scalars(select(EmailResult).where(EmailResult.sent_message_id == sent[0].id)).one()
    assert first.open_count == 2 and first.opened_at is not None
    received_list = results.received_by(account, sent[1].profile_id)
    assert [(item.name, item.result.click_count) for item in received_list] == [("December news", 2)]
    start, _step, series = results.timeline(account, mailing.id)
    assert start is not None and [line.points[-1] for line in series] == [12, 3, 2]
    svg = results.chart_svg(series, labels={"sent": "Sent", "opens": "Opens", "clicks": "Clicks"})
    assert svg.startswith("<svg") and svg.count("<polyline") == 3 and "<script" not in svg


def test_every_kind_of_message_gets_its_result_row(account, shop, smtp):
    from webapp.email import delivery

    delivery.send_mail(account.id, to="someone@example.com", subject="Hello", text="Hi", category="transactional")
    db.session.commit()
    row = db.session.scalars(select(EmailResult)).one()
    assert row.category == "transactional" and row.mailing_id is None and row.profile_id is None


def test_test_send_goes_to_the_given_addresses_only_and_counts_nowhere(account, shop, smtp):
    mailing = new_mailing(account, shop, variants=[{"subject": "A"}, {"subject": "B"}])
    with pytest.raises(ValidationError) as error:
        lifecycle.send_test(account, mailing.id, "not an address")
    assert "addresses" in error.value.errors
    lifecycle.send_test(account, mailing.id, "me@example.org, you@example.org")
    assert received(smtp) == Counter({"me@example.org": 2, "you@example.org": 2})
    assert sorted(message["Subject"] for message in smtp.messages)[0].startswith("[Test, variant 1] A")
    assert results.results_of(account, mailing.id).sent == 0
    assert mailing.status == MailingStatus.DRAFT


def test_bad_input_is_refused_with_a_message_per_field_and_changes_nothing(account, shop):
    database, template, everyone = shop
    mailing = new_mailing(account, shop)
    bad = MailingValues(
        name="",
        database_id=database.id,
        template_id=None,
        target_ids=[],
        sender="not an address",
        per_minute=0,
        domain_limits={"not a domain": 5},
        variants=[{"subject": "only one"}],
        repeat={"weekdays": [], "time": "9"},
    )
    with pytest.raises(ValidationError) as error:
        definitions.update_mailing(account, mailing.id, bad)
    assert set(error.value.errors) >= {"name", "template_id", "target_ids", "sender", "per_minute", "domain_limits"}
    db.session.refresh(mailing)
    assert mailing.name == "December news" and mailing.target_ids == [everyone.id]
    lifecycle.send_now(account, mailing.id)
    with pytest.raises(Conflict):
        definitions.update_mailing(account, mailing.id, bad)
    with pytest.raises(Conflict):
        lifecycle.send_now(account, mailing.id)
    with pytest.raises(ValidationError):
        definitions.parse_domain_limits("gmail.com:5")
    assert definitions.parse_domain_limits("Gmail.com=600\nhotmail.com = 300") == {"gmail.com": 600, "hotmail.com": 300}


def test_another_accounts_mailing_is_not_found(account, shop):
    from tests.factories import make_account
    from webapp.platform.errors import NotFound

    mailing = new_mailing(account, shop)
    other = make_account("Other")
    for action in (lifecycle.send_now, lifecycle.pause, lifecycle.cancel, definitions.get_mailing):
        with pytest.raises(NotFound):
            action(other, mailing.id)
