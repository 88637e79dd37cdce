"""The visual editor's pages: a new design from a starter, save (stored, or every input kept on an error),
reopen, preview for a profile, test send; its CSP relaxes styles only; roles and accounts are respected."""

import json

from sqlalchemy import select

from tests.factories import make_account, make_database
from webapp.email import delivery, designs
from webapp.email import templates as email_templates
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.models import EmailTemplate
from webapp.profiles import profiles
from webapp.profiles.events import Origin

MJML = designs.starter("letter").mjml
FORM = {"name": "Letter", "database_id": "", "subject": "Hi {{ profile.FirstName }}", "track_opens": "y"}


def test_a_new_design_starts_from_a_starter_under_a_strict_csp(browser):
    editor = browser("editor")
    response = editor.get("/email/templates/design/new?starter=announcement")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    data = json.loads(page.split('id="design-data">', 1)[1].split("</script>", 1)[0])
    assert data == {"mjml": designs.starter("announcement").mjml, "project": None}
    assert "vendor/grapesjs-0.23.6/grapes.min.js" in page and "//cdn" not in page
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "'unsafe-eval'" not in csp and "connect-src" not in csp
    assert editor.get("/email/templates/design/new?starter=nothing").status_code == 404


def test_save_reopen_and_update_a_design(browser):
    editor = browser("editor")
    project = json.dumps({"pages": [{"id": "p1"}]})
    response = editor.post("/email/templates/design", FORM | {"design_mjml": MJML, "design_project": project})
    assert response.status_code == 303
    template = db.session.scalar(select(EmailTemplate))
    assert response.headers["Location"].endswith(f"/email/templates/{template.id}/design")
    assert template.design["project"] == {"pages": [{"id": "p1"}]} and "@media" in template.html
    page = editor.get(f"/email/templates/{template.id}/design").get_data(as_text=True)
    assert "&#34;p1&#34;" in page or '"p1"' in page
    assert f"/email/templates/{template.id}/design" in editor.get("/email/templates").get_data(as_text=True)

    changed = MJML.replace("Write your letter here.", "Changed text.")
    response = editor.post(f"/email/templates/{template.id}/design", FORM | {"design_mjml": changed}, htmx=True)
    assert response.status_code == 204
    db.session.expire_all()
    assert "Changed text." in template.html


def test_an_error_keeps_every_input_and_the_design(browser):
    editor = browser("editor")
    broken = "<mjml><mj-body><mj-section>"
    project = json.dumps({"pages": ["kept"]})
    response = editor.post(
        "/email/templates/design", FORM | {"name": "", "design_mjml": broken, "design_project": project}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "cannot be made into email HTML" in page
    assert 'value="Hi {{ profile.FirstName }}"' in page  # the subject typed
    data = json.loads(page.split('id="design-data">', 1)[1].split("</script>", 1)[0])
    assert data == {"mjml": broken, "project": {"pages": ["kept"]}}
    assert db.session.scalar(select(EmailTemplate)) is None


def test_preview_and_test_send_use_the_unsaved_design(browser):
    editor = browser("editor")
    account = editor.user.account
    database = make_database(account)
    profile = profiles.create_profile(account, database.id, {"FirstName": "Ann"}, origin=Origin("admin"))
    form = FORM | {"design_mjml": MJML, "preview_profile_id": str(profile.id)}
    page = editor.post("/email/templates/design/preview", form, htmx=True).get_data(as_text=True)
    assert "Dear Ann," in page and 'class="mail-text"' in page

    response = editor.post("/email/templates/design/test", form | {"test_addresses": "qa@example.org"}, htmx=True)
    assert "Test sent to qa@example.org" in response.get_data(as_text=True)
    caught = delivery.caught_messages(account.id)
    assert [message["Subject"] for message in caught] == ["[Test] Hi Ann"]
    assert "Dear Ann," in caught[0].get_body(("plain",)).get_content()

    response = editor.post("/email/templates/design/test", form | {"test_addresses": "nope"}, htmx=True)
    assert "Not an email address: nope" in response.get_data(as_text=True)
    assert len(delivery.caught_messages(account.id)) == 1


def test_viewers_read_and_other_accounts_see_nothing(browser):
    viewer = browser("viewer")
    template = email_templates.save_template(
        viewer.user.account, TemplateValues(name="T", subject="S", html="<p>x</p>")
    )
    assert viewer.get(f"/email/templates/{template.id}/design").status_code == 200
    assert viewer.post("/email/templates/design", FORM | {"design_mjml": MJML}).status_code == 403
    assert viewer.post(f"/email/templates/{template.id}/design", FORM | {"design_mjml": MJML}).status_code == 403
    stranger = browser("editor", account=make_account("Other"))
    assert stranger.get(f"/email/templates/{template.id}/design").status_code == 404
    assert stranger.post(f"/email/templates/{template.id}/design", FORM | {"design_mjml": MJML}).status_code == 404
