"""The dashboard's figures, checked against data made in the test: per day, per database, per account."""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import update

from tests.factories import (
    make_account,
    make_database,
    make_followup,
    make_followup_run,
    make_form,
    make_form_submission,
)
from webapp.dashboard import charts, day_counts, figures
from webapp.extensions import db
from webapp.models import BounceReport, ImportRun, Profile, ProfileEvent, utcnow
from webapp.platform.errors import NotFound
from webapp.profiles import databases, profiles, unsubscribe
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ADMIN = Origin("admin")


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)


@pytest.fixture
def today():
    return utcnow().date()


@pytest.fixture
def shop(account, today):
    """Five profiles: two created 40 days ago, one 3 days ago, two today; one unsubscribed 3 days ago."""
    database = databases.create_database(account, "Shop", subscription=True)  # unsubscribing sets a field
    for name, kind in (("Email", "email"), ("Name", "text")):
        create_field(account, FieldSpec(name=name, type=kind), database_id=database.id)
    made = [
        profiles.create_profile(account, database.id, {"Email": f"p{i}@example.nl"}, origin=ADMIN) for i in range(5)
    ]
    days = [today - timedelta(days=40)] * 2 + [today - timedelta(days=3)] + [today] * 2
    for profile, day in zip(made, days, strict=True):
        db.session.execute(update(Profile).where(Profile.id == profile.id).values(created_at=at(day)))
    db.session.commit()
    return database, made


def test_profiles_over_time_and_new_profiles_per_day(account, shop, today):
    database, _made = shop
    shown = figures.figures(account, database.id)
    assert shown.profiles_now == 5
    assert len(shown.days) == figures.DAYS and shown.days[-1] == today
    assert shown.new_profiles.total == 3
    assert shown.new_profiles.values[-1] == 2 and shown.new_profiles.values[-4] == 1
    assert shown.profiles.values[-1] == 5  # at the end of today
    assert shown.profiles.values[-2] == 3  # yesterday: before today's two
    assert shown.profiles.values[-4] == 3 and shown.profiles.values[-5] == 2  # three days ago, and the day before
    assert shown.profiles.values[0] == 2


def test_signups_per_form_count_accepted_submissions_per_day(account, shop, today):
    database, made = shop
    newsletter = make_form(account, database, name="Newsletter")
    contact = make_form(account, database, name="Contact")
    make_form_submission(newsletter, profile=made[0], created_at=at(today))
    make_form_submission(newsletter, profile=made[1], created_at=at(today - timedelta(days=1)))
    make_form_submission(newsletter, status="rejected", created_at=at(today))  # spam: not a sign-up
    make_form_submission(newsletter, created_at=at(today - timedelta(days=45)))  # before the period
    make_form_submission(contact, profile=made[2], created_at=at(today - timedelta(days=2)))
    shown = figures.figures(account, database.id)
    by_name = {series.name: series for series in shown.signups}
    assert set(by_name) == {"Newsletter", "Contact"}
    assert by_name["Newsletter"].values[-1] == 1 and by_name["Newsletter"].values[-2] == 1
    assert by_name["Newsletter"].total == 2 and by_name["Contact"].total == 1


def test_followup_runs_emails_unsubscribes_bounces_and_imports(account, shop, today):
    database, made = shop
    name = next(f for f in database.fields if f.name == "Name")
    actions = [{"type": "update_fields", "values": {name.key: "Welcome"}}]
    welcome = make_followup(account, database, trigger={"kind": "profile_created"}, actions=actions)
    for days_ago in (0, 0, 5, 35):
        run = make_followup_run(welcome, made[0].id)
        run.created_at = at(today - timedelta(days=days_ago))
    for kind, days_ago in (("email_sent", 0), ("email_sent", 1), ("email_sent", 1), ("unsubscribed", 3)):
        db.session.add(
            ProfileEvent(
                account_id=account.id,
                database_id=database.id,
                profile_id=made[1].id,
                kind=kind,
                source="email",
                created_at=at(today - timedelta(days=days_ago)),
            )
        )
    db.session.add(BounceReport(account_id=account.id, database_id=database.id, kind="hard", received_at=at(today)))
    db.session.add(
        ImportRun(
            account_id=account.id,
            database_id=database.id,
            status="done",
            file_name="leads.csv",
            lines_done=10,
            created=7,
            updated=1,
            rejected=2,
            created_at=at(today),
        )
    )
    db.session.add(
        ImportRun(
            account_id=account.id,
            database_id=database.id,
            status="done",
            file_name="old.csv",
            lines_done=99,
            rejected=9,
            created_at=at(today - timedelta(days=60)),
        )
    )
    db.session.commit()
    shown = figures.figures(account, database.id)
    assert (
        shown.followup_runs.total == 3 and shown.followup_runs.values[-1] == 2 and shown.followup_runs.values[-6] == 1
    )
    assert shown.emails_sent.total == 3 and shown.emails_sent.values[-2] == 2
    assert shown.unsubscribes.total == 1 and shown.unsubscribes.values[-4] == 1
    assert shown.bounces.total == 1 and shown.bounces.values[-1] == 1
    assert shown.import_lines == 10 and shown.import_errors == 2
    assert [run.file_name for run in shown.imports] == ["leads.csv"]


def test_subscribers_come_from_the_daily_count(account, shop, today):
    database, made = shop
    assert figures.figures(account, database.id).subscribers is None  # not counted yet
    unsubscribe.unsubscribe(account, made[0].id, origin=ADMIN)
    assert day_counts.count_today() == 1
    assert day_counts.count_today() == 0  # once a day
    db.session.commit()
    database = databases.get_database(account, database.id)
    expected = sum(unsubscribe.is_subscribed(p) for p in db.session.query(Profile).filter_by(database_id=database.id))
    assert expected == 4  # the unsubscribed one carries the unsubscribe value
    shown = figures.figures(account, database.id)
    assert shown.subscribers is not None and shown.subscribers.last == expected
    assert shown.subscribers.values[0] == 0  # not counted before today: nothing to carry


def test_another_accounts_database_is_not_found_and_figures_stay_apart(account, shop):
    database, _made = shop
    other = make_account("Other")
    with pytest.raises(NotFound):
        figures.figures(other, database.id)
    theirs = make_database(other, "Theirs", fields={"Email": "email"})
    profiles.create_profile(other, theirs.id, {"Email": "x@example.nl"}, origin=ADMIN)
    assert figures.figures(account, database.id).profiles_now == 5
    assert figures.figures(other, theirs.id).profiles_now == 1


def test_charts_scale_to_the_highest_value():
    days = [date(2026, 12, 1) + timedelta(days=i) for i in range(4)]
    chart = charts.bars(figures.Series("x", days, [0, 2, 4, 1]))
    assert chart.maximum == 4
    heights = [mark.height for mark in chart.marks]
    assert heights[2] == charts.BOTTOM - charts.TOP and heights[0] == 0 and heights[1] == heights[2] / 2
    flat = charts.line(figures.Series("x", days, [0, 0, 0, 0]))
    assert flat.maximum == 1 and all(mark.y == charts.BOTTOM for mark in flat.marks)


@pytest.mark.parametrize(
    "values", [{"Newsletter": "no"}, {"Newsletter": "no", "Count": 0}, {}, {"Newsletter": "no", "Count": None}]
)
def test_the_sql_count_of_subscribers_agrees_with_is_subscribed(account, values):
    """Field values of several types and an interest that unsubscribing switches off, on either engine."""
    database = databases.create_database(account, "Mixed")
    for name, kind in (("Email", "email"), ("Newsletter", "text"), ("Count", "number")):
        create_field(account, FieldSpec(name=name, type=kind), database_id=database.id)
    weekly = databases.create_interest(account, database.id, "Weekly")
    databases.set_unsubscribe_behaviour(
        account, database_id=database.id, behaviour="update", field_values=values, interest_values={"Weekly": False}
    )
    states = [
        ({"Newsletter": "no", "Count": 0}, False),  # carries every unsubscribe value: not subscribed
        ({"Newsletter": "no", "Count": 0}, True),
        ({"Newsletter": "yes", "Count": 0}, False),
        ({"Newsletter": "no"}, False),
        ({"Count": 3}, True),
    ]
    for index, (fields, held) in enumerate(states):
        profiles.create_profile(
            account, database.id, {"Email": f"s{index}@example.nl", **fields}, interests={weekly.id: held}, origin=ADMIN
        )
    database = databases.get_database(account, database.id)
    expected = sum(unsubscribe.is_subscribed(p) for p in db.session.query(Profile).filter_by(database_id=database.id))
    assert 0 < expected < len(states)
    assert day_counts.count_database(database).subscribers == expected
