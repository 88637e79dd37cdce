"""The sign-up policy: unconfirmed double opt-in sign-ups older than N days are removed or given field values.

An unconfirmed sign-up is a profile created through a web form with double opt-in (a ``profile_created``
event with source ``form`` and that form as reference) that has no ``confirmed`` event. Every housekeeping round
makes sure one ``hygiene_signups`` work row is waiting; its handler treats up to ``BATCH`` such profiles of
every database whose policy sets a number of days (oldest first), and schedules another row at once when there
was more. Each treated profile carries an event with the actor ``SIGNUP_ACTOR`` (``profile_removed`` or
``profile_updated``), so a profile given values is not treated again, and a second run of a row finds nothing
left to do.
"""

from datetime import timedelta

from sqlalchemy import exists, select

from webapp.extensions import db
from webapp.models import (
    Account,
    Database,
    Form,
    HygienePolicy,
    Profile,
    ProfileEvent,
    ScheduledWork,
    WorkStatus,
    utcnow,
)
from webapp.platform import work
from webapp.profiles import events
from webapp.profiles.events import Origin
from webapp.profiles.profiles import apply_update, remove_in_transaction

WORK_KIND = "hygiene_signups"
BATCH = 500
SIGNUP_ACTOR = "sign-up policy"


def init_app(app) -> None:
    app.extensions["work_handlers"][WORK_KIND] = run_signups_work
    app.extensions["housekeeping_tasks"].append(ensure_signups_work)


def ensure_signups_work() -> None:
    """Housekeeping: one pruning row waits when any database has a sign-up policy (inside its transaction)."""
    if (
        db.session.scalar(select(HygienePolicy.database_id).where(HygienePolicy.signup_days.is_not(None)).limit(1))
        is None
    ):
        return
    waiting = db.session.scalar(
        select(ScheduledWork.id)
        .where(ScheduledWork.kind == WORK_KIND, ScheduledWork.status.in_((WorkStatus.PENDING, WorkStatus.QUEUED)))
        .limit(1)
    )
    if waiting is None:
        work.schedule(WORK_KIND)


def run_signups_work(row: ScheduledWork) -> None:
    """Treat up to ``BATCH`` unconfirmed sign-ups past their database's limit; more waiting → another row now."""
    left = BATCH
    policies = db.session.scalars(
        select(HygienePolicy).where(HygienePolicy.signup_days.is_not(None)).order_by(HygienePolicy.database_id)
    )
    for policy in list(policies):
        left -= prune_database(policy, limit=left)
        if left <= 0:
            work.schedule(WORK_KIND)
            return


def prune_database(policy: HygienePolicy, *, limit: int = BATCH) -> int:
    """Treat up to ``limit`` of the database's unconfirmed sign-ups past the policy's days; returns how many."""
    database = db.session.get(Database, policy.database_id)
    if database is None or policy.signup_days is None:
        return 0
    profiles = unconfirmed_signups(database, older_than=timedelta(days=policy.signup_days), limit=limit)
    account = db.session.get_one(Account, database.account_id)
    for profile in profiles:
        origin = Origin("system", actor=SIGNUP_ACTOR, reference=f"policy {database.id}")
        if policy.signup_action == "remove":
            remove_in_transaction(profile, origin)
            continue
        values = {
            field.name: policy.signup_values[field.key]
            for field in database.fields
            if field.key in policy.signup_values
        }
        if apply_update(account, profile, values, {}, origin=origin, kind="profile_updated") is None:
            events.record("profile_updated", origin, profile=profile)  # nothing to change: mark it treated
    return len(profiles)


def unconfirmed_signups(database: Database, *, older_than: timedelta, limit: int) -> list[Profile]:
    """Profiles of the database signed up through a double opt-in form more than ``older_than`` ago, never
    confirmed and not yet treated by the policy; oldest first, locked (others' locked rows skipped)."""
    forms = db.session.scalars(select(Form).where(Form.database_id == database.id))
    opt_in_forms = [str(form.id) for form in forms if ((form.settings or {}).get("double_opt_in") or {}).get("enabled")]
    if not opt_in_forms:
        return []

    def journal(*conditions):
        return exists().where(ProfileEvent.profile_id == Profile.id, *conditions)

    query = (
        select(Profile)
        .where(
            Profile.database_id == database.id,
            Profile.created_at < utcnow() - older_than,
            journal(
                ProfileEvent.kind == "profile_created",
                ProfileEvent.source == "form",
                ProfileEvent.reference.in_(opt_in_forms),
            ),
            ~journal(ProfileEvent.kind == "confirmed"),
            ~journal(ProfileEvent.source == "system", ProfileEvent.actor == SIGNUP_ACTOR),
        )
        .order_by(Profile.created_at, Profile.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(db.session.scalars(query))
