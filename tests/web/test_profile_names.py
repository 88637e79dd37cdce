"""Profiles named by their email address or name, not their number, where subprofiles are listed (a collection
selection's members and its editor's preview)."""

from tests.factories import make_database
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.selections import selections


def test_a_collection_selection_names_each_subprofile_by_its_profile(browser):
    me = browser("editor")
    account = me.user.account
    database = make_database(account)
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Product"), collection_id=orders.id)
    ann = profiles.create_profile(account, database.id, {"Email": "ann@example.nl"}, origin=Origin("admin"))
    item = subprofiles.create_subprofile(account, ann.id, orders.id, {"Product": "Book"}, origin=Origin("admin"))
    selection = selections.create_selection(account, database.id, "All orders", collection_id=orders.id)
    members = me.get(f"/selections/{selection.id}/members").get_data(as_text=True)
    assert f"Subprofile {item.id} of ann@example.nl" in members
    editor = me.get(f"/selections/{selection.id}").get_data(as_text=True)
    assert f"Subprofile {item.id} of ann@example.nl" in editor
