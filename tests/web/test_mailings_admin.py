"""The mailings admin: the empty state, create with inline errors, test send, send, progress, pause, resume,
cancel, another account's mailing, a profile's mailings."""

from sqlalchemy import select

from tests.factories import make_account, make_database
from tests.smtp_server import smtp_server  # noqa: F401
from webapp.email import templates as email_templates
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.mailings import batches
from webapp.models import Mailing, MailingRecipient, Selection
from webapp.profiles import profiles
from webapp.profiles.events import Origin


def setup_shop(account):
    database = make_database(account)
    profiles.create_profile(
        account, database.id, {"Email": "ann@example.com", "FirstName": "Ann"}, origin=Origin("admin")
    )
    template = email_templates.save_template(account, TemplateValues(name="News", subject="News", text="Hello"))
    everyone = Selection(account_id=account.id, database_id=database.id, name="Everyone", rules={})
    db.session.add(everyone)
    db.session.commit()
    return database, template, everyone


def form(database, template, everyone, **changes):
    values = {
        "name": "December",
        "database_id": str(database.id),
        "template_id": str(template.id),
        "target_ids": [str(everyone.id)],
        "subject": "",
        "sender": "",
        "domain_limits": "",
        "ab_metric": "opens",
        "repeat_time": "",
    }
    return values | changes


def test_the_empty_list_leads_to_a_template_first_then_to_a_mailing(browser):
    editor = browser("editor")
    page = editor.get("/mailings").get_data(as_text=True)
    assert "No mailings yet" in page and "/email/templates/new" in page
    email_templates.save_template(editor.user.account, TemplateValues(name="News", subject="News", text="Hi"))
    assert "/mailings/new" in editor.get("/mailings").get_data(as_text=True)
    assert editor.get("/mailings/new").status_code == 200


def test_create_with_errors_inline_then_send_test_send_pause_resume_cancel(app, browser, smtp_server):  # noqa: F811
    app.config["SMTP_URL"] = smtp_server.url
    try:
        editor = browser("editor")
        database, template, everyone = setup_shop(editor.user.account)
        bad = editor.post("/mailings", form(database, template, everyone, name="", target_ids=[], domain_limits="x"))
        assert bad.status_code == 422 and "Write each limit as domain=messages per minute" in bad.get_data(as_text=True)
        bad = editor.post("/mailings", form(database, template, everyone, name="", target_ids=[]))
        assert bad.status_code == 422 and "Give the mailing a name." in bad.get_data(as_text=True)
        assert db.session.scalar(select(Mailing)) is None
        assert editor.post("/mailings", form(database, template, everyone)).status_code == 303
        mailing = db.session.scalar(select(Mailing))
        url = f"/mailings/{mailing.id}"
        assert "December" in editor.get(url).get_data(as_text=True)
        assert editor.post(f"{url}/test", {"addresses": "me@example.org"}).status_code == 303
        assert [envelope.rcpt_tos for envelope in smtp_server.envelopes] == [["me@example.org"]]
        assert editor.post(f"{url}/send").status_code == 303
        db.session.refresh(mailing)
        assert mailing.status == "sending" and mailing.frozen == 1
        progress = editor.get(f"{url}/progress", htmx=True).get_data(as_text=True)
        assert 'id="mailing-progress"' in progress and "hx-trigger" in progress and "<html" not in progress
        assert editor.post(f"{url}/pause").status_code == 303
        db.session.refresh(mailing)
        assert mailing.status == "paused"
        editor.post(f"{url}/resume")
        batches.dispatch_due_batches()
        [row] = db.session.scalars(select(MailingRecipient)).all()
        batches.send_batch([row.id], row.job_id)
        batches.dispatch_due_batches()  # nothing left: done
        page = editor.get(url).get_data(as_text=True)
        assert "<svg" in page and "Delivered" in page
        cancelled = editor.post(f"{url}/cancel", htmx=True)  # done: nothing to cancel, a clear message
        assert "This mailing is not sending or scheduled." in cancelled.headers["HX-Trigger"]
        db.session.refresh(mailing)
        assert mailing.status == "done"
        profile_page = editor.get(f"/profiles/{row.profile_id}/mailings", htmx=True).get_data(as_text=True)
        assert "December" in profile_page
    finally:
        app.config["SMTP_URL"] = ""


def test_a_viewer_reads_but_cannot_send_and_another_account_sees_nothing(browser):
    viewer = browser("viewer")
    database, template, everyone = setup_shop(viewer.user.account)
    mailing = Mailing(
        account_id=viewer.user.account.id,
        database_id=database.id,
        name="Mine",
        template_id=template.id,
        target_ids=[everyone.id],
    )
    db.session.add(mailing)
    db.session.commit()
    assert viewer.get(f"/mailings/{mailing.id}").status_code == 200
    assert viewer.post(f"/mailings/{mailing.id}/send").status_code == 403
    other = browser("editor", account=make_account("Other"))
    assert other.get(f"/mailings/{mailing.id}").status_code == 404
    assert other.post(f"/mailings/{mailing.id}/send").status_code == 404
    assert "Mine" not in other.get("/mailings").get_data(as_text=True)
