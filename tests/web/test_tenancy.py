"""Tenant isolation through the admin: every URL that names an object of account B answers 404 to account A.

The test walks the app's URL map, so a new admin route with an id in its path is covered automatically.
"""

import io

import pytest
from sqlalchemy import select

from tests.factories import (
    make_account,
    make_database,
    make_followup,
    make_followup_run,
    make_form_file,
    make_form_submission,
    make_user,
)
from tests.survey_fixtures import make_survey
from webapp.accounts import tokens as accounts_tokens
from webapp.bulk import runs as bulk_runs
from webapp.bulk.runs import Picked
from webapp.callbacks import definitions, deliveries
from webapp.email import delivery, templates
from webapp.exports import targets
from webapp.extensions import db
from webapp.imports import runs
from webapp.mailings import definitions as mailing_definitions
from webapp.mailings import lifecycle
from webapp.models import MailingRecipient, Selection
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.webforms import builder, items

ID_ARGUMENTS = {
    "database_id",
    "profile_id",
    "field_id",
    "collection_id",
    "interest_id",
    "subprofile_id",
    "user_id",
    "token_id",
    "callback_id",
    "delivery_id",
    "definition_id",
    "run_id",
    "form_id",
    "item_id",
    "file_id",
    "followup_id",
    "followup_run_id",
    "export_id",
    "template_id",
    "caught_id",
    "mailing_id",
    "recipient_id",
    "bulk_id",
    "survey_id",
    "page",  # a survey page's number (with survey_id)
}


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    """Files uploaded by ``objects_of`` go to the test's temporary folder."""
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))
    monkeypatch.setitem(app.config, "BULK_EXPORT_FOLDER", str(tmp_path / "bulk"))


def a_sent_mailing(account, database, template):
    """A mailing started to the database's profiles (so that it has a recipient row)."""
    everyone = Selection(account_id=account.id, database_id=database.id, name="Everyone", rules={})
    db.session.add(everyone)
    db.session.commit()
    values = mailing_definitions.MailingValues(
        name="News", database_id=database.id, template_id=template.id, target_ids=[everyone.id]
    )
    mailing = mailing_definitions.create_mailing(account, values)
    return lifecycle.send_now(account, mailing.id)


def objects_of(account) -> dict[str, int]:
    """One object of every kind in ``account``, by the URL argument that names it."""
    database = make_database(account, f"Db{account.id}")
    collection = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Total", type="decimal"), collection_id=collection.id)
    field = database.fields[0]
    interest = databases.create_interest(account, database.id, "News")
    callback = definitions.create_callback(account, database.id, url="http://127.0.0.1:9/hook")
    profile = profiles.create_profile(account, database.id, {"FirstName": "Bea"}, origin=Origin("admin"))
    sub = subprofiles.create_subprofile(account, profile.id, collection.id, {"Total": "9.95"}, origin=Origin("admin"))
    token, _secret = accounts_tokens.create_api_token(account, "shop")
    user = make_user(account, "viewer", email=f"viewer{account.id}@example.com")
    run = runs.upload(account, database.id, io.BytesIO(b"Email\nann@example.com\n"), "people.csv")
    form = builder.create_form(account, database.id, name="Sign-up")
    item = items.add_item(account, form.id, "consent")
    upload = make_form_file(make_form_submission(form, profile=profile), profile)
    followup = make_followup(account, database, trigger={"kind": "profile_created"}, actions=[{"type": "unsubscribe"}])
    followup_run = make_followup_run(followup, profile.id)
    export = targets.create_export(
        account,
        database.id,
        targets.TargetSpec(name="Nightly", target_url="sftp://127.0.0.1/out/", file_name="p-{date}.csv"),
    )
    template = templates.save_template(account, templates.TemplateValues(name="T", subject="S", text="x"))
    delivery.send_mail(account.id, to="ann@example.com", subject="Caught", text="x")
    mailing = a_sent_mailing(account, database, template)
    bulk = bulk_runs.start(account, database.id, "export", Picked(ids=(profile.id,)))
    db.session.commit()
    return {
        "mailing_id": mailing.id,
        "recipient_id": db.session.scalar(select(MailingRecipient.id).where(MailingRecipient.mailing_id == mailing.id)),
        "bulk_id": bulk.id,
        "survey_id": make_survey(account).id,
        "page": 0,
        "template_id": template.id,
        "caught_id": delivery.list_caught(account.id)[0].id,
        "definition_id": run.definition_id,
        "run_id": run.id,
        "database_id": database.id,
        "profile_id": profile.id,
        "field_id": field.id,
        "collection_id": collection.id,
        "interest_id": interest.id,
        "subprofile_id": sub.id,
        "user_id": user.id,
        "token_id": token.id,
        "callback_id": callback.id,
        "delivery_id": deliveries.list_deliveries(account, callback.id)[0].id,
        "form_id": form.id,
        "item_id": item["id"],
        "file_id": upload.id,
        "followup_id": followup.id,
        "followup_run_id": followup_run.id,
        "export_id": export.id,
    }


def admin_urls(app, ids: dict[str, int]):
    for rule in app.url_map.iter_rules():
        arguments = set(rule.arguments)
        if not rule.endpoint.startswith("admin.") or not arguments & ID_ARGUMENTS:
            continue
        assert arguments <= ID_ARGUMENTS, f"{rule} takes an argument this test does not know"
        url = rule.build({name: ids[name] for name in arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, url


def test_every_admin_url_with_another_accounts_id_is_not_found(app, browser):
    owner_a = browser("owner", make_account("A"))
    ids_b = objects_of(make_account("B"))
    checked = 0
    for method, url in admin_urls(app, ids_b):
        if method == "GET":
            response = owner_a.get(url)
        elif method == "DELETE":
            response = owner_a.delete(url)
        else:
            response = owner_a.post(url, {})
        assert response.status_code == 404, f"{method} {url} answered {response.status_code}"
        checked += 1
    assert checked >= 10


def test_the_same_urls_work_for_the_owning_account(app, browser):
    account = make_account("A")
    owner = browser("owner", account)
    ids = objects_of(account)
    for method, url in admin_urls(app, ids):
        if method == "GET":
            assert owner.get(url).status_code in (200, 302, 303), url


@pytest.mark.parametrize("path", ["/", "/users", "/tokens", "/account"])
def test_lists_show_only_the_own_account(browser, path):
    other = make_account("B")
    objects_of(other)
    page = browser("owner", make_account("A")).get(path).get_data(as_text=True)
    assert "DbB" not in page and f"Db{other.id}" not in page and "viewer" + str(other.id) not in page


@pytest.mark.parametrize("path", ["/profiles/99999999999", "/databases/9223372036854775808/fields", "/fields/0/edit"])
def test_out_of_range_ids_are_not_found(browser, path):
    assert browser("owner").get(path).status_code == 404
