"""The database admin: list, create, settings, unsubscribe behaviour, deletion; roles, tenants, CSRF, htmx."""

import json

import pytest
from sqlalchemy import select, text

from tests.factories import make_account, make_database
from webapp.extensions import db
from webapp.models import Database, Profile
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ADMIN = Origin("admin", actor="test")


def committed():
    """Forget what the session holds, so the test sees only what the requests committed."""
    db.session.rollback()
    return db.session


def database_names(account) -> list[str]:
    return [d.name for d in committed().scalars(select(Database).where(Database.account_id == account.id))]


def field_indexes() -> list[str]:
    """Names of the per-field expression indexes on the profile table."""
    session = committed()
    if session.get_bind().dialect.name == "postgresql":
        query = "SELECT indexname FROM pg_indexes WHERE tablename = 'profile'"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'profile'"
    return sorted(
        name for (name,) in session.execute(text(query)) if name.startswith(("ix_profile_field_", "uq_profile_field_"))
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)


# --- the list -------------------------------------------------------------------------------------


def test_index_lists_databases_with_profile_counts_and_archived_badge(browser):
    me = browser("viewer")
    account = me.user.account
    customers = make_database(account, "Customers")
    profiles.create_profile(account, customers.id, {"Email": "a@example.com"}, origin=ADMIN)
    profiles.create_profile(account, customers.id, {"Email": "b@example.com"}, origin=ADMIN)
    old = make_database(account, "OldLeads", fields={})
    databases.update_database(account, old.id, name="OldLeads", description="From 2019", archived=True)

    page = text_of(me.get("/databases"))

    assert "Customers" in page and "OldLeads" in page and "From 2019" in page
    assert '<td class="numeric">2</td>' in page
    assert "archived" in page
    assert "New database" not in page  # a viewer cannot create databases


def test_index_empty_state_tells_an_admin_what_to_do(browser):
    page = text_of(browser("admin").get("/databases"))
    assert "No databases yet" in page
    assert "Create your first database" in page
    assert 'action="/databases"' in page


def test_index_fragment_for_htmx_full_page_otherwise(browser):
    me = browser("admin")
    make_database(me.user.account, "Customers")
    full, fragment = text_of(me.get("/databases")), text_of(me.get("/databases", htmx=True))
    assert "<html" in full and 'id="databases"' in full
    assert "<html" not in fragment and 'id="databases"' in fragment and "Customers" in fragment


# --- create ---------------------------------------------------------------------------------------


def test_admin_creates_a_database_and_lands_on_its_profiles(browser):
    me = browser("admin")
    response = me.post("/databases", {"name": "Leads", "description": "Trade fair 2024"})

    created = committed().scalar(select(Database).where(Database.name == "Leads"))
    assert created is not None and created.description == "Trade fair 2024"
    assert created.account_id == me.user.account_id
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/databases/{created.id}/profiles")


def test_htmx_create_redirects_with_hx_redirect(browser):
    me = browser("admin")
    response = me.post("/databases", {"name": "Leads"}, htmx=True)
    created = committed().scalar(select(Database).where(Database.name == "Leads"))
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].endswith(f"/databases/{created.id}/profiles")


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_cannot_create_databases(browser, role):
    me = browser(role)
    response = me.post("/databases", {"name": "Leads"})
    assert response.status_code == 403
    assert database_names(me.user.account) == []


def test_duplicate_name_is_refused_with_a_message(browser):
    me = browser("admin")
    make_database(me.user.account, "Customers")

    response = me.post("/databases", {"name": "customers"}, htmx=True)

    assert response.status_code == 422
    page = text_of(response)
    assert "A database named customers already exists." in page
    assert "<html" not in page and 'aria-invalid="true"' in page
    assert database_names(me.user.account) == ["Customers"]


def test_invalid_name_is_refused_on_the_full_page_without_javascript(browser):
    me = browser("admin")
    response = me.post("/databases", {"name": "2024 leads"})
    assert response.status_code == 422
    page = text_of(response)
    assert "<html" in page and "Use a letter followed by letters, digits, spaces, hyphens or underscores" in page
    assert 'value="2024 leads"' in page  # what was typed is kept
    assert database_names(me.user.account) == []


def test_post_without_csrf_token_is_refused(browser):
    me = browser("admin")
    response = me.post("/databases", {"name": "Leads"}, csrf=False)
    assert response.status_code == 400
    assert database_names(me.user.account) == []


def test_anonymous_visitors_are_sent_to_the_login(anonymous):
    response = anonymous.get("/databases/1/settings")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_database_opens_on_its_profiles(browser):
    me = browser("viewer")
    database = make_database(me.user.account)
    response = me.get(f"/databases/{database.id}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/databases/{database.id}/profiles")


# --- tenants --------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["", "/fields", "/interests", "/collections", "/settings"])
def test_another_accounts_database_is_not_found(browser, path):
    other = make_database(make_account("Globex"), "Secret")
    me = browser("admin")
    response = me.get(f"/databases/{other.id}{path}")
    assert response.status_code == 404
    assert "Secret" not in text_of(response)


def test_another_accounts_database_cannot_be_changed_or_deleted(browser):
    globex = make_account("Globex")
    other = make_database(globex, "Secret")
    me = browser("admin")
    assert me.post(f"/databases/{other.id}/settings", {"name": "Mine"}).status_code == 404
    assert me.post(f"/databases/{other.id}/delete", {"confirm_name": "Secret"}).status_code == 404
    assert me.post(f"/databases/{other.id}/unsubscribe", {"behaviour": "remove"}).status_code == 404
    assert database_names(globex) == ["Secret"]
    assert committed().get(Database, other.id).unsubscribe_behaviour == "update"


# --- settings -------------------------------------------------------------------------------------


def test_admin_saves_name_description_and_archived(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    response = me.post(
        f"/databases/{database.id}/settings", {"name": "Clients", "description": "Paying customers", "archived": "y"}
    )
    assert response.status_code == 303
    saved = committed().get(Database, database.id)
    assert (saved.name, saved.description, saved.archived) == ("Clients", "Paying customers", True)
    page = text_of(me.get(response.headers["Location"]))
    assert "Database settings are saved." in page and "Clients" in page


def test_settings_rename_to_a_taken_name_is_refused(browser):
    me = browser("admin")
    make_database(me.user.account, "Clients", fields={})
    database = make_database(me.user.account)
    response = me.post(f"/databases/{database.id}/settings", {"name": "Clients"}, htmx=True)
    assert response.status_code == 422
    assert "A database named Clients already exists." in text_of(response)
    assert "<html" not in text_of(response)
    assert committed().get(Database, database.id).name == "Customers"


def test_viewer_reads_settings_without_buttons_and_cannot_save(browser):
    me = browser("viewer")
    database = make_database(me.user.account)
    page = text_of(me.get(f"/databases/{database.id}/settings"))
    assert "Unsubscribe behaviour" in page
    assert "Delete this database" not in page and "Save unsubscribe behaviour" not in page
    assert me.post(f"/databases/{database.id}/settings", {"name": "Mine"}).status_code == 403
    assert committed().get(Database, database.id).name == "Customers"


# --- unsubscribe behaviour ------------------------------------------------------------------------


def _database_with_status(account):
    database = make_database(
        account,
        fields={
            "Email": "email",
            "Status": {"type": "choice", "options": {"choices": ["active", "unsubscribed"]}},
        },
    )
    databases.create_interest(account, database.id, "Newsletter", "Mailings")
    return database


def test_update_behaviour_is_saved_with_field_and_interest_values(browser):
    me = browser("admin")
    database = _database_with_status(me.user.account)

    response = me.post(
        f"/databases/{database.id}/unsubscribe",
        {
            "behaviour": "update",
            "field-Status": "unsubscribed",
            "field-Email": "",
            "interest-Newsletter": "off",
        },
        htmx=True,
    )

    assert response.status_code == 200
    assert "The unsubscribe behaviour is saved." in json.loads(response.headers["HX-Trigger"])["toast"]["message"]
    saved = committed().get(Database, database.id)
    assert saved.unsubscribe_behaviour == "update"
    assert databases.unsubscribe_values_by_name(saved) == {"Status": "unsubscribed", "Newsletter": False}
    page = text_of(me.get(f"/databases/{database.id}/settings"))
    assert '<option value="unsubscribed" selected>' in page
    assert '<option value="off" selected>' in page


def test_unknown_choice_value_is_refused_next_to_its_row(browser):
    me = browser("admin")
    database = _database_with_status(me.user.account)

    response = me.post(
        f"/databases/{database.id}/unsubscribe", {"behaviour": "update", "field-Status": "gone"}, htmx=True
    )

    assert response.status_code == 422
    page = text_of(response)
    assert "must be one of: active, unsubscribed" in page
    assert 'id="unsubscribe-field-Status-error"' in page
    saved = committed().get(Database, database.id)
    assert saved.unsubscribe_behaviour == "update" and saved.unsubscribe_values == {}


def test_update_without_any_value_is_refused(browser):
    me = browser("admin")
    database = _database_with_status(me.user.account)
    response = me.post(f"/databases/{database.id}/unsubscribe", {"behaviour": "update"})
    assert response.status_code == 422
    assert "Give at least one field or interest value" in text_of(response)
    assert "<html" in text_of(response)


def test_unknown_behaviour_is_refused(browser):
    me = browser("admin")
    database = _database_with_status(me.user.account)
    response = me.post(f"/databases/{database.id}/unsubscribe", {"behaviour": "ignore"}, htmx=True)
    assert response.status_code == 422
    assert "Choose nothing, remove or update." in text_of(response)
    assert committed().get(Database, database.id).unsubscribe_behaviour == "update"


def test_behaviour_nothing_shows_the_eu_warning(browser):
    me = browser("admin")
    database = _database_with_status(me.user.account)
    before = text_of(me.get(f"/databases/{database.id}/settings"))
    assert "Unsubscribes are ignored." not in before

    response = me.post(f"/databases/{database.id}/unsubscribe", {"behaviour": "nothing"}, htmx=True)

    assert response.status_code == 200
    assert committed().get(Database, database.id).unsubscribe_behaviour == "nothing"
    assert "unlawful" in json.loads(response.headers["HX-Trigger"])["toast"]["message"]
    for page in (text_of(response), text_of(me.get(f"/databases/{database.id}/settings"))):
        assert "Unsubscribes are ignored." in page
        assert "In the EU, ignoring an unsubscribe request is unlawful (GDPR and the ePrivacy rules)" in page


def test_remove_behaviour_without_javascript_redirects_back(browser):
    me = browser("admin")
    database = _database_with_status(me.user.account)
    response = me.post(f"/databases/{database.id}/unsubscribe", {"behaviour": "remove"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/databases/{database.id}/settings")
    saved = committed().get(Database, database.id)
    assert saved.unsubscribe_behaviour == "remove" and saved.unsubscribe_values == {"fields": {}, "interests": {}}


def test_editor_cannot_change_the_unsubscribe_behaviour(browser):
    me = browser("editor")
    database = _database_with_status(me.user.account)
    assert me.post(f"/databases/{database.id}/unsubscribe", {"behaviour": "nothing"}).status_code == 403
    assert committed().get(Database, database.id).unsubscribe_behaviour == "update"


# --- delete ---------------------------------------------------------------------------------------


def test_delete_needs_the_typed_name(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    response = me.post(f"/databases/{database.id}/delete", {"confirm_name": "customers"}, htmx=True)
    assert response.status_code == 422
    assert "Type Customers exactly to confirm." in text_of(response)
    assert database_names(me.user.account) == ["Customers"]


def test_delete_removes_the_database_with_its_profiles(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)  # Email and FirstName are indexed
    assert len(field_indexes()) == 2
    profile_id = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN).id
    page = text_of(me.get(f"/databases/{database.id}/settings"))
    assert "with its 1 profile," in page

    response = me.post(f"/databases/{database.id}/delete", {"confirm_name": "Customers"}, htmx=True)

    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith("/databases")
    assert database_names(account) == []
    assert committed().get(Profile, profile_id) is None
    assert field_indexes() == []  # the expression indexes of its indexed fields went with it
    assert "Database Customers is deleted." in text_of(me.get("/databases"))


def test_delete_is_refused_while_another_database_refers_to_it(browser):
    me = browser("admin")
    account = me.user.account
    companies = make_database(account, "Companies", fields={})
    people = make_database(account, "People", fields={})
    create_field(
        account,
        FieldSpec(name="Employer", type="reference", options={"database_id": companies.id}),
        database_id=people.id,
    )

    response = me.post(f"/databases/{companies.id}/delete", {"confirm_name": "Companies"}, htmx=True)

    assert response.status_code == 409
    assert "Field Employer refers to profiles of this database" in text_of(response)
    assert sorted(database_names(account)) == ["Companies", "People"]


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_delete_databases(browser, role):
    me = browser(role)
    database = make_database(me.user.account)
    assert me.post(f"/databases/{database.id}/delete", {"confirm_name": "Customers"}).status_code == 403
    assert database_names(me.user.account) == ["Customers"]


def test_a_database_made_in_the_admin_unsubscribes_by_its_subscription_field(browser):
    me = browser("admin")
    me.post("/databases", {"name": "Leads"})
    created = committed().scalar(select(Database).where(Database.name == "Leads"))
    assert [field.name for field in created.fields] == ["Subscription"]
    assert created.unsubscribe_values == {"fields": {created.fields[0].key: "unsubscribed"}, "interests": {}}
    page = text_of(me.get(f"/databases/{created.id}/settings"))
    assert "Unsubscribing changes nothing yet." not in page


def test_settings_warn_when_unsubscribing_changes_nothing(browser):
    me = browser("admin")
    database = make_database(me.user.account, "Old", fields={"Email": "email"})
    page = text_of(me.get(f"/databases/{database.id}/settings"))
    assert "Unsubscribing changes nothing yet." in page
    me.post(f"/databases/{database.id}/unsubscribe", {"behaviour": "remove"})
    assert "Unsubscribing changes nothing yet." not in text_of(me.get(f"/databases/{database.id}/settings"))
