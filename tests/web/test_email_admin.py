"""The email admin: templates (CRUD, inline errors, preview), caught mail (own account only), mail settings."""

from sqlalchemy import select

from tests.factories import make_account, make_database
from webapp.email import delivery
from webapp.email import templates as email_templates
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.models import EmailTemplate, MailSettings
from webapp.profiles import profiles
from webapp.profiles.events import Origin

FORM = {
    "name": "Welcome",
    "database_id": "",
    "subject": "Hi {{ profile.FirstName }}",
    "sender": "",
    "reply_to": "",
    "html": "<p>Hi {{ profile.FirstName }}</p>",
    "text": "Hi",
    "track_opens": "y",
}


def test_the_nav_and_list_show_the_accounts_templates(browser):
    editor = browser("editor")
    email_templates.save_template(editor.user.account, TemplateValues(name="Mine", subject="S", text="x"))
    email_templates.save_template(make_account("Other"), TemplateValues(name="Theirs", subject="S", text="x"))
    page = editor.get("/email/templates").get_data(as_text=True)
    assert 'href="/email/templates"' in page
    assert "Mine" in page and "Theirs" not in page


def test_create_edit_and_delete_a_template(browser):
    editor = browser("editor")
    response = editor.post("/email/templates", FORM)
    assert response.status_code == 303
    template = db.session.scalar(select(EmailTemplate))
    assert (template.name, template.track_opens, template.track_clicks) == ("Welcome", True, False)
    assert response.headers["Location"].endswith(f"/email/templates/{template.id}")
    assert "Hi {{ profile.FirstName }}" in editor.get(f"/email/templates/{template.id}").get_data(as_text=True)

    response = editor.post(f"/email/templates/{template.id}", FORM | {"name": "Renamed"}, htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith(f"/{template.id}")
    db.session.expire_all()
    assert template.name == "Renamed"

    assert editor.post(f"/email/templates/{template.id}/delete", htmx=True).status_code == 204
    assert db.session.scalar(select(EmailTemplate)) is None


def test_template_errors_show_inline_and_nothing_is_saved(browser):
    editor = browser("editor")
    response = editor.post("/email/templates", FORM | {"text": "{{ ''.__class__ }}", "subject": "Hi {{ profile."})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="text-error"' in page and "unsafe" in page
    assert 'id="subject-error"' in page
    assert db.session.scalar(select(EmailTemplate)) is None


def test_a_duplicate_name_shows_inline(browser):
    editor = browser("editor")
    email_templates.save_template(editor.user.account, TemplateValues(name="Welcome", subject="S", text="x"))
    response = editor.post("/email/templates", FORM)
    assert response.status_code == 409
    assert 'id="name-error"' in response.get_data(as_text=True)


def test_viewers_cannot_change_templates(browser):
    viewer = browser("viewer")
    assert viewer.post("/email/templates", FORM).status_code == 403
    assert viewer.get("/email/templates/new").status_code == 403


def test_preview_against_a_real_profile_with_errors_inline(browser):
    editor = browser("editor")
    account = editor.user.account
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"FirstName": "Ann"}, origin=Origin("admin"))
    response = editor.post("/email/templates/preview", FORM | {"preview_profile_id": profile.id}, htmx=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="template-preview"' in page
    assert "Hi Ann" in page and "sandbox" in page
    broken = editor.post(
        "/email/templates/preview", FORM | {"text": "{{ profile.a.b }}", "preview_profile_id": profile.id}, htmx=True
    )
    assert "Text part" in broken.get_data(as_text=True) and 'role="alert"' in broken.get_data(as_text=True)
    other_account = make_account("Other")
    other_database = make_database(other_account, "OtherDb")
    other = profiles.create_profile(other_account, other_database.id, {"FirstName": "Zed"}, origin=Origin("admin"))
    foreign = editor.post("/email/templates/preview", FORM | {"preview_profile_id": other.id}, htmx=True)
    assert "Zed" not in foreign.get_data(as_text=True) and "not found" in foreign.get_data(as_text=True).lower()


def test_caught_mail_is_listed_and_shown_for_the_own_account_only(browser):
    admin = browser("admin")
    account = admin.user.account
    delivery.send_mail(account.id, to="ann@example.com", subject="For Ann", text="Body of Ann", html="<b>Ann</b>")
    other = make_account("Other")
    delivery.send_mail(other.id, to="zed@example.com", subject="For Zed", text="Body of Zed")
    db.session.commit()
    page = admin.get("/email/caught").get_data(as_text=True)
    assert "For Ann" in page and "For Zed" not in page
    mine, theirs = delivery.list_caught(account.id)[0], delivery.list_caught(other.id)[0]
    shown = admin.get(f"/email/caught/{mine.id}").get_data(as_text=True)
    assert "Body of Ann" in shown and "&lt;b&gt;Ann&lt;/b&gt;" in shown  # the HTML is shown in a sandboxed frame
    assert admin.get(f"/email/caught/{theirs.id}").status_code == 404


def test_mail_settings_smtp_url_is_stored_encrypted_and_shown_masked(browser):
    admin = browser("admin")
    response = admin.post(
        "/email/settings", {"smtp_url": "smtp://user:pw123@mail.example.com:587", "rate_per_minute": "120"}
    )
    assert response.status_code == 303
    page = admin.get("/email/settings").get_data(as_text=True)
    assert "smtp://user:••••••@mail.example.com:587" in page and "pw123" not in page
    row = db.session.get(MailSettings, admin.user.account_id)
    assert row.rate_per_minute == 120 and "pw123" not in row.smtp_url
    bad = admin.post("/email/settings", {"smtp_url": "http://nope"})
    assert bad.status_code == 422 and 'id="smtp_url-error"' in bad.get_data(as_text=True)


def test_dkim_key_generation_shows_the_dns_record(browser):
    admin = browser("admin")
    response = admin.post("/email/settings/dkim", {"dkim_domain": "shop.example", "dkim_selector": "v1"})
    assert response.status_code == 303
    page = admin.get("/email/settings").get_data(as_text=True)
    assert "v1._domainkey.shop.example" in page and "v=DKIM1; k=rsa; p=" in page
    assert "PRIVATE KEY" not in page
    assert admin.post("/email/settings/dkim/remove", htmx=True).status_code == 204
    assert "v1._domainkey" not in admin.get("/email/settings").get_data(as_text=True)


def test_only_admins_see_mail_settings(browser):
    assert browser("editor").get("/email/settings").status_code == 403


def test_no_templates_yet_leads_to_making_one(browser):
    page = browser("editor").get("/email/templates").get_data(as_text=True)
    assert "No email templates yet" in page and 'href="/email/templates/new">Create your first template' in page
