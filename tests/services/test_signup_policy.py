"""The sign-up policy: unconfirmed double opt-in sign-ups older than N days are removed or given values, as
durable work scheduled by housekeeping and run by a real RQ worker."""

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.factories import make_database, make_form
from tests.workers import run_burst_worker
from webapp.extensions import db
from webapp.hygiene import signups
from webapp.hygiene.policies import PolicySettings, save_policy
from webapp.models import Profile, ProfileEvent, ScheduledWork, utcnow
from webapp.platform import work
from webapp.profiles import profiles
from webapp.profiles.events import Origin
from webapp.webforms import opt_in
from webapp.webforms import spam as form_spam
from webapp.webforms import submissions as forms


@pytest.fixture
def database(account):
    return make_database(account, fields={"Email": "email", "Status": "text"})


def opt_in_form(account, database, enabled=True):
    return make_form(
        account,
        database,
        items=[{"type": "field", "field": "Email"}],
        double_opt_in={"enabled": enabled, "confirmed_values": {str(database.fields[1].id): "confirmed"}},
    )


def sign_up(form, address: str, *, days_ago: int) -> int:
    token = form_spam.issue_token(form.key, now=time.time() - 60)
    email = form.items[0]["field_id"]
    result = forms.submit_form(
        form.key, {f"f{email}": address}, {}, origin="", ip="192.0.2.1", idempotency_key=None, elapsed_token=token
    )
    assert result.status_code == 200, result.body
    moment = utcnow() - timedelta(days=days_ago)
    db.session.execute(update(Profile).where(Profile.id == result.profile_id).values(created_at=moment))
    db.session.commit()
    return result.profile_id


def run_housekeeping_and_the_work() -> None:
    work.schedule("housekeeping")
    db.session.commit()
    while work.dispatch_due():
        run_burst_worker()
    db.session.expire_all()


def existing(*profile_ids: int) -> set[int]:
    return set(db.session.scalars(select(Profile.id).where(Profile.id.in_(profile_ids))))


def test_unconfirmed_sign_ups_past_the_limit_are_removed_and_the_others_kept(account, database):
    save_policy(account, database.id, PolicySettings(signup_days=7))
    form, plain_form = opt_in_form(account, database), opt_in_form(account, database, enabled=False)
    old = sign_up(form, "old@example.com", days_ago=8)
    recent = sign_up(form, "recent@example.com", days_ago=6)
    confirmed = sign_up(form, "confirmed@example.com", days_ago=30)
    opt_in.confirm_subscription(opt_in.confirm_link(form, db.session.get(Profile, confirmed)).rsplit("/", 1)[1])
    without_opt_in = sign_up(plain_form, "plain@example.com", days_ago=30)
    by_admin = profiles.create_profile(account, database.id, {"Email": "admin@example.com"}, origin=Origin("admin"))
    db.session.execute(
        update(Profile).where(Profile.id == by_admin.id).values(created_at=utcnow() - timedelta(days=30))
    )
    db.session.commit()
    run_housekeeping_and_the_work()
    assert existing(old, recent, confirmed, without_opt_in, by_admin.id) == {
        recent,
        confirmed,
        without_opt_in,
        by_admin.id,
    }
    [removed] = db.session.scalars(select(ProfileEvent).where(ProfileEvent.kind == "profile_removed"))
    assert (removed.profile_id, removed.source, removed.actor) == (old, "system", signups.SIGNUP_ACTOR)
    done = db.session.scalars(select(ScheduledWork.status).where(ScheduledWork.kind == signups.WORK_KIND))
    assert list(done) == ["done"]


def test_the_set_fields_action_marks_them_once(account, database):
    save_policy(
        account,
        database.id,
        PolicySettings(signup_days=3, signup_action="set_fields", signup_values={"Status": "stale"}),
    )
    form = opt_in_form(account, database)
    old = sign_up(form, "old@example.com", days_ago=4)
    run_housekeeping_and_the_work()
    profile = db.session.get(Profile, old)
    assert profile.fields[str(database.fields[1].id)] == "stale"
    run_housekeeping_and_the_work()
    updates = db.session.scalars(
        select(ProfileEvent).where(ProfileEvent.profile_id == old, ProfileEvent.actor == signups.SIGNUP_ACTOR)
    )
    assert len(list(updates)) == 1


def test_more_than_a_batch_schedules_another_round_at_once(account, database, monkeypatch):
    monkeypatch.setattr(signups, "BATCH", 2)
    save_policy(account, database.id, PolicySettings(signup_days=1))
    form = opt_in_form(account, database)
    ids = [sign_up(form, f"p{number}@example.com", days_ago=2) for number in range(5)]
    run_housekeeping_and_the_work()
    assert existing(*ids) == set()
    rounds = list(db.session.scalars(select(ScheduledWork.status).where(ScheduledWork.kind == signups.WORK_KIND)))
    assert rounds == ["done"] * 3


def test_without_a_sign_up_policy_nothing_is_scheduled(account, database):
    form = opt_in_form(account, database)
    old = sign_up(form, "old@example.com", days_ago=400)
    run_housekeeping_and_the_work()
    assert existing(old) == {old}
    assert db.session.scalar(select(ScheduledWork.id).where(ScheduledWork.kind == signups.WORK_KIND)) is None
