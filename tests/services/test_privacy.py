"""Privacy in the domain: anonymisation, the keyed-hash suppression entry, consent records, retention."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_form, make_form_submission
from tests.privacy_person import ADDRESS, build_database, field_id, scan_tables
from webapp.callbacks import definitions as callbacks
from webapp.email import delivery, suppression
from webapp.extensions import db
from webapp.models import (
    BounceReport,
    CallbackDelivery,
    ConsentRecord,
    DeliveryStatus,
    ExportFile,
    FormSubmission,
    PrivacyRequest,
    Profile,
    ProfileEvent,
    RetentionSettings,
    SentMessage,
    SuppressedAddress,
    utcnow,
)
from webapp.platform import work
from webapp.platform.errors import NotFound, ValidationError
from webapp.privacy import access, erasure, retention
from webapp.profiles import profiles
from webapp.profiles.events import Origin
from webapp.webforms import items as form_items
from webapp.webforms import spam as form_spam
from webapp.webforms import submissions as forms
from webapp.widgets.definition import item_name


@pytest.fixture
def database(account):
    return build_database(account)


def make_person(account, database, **values):
    values = {"Email": ADDRESS, "FirstName": "Zebediah", "City": "Quillhaven", **values}
    return profiles.create_profile(account, database.id, values, origin=Origin("admin"))


def run_request(request: PrivacyRequest) -> PrivacyRequest:
    assert work.run_work(request.work_id) == "done"
    db.session.expire_all()
    return db.session.get(PrivacyRequest, request.id)


# --- anonymisation ------------------------------------------------------------------------------------------


def test_anonymise_keeps_the_non_personal_fields_and_the_statistics(account, database):
    person = make_person(account, database)
    profiles.update_profile(account, person.id, {"FirstName": "Zebediah Jr"}, origin=Origin("admin"))
    code = person.code
    request = erasure.request_erasure(account, kind="anonymise", requested_by="test", address=ADDRESS)
    done = run_request(request)
    profile = db.session.get(Profile, person.id)
    assert profile is not None and profile.code != code  # signed links made for the person stop working
    assert profile.fields == {str(field_id(database, "City")): "Quillhaven"}  # City is not personal
    events = list(db.session.scalars(select(ProfileEvent).where(ProfileEvent.profile_id == person.id)))
    assert [event.kind for event in events] == ["profile_created", "profile_updated"]  # the statistics stay
    assert scan_tables(("zebediah", ADDRESS)) == []
    assert done.report["tables"]["profile"] == 1 and done.report["tables"]["profile_event"] == 2
    assert suppression.blocking_reason(account.id, ADDRESS, "marketing") == suppression.Reason.ERASED


def test_erasure_by_profile_takes_its_address_and_leaves_other_people_alone(account, database):
    person = make_person(account, database)
    other = make_person(account, database, Email="ann@example.com", FirstName="Ann")
    done = run_request(erasure.request_erasure(account, kind="erase", requested_by="test", profile_id=person.id))
    assert db.session.get(Profile, person.id) is None
    assert db.session.get(Profile, other.id).fields[str(field_id(database, "FirstName"))] == "Ann"
    assert db.session.scalars(select(ProfileEvent.profile_id)).all() == [other.id]
    assert done.report["tables"]["profile"] == 1


def test_a_request_is_refused_without_a_person_and_for_another_accounts_profile(account, database, ctx):
    from tests.factories import make_account

    with pytest.raises(ValidationError):
        erasure.request_erasure(account, kind="erase", requested_by="test", address="not an address")
    with pytest.raises(ValidationError):
        erasure.request_erasure(account, kind="shred", requested_by="test", address=ADDRESS)
    person = make_person(account, database)
    with pytest.raises(NotFound):
        erasure.request_erasure(make_account("Other"), kind="erase", requested_by="test", profile_id=person.id)
    assert db.session.scalars(select(PrivacyRequest)).all() == []


def test_a_second_run_of_the_same_request_does_nothing(account, database):
    make_person(account, database)
    request = run_request(erasure.request_erasure(account, kind="erase", requested_by="test", address=ADDRESS))
    report = dict(request.report)
    make_person(account, database)  # back, after the erasure
    row = db.session.get(work.ScheduledWork, request.work_id)
    erasure.run_erasure_work(row)  # as a duplicate job would
    db.session.commit()
    assert db.session.scalar(select(Profile.id)) is not None
    assert db.session.get(PrivacyRequest, request.id).report == report


# --- the keyed-hash suppression entry ------------------------------------------------------------------------


def test_the_erased_entry_holds_only_a_keyed_hash_and_blocks_all_but_a_confirmation(account, database):
    suppression.suppress(account.id, ADDRESS, suppression.Reason.UNSUBSCRIBE)
    make_person(account, database)
    run_request(erasure.request_erasure(account, kind="erase", requested_by="test", address=ADDRESS))
    [row] = db.session.scalars(select(SuppressedAddress)).all()
    assert row.address == suppression.erased_key(ADDRESS) and ADDRESS not in row.address
    assert row.address != suppression.erased_key("other@example.org")
    for category in ("marketing", "transactional"):
        assert suppression.blocking_reason(account.id, ADDRESS.upper(), category) == suppression.Reason.ERASED
    assert suppression.blocking_reason(account.id, ADDRESS, "confirmation") is None
    with pytest.raises(delivery.MailPermanentError):
        delivery.send_mail(account.id, to=ADDRESS, subject="News", text="Hi", category="marketing")
    # Signing up again and confirming (consent given anew) lifts it, as for any other suppression.
    assert suppression.lift_in_transaction(account.id, ADDRESS, by="confirmed opt-in") is not None
    assert suppression.blocking_reason(account.id, ADDRESS, "marketing") is None


def test_the_key_depends_on_the_secret(app):
    with app.app_context():
        first = suppression.erased_key(ADDRESS)
        app.config["SECRET_KEY"], old = "another secret", app.config["SECRET_KEY"]
        try:
            assert suppression.erased_key(ADDRESS) != first
        finally:
            app.config["SECRET_KEY"] = old


# --- consent records ---------------------------------------------------------------------------------------


def consent_form(account, database, text="I agree to the monthly letter."):
    return make_form(
        account,
        database,
        items=[{"type": "field", "field": "Email", "required": True}, {"type": "consent", "text": text}],
    )


def submit(form, database, address=ADDRESS, ip="203.0.113.9"):
    consent_item = next(item for item in form.items if item["type"] == "consent")
    return forms.submit_form(
        form.key,
        {f"f{field_id(database, 'Email')}": address, item_name(consent_item): "on"},
        {},
        origin="",
        ip=ip,
        idempotency_key=None,
        elapsed_token=form_spam.issue_token(form.key, now=time.time() - 60),
    )


def test_a_consent_box_records_the_text_shown_then_and_the_address(account, database):
    form = consent_form(account, database)
    result = submit(form, database)
    item = next(item for item in form.items if item["type"] == "consent")
    form_items.update_item(account, form.id, item["id"], {"text": "Changed later."})
    [record] = db.session.scalars(select(ConsentRecord)).all()
    assert (record.profile_id, record.source, record.reference) == (result.profile_id, "form", str(form.id))
    assert (record.text, record.ip, record.confirmed_at) == ("I agree to the monthly letter.", "203.0.113.9", None)
    document = access.export_for_profile(account, result.profile_id)
    assert document["profiles"][0]["consents"][0]["text"] == "I agree to the monthly letter."


def test_a_form_without_consent_records_none(account, database):
    form = make_form(account, database, items=[{"type": "field", "field": "Email", "required": True}])
    forms.submit_form(
        form.key,
        {f"f{field_id(database, 'Email')}": ADDRESS},
        {},
        origin="",
        ip="203.0.113.9",
        idempotency_key=None,
        elapsed_token=form_spam.issue_token(form.key, now=time.time() - 60),
    )
    assert db.session.scalars(select(ConsentRecord)).all() == []


# --- retention ---------------------------------------------------------------------------------------------


def test_retention_settings_are_checked(account):
    with pytest.raises(ValidationError) as raised:
        retention.save_settings(account, {"submission_ip_days": "-3", "inactive_months": "x", "inactive_action": "z"})
    assert set(raised.value.errors) == {"submission_ip_days", "inactive_months", "inactive_action"}
    assert db.session.get(RetentionSettings, account.id) is None
    saved = retention.save_settings(account, {"bounce_raw_days": "30", "inactive_action": "remove"})
    assert (saved.bounce_raw_days, saved.submission_ip_days, saved.inactive_action) == (30, None, "remove")


def test_retention_applies_each_period_once_and_reports(account, database):
    old = utcnow() - timedelta(days=400)
    sleeper = make_person(account, database, Email="sleeper@example.org", FirstName="Sleepy")
    awake = make_person(account, database)
    form = consent_form(account, database)
    make_form_submission(form, profile=awake, created_at=old).ip = "hashed-ip"
    recent = make_form_submission(form, profile=awake)
    recent.ip = "hashed-ip-recent"
    callback = callbacks.create_callback(account, database.id, url="http://127.0.0.1:9/hook")
    db.session.add_all(
        [
            BounceReport(account_id=account.id, kind="hard", raw=b"raw mail", raw_size=8, received_at=old),
            CallbackDelivery(
                account_id=account.id, callback_id=callback.id, status=DeliveryStatus.DELIVERED, created_at=old
            ),
            CallbackDelivery(
                account_id=account.id, callback_id=callback.id, status=DeliveryStatus.PENDING, created_at=old
            ),
            SentMessage(
                account_id=account.id,
                message_id="<m1@x>",
                return_key="k",
                category="marketing",
                recipient="sleeper@example.org",
                subject="Hi Sleepy",
                sent_at=old,
            ),
        ]
    )
    db.session.flush()
    for row in db.session.scalars(select(Profile)):
        row.updated_at = old
    db.session.execute(ProfileEvent.__table__.update().values(created_at=old))
    profiles_events = ProfileEvent(
        account_id=account.id, database_id=database.id, profile_id=awake.id, kind="email_opened", source="email"
    )
    db.session.add(profiles_events)
    db.session.commit()
    retention.save_settings(
        account,
        {
            "submission_ip_days": "30",
            "bounce_raw_days": "30",
            "callback_log_days": "30",
            "sent_detail_days": "30",
            "inactive_months": "6",
            "inactive_action": "remove",
        },
    )
    row = retention.run_now(account)
    assert work.run_work(row.id) == "done"
    db.session.expire_all()
    settings = db.session.get(RetentionSettings, account.id)
    report = settings.last_report
    assert report["submission_ips"] == 1 and report["bounce_messages"] == 1 and report["callback_deliveries"] == 1
    assert report["sent_messages"] == 1 and report["inactive_profiles"] == 1 and settings.last_run_at
    assert [s.ip for s in db.session.scalars(select(FormSubmission).order_by(FormSubmission.id))] == [
        "",
        "hashed-ip-recent",
    ]
    assert db.session.scalar(select(BounceReport.raw)) == b""
    assert db.session.scalars(select(CallbackDelivery.status)).all() == [DeliveryStatus.PENDING]
    assert db.session.get(Profile, sleeper.id) is None and db.session.get(Profile, awake.id) is not None
    # The removal for inactivity keeps nobody out: the sleeper may sign up again.
    assert suppression.blocking_reason(account.id, "sleeper@example.org", "marketing") is None
    # The same row run again (a duplicate job) changes nothing.
    retention.run_retention_work(db.session.get(work.ScheduledWork, row.id))
    assert db.session.get(RetentionSettings, account.id).last_report == report


def test_housekeeping_schedules_one_retention_run_per_account_with_settings(account):
    retention.ensure_retention_work()
    assert retention._waiting(account.id) is None
    retention.save_settings(account, {"callback_log_days": "10"})
    retention.ensure_retention_work()
    retention.ensure_retention_work()
    db.session.commit()
    rows = db.session.scalars(select(work.ScheduledWork).where(work.ScheduledWork.kind == retention.WORK_KIND)).all()
    assert len(rows) == 1 and rows[0].account_id == account.id


def test_the_one_statement_path_and_the_general_path_record_the_same_consent(account, database, monkeypatch):
    from webapp.webforms import create_statement

    form = consent_form(account, database)
    submit(form, database, address="first@example.org")
    monkeypatch.setattr(create_statement, "one_statement_form", lambda form: False)
    submit(form, database, address="second@example.org")
    rows = db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)).all()
    assert [(row.source, row.reference, row.text, row.basis, row.ip) for row in rows] == [
        ("form", str(form.id), "I agree to the monthly letter.", "consent", "203.0.113.9")
    ] * 2
    assert all(row.profile_id and row.item for row in rows) and rows[0].item == rows[1].item


def test_stored_import_files_lose_the_persons_lines_and_compressed_ones_go(account, database, tmp_path):
    import gzip

    from webapp.models import ImportRun

    plain, packed, other = tmp_path / "a.csv", tmp_path / "b.csv.gz", tmp_path / "c.csv"
    plain.write_bytes(f"Email,City\n{ADDRESS.upper()},Quillhaven\nann@example.com,Zwolle\n".encode())
    packed.write_bytes(gzip.compress(f"Email\n{ADDRESS}\n".encode()))
    other.write_bytes(b"Email\nann@example.com\n")
    runs = [
        ImportRun(account_id=account.id, database_id=database.id, file_path=str(path), status="done")
        for path in (plain, packed, other)
    ]
    db.session.add_all(runs)
    db.session.commit()
    done = run_request(erasure.request_erasure(account, kind="erase", requested_by="test", address=ADDRESS))
    assert plain.read_bytes() == b"Email,City\nann@example.com,Zwolle\n"
    assert not packed.exists() and other.read_bytes() == b"Email\nann@example.com\n"
    assert [db.session.get(ImportRun, run.id).file_path for run in runs] == [str(plain), "", str(other)]
    assert done.report["files"] == 2


def test_erasure_also_clears_what_a_profile_removed_earlier_left(account, database):
    form = consent_form(account, database)
    result = submit(form, database)
    profiles.delete_profile(account, result.profile_id, origin=Origin("admin"))  # its last values stay journalled
    assert scan_tables((ADDRESS,))
    done = run_request(erasure.request_erasure(account, kind="erase", requested_by="test", address=ADDRESS))
    assert scan_tables((ADDRESS,)) == []
    assert done.report["tables"]["profile_event"] >= 2 and done.report["tables"]["form_submission"] == 1


def test_export_files_holding_the_person_are_deleted_and_say_why(app, account, database, tmp_path):
    """An export kept for a later download holds the person's values: one of their database goes (even without the
    address in it), one of another database naming the address goes, an unrelated one stays."""
    from tests.factories import make_database
    from webapp.exports import downloads
    from webapp.exports.files import ExportOptions
    from webapp.platform.errors import Conflict

    app.config["EXPORT_FOLDER"] = str(tmp_path)
    try:
        make_person(account, database)
        other = make_database(account, "Other", fields={"Email": "email", "Note": "text"})
        values = {"Email": "ann@example.com", "Note": f"a friend of {ADDRESS}"}
        profiles.create_profile(account, other.id, values, origin=Origin("admin"))
        city_only = downloads.start_export(account, database.id, ExportOptions(fields=["City"], interests=False))
        naming = downloads.start_export(account, other.id, ExportOptions(fields=["Note"], interests=False))
        unrelated = downloads.start_export(account, other.id, ExportOptions(fields=["Email"], interests=False))
        ids = [city_only.id, naming.id, unrelated.id]
        for row_id in ids:
            assert work.run_work(db.session.get(ExportFile, row_id).work_id) == "done"
        kept_name = db.session.get(ExportFile, unrelated.id).stored_name
        done = run_request(erasure.request_erasure(account, kind="erase", requested_by="test", address=ADDRESS))
        assert done.report["files"] == 2
        assert sorted(path.name for path in tmp_path.iterdir()) == [kept_name]
        for gone in (city_only.id, naming.id):
            with pytest.raises(Conflict, match="asked to be erased"):
                downloads.open_export(account, gone)
        assert downloads.open_export(account, unrelated.id)[1].is_file()
    finally:
        app.config.pop("EXPORT_FOLDER")
