"""A callback may call only for the members of a selection: checked for the changed profile when it changes."""

import pytest
from sqlalchemy import select

from tests.factories import make_account, make_database
from webapp.callbacks import definitions
from webapp.extensions import db
from webapp.models import CallbackDelivery
from webapp.platform.errors import Conflict, ValidationError
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.selections import selections

ADMIN = Origin("admin")


@pytest.fixture
def database(account):
    return make_database(account, fields={"Email": "email", "City": "text", "Age": "number"})


def _sent(callback_id: int) -> list[dict]:
    db.session.rollback()
    rows = db.session.scalars(select(CallbackDelivery).where(CallbackDelivery.callback_id == callback_id))
    return [row.payload for row in rows]


def test_only_changes_of_members_are_delivered(account, database):
    age = next(field.id for field in database.fields if field.name == "Age")
    adults = selections.create_selection(
        account, database.id, "Adults", rules={"rules": [{"field_id": age, "operator": ">=", "value": 18}]}
    )
    callback = definitions.create_callback(account, database.id, url="http://127.0.0.1/x", selection_id=adults.id)
    assert callback.selection_id == adults.id
    child = profiles.create_profile(account, database.id, {"City": "Delft", "Age": 12}, origin=ADMIN)
    adult = profiles.create_profile(account, database.id, {"City": "Gouda", "Age": 40}, origin=ADMIN)
    profiles.update_profile(account, child.id, {"Age": 19}, origin=ADMIN)  # a member from now on
    sent = _sent(callback.id)
    assert sorted((payload["type"], payload["profile"]) for payload in sent) == [
        ("create", adult.id),
        ("update", child.id),
    ]


def test_a_collection_callback_filters_by_a_collection_selection(account, database):
    orders = databases.create_collection(account, database.id, "Orders")
    total = create_field(account, FieldSpec(name="Total", type="number"), collection_id=orders.id)
    big = selections.create_selection(
        account,
        database.id,
        "Big orders",
        collection_id=orders.id,
        rules={"rules": [{"field_id": total.id, "operator": ">", "value": 100}]},
    )
    callback = definitions.create_callback(
        account, database.id, url="http://127.0.0.1/x", collection_id=orders.id, selection_id=big.id
    )
    person = profiles.create_profile(account, database.id, {"City": "Delft"}, origin=ADMIN)
    subprofiles.create_subprofile(account, person.id, orders.id, {"Total": 50}, origin=ADMIN)
    large = subprofiles.create_subprofile(account, person.id, orders.id, {"Total": 500}, origin=ADMIN)
    assert [payload["subprofile"] for payload in _sent(callback.id)] == [large.id]


def test_the_selection_must_be_the_databases_and_stays_while_used(account, database):
    other_database = make_database(account, "Other", fields={"Email": "email"})
    elsewhere = selections.create_selection(account, other_database.id, "Elsewhere")
    with pytest.raises(ValidationError) as error:
        definitions.create_callback(account, database.id, url="http://127.0.0.1/x", selection_id=elsewhere.id)
    assert "selection_id" in error.value.errors
    theirs_account = make_account("Other")
    theirs = selections.create_selection(theirs_account, make_database(theirs_account, "T").id, "Theirs")
    with pytest.raises(ValidationError):
        definitions.create_callback(account, database.id, url="http://127.0.0.1/x", selection_id=theirs.id)
    orders = databases.create_collection(account, database.id, "Orders")
    of_orders = selections.create_selection(account, database.id, "Of orders", collection_id=orders.id)
    with pytest.raises(ValidationError) as error:  # a profile callback takes a selection of profiles
        definitions.create_callback(account, database.id, url="http://127.0.0.1/x", selection_id=of_orders.id)
    assert "same profiles or subprofiles" in error.value.errors["selection_id"]
    used = selections.create_selection(account, database.id, "Used")
    callback = definitions.create_callback(account, database.id, url="http://127.0.0.1/x", selection_id=used.id)
    with pytest.raises(Conflict, match="1 callback calls only for this selection"):
        selections.delete_selection(account, used.id)
    definitions.update_callback(account, callback.id, url=callback.url)
    selections.delete_selection(account, used.id)


def test_removing_the_database_removes_callbacks_and_their_selections_together(account, database):
    used = selections.create_selection(account, database.id, "Used")
    definitions.create_callback(account, database.id, url="http://127.0.0.1/x", selection_id=used.id)
    databases.delete_database(account, database.id)
    db.session.rollback()
    from webapp.models import Callback, Selection

    assert db.session.scalars(select(Callback)).all() == [] and db.session.scalars(select(Selection)).all() == []
