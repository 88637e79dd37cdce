"""Reading bounces, complaints and auto-replies: the 336 real-world messages of tests/fixtures/bounces and the
classification rules of RFC 3463/3464/5965/3834.

``bounce_fixture_expectations.csv`` (beside this file) holds, per message, the class, the reason and the
failed recipient decided from what the message itself says (its status codes, diagnostic and report type).
"""

import csv
from pathlib import Path

import pytest

from webapp.hygiene import classification
from webapp.hygiene.reading import read_report
from webapp.hygiene.reports import Kind, Reason

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bounces"
with (Path(__file__).resolve().parent / "bounce_fixture_expectations.csv").open(newline="") as table:
    EXPECTED = {row["file"]: row for row in csv.DictReader(table)}


def test_the_table_covers_every_fixture():
    assert sorted(EXPECTED) == sorted(path.name for path in FIXTURES.glob("*.eml"))
    assert len(EXPECTED) == 336


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_message_is_read_as_the_table_says(name):
    expected = EXPECTED[name]
    report = read_report((FIXTURES / name).read_bytes())
    assert (report.kind.value, report.reason.value) == (expected["kind"], expected["reason"])
    assert report.recipient.lower() == expected["recipient"]


def test_at_least_95_percent_are_classified_and_every_bounce_names_its_recipient():
    reports = {name: read_report((FIXTURES / name).read_bytes()) for name in EXPECTED}
    classified = [report for report in reports.values() if report.kind != Kind.UNKNOWN]
    assert len(classified) / len(reports) >= 0.95
    failures = [report for report in reports.values() if report.kind in (Kind.HARD_BOUNCE, Kind.SOFT_BOUNCE)]
    assert all(report.recipient for report in failures)


def test_a_dsn_reports_the_remote_servers_reply_over_the_summary_and_keeps_the_diagnostic():
    raw = _dsn(status="5.0.0", diagnostic="smtp; 550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown")
    report = read_report(raw)
    assert (report.kind, report.reason, report.status) == (Kind.HARD_BOUNCE, Reason.USER_UNKNOWN, "5.1.1")
    assert report.recipient == "ann@example.com" and "User unknown" in report.diagnostic
    assert report.original_message_id == "<sent-1@verrijk.test>"


def test_the_enhanced_code_wins_over_words_and_labels():
    # A "mailbox full" text with a permanent code is a hard bounce; a permanent-sounding text with 4.x.x is soft.
    assert classification.classify("5.2.2", "mailbox full")[:2] == (Kind.HARD_BOUNCE, Reason.MAILBOX_FULL)
    assert classification.classify("4.1.1", "permanent failure: user unknown")[0] == Kind.SOFT_BOUNCE
    assert classification.classify("", "452 4.2.2 over quota", permanent_hint=True)[0] == Kind.SOFT_BOUNCE
    assert classification.classify("", "550 no such user")[:2] == (Kind.HARD_BOUNCE, Reason.USER_UNKNOWN)
    assert classification.classify("", "host not found")[:2] == (Kind.HARD_BOUNCE, Reason.DOMAIN_NOT_FOUND)
    assert classification.classify("", "something odd happened")[0] == Kind.UNKNOWN


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        ("5.1.1", Reason.USER_UNKNOWN),
        ("5.1.2", Reason.DOMAIN_NOT_FOUND),
        ("5.2.2", Reason.MAILBOX_FULL),
        ("5.3.4", Reason.TOO_LARGE),
        ("4.4.7", Reason.EXPIRED),
        ("5.7.1", Reason.POLICY),
    ],
)
def test_status_codes_name_their_reason(status, reason):
    assert classification.classify(status, "")[1] == reason


def test_version_numbers_and_addresses_are_not_status_codes():
    assert classification.enhanced_codes("engine=2.50.10432:5.13.68,1.0.28 from 192.0.2.5 v5.1.1.2") == []


def test_delayed_is_soft_delivered_is_no_bounce():
    assert read_report(_dsn(action="delayed", status="4.4.7", diagnostic="")).kind == Kind.SOFT_BOUNCE
    assert read_report(_dsn(action="delivered", status="2.0.0", diagnostic="")).kind == Kind.NOT_A_BOUNCE


def test_an_rfc_3834_auto_reply_is_recognised():
    raw = b"From: ann@example.com\r\nTo: b@x.test\r\nSubject: Re: news\r\nAuto-Submitted: auto-replied\r\n\r\nAway.\r\n"
    assert read_report(raw).kind == Kind.AUTO_REPLY
    raw = b"From: ann@example.com\r\nSubject: Out of Office: news\r\n\r\nBack on Monday.\r\n"
    assert read_report(raw).kind == Kind.AUTO_REPLY


def test_an_arf_complaint_names_the_original_recipient():
    raw = (
        b"From: fbl@isp.test\r\nTo: bounce@b.test\r\nSubject: complaint\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nA complaint.\r\n"
        b"--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: x/1\r\n"
        b"Version: 1\r\nOriginal-Rcpt-To: <ann@example.com>\r\n\r\n"
        b"--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        b"Message-ID: <sent-2@verrijk.test>\r\nTo: ann@example.com\r\n\r\n"
        b"--b--\r\n"
    )
    report = read_report(raw)
    assert (report.kind, report.recipient, report.original_message_id) == (
        Kind.COMPLAINT,
        "ann@example.com",
        "<sent-2@verrijk.test>",
    )


@pytest.mark.parametrize("raw", [b"", b"\xff\xfe\x00garbage", b"Content-Type: multipart/report; boundary=\r\n\r\n--"])
def test_garbage_never_raises(raw):
    assert read_report(raw).kind in set(Kind)


def _dsn(*, action="failed", status="5.1.1", diagnostic="smtp; 550 5.1.1 user unknown") -> bytes:
    diagnostic_line = f"Diagnostic-Code: {diagnostic}\r\n" if diagnostic else ""
    return (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: bounce@b.test\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; ann@example.com\r\nAction: {action}\r\nStatus: {status}\r\n{diagnostic_line}\r\n"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "Message-ID: <sent-1@verrijk.test>\r\nTo: ann@example.com\r\n\r\n"
        "--b--\r\n"
    ).encode()
