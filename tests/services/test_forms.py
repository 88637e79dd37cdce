"""Web form submissions through the service: behaviours, spam checks, idempotency, double opt-in, prefill."""

import base64
import json
import re
import time
from contextlib import contextmanager

import altcha
import pytest
from sqlalchemy import event, select

from tests.factories import make_database, make_form, tampered
from webapp.email.delivery import caught_messages
from webapp.extensions import db
from webapp.models import FormDayStat, FormFile, FormSubmission, Profile, ProfileEvent, Subprofile
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import databases, links, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.webforms import builder, create_statement, opt_in, results
from webapp.webforms import spam as form_spam
from webapp.webforms import submissions as forms
from webapp.widgets.validation import UploadedFile

NEWSLETTER = {"type": "choice", "options": {"choices": ["yes", "no", "unconfirmed"]}}
LONG_AGO = time.time() - 60


@pytest.fixture
def database(account):
    database = make_database(
        account, fields={"Email": {"type": "email", "indexed": True}, "Name": "text", "Newsletter": NEWSLETTER}
    )
    databases.create_interest(account, database.id, "Weekly")
    return database


def field_id(database, name):
    return next(field.id for field in database.fields if field.name == name)


def submit(form, values, *, now=None, files=None, key=None, origin="", token=None, ip="192.0.2.1"):
    token = token if token is not None else form_spam.issue_token(form.key, now=LONG_AGO)
    return forms.submit_form(
        form.key, values, files or {}, origin=origin, ip=ip, idempotency_key=key, elapsed_token=token, now=now
    )


def email_form(account, database, **settings):
    items = [{"type": "field", "field": "Email", "required": True}, {"type": "field", "field": "Name"}]
    return make_form(account, database, items=items, **settings)


def all_profiles(database):
    return list(db.session.scalars(select(Profile).where(Profile.database_id == database.id).order_by(Profile.id)))


def submissions(form):
    return list(
        db.session.scalars(select(FormSubmission).where(FormSubmission.form_id == form.id).order_by(FormSubmission.id))
    )


def events_of(profile_id):
    return list(
        db.session.scalars(select(ProfileEvent).where(ProfileEvent.profile_id == profile_id).order_by(ProfileEvent.id))
    )


def test_create_writes_profile_submission_and_events_in_one_go(account, database):
    form = email_form(account, database)
    fid = field_id(database, "Email")
    result = submit(form, {f"f{fid}": "Ann@Example.com", f"f{field_id(database, 'Name')}": "Ann"})
    assert result.status_code == 200 and result.body["status"] == "ok"
    [profile] = all_profiles(database)
    assert profile.fields[str(fid)] == "Ann@example.com"
    [row] = submissions(form)
    assert (row.status, row.profile_id, row.data[f"f{fid}"]) == ("accepted", profile.id, "Ann@example.com")
    assert row.ip and row.ip != "192.0.2.1"
    kinds = [(event.kind, event.source, event.reference) for event in events_of(profile.id)]
    assert kinds == [("profile_created", "form", str(form.id)), ("form_submitted", "form", str(form.id))]
    [today] = results.conversion(account, form.id, days=1, today=row.created_at.date())
    assert today.submissions == 1


@contextmanager
def statements():
    """The SQL statements sent inside the block."""
    sent = []

    def note(conn, cursor, statement, parameters, context, executemany):
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def sign_up_form(account, database):
    weekly = database.interests[0]
    items = [
        {"type": "field", "field": "Email", "required": True},
        {"type": "field", "field": "Newsletter"},
        {"type": "interest", "interest": "Weekly"},
        {"id": "terms", "type": "consent", "text": "I accept.", "required": True},
    ]
    values = {f"f{field_id(database, 'Newsletter')}": "yes", f"i{weekly.id}": "on", "cterms": "1"}
    return make_form(account, database, items=items, allowed_origins=["https://shop.example"]), values


def written(result):
    """What a submission stored, without ids and times."""
    row = db.session.get(FormSubmission, result.submission_id)
    profile = db.session.get(Profile, result.profile_id)
    stored = [
        (event.kind, event.source, event.reference, event.actor, event.changes, event.subprofile_id)
        for event in events_of(profile.id)
    ]
    stored[-1][4]["form"]["submission"] = "id"
    return (
        (row.status, row.reason, row.data, row.consents, row.origin, row.ip, row.user_agent, row.response),
        (profile.account_id, profile.fields, profile.interests, len(profile.code)),
        stored,
    )


def test_the_common_case_is_one_statement_and_stores_what_the_general_path_stores(account, database, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("the one-statement path is PostgreSQL's (a prepared statement with data-modifying CTEs)")
    form, values = sign_up_form(account, database)
    email = f"f{field_id(database, 'Email')}"
    submit(form, {**values, email: "first@example.com"})  # reads the form into this process's copies
    assert form.key  # the test's own copy, expired by that commit, is loaded again here, not below
    with statements() as sent:
        fast = submit(form, {**values, email: "Ann@Example.com"}, key="k1", origin="https://shop.example")
    sent = [statement for statement in sent if not statement.startswith("PREPARE")]  # once per connection
    assert fast.status_code == 200 and len(sent) == 1 and sent[0].startswith("EXECUTE verrijk_form_create")
    assert fast.allowed_origins == ["https://shop.example"]
    db.session.rollback()
    monkeypatch.setattr(create_statement, "one_statement_form", lambda form: False)
    with statements() as sent:
        general = submit(form, {**values, email: "Ann@Example.com"}, key="k2", origin="https://shop.example")
    assert general.status_code == 200 and len(sent) > 3
    assert general.body == fast.body and written(general) == written(fast)
    [event] = [event for event in events_of(fast.profile_id) if event.kind == "form_submitted"]
    assert event.changes == {"form": {"id": form.id, "submission": fast.submission_id}}


def test_an_invalid_submission_is_validated_once(account, database, monkeypatch):
    """The fast path's validation against the form's copy is reused when the stored form is of its version."""
    from webapp.webforms import fast_create

    form, values = sign_up_form(account, database)
    email = f"f{field_id(database, 'Email')}"
    submit(form, {**values, email: "first@example.com"})  # reads the form into this process's copies
    calls = []
    real = fast_create.validate_submission
    monkeypatch.setattr(fast_create, "validate_submission", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(forms, "validate_submission", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = submit(form, {**values, email: "not an address"})
    assert result.status_code == 422 and email in result.body["errors"]
    assert len(calls) == 1
    assert [row.status for row in submissions(form)] == ["accepted", "invalid"]


def test_a_changed_form_or_database_counts_at_once(account, database):
    form, values = sign_up_form(account, database)
    email = f"f{field_id(database, 'Email')}"
    shop = "https://shop.example"
    assert submit(form, {**values, email: "a@example.com"}, origin=shop).status_code == 200
    builder.update_settings(account, form.id, name="Sign-up", allowed_origins="", success_message="Welcome!")
    assert submit(form, {**values, email: "b@example.com"}, origin=shop).body["status"] == "rejected"
    result = submit(form, {**values, email: "b@example.com"})
    assert result.body["message"] == "Welcome!" and result.allowed_origins == []
    city = create_field(account, FieldSpec(name="City", type="text", default="Utrecht"), database_id=database.id)
    later = submit(form, {**values, email: "c@example.com"})
    assert db.session.get(Profile, later.profile_id).fields[str(city.id)] == "Utrecht"
    assert [row.status for row in submissions(form)] == ["accepted", "rejected", "accepted", "accepted"]


def test_when_the_statement_finds_the_form_changed_the_general_path_writes(account, database, monkeypatch):
    form, values = sign_up_form(account, database)
    monkeypatch.setattr(create_statement, "execute_create", lambda values: [])  # as if the form changed meanwhile
    result = submit(form, {**values, f"f{field_id(database, 'Email')}": "a@example.com"}, key="k")
    assert result.status_code == 200 and not result.replayed
    kinds = [event.kind for event in events_of(result.profile_id)]
    assert kinds == ["profile_created", "form_submitted"] and len(submissions(form)) == 1


def test_a_retry_of_an_accepted_submission_replays_even_if_it_would_now_fail(account, database):
    create_field(account, FieldSpec(name="Code", type="text", unique=True), database_id=database.id)
    db.session.refresh(database)
    form = make_form(account, database, items=[{"type": "field", "field": "Code"}])
    values = {f"f{field_id(database, 'Code')}": "A1"}
    first = submit(form, values, key="once")
    again = submit(form, values, key="once")  # its code is taken now: by itself
    assert again.replayed and (again.status_code, again.submission_id) == (200, first.submission_id)
    assert len(submissions(form)) == 1


def test_validation_errors_are_keyed_by_item_and_store_nothing(account, database):
    form = email_form(account, database)
    fid = field_id(database, "Email")
    result = submit(form, {f"f{fid}": "not-an-address"})
    assert result.status_code == 422
    assert set(result.body["errors"]) == {f"f{fid}"}
    assert all_profiles(database) == []
    assert [(row.status, row.reason) for row in submissions(form)] == [("invalid", "invalid")]


def test_required_field_missing(account, database):
    form = email_form(account, database)
    result = submit(form, {})
    assert result.status_code == 422 and f"f{field_id(database, 'Email')}" in result.body["errors"]


@pytest.mark.parametrize("reason", ["honeypot", "token", "forged_token", "too_fast", "origin", "captcha"])
def test_every_spam_check_is_logged_with_its_reason(account, database, reason):
    items = [{"type": "field", "field": "Email", "required": True}]
    if reason == "captcha":
        items.append({"type": "captcha"})
    form = make_form(account, database, items=items, allowed_origins=["https://shop.example"])
    values = {f"f{field_id(database, 'Email')}": "a@example.com"}
    kwargs = {}
    if reason == "honeypot":
        values["_hp"] = "http://spam.example"
    elif reason == "token":
        kwargs["token"] = ""
    elif reason == "forged_token":
        kwargs["token"] = f"{int(LONG_AGO)}.AAAAAAAAAAAAAAAAAAAAAAAA"
    elif reason == "too_fast":
        kwargs["token"] = form_spam.issue_token(form.key)
    elif reason == "origin":
        kwargs["origin"] = "https://evil.example"
    result = submit(form, values, **kwargs)
    logged = {"forged_token": "token"}.get(reason, reason)
    expected_status = {"honeypot": 200, "origin": 403}.get(reason, 400)
    assert result.status_code == expected_status
    assert result.body["status"] == ("ok" if reason == "honeypot" else "rejected")
    assert all_profiles(database) == []
    [row] = submissions(form)
    assert (row.status, row.reason) == ("rejected", logged)
    assert row.data.get(f"f{field_id(database, 'Email')}") == "a@example.com"


def test_allowed_origin_and_own_origin_pass(account, database, app):
    form = email_form(account, database, allowed_origins=["https://shop.example"])
    fid = field_id(database, "Email")
    assert submit(form, {f"f{fid}": "a@example.com"}, origin="https://shop.example").status_code == 200
    assert submit(form, {f"f{fid}": "b@example.com"}, origin=app.config["PUBLIC_URL"]).status_code == 200


def solve(challenge: dict) -> str:
    solution = altcha.solve_challenge_v1(
        challenge["challenge"], challenge["salt"], challenge["algorithm"], challenge["maxnumber"]
    )
    payload = {
        "algorithm": challenge["algorithm"],
        "challenge": challenge["challenge"],
        "number": solution.number,
        "salt": challenge["salt"],
        "signature": challenge["signature"],
    }
    return base64.b64encode(json.dumps(payload).encode()).decode()


def test_a_solved_captcha_passes_once(account, database):
    form = make_form(account, database, items=[{"type": "field", "field": "Email"}, {"type": "captcha"}])
    solved = solve(forms.captcha_challenge(form.key))
    assert submit(form, {"_altcha": solved}).status_code == 200
    assert submit(form, {"_altcha": solved}).body["status"] == "rejected"  # a solution works once
    other = make_form(account, database, items=[{"type": "captcha"}])
    assert submit(other, {"_altcha": solve(forms.captcha_challenge(form.key))}).status_code == 400


def test_minimum_fill_time_is_a_setting(account, database):
    form = email_form(account, database, min_fill_seconds=0)
    token = form_spam.issue_token(form.key)
    assert submit(form, {f"f{field_id(database, 'Email')}": "a@example.com"}, token=token).status_code == 200


@pytest.mark.parametrize(("setting", "status"), [(None, 400), ("", 400), (5, 400), (0, 200), ("0", 200), (0.5, 200)])
def test_form_min_fill_seconds_caps_every_forms_minimum_fill_time(account, database, app, monkeypatch, setting, status):
    monkeypatch.setitem(app.config, "FORM_MIN_FILL_SECONDS", setting)
    form = email_form(account, database, min_fill_seconds=3)
    token = form_spam.issue_token(form.key, now=time.time() - 1)
    assert submit(form, {f"f{field_id(database, 'Email')}": "a@example.com"}, token=token).status_code == status


def test_idempotency_key_replays_the_first_answer(account, database):
    form = email_form(account, database)
    values = {f"f{field_id(database, 'Email')}": "a@example.com"}
    first = submit(form, values, key="attempt-1")
    again = submit(form, values, key="attempt-1")
    assert again.replayed and again.body == first.body and again.submission_id == first.submission_id
    assert len(all_profiles(database)) == 1 and len(submissions(form)) == 1
    assert submit(form, values, key="attempt-2").status_code == 200
    assert len(all_profiles(database)) == 2


def test_update_by_key_fields(account, database):
    fid, name = field_id(database, "Email"), field_id(database, "Name")
    existing = profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "Name": "Old"}, origin=Origin("admin")
    )
    form = email_form(account, database, behaviour="update", key_field_ids=["Email"])
    assert submit(form, {f"f{fid}": "A@example.com", f"f{name}": "New"}).status_code == 200
    db.session.refresh(existing)
    assert existing.fields[str(name)] == "New" and len(all_profiles(database)) == 1
    assert [event.kind for event in events_of(existing.id)][-2:] == ["profile_updated", "form_submitted"]


@pytest.mark.parametrize(("on_no_match", "status", "count"), [("create", 200, 1), ("reject", 422, 0)])
def test_update_without_match(account, database, on_no_match, status, count):
    form = email_form(account, database, behaviour="update", key_field_ids=["Email"], on_no_match=on_no_match)
    result = submit(form, {f"f{field_id(database, 'Email')}": "new@example.com"})
    assert result.status_code == status and len(all_profiles(database)) == count
    if status == 422:
        assert "" in result.body["errors"]
        assert submissions(form)[0].reason == "no_match"


def test_update_through_a_signed_link_needs_no_key_fields(account, database):
    name = field_id(database, "Name")
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))
    form = make_form(
        account,
        database,
        items=[{"type": "field", "field": "Name"}],
        behaviour="update",
        key_field_ids=["Email"],
        on_no_match="reject",
    )
    query = links.profile_link_query(profile)
    assert submit(form, {f"f{name}": "Via link", **query}).status_code == 200
    db.session.refresh(profile)
    assert profile.fields[str(name)] == "Via link"
    forged = {"profile": str(profile.id), "sig": "x" * 22, f"f{name}": "Forged"}
    assert submit(form, forged).status_code == 422


def test_login_needs_matching_key_fields_and_password(account, database):
    create_field(account, FieldSpec(name="Password", type="text"), database_id=database.id)
    db.session.refresh(database)
    fid, pid = field_id(database, "Email"), field_id(database, "Password")
    profile = profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "Password": "sesame"}, origin=Origin("admin")
    )
    form = make_form(
        account,
        database,
        behaviour="login",
        key_field_ids=["Email"],
        items=[
            {"type": "field", "field": "Email", "required": True},
            {"type": "password", "field": "Password", "required": True},
        ],
    )
    good = submit(form, {f"f{fid}": "a@example.com", f"f{pid}": "sesame", f"f{pid}_repeat": "sesame"})
    assert good.status_code == 200 and good.profile_id == profile.id
    assert good.body["prefill_url"].endswith(
        f"/f/{form.key}?profile={profile.id}&sig={links.profile_signature(profile.id, profile.code)}"
    )
    bad = submit(form, {f"f{fid}": "a@example.com", f"f{pid}": "wrong", f"f{pid}_repeat": "wrong"})
    assert bad.status_code == 422 and "" in bad.body["errors"]
    mismatch = submit(form, {f"f{fid}": "a@example.com", f"f{pid}": "sesame", f"f{pid}_repeat": "other"})
    assert f"f{pid}_repeat" in mismatch.body["errors"]
    assert all("sesame" not in json.dumps(row.data) for row in submissions(form))


def test_a_password_given_on_sign_up_is_stored_hashed(account, database):
    create_field(account, FieldSpec(name="Password", type="text"), database_id=database.id)
    db.session.refresh(database)
    pid = field_id(database, "Password")
    form = make_form(account, database, items=[{"type": "password", "field": "Password"}])
    assert submit(form, {f"f{pid}": "sesame", f"f{pid}_repeat": "sesame"}).status_code == 200
    [profile] = all_profiles(database)
    assert profile.fields[str(pid)].startswith("scrypt:")


def test_unsubscribe_applies_the_database_behaviour(account, database):
    databases.set_unsubscribe_behaviour(
        account, database_id=database.id, behaviour="update", field_values={"Newsletter": "no"}, interest_values={}
    )
    profile = profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "Newsletter": "yes"}, origin=Origin("admin")
    )
    form = email_form(account, database, behaviour="unsubscribe", key_field_ids=["Email"])
    assert submit(form, {f"f{field_id(database, 'Email')}": "a@example.com"}).status_code == 200
    db.session.refresh(profile)
    assert profile.fields[str(field_id(database, "Newsletter"))] == "no"
    assert [event.kind for event in events_of(profile.id)][-2:] == ["form_submitted", "unsubscribed"]
    unknown = submit(form, {f"f{field_id(database, 'Email')}": "nobody@example.com"})
    assert unknown.status_code == 200  # says nothing about who is on the list
    assert submissions(form)[-1].reason == "no_match"


def test_submissions_per_profile_are_limited(account, database):
    form = email_form(account, database, behaviour="update", key_field_ids=["Email"], max_submissions_per_profile=2)
    values = {f"f{field_id(database, 'Email')}": "a@example.com"}
    assert [submit(form, values).status_code for _ in range(3)] == [200, 200, 400]
    assert submissions(form)[-1].reason == "limit_reached"


def test_interests_consents_and_choices(account, database):
    weekly = database.interests[0]
    form = make_form(
        account,
        database,
        items=[
            {"type": "field", "field": "Newsletter", "widget": "radio"},
            {"type": "interest", "interest": "Weekly"},
            {"id": "terms", "type": "consent", "text": "I accept the terms.", "required": True},
        ],
    )
    news = field_id(database, "Newsletter")
    refused = submit(form, {f"f{news}": "maybe"})
    assert set(refused.body["errors"]) == {f"f{news}", "cterms"}
    assert submit(form, {f"f{news}": "yes", f"i{weekly.id}": "on", "cterms": "1"}).status_code == 200
    [profile] = all_profiles(database)
    assert profile.interests == [weekly.id]
    assert submissions(form)[-1].consents == {"terms": "I accept the terms."}


def test_files_are_stored_against_the_profile(account, database):
    form = make_form(
        account,
        database,
        items=[
            {"type": "field", "field": "Email"},
            {"id": "cv", "type": "file", "accept": [".pdf"], "max_bytes": 100},
        ],
    )
    too_big = submit(form, {}, files={"file_cv": UploadedFile("cv.pdf", "application/pdf", b"x" * 101)})
    wrong = submit(form, {}, files={"file_cv": UploadedFile("cv.exe", "application/octet-stream", b"MZ")})
    assert "file_cv" in too_big.body["errors"] and "file_cv" in wrong.body["errors"]
    ok = submit(form, {}, files={"file_cv": UploadedFile("cv.pdf", "application/pdf", b"%PDF-1.7")})
    [stored] = db.session.scalars(select(FormFile)).all()
    assert (stored.profile_id, stored.submission_id, stored.data) == (ok.profile_id, ok.submission_id, b"%PDF-1.7")


def test_a_collection_form_also_creates_a_subprofile(account, database):
    collection = databases.create_collection(account, database.id, "Requests")
    create_field(account, FieldSpec(name="Question", type="text"), database_id=database.id, collection_id=collection.id)
    question = db.session.scalar(select(Subprofile.id).limit(1))
    assert question is None
    from webapp.models import Field

    qid = db.session.scalar(select(Field.id).where(Field.collection_id == collection.id))
    form = make_form(
        account,
        database,
        collection_id=collection.id,
        items=[{"type": "field", "field": "Email"}, {"type": "field", "field_id": qid}],
    )
    result = submit(form, {f"f{field_id(database, 'Email')}": "a@example.com", f"f{qid}": "Why?"})
    assert result.status_code == 200
    [subprofile] = db.session.scalars(select(Subprofile)).all()
    assert subprofile.profile_id == result.profile_id and subprofile.fields == {str(qid): "Why?"}


def test_a_unique_value_signing_up_again_updates_that_profile(account, database):
    """A sign-up form without key fields finds a returning subscriber by the unique fields it posts
    (``tests/services/test_returning_subscribers.py`` has the rest)."""
    create_field(account, FieldSpec(name="Code", type="text", unique=True), database_id=database.id)
    db.session.refresh(database)
    form = make_form(account, database, items=[{"type": "field", "field": "Code"}, {"type": "field", "field": "Name"}])
    code, name = field_id(database, "Code"), field_id(database, "Name")
    first = submit(form, {f"f{code}": "A1", f"f{name}": "Ann"})
    again = submit(form, {f"f{code}": "A1", f"f{name}": "Anna"})
    assert (again.status_code, again.body, again.profile_id) == (first.status_code, first.body, first.profile_id)
    [profile] = all_profiles(database)
    assert profile.fields[str(name)] == "Anna"


def opt_in_form(account, database):
    news = field_id(database, "Newsletter")
    return email_form(
        account,
        database,
        double_opt_in={
            "enabled": True,
            "unconfirmed_values": {str(news): "unconfirmed"},
            "confirmed_values": {str(news): "yes"},
            "email_subject": "Confirm please",
            "email_text": "Click {link} to confirm.",
            "link_ttl_hours": 1,
        },
    )


def test_double_opt_in_end_to_end(account, database):
    form = opt_in_form(account, database)
    news = str(field_id(database, "Newsletter"))
    result = submit(form, {f"f{field_id(database, 'Email')}": "ann@example.com"})
    profile = db.session.get(Profile, result.profile_id)
    assert profile.fields[news] == "unconfirmed"
    [message] = caught_messages(account.id)
    assert message["To"] == "ann@example.com" and message["Subject"] == "Confirm please"
    link = re.search(r"(http\S+/p/confirm/\S+)", message.get_body(("plain",)).get_content()).group(1)
    token = link.rsplit("/", 1)[1]
    opt_in.confirm_subscription(token)
    db.session.refresh(profile)
    assert profile.fields[news] == "yes"
    opt_in.confirm_subscription(token)  # a second click changes nothing
    assert [event.kind for event in events_of(profile.id)].count("confirmed") == 1


def test_confirm_links_expire_and_cannot_be_forged(account, database, monkeypatch):
    form = opt_in_form(account, database)
    result = submit(form, {f"f{field_id(database, 'Email')}": "ann@example.com"})
    token = opt_in.confirm_link(form, db.session.get(Profile, result.profile_id)).rsplit("/", 1)[1]
    with pytest.raises(ValidationError):
        opt_in.confirm_subscription(tampered(token))
    later = time.time() + 2 * 3600
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    with pytest.raises(ValidationError, match="expired"):
        opt_in.confirm_subscription(token)


def test_notification_mail(account, database):
    form = email_form(account, database, notify_email="office@example.com")
    submit(form, {f"f{field_id(database, 'Email')}": "ann@example.com"})
    [message] = caught_messages(account.id)
    assert message["To"] == "office@example.com"
    assert "Email: ann@example.com" in message.get_body(("plain",)).get_content()  # named as the admin names it


def test_prefill_only_with_a_good_signature(account, database):
    fid = field_id(database, "Email")
    profile = profiles.create_profile(
        account, database.id, {"Email": "a@example.com", "Name": "Ann"}, origin=Origin("admin")
    )
    form = make_form(
        account,
        database,
        items=[{"type": "field", "field": "Email", "prefill": True}, {"type": "field", "field": "Name"}],
    )
    query = links.profile_link_query(profile)
    assert forms.public_definition(form.key, profile_id=query["profile"], signature=query["sig"])["prefill"] == {
        f"f{fid}": "a@example.com"
    }
    plain = forms.public_definition(form.key)
    # Tamper with the first character: the last one of unpadded base64 may only carry unused bits.
    tampered = ("B" if query["sig"][0] == "A" else "A") + query["sig"][1:]
    for signature in ("", "wrong", tampered):
        assert forms.public_definition(form.key, profile_id=profile.id, signature=signature) == plain
    other = make_account_profile(account)
    assert (
        forms.public_definition(form.key, profile_id=other.id, signature=links.profile_signature(other.id, other.code))
        == plain
    )


def make_account_profile(account):
    from tests.factories import make_account

    elsewhere = make_account("Other")
    database = make_database(elsewhere, fields={"Email": "email"})
    return profiles.create_profile(elsewhere, database.id, {"Email": "x@example.com"}, origin=Origin("admin"))


def test_tokens_count_views_and_unknown_forms_are_not_found(account, database):
    form = email_form(account, database)
    forms.issue_token(form.key)
    forms.issue_token(form.key)
    assert db.session.scalar(select(FormDayStat.views).where(FormDayStat.form_id == form.id)) == 2
    with pytest.raises(NotFound):
        forms.issue_token("nope")
    with pytest.raises(NotFound):
        submit(form.__class__(key="missing"), {})
