"""The audit log's retention (issue 17): a period per account (730 days unless changed, at least 90) applied by
the retention job with its count in the last-run report; an account that never saved settings gets the default;
the log stays unchangeable through the ORM for everyone else."""

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from tests.factories import make_account
from webapp.extensions import db
from webapp.models import AuditEntry, RetentionSettings, ScheduledWork, utcnow
from webapp.platform import work
from webapp.platform.errors import ValidationError
from webapp.privacy import retention


def entries(account, *ages_in_days):
    now = utcnow()
    rows = [
        {"account_id": account.id, "at": now - timedelta(days=age), "actor": "ann", "area": "settings"}
        | {"action": "update", "object_type": "Account", "object_name": "", "changes": {}}
        for age in ages_in_days
    ]
    db.session.execute(insert(AuditEntry), rows)
    db.session.commit()


def ages(account):
    now = utcnow()
    statement = select(AuditEntry.at).where(AuditEntry.account_id == account.id, AuditEntry.actor == "ann")
    return sorted(round((now - at).total_seconds() / 86400) for at in db.session.scalars(statement))


def test_the_period_is_730_days_unless_changed_and_at_least_90(account):
    assert retention.settings_of(account).audit_days == 730
    with pytest.raises(ValidationError) as raised:
        retention.save_settings(account, {"audit_days": "30"})
    assert "from 90 to 3650" in raised.value.errors["audit_days"]
    assert retention.save_settings(account, {"audit_days": "100"}).audit_days == 100
    assert retention.save_settings(account, {"audit_days": ""}).audit_days is None  # kept


def test_the_retention_run_deletes_older_entries_and_reports_them(account):
    other = make_account("Other")
    entries(account, 10, 95, 400)
    entries(other, 400)
    retention.save_settings(account, {"audit_days": "90"})
    row = retention.run_now(account)
    assert work.run_work(row.id) == "done"
    db.session.expire_all()
    assert ages(account) == [10]
    assert ages(other) == [400]  # another account's log is its own
    assert db.session.get(RetentionSettings, account.id).last_report["audit_entries"] == 2


def test_an_account_without_settings_gets_the_default_period(account):
    fresh = make_account("Fresh")
    entries(account, 10, 800)
    entries(fresh, 10)
    retention.ensure_retention_work()
    db.session.commit()
    waiting = db.session.scalars(select(ScheduledWork).where(ScheduledWork.kind == retention.WORK_KIND)).all()
    assert [row.account_id for row in waiting] == [account.id]  # nothing old in the fresh account's log
    assert work.run_work(waiting[0].id) == "done"
    db.session.expire_all()
    assert ages(account) == [10]
    settings = db.session.get(RetentionSettings, account.id)
    assert settings.audit_days == 730 and settings.last_report["audit_entries"] == 1
