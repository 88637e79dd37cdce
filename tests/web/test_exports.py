"""Exports through the admin: the form, streamed downloads, roles, CSRF, tenant isolation."""

import csv
import gzip
import io
import json

import pytest

from tests.factories import make_account, make_database
from webapp.models import utcnow
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ORIGIN = Origin("admin")


@pytest.fixture
def setup(browser):
    admin = browser("admin")
    account = admin.user.account
    database = make_database(account)
    databases.create_interest(account, database.id, "News")
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Number", type="text"), collection_id=orders.id)
    ann = profiles.create_profile(
        account, database.id, {"FirstName": "=Ann", "Email": "ann@example.com"}, origin=ORIGIN, interests={"News": True}
    )
    subprofiles.create_subprofile(account, ann.id, orders.id, {"Number": "A1"}, origin=ORIGIN)
    return admin, database, orders, ann


def url(database) -> str:
    return f"/databases/{database.id}/exports"


def test_the_form_lists_targets_and_fields(setup):
    admin, database, orders, _ann = setup
    page = admin.get(url(database)).get_data(as_text=True)
    assert 'name="csrf_token"' in page and 'name="fields-database" value="Email" checked' in page
    assert f'name="fields-{orders.id}" value="Number" checked' in page
    assert 'name="protect_formulas" value="1" checked' in page and 'name="gzip" value="1">' in page
    assert f'href="{url(database)}" aria-current="page"' in page


def test_download_streams_a_csv_attachment(setup):
    admin, database, _orders, ann = setup
    response = admin.post(
        url(database),
        {
            "what": "database",
            "format": "csv",
            "delimiter": "semicolon",
            "interests": "1",
            "protect_formulas": "1",
            "fields-database": ["FirstName", "Email"],
        },
    )
    assert response.status_code == 200 and response.is_streamed
    today = utcnow().date().isoformat()
    assert response.headers["Content-Disposition"] == f'attachment; filename="Customers-{today}.csv"'
    assert response.headers["Content-Type"].startswith("text/csv")
    header, line = list(csv.reader(io.StringIO(response.get_data(as_text=True)), delimiter=";"))
    assert header == ["id", "created", "modified", "FirstName", "Email", "News"]
    assert line[0] == str(ann.id) and line[3:] == ["'=Ann", "ann@example.com", "yes"]


def test_download_gzipped_json_lines_of_a_collection(setup):
    admin, database, orders, ann = setup
    response = admin.post(url(database), {"what": str(orders.id), "format": "jsonl", "gzip": "1"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/gzip"
    assert response.headers["Content-Disposition"].endswith(f'-{utcnow().date().isoformat()}.jsonl.gz"')
    assert "Customers-Orders-" in response.headers["Content-Disposition"]
    record = json.loads(gzip.decompress(response.data))
    assert record["profile_id"] == ann.id and record["fields"] == {"Number": "A1"}


def test_unticked_options_are_off(setup):
    admin, database, _orders, _ann = setup
    response = admin.post(url(database), {"what": "database", "format": "tsv", "bom": "1"})
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeffid\tcreated\tmodified\tEmail\tFirstName\tLastName\r\n")
    assert "\t=Ann\t" in text


def test_bad_options_show_the_form_again(setup):
    admin, database, _orders, _ann = setup
    response = admin.post(url(database), {"what": "database", "format": "xlsx"})
    assert response.status_code == 422 and "JSON Lines" in response.get_data(as_text=True)
    response = admin.post(url(database), {"what": "database", "fields-database": ["Nope"]})
    assert response.status_code == 422 and "Nope" in response.get_data(as_text=True)


def test_a_collection_of_another_database_is_not_found(setup):
    admin, database, _orders, _ann = setup
    other = make_database(admin.user.account, "Other")
    pets = databases.create_collection(admin.user.account, other.id, "Pets")
    assert admin.post(url(database), {"what": str(pets.id)}).status_code == 404
    assert admin.post(url(database), {"what": "nonsense"}).status_code == 404


def test_other_accounts_get_not_found(setup, browser):
    _admin, database, orders, _ann = setup
    stranger = browser("owner", make_account("Other"))
    assert stranger.get(url(database)).status_code == 404
    assert stranger.post(url(database), {"what": "database"}).status_code == 404
    own = make_database(stranger.user.account, "Mine")
    assert stranger.post(url(own), {"what": str(orders.id)}).status_code == 404


@pytest.mark.parametrize("role, status", [("viewer", 403), ("editor", 403), ("admin", 200), ("owner", 200)])
def test_only_admins_export(setup, browser, role, status):
    _admin, database, _orders, _ann = setup
    user = browser(role, _admin.user.account, email=f"{role}@example.org")
    assert user.get(url(database)).status_code == status
    assert user.post(url(database), {"what": "database"}).status_code == status


def test_the_tab_shows_for_admins_only(setup, browser):
    admin, database, _orders, _ann = setup
    tab = f'href="{url(database)}"'
    assert tab in admin.get(f"/databases/{database.id}/profiles").get_data(as_text=True)
    viewer = browser("viewer", admin.user.account, email="viewer@example.org")
    assert tab not in viewer.get(f"/databases/{database.id}/profiles").get_data(as_text=True)


def test_download_needs_a_csrf_token(setup):
    admin, database, _orders, _ann = setup
    assert admin.post(url(database), {"what": "database"}, csrf=False).status_code == 400
