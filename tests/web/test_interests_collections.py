"""Interests and collections of a database: list, add, edit/rename, delete; the collection page."""

import json

import pytest
from sqlalchemy import select

from tests.factories import make_account, make_database
from webapp.extensions import db
from webapp.models import Collection, Interest, Profile, Subprofile
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin

ADMIN = Origin("admin", actor="test")


def committed():
    """Forget what the session holds, so the test sees only what the requests committed."""
    db.session.rollback()
    return db.session


def interests_of(database_id: int) -> list[tuple[str, str]]:
    rows = committed().scalars(select(Interest).where(Interest.database_id == database_id).order_by(Interest.id))
    return [(interest.name, interest.group) for interest in rows]


def collections_of(database_id: int) -> list[str]:
    rows = committed().scalars(select(Collection).where(Collection.database_id == database_id).order_by(Collection.id))
    return [collection.name for collection in rows]


def text_of(response) -> str:
    return response.get_data(as_text=True)


def toast_of(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]["message"]


# --- interests ------------------------------------------------------------------------------------


def test_interests_are_listed_by_group(browser):
    me = browser("viewer")
    account = me.user.account
    database = make_database(account)
    databases.create_interest(account, database.id, "Newsletter", "Mailings")
    databases.create_interest(account, database.id, "Offers", "Mailings")
    databases.create_interest(account, database.id, "Vip")

    page = text_of(me.get(f"/databases/{database.id}/interests"))

    mailings = page[page.index("<caption>Mailings") :]
    mailings = mailings[: mailings.index("</table>")]
    assert "Newsletter" in mailings and "Offers" in mailings and "Vip" not in mailings
    assert "Without a group" in page
    assert "Add an interest" not in page and "Delete</a>" not in page  # a viewer only reads


def test_interests_empty_state_and_fragment(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    page = text_of(me.get(f"/databases/{database.id}/interests"))
    assert "No interests yet" in page and "Add an interest" in page
    fragment = text_of(me.get(f"/databases/{database.id}/interests", htmx=True))
    assert "<html" not in fragment and fragment.lstrip().startswith('<div id="interests"')


def test_add_an_interest(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    response = me.post(f"/databases/{database.id}/interests", {"name": "Newsletter", "group": " Mailings "}, htmx=True)
    assert response.status_code == 200
    assert toast_of(response) == "Interest Newsletter is added."
    assert "<caption>Mailings" in text_of(response) and "<html" not in text_of(response)
    assert interests_of(database.id) == [("Newsletter", "Mailings")]


def test_add_an_interest_without_javascript(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    response = me.post(f"/databases/{database.id}/interests", {"name": "Newsletter", "group": ""})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/databases/{database.id}/interests")
    assert "Interest Newsletter is added." in text_of(me.get(response.headers["Location"]))
    assert interests_of(database.id) == [("Newsletter", "")]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("newsletter", "An interest named newsletter already exists."),
        ("News letter", "Use a letter followed by letters, digits or underscores"),
    ],
)
def test_invalid_interest_is_refused(browser, name, message):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    databases.create_interest(account, database.id, "Newsletter")
    response = me.post(f"/databases/{database.id}/interests", {"name": name}, htmx=True)
    assert response.status_code == 422
    assert message in text_of(response) and 'id="interest-name-error"' in text_of(response)
    assert interests_of(database.id) == [("Newsletter", "")]


def test_edit_an_interest(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    interest = databases.create_interest(account, database.id, "Newsletter")

    form = text_of(me.get(f"/interests/{interest.id}/edit", htmx=True))
    assert "Edit interest Newsletter" in form and f'action="/interests/{interest.id}"' in form
    assert 'value="Newsletter"' in form

    response = me.post(f"/interests/{interest.id}", {"name": "Weekly", "group": "Mailings"}, htmx=True)
    assert response.status_code == 200 and toast_of(response) == "Interest Weekly is saved."
    assert interests_of(database.id) == [("Weekly", "Mailings")]


def test_delete_an_interest_clears_it_on_profiles(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    newsletter = databases.create_interest(account, database.id, "Newsletter")
    vip = databases.create_interest(account, database.id, "Vip")
    newsletter_id, vip_id = newsletter.id, vip.id
    profile = profiles.create_profile(
        account, database.id, {"Email": "a@example.com"}, origin=ADMIN, interests={"Newsletter": True, "Vip": True}
    )

    response = me.post(f"/interests/{newsletter_id}/delete", htmx=True)

    assert response.status_code == 200 and toast_of(response) == "Interest Newsletter is deleted."
    assert interests_of(database.id) == [("Vip", "")]
    assert committed().get(Profile, profile.id).interests == [vip_id]


def test_delete_an_interest_without_javascript_asks_first(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    interest = databases.create_interest(account, database.id, "Newsletter")
    confirm = me.get(f"/interests/{interest.id}/delete")
    assert confirm.status_code == 200 and "Delete interest Newsletter?" in text_of(confirm)
    assert interests_of(database.id) == [("Newsletter", "")]  # asking changes nothing
    assert me.post(f"/interests/{interest.id}/delete").status_code == 303
    assert interests_of(database.id) == []


def test_an_interest_used_by_the_unsubscribe_behaviour_cannot_be_deleted(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    interest = databases.create_interest(account, database.id, "Newsletter")
    databases.set_unsubscribe_behaviour(
        account, behaviour="update", interest_values={"Newsletter": False}, database_id=database.id
    )
    response = me.post(f"/interests/{interest.id}/delete", htmx=True)
    assert response.status_code == 409
    assert "The unsubscribe behaviour of this database uses this interest" in text_of(response)
    assert interests_of(database.id) == [("Newsletter", "")]


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_change_interests(browser, role):
    me = browser(role)
    account = me.user.account
    database = make_database(account)
    interest = databases.create_interest(account, database.id, "Newsletter")
    assert me.post(f"/databases/{database.id}/interests", {"name": "Vip"}).status_code == 403
    assert me.post(f"/interests/{interest.id}", {"name": "Weekly"}).status_code == 403
    assert me.post(f"/interests/{interest.id}/delete").status_code == 403
    assert interests_of(database.id) == [("Newsletter", "")]


def test_interests_of_another_account_are_not_found(browser):
    globex = make_account("Globex")
    other = make_database(globex, "Secret")
    interest = databases.create_interest(globex, other.id, "Hidden")
    me = browser("admin")
    assert me.get(f"/interests/{interest.id}/edit").status_code == 404
    assert me.post(f"/interests/{interest.id}", {"name": "Mine"}).status_code == 404
    assert me.post(f"/interests/{interest.id}/delete").status_code == 404
    assert me.post(f"/databases/{other.id}/interests", {"name": "Mine"}).status_code == 404
    assert interests_of(other.id) == [("Hidden", "")]


# --- collections ----------------------------------------------------------------------------------


def _orders_with_subprofiles(account, database, count: int):
    orders = databases.create_collection(account, database.id, "Orders")
    from webapp.profiles.fields import FieldSpec, create_field

    create_field(account, FieldSpec(name="Amount", type="number"), collection_id=orders.id)
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    for amount in range(count):
        subprofiles.create_subprofile(account, profile.id, orders.id, {"Amount": amount}, origin=ADMIN)
    return orders


def test_collections_are_listed_with_subprofile_counts(browser):
    me = browser("viewer")
    account = me.user.account
    database = make_database(account)
    _orders_with_subprofiles(account, database, 3)
    databases.create_collection(account, database.id, "Children")

    page = text_of(me.get(f"/databases/{database.id}/collections"))

    assert "Orders" in page and "Children" in page and "Amount" in page
    assert '<td class="numeric">3</td>' in page and '<td class="numeric">0</td>' in page
    assert "New collection" not in page and "Delete</a>" not in page


def test_collections_empty_state(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    page = text_of(me.get(f"/databases/{database.id}/collections"))
    assert "No collections yet" in page and "New collection" in page


def test_create_a_collection_and_open_it(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    response = me.post(f"/databases/{database.id}/collections", {"name": "Orders"})
    created = committed().scalar(select(Collection).where(Collection.name == "Orders"))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/collections/{created.id}")
    page = text_of(me.get(response.headers["Location"]))
    assert "Collection Orders is created." in page and "Collection Orders" in page
    assert "Unsubscribe behaviour" in page and "No fields yet" in page
    assert created.unsubscribe_behaviour == "nothing"
    assert "Unsubscribes are ignored." in page  # a new collection starts with "nothing": warned


def test_create_a_collection_with_htmx_redirects(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    response = me.post(f"/databases/{database.id}/collections", {"name": "Orders"}, htmx=True)
    created = committed().scalar(select(Collection).where(Collection.name == "Orders"))
    assert response.status_code == 204 and response.headers["HX-Redirect"].endswith(f"/collections/{created.id}")


def test_duplicate_collection_name_is_refused(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    databases.create_collection(account, database.id, "Orders")
    response = me.post(f"/databases/{database.id}/collections", {"name": "ORDERS"}, htmx=True)
    assert response.status_code == 422
    assert "A collection named ORDERS already exists." in text_of(response)
    assert "<html" not in text_of(response)
    assert collections_of(database.id) == ["Orders"]


def test_rename_a_collection(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    orders = databases.create_collection(account, database.id, "Orders")
    databases.create_collection(account, database.id, "Children")

    refused = me.post(f"/collections/{orders.id}/rename", {"name": "children"}, htmx=True)
    assert refused.status_code == 422 and "A collection named children already exists." in text_of(refused)
    assert 'id="collection-rename"' in text_of(refused) and "<html" not in text_of(refused)

    response = me.post(f"/collections/{orders.id}/rename", {"name": "Purchases"})
    assert response.status_code == 303
    assert collections_of(database.id) == ["Purchases", "Children"]
    assert "Collection is renamed to Purchases." in text_of(me.get(response.headers["Location"]))


def test_delete_a_collection_with_its_subprofiles(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    orders = _orders_with_subprofiles(account, database, 2)
    orders_id = orders.id
    listing = text_of(me.get(f"/databases/{database.id}/collections"))
    assert "Delete collection Orders with its 2 subprofiles?" in listing  # the hx-confirm
    confirm = text_of(me.get(f"/collections/{orders_id}/delete"))
    assert "Its 2 subprofiles and its fields are removed with it." in confirm

    response = me.post(f"/collections/{orders_id}/delete", htmx=True, headers={"HX-Target": "collections"})

    assert response.status_code == 200
    assert toast_of(response) == "Collection Orders is deleted with 2 subprofiles."
    assert "No collections yet" in text_of(response)
    assert collections_of(database.id) == []
    assert committed().scalars(select(Subprofile)).all() == []


def test_delete_from_the_collection_page_goes_back_to_the_list(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    orders = databases.create_collection(account, database.id, "Orders")
    response = me.post(f"/collections/{orders.id}/delete", htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].endswith(f"/databases/{database.id}/collections")
    assert collections_of(database.id) == []


def test_collection_page_shows_fields_and_unsubscribe_behaviour(browser):
    me = browser("editor")
    account = me.user.account
    database = make_database(account)
    orders = _orders_with_subprofiles(account, database, 1)

    page = text_of(me.get(f"/collections/{orders.id}"))

    assert "Collection Orders" in page and "1 subprofile<" in page
    assert "Amount" in page and "Whole number" in page
    assert "Unsubscribe behaviour" in page
    assert "Add a field" not in page and "Rename" not in page and "Save unsubscribe behaviour" not in page
    assert "Newsletter" not in page  # collections have no interests to set


def test_collection_unsubscribe_behaviour(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    orders = _orders_with_subprofiles(account, database, 0)

    refused = me.post(
        f"/collections/{orders.id}/unsubscribe", {"behaviour": "update", "field-Amount": "lots"}, htmx=True
    )
    assert refused.status_code == 422 and "must be a whole number" in text_of(refused)
    assert "<html" not in text_of(refused)

    response = me.post(f"/collections/{orders.id}/unsubscribe", {"behaviour": "update", "field-Amount": "0"}, htmx=True)
    assert response.status_code == 200
    saved = committed().get(Collection, orders.id)
    assert saved.unsubscribe_behaviour == "update"
    assert databases.unsubscribe_values_by_name(saved) == {"Amount": 0}
    assert "Unsubscribes are ignored." not in text_of(response)

    plain = me.post(f"/collections/{orders.id}/unsubscribe", {"behaviour": "remove"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/collections/{orders.id}")
    assert committed().get(Collection, orders.id).unsubscribe_behaviour == "remove"


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_change_collections(browser, role):
    me = browser(role)
    account = me.user.account
    database = make_database(account)
    orders = databases.create_collection(account, database.id, "Orders")
    assert me.post(f"/databases/{database.id}/collections", {"name": "Children"}).status_code == 403
    assert me.post(f"/collections/{orders.id}/rename", {"name": "Purchases"}).status_code == 403
    assert me.post(f"/collections/{orders.id}/delete").status_code == 403
    assert me.post(f"/collections/{orders.id}/unsubscribe", {"behaviour": "remove"}).status_code == 403
    assert collections_of(database.id) == ["Orders"]
    assert committed().get(Collection, orders.id).unsubscribe_behaviour == "nothing"


def test_collections_of_another_account_are_not_found(browser):
    globex = make_account("Globex")
    other = make_database(globex, "Secret")
    orders = databases.create_collection(globex, other.id, "Orders")
    me = browser("admin")
    assert me.get(f"/collections/{orders.id}").status_code == 404
    assert me.post(f"/collections/{orders.id}/rename", {"name": "Mine"}).status_code == 404
    assert me.post(f"/collections/{orders.id}/delete").status_code == 404
    assert me.post(f"/collections/{orders.id}/fields", {"name": "Spy", "type": "text"}).status_code == 404
    assert me.post(f"/databases/{other.id}/collections", {"name": "Mine"}).status_code == 404
    assert collections_of(other.id) == ["Orders"]
