"""Follow-ups: validation, every trigger, both conditions, every delay (with a frozen clock), exactly once."""

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests import followup_fixtures
from tests.factories import make_followup
from tests.followup_fixtures import ADMIN, IMPORT, run_due, runs
from webapp.extensions import db
from webapp.followups import definitions, timing
from webapp.followups import triggers as followups
from webapp.models import Account, FollowUpRun, Profile, ProfileEvent
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, events, profiles, subprofiles, unsubscribe

NOTE = {"type": "update_fields", "values": {}}

shop, clock = followup_fixtures.shop, followup_fixtures.clock  # the fixtures, used by name


def note(shop, text="done"):
    return [{"type": "update_fields", "values": {str(shop.field["Note"]): text}}]


def create(account, shop, **values):
    return profiles.create_profile(account, shop.database.id, values, origin=ADMIN)


def field_value(profile_id: int, shop, name: str):
    db.session.expire_all()
    return db.session.get(Profile, profile_id).fields.get(str(shop.field[name]))


# --- validation -----------------------------------------------------------------------------------------


def test_a_valid_definition_has_no_errors(account, shop):
    errors = definitions.validate_definition(
        account,
        shop.database.id,
        trigger={"kind": "profile_updated", "fields": [shop.field["Newsletter"]], "to_value": "yes"},
        activation_condition={
            "match": "all",
            "rules": [{"field_id": shop.field["Age"], "operator": ">", "value": "17"}],
        },
        execution_condition={"rules": [{"subscribed": True}]},
        delay={"kind": "time_of_day", "time": "9:00"},
        actions=note(shop),
    )
    assert errors == {}


def test_every_part_is_checked(account, shop):
    errors = definitions.validate_definition(
        account,
        shop.database.id,
        trigger={"kind": "subprofile_created"},  # no collection
        activation_condition={"rules": [{"field_id": 999999, "operator": "="}]},
        execution_condition={"rules": [{"field_id": shop.field["Age"], "operator": "~", "value": 1}]},
        delay={"kind": "time_of_day", "time": "25:00"},
        actions=[{"type": "webhook", "url": "ftp://example.com/"}],
    )
    assert set(errors) == {"trigger", "activation_condition", "execution_condition", "delay", "actions"}


def test_condition_values_are_stored_in_their_fields_type(account, shop):
    cleaned, errors = definitions.clean_definition(
        account,
        shop.database.id,
        trigger={"kind": "profile_created"},
        activation_condition={"rules": [{"field_id": shop.field["Age"], "operator": "<", "value": "18"}]},
        execution_condition={},
        delay={},
        actions=note(shop),
    )
    assert errors == {}
    assert cleaned["activation_condition"]["rules"][0]["value"] == 18
    assert definitions.validate_definition(
        account,
        shop.database.id,
        trigger={"kind": "profile_created"},
        activation_condition={"rules": [{"field_id": shop.field["Age"], "operator": "<", "value": "many"}]},
        execution_condition={},
        delay={},
        actions=note(shop),
    ).keys() == {"activation_condition"}


def test_another_accounts_database_is_refused(account, shop):
    other = Account(name="Other")
    db.session.add(other)
    db.session.commit()
    errors = definitions.validate_definition(
        other,
        shop.database.id,
        trigger={"kind": "profile_created"},
        activation_condition={},
        execution_condition={},
        delay={},
        actions=[],
    )
    assert "database_id" in errors


def test_a_bad_template_in_a_value_is_refused_when_saved(account, shop):
    with pytest.raises(ValidationError) as raised:
        make_followup(
            account,
            shop.database,
            trigger={"kind": "profile_created"},
            actions=[{"type": "update_fields", "values": {str(shop.field["Note"]): "{{ profile.Name "}}],
        )
    assert "actions" in raised.value.errors


# --- triggers -------------------------------------------------------------------------------------------


def test_profile_created_makes_a_run_in_the_same_transaction(account, shop, clock):
    followup = make_followup(account, shop.database, trigger={"kind": "profile_created"}, actions=note(shop))
    profile = create(account, shop, Email="a@example.com")
    [run] = runs(followup.id)
    assert (run.profile_id, run.status, run.due_at) == (profile.id, "pending", clock.moment)
    assert run.event_id == db.session.scalar(select(ProfileEvent.id).where(ProfileEvent.profile_id == profile.id))
    run_due()
    assert field_value(profile.id, shop, "Note") == "done"
    assert runs(followup.id)[0].status == "done"


def test_a_rolled_back_change_leaves_no_run(account, shop):
    make_followup(account, shop.database, trigger={"kind": "profile_created"}, actions=note(shop))
    with pytest.raises(ValidationError):
        create(account, shop, Email="not an address")
    assert runs() == []


def test_profile_updated_only_when_the_chosen_fields_change_to_the_value(account, shop):
    followup = make_followup(
        account,
        shop.database,
        actions=note(shop, "welcome"),
        trigger={"kind": "profile_updated", "fields": [shop.field["Newsletter"]], "to_value": "yes"},
    )
    profile = create(account, shop, Email="a@example.com")
    profiles.update_profile(account, profile.id, {"FirstName": "Ann"}, origin=ADMIN)
    profiles.update_profile(account, profile.id, {"Newsletter": "no"}, origin=ADMIN)
    assert runs() == []
    profiles.update_profile(account, profile.id, {"Newsletter": "YES"}, origin=ADMIN)
    assert len(runs(followup.id)) == 1


def test_profile_updated_on_any_of_the_fields(account, shop):
    followup = make_followup(
        account,
        shop.database,
        actions=note(shop),
        trigger={"kind": "profile_updated", "fields": [shop.field["FirstName"]]},
    )
    plain = make_followup(account, shop.database, actions=note(shop), trigger={"kind": "profile_updated"})
    profile = create(account, shop, Email="a@example.com")
    profiles.update_profile(account, profile.id, {"Welcome": "B"}, origin=ADMIN)
    profiles.update_profile(account, profile.id, {"FirstName": "Ann"}, origin=ADMIN)
    assert len(runs(followup.id)) == 1
    assert len(runs(plain.id)) == 2


def test_profile_removed(account, shop):
    followup = make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_removed"},
        actions=[{"type": "webhook", "url": "http://127.0.0.1:9/"}],
    )
    profile = create(account, shop, Email="a@example.com")
    profiles.delete_profile(account, profile.id, origin=ADMIN)
    [run] = runs(followup.id)
    assert run.profile_id is None and run.event_id is not None


def test_subprofile_triggers_need_their_collection(account, shop):
    other = databases.create_collection(account, shop.database.id, "Pets")
    created = make_followup(
        account, shop.database, trigger={"kind": "subprofile_created"}, actions=note(shop), collection_id=shop.orders.id
    )
    updated = make_followup(
        account, shop.database, trigger={"kind": "subprofile_updated"}, actions=note(shop), collection_id=shop.orders.id
    )
    removed = make_followup(
        account, shop.database, trigger={"kind": "subprofile_removed"}, actions=note(shop), collection_id=shop.orders.id
    )
    profile = create(account, shop, Email="a@example.com")
    order = subprofiles.create_subprofile(account, profile.id, shop.orders.id, {"Product": "Book"}, origin=ADMIN)
    subprofiles.create_subprofile(account, profile.id, other.id, {}, origin=ADMIN)
    subprofiles.update_subprofile(account, order.id, {"Product": "Pen"}, origin=ADMIN)
    subprofiles.delete_subprofile(account, order.id, origin=ADMIN)
    assert [len(runs(item.id)) for item in (created, updated, removed)] == [1, 1, 1]
    assert runs(created.id)[0].subprofile_id == order.id


def test_a_collection_condition_sees_the_subprofile(account, shop):
    followup = make_followup(
        account,
        shop.database,
        trigger={"kind": "subprofile_created"},
        actions=note(shop),
        collection_id=shop.orders.id,
        activation_condition={"rules": [{"field_id": shop.field["Product"], "operator": "=", "value": "Book"}]},
    )
    profile = create(account, shop, Email="a@example.com")
    subprofiles.create_subprofile(account, profile.id, shop.orders.id, {"Product": "Pen"}, origin=ADMIN)
    subprofiles.create_subprofile(account, profile.id, shop.orders.id, {"Product": "book"}, origin=ADMIN)
    assert len(runs(followup.id)) == 1


@pytest.mark.parametrize("kind", ["form_submitted", "survey_completed", "email_opened", "bounced"])
def test_journal_kinds_trigger(account, shop, kind):
    followup = make_followup(account, shop.database, trigger={"kind": kind}, actions=note(shop))
    profile = create(account, shop, Email="a@example.com")
    events.record(kind, events.Origin("email" if kind.startswith("email") else "system"), profile=profile)
    db.session.commit()
    assert len(runs(followup.id)) == 1


def test_a_form_follow_up_only_hears_its_form(account, shop):
    followup = make_followup(account, shop.database, trigger={"kind": "form_submitted"}, actions=note(shop))
    followup.form_id = 7
    db.session.commit()
    profile = create(account, shop, Email="a@example.com")
    events.record("form_submitted", events.Origin("form", reference="8"), profile=profile)
    events.record("form_submitted", events.Origin("form", reference="7"), profile=profile)
    db.session.commit()
    assert len(runs(followup.id)) == 1


def test_email_clicked_optionally_on_one_link(account, shop):
    any_link = make_followup(account, shop.database, trigger={"kind": "email_clicked"}, actions=note(shop))
    one_link = make_followup(
        account,
        shop.database,
        actions=note(shop),
        trigger={"kind": "email_clicked", "link": "https://shop.example/sale"},
    )
    profile = create(account, shop, Email="a@example.com")
    for url in ("https://shop.example/", "https://shop.example/sale"):
        events.record("email_clicked", events.Origin("email"), profile=profile, changes={"url": url})
    db.session.commit()
    assert (len(runs(any_link.id)), len(runs(one_link.id))) == (2, 1)


def test_unsubscribed_triggers(account, shop):
    followup = make_followup(account, shop.database, trigger={"kind": "unsubscribed"}, actions=note(shop))
    profile = create(account, shop, Email="a@example.com")
    unsubscribe.unsubscribe(account, profile.id, origin=events.Origin("unsubscribe"))
    assert len(runs(followup.id)) == 1


def test_excluded_sources_do_not_trigger(account, shop):
    followup = make_followup(
        account, shop.database, actions=note(shop), trigger={"kind": "profile_created", "exclude_sources": ["import"]}
    )
    profiles.create_profile(account, shop.database.id, {"Email": "i@example.com"}, origin=IMPORT)
    profiles.bulk_create_profiles(account, shop.database.id, [{"Email": "j@example.com"}], origin=IMPORT)
    assert runs(followup.id) == []
    create(account, shop, Email="a@example.com")
    assert len(runs(followup.id)) == 1


def test_bulk_imports_trigger_in_their_transaction(account, shop):
    followup = make_followup(account, shop.database, trigger={"kind": "profile_created"}, actions=note(shop))
    count = profiles.bulk_create_profiles(
        account, shop.database.id, [{"Email": f"p{n}@example.com"} for n in range(50)], origin=IMPORT
    )
    assert count == 50 and len(runs(followup.id)) == 50


def test_a_follow_up_never_triggers_itself(account, shop):
    followup = make_followup(account, shop.database, trigger={"kind": "profile_updated"}, actions=note(shop, "x"))
    profile = create(account, shop, Email="a@example.com")
    profiles.update_profile(account, profile.id, {"FirstName": "Ann"}, origin=ADMIN)
    run_due()
    assert field_value(profile.id, shop, "Note") == "x"
    assert [run.status for run in runs(followup.id)] == ["done"]


def test_a_paused_follow_up_is_not_triggered_and_its_runs_wait(account, shop):
    followup = make_followup(account, shop.database, trigger={"kind": "profile_created"}, actions=note(shop))
    first = create(account, shop, Email="a@example.com")
    followup.status = "paused"
    db.session.commit()
    create(account, shop, Email="b@example.com")
    run_due()
    assert [run.status for run in runs(followup.id)] == ["pending"]
    followup.status = "active"
    db.session.commit()
    run_due()
    assert [run.status for run in runs(followup.id)] == ["done"]
    assert field_value(first.id, shop, "Note") == "done"


def test_a_follow_up_made_later_is_seen_at_once(account, shop):
    create(account, shop, Email="a@example.com")  # caches "no follow-ups" for this database
    followup = make_followup(account, shop.database, trigger={"kind": "profile_created"}, actions=note(shop))
    create(account, shop, Email="b@example.com")
    assert len(runs(followup.id)) == 1


# --- conditions -----------------------------------------------------------------------------------------


def test_activation_condition_is_checked_when_triggered(account, shop):
    followup = make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=note(shop),
        activation_condition={
            "match": "any",
            "rules": [
                {"field_id": shop.field["Age"], "operator": ">", "value": 64},
                {"interest_id": shop.interest["News"], "value": True},
            ],
        },
    )
    young = create(account, shop, Email="y@example.com", Age=30)
    old = create(account, shop, Email="o@example.com", Age=70)
    reader = profiles.create_profile(
        account, shop.database.id, {"Email": "r@example.com"}, origin=ADMIN, interests={"News": True}
    )
    assert sorted(run.profile_id for run in runs(followup.id)) == [old.id, reader.id]
    assert young.id not in [run.profile_id for run in runs(followup.id)]


@pytest.mark.parametrize(
    ("operator", "value", "stored", "expected"),
    [
        ("=", "ann", "Ann", True),
        ("!=", "ann", "Bob", True),
        ("contains", "NN", "Ann", True),
        ("empty", None, None, True),
        ("not_empty", None, "x", True),
        ("in", ["a", "b"], "B", True),
        ("in", ["a", "b"], "c", False),
        ("<", 5, 3, True),
        (">", 5, 3, False),
        ("<", 5, None, False),
        (">", "2026-01-01", "2026-06-01", True),
        ("=", 5, "5", True),
    ],
)
def test_comparisons(operator, value, stored, expected):
    from webapp.followups.conditions import compare

    assert compare(stored, operator, value) is expected


def test_execution_condition_sees_changes_between_activation_and_execution(account, shop, clock):
    followup = make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=note(shop, "reminded"),
        delay={"kind": "duration", "seconds": 3600},
        activation_condition={"rules": [{"field_id": shop.field["Newsletter"], "operator": "=", "value": "yes"}]},
        execution_condition={"rules": [{"field_id": shop.field["Newsletter"], "operator": "=", "value": "yes"}]},
    )
    stays = create(account, shop, Email="s@example.com", Newsletter="yes")
    leaves = create(account, shop, Email="l@example.com", Newsletter="yes")
    profiles.update_profile(account, leaves.id, {"Newsletter": "no"}, origin=ADMIN)
    run_due()
    assert {run.status for run in runs(followup.id)} == {"pending"}
    clock.advance(hours=1)
    run_due()
    statuses = {run.profile_id: run.status for run in runs(followup.id)}
    assert statuses == {stays.id: "done", leaves.id: "skipped"}
    assert field_value(stays.id, shop, "Note") == "reminded"
    assert field_value(leaves.id, shop, "Note") is None


def test_subscribed_condition(account, shop):
    databases.set_unsubscribe_behaviour(
        account, database_id=shop.database.id, behaviour="update", field_values={"Newsletter": "no"}
    )
    followup = make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_updated"},
        actions=note(shop),
        activation_condition={"rules": [{"subscribed": True}]},
    )
    profile = create(account, shop, Email="a@example.com")
    profiles.update_profile(account, profile.id, {"FirstName": "Ann"}, origin=ADMIN)
    profiles.update_profile(account, profile.id, {"Newsletter": "no", "FirstName": "Bo"}, origin=ADMIN)
    assert len(runs(followup.id)) == 1


# --- delays ---------------------------------------------------------------------------------------------


def due_after(account, shop, clock, delay, **values) -> datetime:
    followup = make_followup(
        account, shop.database, trigger={"kind": "profile_created"}, actions=note(shop), delay=delay
    )
    create(account, shop, Email=f"{len(runs())}@example.com", **values)
    return runs(followup.id)[-1].due_at


def test_duration_delay(account, shop, clock):
    assert due_after(account, shop, clock, {"kind": "duration", "seconds": 86400}) == clock.moment + timedelta(days=1)


def test_time_of_day_delay_in_the_accounts_time_zone(account, shop, clock):
    # 07:00 UTC is 08:00 in Amsterdam (winter): 09:00 today is 08:00 UTC; 07:30 already passed → tomorrow.
    assert due_after(account, shop, clock, {"kind": "time_of_day", "time": "09:00"}) == datetime(2026, 11, 27, 8, 0)
    assert due_after(account, shop, clock, {"kind": "time_of_day", "time": "07:30"}) == datetime(2026, 11, 28, 6, 30)
    account.time_zone = "America/New_York"
    db.session.commit()
    assert due_after(account, shop, clock, {"kind": "time_of_day", "time": "09:00"}) == datetime(2026, 11, 27, 14, 0)


def test_date_field_delay(account, shop, clock):
    delay = {"kind": "date_field", "field_id": shop.field["Birthday"], "offset_days": -1, "time": "10:00"}
    assert due_after(account, shop, clock, delay, Birthday="2026-12-24") == datetime(2026, 12, 23, 9, 0)
    before = len(runs())
    create(account, shop, Email="nodate@example.com")  # no date: no run
    assert len(runs()) == before


def test_a_delayed_run_is_not_run_early_and_runs_once_due(account, shop, clock):
    followup = make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=note(shop),
        delay={"kind": "duration", "seconds": 600},
    )
    profile = create(account, shop, Email="a@example.com")
    clock.advance(seconds=599)
    run_due()
    assert runs(followup.id)[0].status == "pending"
    clock.advance(seconds=1)
    run_due()
    assert runs(followup.id)[0].status == "done"
    assert field_value(profile.id, shop, "Note") == "done"


# --- date-field triggers ----------------------------------------------------------------------------------


def test_birthdays_yearly_at_a_time_never_twice(account, shop, clock):
    followup = make_followup(
        account,
        shop.database,
        actions=note(shop, "happy"),
        trigger={
            "kind": "date_field",
            "field_id": shop.field["Birthday"],
            "offset_days": 0,
            "time": "09:00",
            "yearly": True,
        },
    )
    today = create(account, shop, Email="t@example.com", Birthday="1990-11-27")
    tomorrow = create(account, shop, Email="m@example.com", Birthday="1985-11-28")
    create(account, shop, Email="n@example.com", Birthday="1985-06-01")
    assert followups.scan_date_triggers() == 2
    db.session.commit()
    assert followups.scan_date_triggers() == 0  # the same profile and date: once
    db.session.commit()
    by_profile = {run.profile_id: run for run in runs(followup.id)}
    assert by_profile[today.id].due_at == datetime(2026, 11, 27, 8, 0)
    assert by_profile[today.id].occurrence == "2026-11-27"
    assert by_profile[tomorrow.id].due_at == datetime(2026, 11, 28, 8, 0)
    clock.advance(hours=1)
    run_due()
    assert field_value(today.id, shop, "Note") == "happy"
    assert field_value(tomorrow.id, shop, "Note") is None
    clock.advance(days=1)
    assert followups.scan_date_triggers() == 0
    run_due()
    assert field_value(tomorrow.id, shop, "Note") == "happy"


def test_date_field_days_before_not_yearly(account, shop, clock):
    followup = make_followup(
        account,
        shop.database,
        actions=note(shop),
        trigger={"kind": "date_field", "field_id": shop.field["Birthday"], "offset_days": -3, "time": "08:00"},
    )
    soon = create(account, shop, Email="s@example.com", Birthday="2026-11-30")
    create(account, shop, Email="l@example.com", Birthday="2025-11-30")
    assert followups.scan_date_triggers() == 1
    [run] = runs(followup.id)
    assert (run.profile_id, run.due_at) == (soon.id, datetime(2026, 11, 27, 7, 0))


def test_the_housekeeping_round_scans_date_triggers(account, shop, clock, app):
    make_followup(
        account,
        shop.database,
        actions=note(shop),
        trigger={"kind": "date_field", "field_id": shop.field["Birthday"], "time": "09:00", "yearly": True},
    )
    create(account, shop, Email="t@example.com", Birthday="1990-11-27")
    assert followups.scan_date_triggers in app.extensions["housekeeping_tasks"]
    for task in app.extensions["housekeeping_tasks"]:
        task()
    db.session.commit()
    assert db.session.scalar(select(FollowUpRun.occurrence)) == "2026-11-27"


# The scan filters dates in SQL; an oracle written from the documented rule checks it keeps every profile.
SCAN_CASES = {
    "29 Feb birthday, other year": ("2027-02-27 12:00", "Europe/Amsterdam", "date", 0, True, ["2000-02-29"]),
    "29 Feb birthday, leap year": ("2028-02-28 12:00", "Europe/Amsterdam", "date", 0, True, ["2000-02-29"]),
    "yearly, days before, year end": ("2026-12-30 07:00", "Europe/Amsterdam", "date", -3, True, ["1990-01-02"]),
    "days after, month end": ("2026-12-01 07:00", "Europe/Amsterdam", "date", 2, False, ["2026-11-29"]),
    "datetime, days before, year end": ("2026-12-30 07:00", "Europe/Amsterdam", "datetime", -3, False, []),
    "ahead of UTC": ("2026-11-27 12:00", "Pacific/Auckland", "date", 0, False, ["2026-11-29"]),
    "behind UTC": ("2026-11-27 07:00", "Pacific/Honolulu", "date", 1, True, ["1970-11-27"]),
}


def expected_occurrences(dates: dict[int, str], current: datetime, zone: str, offset: int, yearly: bool, at: str):
    """(profile id, occurrence) the scan must make: a moment (date + offset, at ``at`` in ``zone``) from a day
    ago to two days ahead; yearly by month and day, 29 February on 28 February in other years."""
    import calendar
    from datetime import date
    from zoneinfo import ZoneInfo

    local_today = current.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(zone)).date()
    found = set()
    for profile_id, text in dates.items():
        value = date.fromisoformat(text[:10])
        for shift in range(-6, 7):
            occurrence = local_today + timedelta(days=shift)
            day = occurrence - timedelta(days=offset)
            same = value == day
            if yearly:
                same = (value.month, value.day) == (day.month, day.day) or (
                    (value.month, value.day, day.month, day.day) == (2, 29, 2, 28) and not calendar.isleap(day.year)
                )
            hours, minutes = (int(part) for part in at.split(":"))
            local = datetime.combine(occurrence, datetime.min.time(), tzinfo=ZoneInfo(zone))
            moment = (local + timedelta(hours=hours, minutes=minutes)).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
            if same and current - timedelta(days=1) <= moment <= current + timedelta(days=2):
                found.add((profile_id, occurrence.isoformat()))
    return found


@pytest.mark.parametrize("case", SCAN_CASES)
def test_the_date_scan_keeps_every_profile_it_should(account, shop, case, monkeypatch):
    from webapp.profiles.fields import FieldSpec, create_field

    at, zone, kind, offset, yearly, must = SCAN_CASES[case]
    current = datetime.fromisoformat(at)
    monkeypatch.setattr(timing, "clock", lambda: current)
    account.time_zone = zone
    db.session.commit()
    field = create_field(account, FieldSpec(name="When", type=kind, indexed=True), database_id=shop.database.id)
    # Every day from ten days before to ten days after the window, in this year, the years around and a leap year.
    centre = current.date() - timedelta(days=offset)
    days = {centre + timedelta(days=shift) for shift in range(-10, 11)}
    days |= {day.replace(year=year) for day in days for year in (2024, 2027, 2028) if (day.month, day.day) != (2, 29)}
    values = sorted({day.isoformat() for day in days} | set(must))
    if kind == "datetime":
        values = [f"{value} {hour:02d}:30:00" for value in values for hour in (0, 23)]
    dates = {
        create(account, shop, Email=f"{number}@example.com", When=value).id: value
        for number, value in enumerate(values)
    }
    make_followup(
        account,
        shop.database,
        actions=note(shop),
        trigger={"kind": "date_field", "field_id": field.id, "offset_days": offset, "time": "09:00", "yearly": yearly},
    )
    followups.scan_date_triggers()
    made = {(run.profile_id, run.occurrence) for run in db.session.scalars(select(FollowUpRun))}
    wanted = expected_occurrences(dates, current, zone, offset, yearly, "09:00")
    assert made == wanted
    assert {dates[profile_id] for profile_id, _ in wanted} >= set(must)  # the case is about these dates
    assert len(wanted) < len(dates) / 4  # and the filter has something to drop


def test_the_date_scan_loads_only_the_profiles_on_the_windows_days(account, shop, clock):
    from sqlalchemy import event

    make_followup(
        account,
        shop.database,
        actions=note(shop),
        trigger={"kind": "date_field", "field_id": shop.field["Birthday"], "time": "09:00", "yearly": True},
    )
    for number, birthday in enumerate(["1990-11-27", "1990-06-01", "1990-06-02", "2026-01-01", "1990-11-25"]):
        create(account, shop, Email=f"{number}@example.com", Birthday=birthday)
    db.session.expunge_all()
    loaded = []
    listener = lambda target, context: loaded.append(target.fields[str(shop.field["Birthday"])])  # noqa: E731
    event.listen(Profile, "load", listener)
    try:
        assert followups.scan_date_triggers() == 1
    finally:
        event.remove(Profile, "load", listener)
    assert sorted(loaded) == ["1990-11-25", "1990-11-27"]  # the window's days only; 25th: too late


def test_the_date_scan_still_finds_the_dates_of_a_field_changed_to_text(account, shop, clock):
    from webapp.profiles.fields import FieldSpec, update_field

    make_followup(
        account,
        shop.database,
        actions=note(shop),
        trigger={"kind": "date_field", "field_id": shop.field["Birthday"], "offset_days": 1, "time": "09:00"},
    )
    yesterday = create(account, shop, Email="y@example.com", Birthday="2026-11-26")
    create(account, shop, Email="o@example.com", Birthday="2026-10-26")
    update_field(account, shop.field["Birthday"], FieldSpec(name="Birthday", type="text"))
    assert followups.scan_date_triggers() == 1
    assert [run.profile_id for run in runs()] == [yesterday.id]
