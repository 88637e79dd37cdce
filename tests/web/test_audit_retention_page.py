"""The retention page holds the audit log's period (730 days shown until changed, at least 90) and the last run's
report counts the audit entries deleted; a change of the period is itself in the audit log (area privacy)."""

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import AuditEntry, RetentionSettings
from webapp.platform import work
from webapp.privacy import retention


def test_the_audit_period_on_the_retention_page(browser):
    admin = browser("admin")
    account = admin.user.account
    page = admin.get("/privacy/retention").get_data(as_text=True)
    assert 'name="audit_days" value="730"' in page
    bad = admin.post("/privacy/retention", {"audit_days": "7"})
    assert bad.status_code == 200 and "from 90 to 3650" in bad.get_data(as_text=True)
    assert admin.post("/privacy/retention", {"audit_days": "365"}).status_code == 303
    assert db.session.get(RetentionSettings, account.id).audit_days == 365
    change = db.session.scalar(select(AuditEntry).where(AuditEntry.area == "privacy"))
    assert change.changes["audit_days"] == [None, 365] and change.actor == admin.user.email
    admin.post("/privacy/retention/run")
    assert work.run_work(retention._waiting(account.id).id) == "done"
    page = admin.get("/privacy/retention").get_data(as_text=True)
    assert "audit_entries" in page and 'name="audit_days" value="365"' in page


def test_a_change_of_the_period_is_in_the_audit_log_under_privacy(browser):
    admin = browser("admin")
    admin.post("/privacy/retention", {"audit_days": "365"})
    page = admin.get("/audit?area=privacy").get_data(as_text=True)
    assert "RetentionSettings" in page and "audit_days" in page
    exported = admin.get("/audit.csv?area=privacy").get_data(as_text=True)
    assert "audit_days" in exported and exported.count("\n") == 2  # the header and the one change
