"""Web forms under abuse (issue 21): no secrets in the spam log, a bounded spam log, single-use fill-time tokens."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_database, make_form
from webapp.extensions import db
from webapp.models import FormDayStat, FormSubmission, Profile, utcnow
from webapp.webforms import spam as form_spam
from webapp.webforms import spam_log
from webapp.webforms import submissions as forms

LONG_AGO = time.time() - 60


@pytest.fixture
def database(account):
    return make_database(
        account, fields={"Email": {"type": "email", "indexed": True}, "Password": "text", "Iban": "text"}
    )


@pytest.fixture
def form(account, database):
    return make_form(
        account,
        database,
        items=[
            {"type": "field", "field": "Email", "required": True},
            {"type": "password", "field": "Password"},
            {"type": "field", "field": "Iban", "sensitive": True},
        ],
    )


def name(database, field):
    return "f" + str(next(item.id for item in database.fields if item.name == field))


def submit(form, values, *, token=None, key=None):
    token = token if token is not None else form_spam.issue_token(form.key, now=LONG_AGO)
    return forms.submit_form(form.key, values, {}, origin="", ip="192.0.2.1", idempotency_key=key, elapsed_token=token)


def rows(form):
    return list(db.session.scalars(select(FormSubmission).where(FormSubmission.form_id == form.id)))


def refused_today(form):
    return db.session.scalar(select(FormDayStat.refused).where(FormDayStat.form_id == form.id)) or 0


@pytest.mark.parametrize("token", ["", "1.2.3", "expired"])
def test_passwords_and_sensitive_items_never_reach_the_spam_log(form, database, token):
    if token == "expired":
        token = form_spam.issue_token(form.key, now=time.time() - 2 * form_spam.TOKEN_MAX_AGE)
    values = {
        name(database, "Email"): "ann@example.com",
        name(database, "Password"): "hunter2-secret",
        name(database, "Password") + "_repeat": "hunter2-secret",
        name(database, "Iban"): "NL91ABNA0417164300",
    }
    assert submit(form, values, token=token).body["status"] == "rejected"
    [row] = rows(form)
    assert row.data == {name(database, "Email"): "ann@example.com"}
    assert "hunter2" not in str(row.response) and "NL91" not in str(row.response)


def test_the_spam_log_keeps_a_capped_sample_and_counts_every_refusal(app, form, database, monkeypatch):
    monkeypatch.setitem(app.config, "SPAM_LOG_SAMPLES_PER_DAY", 3)
    for number in range(5):
        assert submit(form, {name(database, "Email"): f"{number}@example.com"}, token="").status_code == 400
    for _attempt in range(2):
        assert submit(form, {name(database, "Email"): "not an address"}).status_code == 422
    assert len(rows(form)) == 3 and refused_today(form) == 7
    assert submit(form, {name(database, "Email"): "real@example.com"}).status_code == 200  # accepted: always kept
    assert len(rows(form)) == 4 and refused_today(form) == 7


def test_housekeeping_forgets_old_refused_samples_only(app, form, database):
    submit(form, {name(database, "Email"): "spam@example.com"}, token="")
    submit(form, {name(database, "Email"): "ann@example.com"})
    for row in rows(form):
        row.created_at = utcnow() - timedelta(days=app.config["SPAM_LOG_DAYS"] + 1)
    submit(form, {name(database, "Email"): "fresh-spam@example.com"}, token="")
    db.session.commit()
    spam_log.expire_samples()
    db.session.commit()
    kept = sorted((row.status, row.data[name(database, "Email")]) for row in rows(form))
    assert kept == [("accepted", "ann@example.com"), ("rejected", "fresh-spam@example.com")]


def test_a_fill_time_token_lets_in_one_submission(form, database):
    token = form_spam.issue_token(form.key, now=LONG_AGO)
    assert submit(form, {name(database, "Email"): "a@example.com"}, token=token).status_code == 200
    again = submit(form, {name(database, "Email"): "b@example.com"}, token=token)
    assert (again.status_code, again.body["status"]) == (400, "rejected")
    assert [row.reason for row in rows(form) if row.status == "rejected"] == ["token"]
    emails = [profile.fields for profile in db.session.scalars(select(Profile))]
    assert len(emails) == 1


def test_a_token_survives_a_submission_with_errors_and_a_retry_still_replays(form, database):
    token = form_spam.issue_token(form.key, now=LONG_AGO)
    assert submit(form, {name(database, "Email"): "nope"}, token=token).status_code == 422
    first = submit(form, {name(database, "Email"): "a@example.com"}, token=token, key="k1")
    assert first.status_code == 200
    retry = submit(form, {name(database, "Email"): "a@example.com"}, token=token, key="k1")
    assert retry.replayed and retry.submission_id == first.submission_id


def test_tokens_issued_in_the_same_second_differ(form):
    now = time.time() - 60
    assert form_spam.issue_token(form.key, now=now) != form_spam.issue_token(form.key, now=now)


def test_a_token_lets_in_one_submission_on_the_fast_path_too(account, database):
    simple = make_form(account, database, items=[{"type": "field", "field": "Email", "required": True}])
    token = form_spam.issue_token(simple.key, now=LONG_AGO)
    assert submit(simple, {name(database, "Email"): "a@example.com"}, token=token).status_code == 200
    assert submit(simple, {name(database, "Email"): "b@example.com"}, token=token).status_code == 400
    assert (
        db.session.scalar(
            select(Profile.id).where(Profile.fields[name(database, "Email")[1:]].as_string() == "b@example.com")
        )
        is None
    )
