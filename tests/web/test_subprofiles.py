"""Subprofiles on the profile page: a section per collection with create, inline edit and delete."""

import json
import re

import pytest
from sqlalchemy import func, select

from tests.factories import make_account, make_database
from webapp.extensions import db
from webapp.models import ProfileEvent, Subprofile
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

SYSTEM = Origin("system")


def text_of(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def setup(account):
    """A profile in a database with an Orders collection (Product text, required; Quantity number)."""
    database = make_database(account)
    orders = databases.create_collection(account, database.id, "Orders")
    product = create_field(account, FieldSpec(name="Product", required=True), collection_id=orders.id)
    quantity = create_field(account, FieldSpec(name="Quantity", type="number"), collection_id=orders.id)
    profile = profiles.create_profile(account, database.id, {"FirstName": "Anna"}, origin=SYSTEM)
    return {"database": database, "orders": orders, "product": product, "quantity": quantity, "profile": profile}


def subprofile_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Subprofile))


def last_event() -> ProfileEvent:
    return db.session.scalars(select(ProfileEvent).order_by(ProfileEvent.id.desc()).limit(1)).one()


def make_order(account, setup, product="Book", quantity=1) -> Subprofile:
    return subprofiles.create_subprofile(
        account, setup["profile"].id, setup["orders"].id, {"Product": product, "Quantity": quantity}, origin=SYSTEM
    )


def test_profile_page_has_a_section_per_collection(browser, account, setup):
    page = text_of(browser("editor", account).get(f"/profiles/{setup['profile'].id}"))
    assert f'id="collection-{setup["orders"].id}"' in page
    assert "No Orders yet for this profile." in page and "Add to Orders" in page
    assert f'name="c{setup["orders"].id}-field-{setup["product"].id}"' in page


def test_create_a_subprofile(browser, account, setup):
    orders, profile = setup["orders"], setup["profile"]
    me = browser("editor", account)
    response = me.post(
        f"/profiles/{profile.id}/collections/{orders.id}/subprofiles",
        {
            f"c{orders.id}-field-{setup['product'].id}": "Book",
            f"c{orders.id}-field-{setup['quantity'].id}": "3",
        },
        htmx=True,
    )
    assert response.status_code == 200
    section = text_of(response)
    assert f'<section id="collection-{orders.id}"' in section
    assert "<html" not in section
    item = db.session.scalars(select(Subprofile)).one()
    assert (item.profile_id, item.collection_id) == (profile.id, orders.id)
    assert item.fields == {setup["product"].key: "Book", setup["quantity"].key: 3}
    assert f'id="subprofile-{item.id}"' in section and ">Book<" in section
    triggers = json.loads(response.headers["HX-Trigger"])
    assert triggers["timeline-changed"] is True
    assert triggers["toast"]["message"] == f"Subprofile #{item.id} added to Orders."
    event = last_event()
    assert (event.kind, event.subprofile_id, event.collection_id) == ("subprofile_created", item.id, orders.id)
    timeline = text_of(me.get(f"/profiles/{profile.id}/timeline", htmx=True))
    assert "Subprofile created · Orders" in timeline and "Product</span>" in timeline


def test_create_a_subprofile_without_javascript(browser, account, setup):
    orders, profile = setup["orders"], setup["profile"]
    me = browser("editor", account)
    response = me.post(
        f"/profiles/{profile.id}/collections/{orders.id}/subprofiles",
        {f"c{orders.id}-field-{setup['product'].id}": "Pen"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/profiles/{profile.id}#collection-{orders.id}")
    assert subprofile_count() == 1
    assert "added to Orders" in text_of(me.get(f"/profiles/{profile.id}"))


def test_create_an_invalid_subprofile_shows_errors_and_stores_nothing(browser, account, setup):
    orders, profile = setup["orders"], setup["profile"]
    quantity = setup["quantity"]
    me = browser("editor", account)
    response = me.post(
        f"/profiles/{profile.id}/collections/{orders.id}/subprofiles",
        {f"c{orders.id}-field-{quantity.id}": "many"},
        htmx=True,
    )
    assert response.status_code == 422
    section = text_of(response)
    assert "Product is required." in section and "Quantity must be a whole number" in section
    assert re.search(rf'id="c{orders.id}-field-{quantity.id}"[^>]*aria-invalid="true"', section)
    assert 'value="many"' in section and '<details class="add-subprofile" open>' in section
    assert subprofile_count() == 0

    plain = me.post(
        f"/profiles/{profile.id}/collections/{orders.id}/subprofiles", {f"c{orders.id}-field-{quantity.id}": "many"}
    )
    assert plain.status_code == 422 and "<html" in text_of(plain) and "Product is required." in text_of(plain)


def test_edit_a_subprofile_in_its_row(browser, account, setup):
    item = make_order(account, setup)
    product, quantity = setup["product"], setup["quantity"]
    me = browser("editor", account)
    editing = me.get(f"/subprofiles/{item.id}/edit", htmx=True)
    assert editing.status_code == 200
    row = text_of(editing)
    assert row.strip().startswith(f'<tr id="subprofile-{item.id}" class="editing" data-cell-edit>')
    assert f'form="subprofile-{item.id}-form"' in row and 'value="Book"' in row and "data-cell-cancel" in row

    saved = me.post(f"/subprofiles/{item.id}", {f"field-{product.id}": "Bike", f"field-{quantity.id}": "2"}, htmx=True)
    assert saved.status_code == 200
    assert ">Bike<" in text_of(saved) and "data-cell-edit" not in text_of(saved)
    assert json.loads(saved.headers["HX-Trigger"])["toast"]["message"] == f"Subprofile #{item.id} saved."
    db.session.refresh(item)
    assert item.fields == {product.key: "Bike", quantity.key: 2}
    event = last_event()
    assert event.kind == "subprofile_updated"
    assert event.changes["fields"] == {product.key: ["Book", "Bike"], quantity.key: [1, 2]}

    restored = text_of(me.get(f"/subprofiles/{item.id}", htmx=True))
    assert ">Bike<" in restored and "<input" not in restored


def test_edit_a_subprofile_with_a_bad_value(browser, account, setup):
    item = make_order(account, setup)
    me = browser("editor", account)
    response = me.post(f"/subprofiles/{item.id}", {f"field-{setup['quantity'].id}": "lots"}, htmx=True)
    assert response.status_code == 422
    assert "Quantity must be a whole number" in text_of(response) and 'value="lots"' in text_of(response)
    db.session.refresh(item)
    assert item.fields[setup["quantity"].key] == 1


def test_edit_a_subprofile_without_javascript(browser, account, setup):
    item = make_order(account, setup)
    me = browser("editor", account)
    page = text_of(me.get(f"/subprofiles/{item.id}/edit"))
    assert "<html" in page and f"Orders #{item.id} of Anna" in page and 'value="Book"' in page
    response = me.post(f"/subprofiles/{item.id}", {f"field-{setup['product'].id}": "Lamp"})
    assert response.status_code == 303
    db.session.refresh(item)
    assert item.fields[setup["product"].key] == "Lamp"


def test_delete_a_subprofile(browser, account, setup):
    item_id = make_order(account, setup).id
    keep_id = make_order(account, setup, product="Pen").id
    me = browser("editor", account)
    response = me.delete(f"/subprofiles/{item_id}/delete")
    assert response.status_code == 200
    section = text_of(response)
    assert f'id="subprofile-{item_id}"' not in section and f'id="subprofile-{keep_id}"' in section
    assert db.session.get(Subprofile, item_id) is None and db.session.get(Subprofile, keep_id) is not None
    event = last_event()
    assert (event.kind, event.subprofile_id) == ("subprofile_removed", item_id)
    assert json.loads(response.headers["HX-Trigger"])["toast"]["message"] == f"Subprofile #{item_id} deleted."

    last = me.delete(f"/subprofiles/{keep_id}/delete")
    assert "No Orders yet for this profile." in text_of(last)
    assert subprofile_count() == 0


def test_a_viewer_cannot_change_subprofiles(browser, account, setup):
    item = make_order(account, setup)
    orders, profile = setup["orders"], setup["profile"]
    me = browser("viewer", account)
    page = text_of(me.get(f"/profiles/{profile.id}"))
    assert ">Book<" in page
    assert "Add to Orders" not in page and f"/subprofiles/{item.id}/edit" not in page and "hx-delete" not in page
    attempts = [
        me.post(
            f"/profiles/{profile.id}/collections/{orders.id}/subprofiles",
            {f"c{orders.id}-field-{setup['product'].id}": "X"},
            htmx=True,
        ),
        me.post(f"/subprofiles/{item.id}", {f"field-{setup['product'].id}": "X"}, htmx=True),
        me.delete(f"/subprofiles/{item.id}/delete"),
        me.get(f"/subprofiles/{item.id}/edit", htmx=True),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    db.session.refresh(item)
    assert item.fields[setup["product"].key] == "Book" and subprofile_count() == 1


def test_another_accounts_subprofiles_are_not_found(browser, account, setup):
    item = make_order(account, setup)
    orders, profile = setup["orders"], setup["profile"]
    stranger = browser("admin", make_account("Other"))
    assert stranger.get(f"/subprofiles/{item.id}", htmx=True).status_code == 404
    assert stranger.get(f"/subprofiles/{item.id}/edit").status_code == 404
    assert stranger.post(f"/subprofiles/{item.id}", {f"field-{setup['product'].id}": "X"}).status_code == 404
    assert stranger.delete(f"/subprofiles/{item.id}/delete").status_code == 404
    assert (
        stranger.post(
            f"/profiles/{profile.id}/collections/{orders.id}/subprofiles",
            {f"c{orders.id}-field-{setup['product'].id}": "X"},
        ).status_code
        == 404
    )
    db.session.refresh(item)
    assert item.fields[setup["product"].key] == "Book" and subprofile_count() == 1


def test_a_collection_of_another_database_is_refused(browser, account, setup):
    other = make_database(account, "Other")
    foreign = databases.create_collection(account, other.id, "Pets")
    name = create_field(account, FieldSpec(name="Name"), collection_id=foreign.id)
    me = browser("editor", account)
    response = me.post(
        f"/profiles/{setup['profile'].id}/collections/{foreign.id}/subprofiles",
        {f"c{foreign.id}-field-{name.id}": "Rex"},
        htmx=True,
    )
    assert response.status_code == 422
    assert "belongs to another database" in text_of(response)
    assert subprofile_count() == 0
