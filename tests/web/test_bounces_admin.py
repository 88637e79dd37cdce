"""The hygiene admin: received reports (own account only, filters), the raw message as escaped text,
classifying an unknown report by hand, the per-database chart, the providers' webhook secrets."""

import itertools

from sqlalchemy import select

from tests.factories import make_account, make_database
from webapp.email import delivery
from webapp.extensions import db
from webapp.hygiene import credentials, intake
from webapp.hygiene.reports import Kind, Report
from webapp.models import IntakeCredential, ProfileEvent, SentMessage
from webapp.profiles import profiles
from webapp.profiles.events import Origin

ADDRESSES = itertools.count(1)


def received(account, kind: Kind, raw: bytes = b"Subject: bounce\r\n\r\nbody") -> tuple[int, int]:
    """A report kept for a message sent to a new profile (a new address: a bounced one is suppressed)."""
    number = next(ADDRESSES)
    database = make_database(account, name=f"Customers_{kind.value}_{number}")
    address = f"ann{number}@example.com"
    profile = profiles.create_profile(account, database.id, {"Email": address}, origin=Origin("admin"))
    message_id = delivery.send_mail(account.id, to=address, subject="S", text="x", profile_id=profile.id)
    sent = db.session.scalar(select(SentMessage).where(SentMessage.message_id == message_id))
    outcome = intake.keep(Report(kind, status="5.1.1" if kind == Kind.HARD_BOUNCE else ""), sent, raw)
    return outcome.report_id, profile.id


def test_the_list_shows_the_accounts_reports_and_filters_them(browser):
    viewer = browser("viewer")
    hard_id, _profile = received(viewer.user.account, Kind.HARD_BOUNCE)
    unknown_id, _profile = received(viewer.user.account, Kind.UNKNOWN)
    theirs, _profile = received(make_account("Other"), Kind.HARD_BOUNCE)
    page = viewer.get("/hygiene/reports").get_data(as_text=True)
    assert f'id="report-{hard_id}"' in page and f'id="report-{unknown_id}"' in page
    assert f'id="report-{theirs}"' not in page
    rows = viewer.get("/hygiene/reports?kind=unknown", htmx=True).get_data(as_text=True)
    assert f'id="report-{unknown_id}"' in rows and f'id="report-{hard_id}"' not in rows and "<html" not in rows
    assert viewer.get(f"/hygiene/reports/{theirs}").status_code == 404


def test_the_raw_message_is_shown_as_escaped_text(browser):
    viewer = browser("viewer")
    report_id, profile_id = received(
        viewer.user.account, Kind.HARD_BOUNCE, b"Subject: x\r\n\r\n<script>alert(1)</script>"
    )
    page = viewer.get(f"/hygiene/reports/{report_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page
    (address,) = profiles.get_profile(viewer.user.account, profile_id).fields.values()  # its only field: Email
    assert f">{address}</a>" in page  # the profile named by its address, not its number


def test_an_unknown_report_is_classified_by_hand_and_journalled(browser):
    editor = browser("editor")
    report_id, profile_id = received(editor.user.account, Kind.UNKNOWN)
    response = editor.post(f"/hygiene/reports/{report_id}/classify", {"kind": "hard", "reason": "user_unknown"})
    assert response.status_code == 303
    [event] = db.session.scalars(
        select(ProfileEvent).where(ProfileEvent.profile_id == profile_id, ProfileEvent.kind == "bounced")
    ).all()
    assert event.changes["bounce"]["type"] == "hard" and event.changes["bounce"]["reason"] == "user_unknown"
    again = editor.post(f"/hygiene/reports/{report_id}/classify", {"kind": "soft", "reason": "other"})
    assert again.status_code == 303
    assert len(db.session.scalars(select(ProfileEvent).where(ProfileEvent.kind == "bounced")).all()) == 1


def test_a_viewer_cannot_classify(browser):
    viewer = browser("viewer")
    report_id, _profile = received(viewer.user.account, Kind.UNKNOWN)
    assert viewer.post(f"/hygiene/reports/{report_id}/classify", {"kind": "hard"}).status_code == 403


def test_the_chart_counts_per_day(browser):
    viewer = browser("viewer")
    received(viewer.user.account, Kind.HARD_BOUNCE)
    page = viewer.get("/hygiene/chart").get_data(as_text=True)
    assert "<svg" in page and "Hard bounces: 1" in page and "Soft bounces: 0" in page


def test_provider_secrets_are_saved_by_an_admin_only(browser):
    admin = browser("admin")
    response = admin.post("/hygiene/providers", {"provider": "mailgun", "secret": "key-1"})
    assert response.status_code == 303
    row = db.session.scalar(select(IntakeCredential))
    assert (row.provider, row.account_id) == ("mailgun", admin.user.account_id) and "key-1" not in row.secret
    assert credentials.secret_of(admin.user.account_id, "mailgun") == "key-1"
    page = admin.get("/hygiene/providers").get_data(as_text=True)
    assert f"/inbound/mailgun/{admin.user.account_id}" in page and "key-1" not in page
    admin.post("/hygiene/providers", {"provider": "mailgun", "secret": ""})
    assert credentials.secret_of(admin.user.account_id, "mailgun") == "key-1"
    admin.post("/hygiene/providers", {"provider": "mailgun", "secret": "", "clear": "y"})
    assert credentials.credentials_of(admin.user.account) == {}
    editor = browser("editor", account=admin.user.account, email="ed@example.com")
    assert editor.post("/hygiene/providers", {"provider": "mailgun", "secret": "x"}).status_code == 403
