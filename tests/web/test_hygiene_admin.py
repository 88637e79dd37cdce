"""The hygiene admin: the suppression list (search, CSV export, lift, roles, other accounts) and a database's
policy page."""

from tests.factories import make_account, make_database
from webapp.email import suppression
from webapp.email.suppression import Reason
from webapp.extensions import db
from webapp.hygiene import policies


def suppress(account, address, reason=Reason.COMPLAINT):
    row = suppression.suppress(account.id, address, reason, detail="=HYPERLINK(1)" if "x" in address else "")
    db.session.commit()
    return row


def test_the_list_searches_and_exports_only_this_account(browser):
    admin = browser("admin")
    account = admin.user.account
    suppress(account, "ann@example.com")
    suppress(account, "bob@example.org", Reason.UNSUBSCRIBE)
    suppress(make_account("Other"), "eve@example.com")
    page = admin.get("/email/suppression").get_data(as_text=True)
    assert "ann@example.com" in page and "bob@example.org" in page and "eve@example.com" not in page
    found = admin.get("/email/suppression?q=EXAMPLE.ORG", htmx=True).get_data(as_text=True)
    assert "bob@example.org" in found and "ann@example.com" not in found and "<html" not in found
    csv = admin.get("/email/suppression.csv").get_data(as_text=True)
    assert csv.splitlines()[0] == "address,reason,detail,suppressed_at,lifted_at,lifted_by"
    assert "ann@example.com,complaint" in csv and "eve@" not in csv


def test_the_export_neutralises_formulas(browser):
    admin = browser("admin")
    suppress(admin.user.account, "x@example.com")
    csv = admin.get("/email/suppression.csv").get_data(as_text=True)
    assert "'=HYPERLINK(1)" in csv


def test_an_admin_lifts_a_suppression_and_an_editor_may_not(browser):
    admin = browser("admin")
    row = suppress(admin.user.account, "ann@example.com")
    editor = browser("editor", account=admin.user.account)
    assert editor.post(f"/email/suppression/{row.id}/lift").status_code == 403
    assert suppression.active(admin.user.account.id, "ann@example.com") is not None
    response = admin.post(f"/email/suppression/{row.id}/lift")
    assert response.status_code == 303
    assert suppression.active(admin.user.account.id, "ann@example.com") is None
    db.session.expire_all()
    assert row.lifted_by == admin.user.email


def test_another_accounts_suppression_cannot_be_lifted(browser):
    admin = browser("admin")
    other = suppress(make_account("Other"), "eve@example.com")
    assert admin.post(f"/email/suppression/{other.id}/lift").status_code == 404
    assert suppression.active(other.account_id, "eve@example.com") is not None


def test_the_policy_page_saves_and_shows_errors_inline(browser):
    admin = browser("admin")
    database = make_database(admin.user.account, fields={"Email": "email", "Status": "text"})
    page = admin.get(f"/databases/{database.id}/hygiene")
    assert page.status_code == 200 and 'name="soft_threshold"' in page.get_data(as_text=True)
    form = {
        "hard_threshold": "2",
        "hard_action": "set_fields",
        "hard_values": "Status = bounced",
        "soft_threshold": "3",
        "soft_action": "nothing",
        "complaint_action": "unsubscribe",
        "signup_days": "14",
        "signup_action": "remove",
    }
    assert admin.post(f"/databases/{database.id}/hygiene", form).status_code == 303
    saved = policies.get_policy(admin.user.account, database.id)
    assert (saved.hard_threshold, saved.soft_threshold, saved.signup_days) == (2, 3, 14)
    assert "Status = bounced" in admin.get(f"/databases/{database.id}/hygiene").get_data(as_text=True)
    refused = admin.post(f"/databases/{database.id}/hygiene", form | {"hard_values": "Nope = x", "soft_threshold": "0"})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "There is no field named Nope" in text and "from 1 to 100" in text
    assert policies.get_policy(admin.user.account, database.id).soft_threshold == 3


def test_an_editor_sees_the_policy_but_cannot_save_it(browser):
    editor = browser("editor")
    database = make_database(editor.user.account)
    assert editor.get(f"/databases/{database.id}/hygiene").status_code == 200
    assert editor.post(f"/databases/{database.id}/hygiene", {"hard_threshold": "3"}).status_code == 403


def test_a_viewer_sees_the_list_but_exports_nothing(browser):
    viewer = browser("viewer")
    suppress(viewer.user.account, "ann@example.com")
    assert "ann@example.com" in viewer.get("/email/suppression").get_data(as_text=True)
    assert viewer.get("/email/suppression.csv").status_code == 403
