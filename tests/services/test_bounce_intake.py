"""Intake through the real SMTP receiver: a client sends over a socket, the receiver matches, keeps and journals.

Also: recipients outside BOUNCE_DOMAIN are refused at RCPT, unmatched messages are kept apart and never put
on a profile, a ``mailto:`` unsubscribe unsubscribes, and with the database down the receiver answers 451 so
the sending server keeps the message and delivers it once the database is back.
"""

import smtplib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import make_database
from webapp import create_app
from webapp.config import normalize_database_url
from webapp.email import delivery, link_tokens
from webapp.extensions import db
from webapp.hygiene import intake
from webapp.hygiene.receiver import Receiver
from webapp.models import BounceReport, ProfileEvent, UnmatchedReport, utcnow
from webapp.profiles import profiles
from webapp.profiles.events import Origin

DOMAIN = "bounces.example.org"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bounces"


@pytest.fixture
def bounce_domain(app):
    app.config["BOUNCE_DOMAIN"] = DOMAIN
    yield DOMAIN
    app.config["BOUNCE_DOMAIN"] = ""


@pytest.fixture
def receiver(app, bounce_domain):
    running = Receiver(app, "127.0.0.1", 0).start()
    yield running
    running.stop()


@pytest.fixture
def sent(account, bounce_domain):
    """A marketing message sent (to the catcher) to a profile: its Message-ID, profile and VERP address."""
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"Email": "ann@example.com"}, origin=Origin("admin"))
    message_id = delivery.send_mail(
        account.id, to="ann@example.com", subject="News", text="Hi", profile_id=profile.id, category="marketing"
    )
    db.session.commit()
    verp = link_tokens.address("bounce", account.id, link_tokens.return_key(message_id))
    return message_id, profile, verp


def send(receiver, recipient: str, data: bytes) -> None:
    host, port = receiver.address
    with smtplib.SMTP(host, port) as client:
        client.sendmail("", [recipient], data)


def dsn(message_id: str, *, status="5.1.1", diagnostic="smtp; 550 5.1.1 <ann@example.com>: User unknown") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: someone@bounces.example.org\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; ann@example.com\r\nAction: failed\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: {diagnostic}\r\n\r\n"
        f"--b\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: {message_id}\r\nTo: ann@example.com\r\n\r\n"
        "--b--\r\n"
    ).encode()


def events_of(profile_id: int, kind: str) -> list[ProfileEvent]:
    query = select(ProfileEvent).where(ProfileEvent.profile_id == profile_id, ProfileEvent.kind == kind)
    return list(db.session.scalars(query))


def test_a_dsn_to_the_verp_address_is_kept_and_journalled_as_the_contract_says(receiver, sent):
    message_id, profile, verp = sent
    send(receiver, verp, dsn("<not-ours@elsewhere.test>"))
    db.session.expire_all()
    [report] = db.session.scalars(select(BounceReport)).all()
    assert (report.kind, report.reason, report.status, report.profile_id) == (
        "hard",
        "user_unknown",
        "5.1.1",
        profile.id,
    )
    assert report.original_message_id == message_id and report.recipient == "ann@example.com"
    assert b"Undelivered Mail" in report.raw
    [event] = events_of(profile.id, "bounced")
    assert event.source == "bounce" and event.reference == message_id
    assert event.changes == {
        "bounce": {
            "type": "hard",
            "reason": "user_unknown",
            "status": "5.1.1",
            "diagnostic": "smtp; 550 5.1.1 <ann@example.com>: User unknown",
            "message_id": message_id,
        }
    }


def test_without_a_verp_token_the_original_message_id_matches(receiver, sent):
    message_id, profile, _verp = sent
    send(receiver, f"postmaster@{DOMAIN}", dsn(message_id, status="4.2.2", diagnostic="smtp; 452 4.2.2 Mailbox full"))
    db.session.expire_all()
    [event] = events_of(profile.id, "bounced")
    assert event.changes["bounce"]["type"] == "soft" and event.changes["bounce"]["reason"] == "mailbox_full"


def test_a_real_world_complaint_is_journalled_as_complained(receiver, sent):
    message_id, profile, verp = sent
    raw = (FIXTURES / "arf-01.eml").read_bytes()
    send(receiver, verp, raw)
    db.session.expire_all()
    [event] = events_of(profile.id, "complained")
    assert event.changes == {"complaint": {"feedback_type": "abuse", "message_id": message_id}}


def test_an_auto_reply_is_kept_but_changes_nothing(receiver, sent):
    _message_id, profile, verp = sent
    send(receiver, verp, (FIXTURES / "rfc3834-01.eml").read_bytes())
    db.session.expire_all()
    assert [report.kind for report in db.session.scalars(select(BounceReport))] == ["auto_reply"]
    assert events_of(profile.id, "bounced") == [] and events_of(profile.id, "complained") == []


def test_an_unmatched_message_is_kept_apart_listed_and_forgotten_later(receiver, sent, app):
    _message_id, profile, _verp = sent
    send(receiver, f"postmaster@{DOMAIN}", (FIXTURES / "lhost-postfix-01.eml").read_bytes())
    db.session.expire_all()
    assert db.session.scalars(select(BounceReport)).all() == []
    assert events_of(profile.id, "bounced") == []
    [row] = db.session.scalars(select(UnmatchedReport)).all()
    assert row.kind == "hard" and row.envelope_to == f"postmaster@{DOMAIN}"
    listing = app.test_cli_runner().invoke(args=["unmatched"])
    assert listing.exit_code == 0 and "1 unmatched message(s) kept" in listing.output
    row.received_at = utcnow() - timedelta(days=app.config["UNMATCHED_REPORT_DAYS"] + 1)
    db.session.commit()
    intake.forget_old_unmatched()
    db.session.commit()
    assert db.session.scalars(select(UnmatchedReport)).all() == []


def test_a_forged_verp_token_is_not_trusted(receiver, sent, account):
    message_id, profile, verp = sent
    forged = verp.replace(f"+{account.id}.", f"+{account.id + 1}.")
    send(receiver, forged, dsn("<unknown@elsewhere.test>"))
    db.session.expire_all()
    assert events_of(profile.id, "bounced") == []
    assert len(db.session.scalars(select(UnmatchedReport)).all()) == 1


def test_mail_for_another_domain_is_refused_at_rcpt(receiver, sent):
    host, port = receiver.address
    with smtplib.SMTP(host, port) as client:
        client.ehlo()
        client.mail("")
        refused, _message = client.rcpt("someone@example.com")
        accepted, _message = client.rcpt(f"postmaster@{DOMAIN.upper()}")
    assert (refused, accepted) == (550, 250)


def test_a_mailto_unsubscribe_unsubscribes_the_profile(receiver, sent, account):
    message_id, profile, _verp = sent
    address = link_tokens.address("unsubscribe", account.id, link_tokens.return_key(message_id))
    send(receiver, address, b"From: ann@example.com\r\nTo: x\r\nSubject: unsubscribe\r\n\r\n")
    db.session.expire_all()
    [event] = events_of(profile.id, "unsubscribed")
    assert event.source == "unsubscribe" and event.reference == message_id
    assert [report.kind for report in db.session.scalars(select(BounceReport))] == ["unsubscribe"]


def test_with_the_database_down_the_receiver_answers_451_and_nothing_is_lost(app, receiver, sent, redis_url):
    message_id, profile, verp = sent
    down = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": normalize_database_url("postgresql://postgres@127.0.0.1:9/unreachable"),
            "REDIS_URL": redis_url,
            "BOUNCE_DOMAIN": DOMAIN,
            "SECRET_KEY": app.config["SECRET_KEY"],
        }
    )
    unreachable = Receiver(down, "127.0.0.1", 0).start()
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(unreachable, verp, dsn(message_id))
        assert refused.value.smtp_code == 451
    finally:
        unreachable.stop()
    db.session.expire_all()
    assert events_of(profile.id, "bounced") == []
    send(receiver, verp, dsn(message_id))  # the sending server's retry, with the database back
    db.session.expire_all()
    assert len(events_of(profile.id, "bounced")) == 1


@pytest.mark.parametrize("name", sorted(path.name for path in FIXTURES.glob("*.eml"))[::40])
def test_real_world_messages_go_through_the_receiver(receiver, sent, name):
    send(receiver, f"postmaster@{DOMAIN}", (FIXTURES / name).read_bytes())
    db.session.expire_all()
    assert len(db.session.scalars(select(UnmatchedReport)).all()) == 1


def test_in_transaction_subscribers_see_each_event_as_recorded(receiver, sent):
    """The policies subscribe with ``events.subscribe``: a batch's events reach them one by one, with ids."""
    from webapp.profiles import events

    message_id, profile, verp = sent
    seen = []

    def handler(event):
        seen.append((event.id is not None, event.kind, event.profile_id, event.changes["bounce"]["message_id"]))

    events.bus().in_transaction.append(handler)
    try:
        send(receiver, verp, dsn(message_id))
    finally:
        events.bus().in_transaction.remove(handler)
    assert seen == [(True, "bounced", profile.id, message_id)]


def test_a_message_id_quoted_in_a_text_bounce_matches(receiver, sent):
    """qmail returns the original below its report as plain text: its Message-ID line is found there."""
    message_id, profile, _verp = sent
    raw = (FIXTURES / "lhost-qmail-01.eml").read_bytes()
    raw = raw.replace(b"<000000000.9999999999999.JavaMail.postmaster@mailhub>", message_id.encode())
    send(receiver, f"postmaster@{DOMAIN}", raw)
    db.session.expire_all()
    [event] = events_of(profile.id, "bounced")
    assert event.changes["bounce"]["type"] == "hard" and event.changes["bounce"]["message_id"] == message_id
