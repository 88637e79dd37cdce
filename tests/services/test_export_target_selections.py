"""Scheduled exports of a selection's members, uploaded to the real FTP server fixture: membership is computed
by SQL at each run, the selection must be the account's and of the same database, a collection's selection
exports its subprofiles, and a selection in use cannot be removed."""

import pytest

from tests import file_servers
from tests.factories import make_account, make_database
from tests.services.test_export_targets import run_worker, turn
from webapp.exports import targets
from webapp.exports.targets import TargetSpec
from webapp.extensions import db
from webapp.models import ExportDefinition
from webapp.platform import work
from webapp.platform.errors import Conflict, ValidationError
from webapp.profiles import databases, profiles, search, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.selections import selections

ftp_target = file_servers.ftp_target
ADMIN = Origin("admin")


@pytest.fixture(autouse=True)
def import_folder(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))


@pytest.fixture
def customers(account):
    database = make_database(account, fields={"Email": "email", "City": "text"})
    for email, city in (("ann@example.com", "Delft"), ("bob@example.com", "Gouda"), ("cat@example.com", "Delft")):
        profiles.create_profile(account, database.id, {"Email": email, "City": city}, origin=ADMIN)
    return database


def in_delft(account, database, name="Delft"):
    city = next(field.id for field in database.fields if field.name == "City")
    rules = {"match": "all", "rules": [{"field_id": city, "operator": "=", "value": "Delft"}]}
    return selections.create_selection(account, database.id, name, rules=rules)


def spec(url: str, **changes) -> TargetSpec:
    values = {"name": "Delft", "target_url": url, "file_name": "delft-{run}.csv", "fields": ("Email",)}
    return TargetSpec(**{**values, **changes})


def uploaded(ftp_target) -> dict[str, list[str]]:
    """Every uploaded file's exported values (the last column), by file name."""
    return {
        path.name: [line.split(",")[-1] for line in path.read_text().splitlines()[1:]]
        for path in sorted((ftp_target["root"] / "out").iterdir())
    }


def test_each_run_exports_who_is_a_member_then(account, customers, ftp_target):
    selection = in_delft(account, customers)
    definition = targets.create_export(
        account,
        customers.id,
        spec(ftp_target["url"], username="shop", password="s3cret", selection_id=selection.id, schedule="1d"),
    )
    assert (definition.selection_id, definition.collection_id) == (selection.id, None)
    turn(definition.id)
    first = uploaded(ftp_target)
    assert list(first.values()) == [["ann@example.com", "cat@example.com"]]
    # bob moves to Delft, ann leaves: the next run asks SQL again
    _move(account, customers, "bob@example.com", "Delft")
    _move(account, customers, "ann@example.com", "Gouda")
    turn(definition.id)
    second = {name: rows for name, rows in uploaded(ftp_target).items() if name not in first}
    assert list(second.values()) == [["bob@example.com", "cat@example.com"]]


def _move(account, database, email, city):
    (profile,) = search.search_profiles(account, database.id, [search.Requirement("Email", email, "=")]).items
    profiles.update_profile(account, profile.id, {"City": city}, origin=ADMIN)


def test_the_selection_must_be_the_accounts_and_of_the_same_database(account, customers, ftp_target):
    other_database = make_database(account, "Other", fields={"City": "text"})
    elsewhere = in_delft(account, other_database)
    other_account = make_account("Other")
    foreign = in_delft(other_account, make_database(other_account, "Theirs", fields={"City": "text"}))
    for selection_id in (elsewhere.id, foreign.id, 999999):
        with pytest.raises(ValidationError) as raised:
            targets.create_export(account, customers.id, spec(ftp_target["url"], selection_id=selection_id))
        assert raised.value.errors == {"selection_id": "Choose a selection of this database."}
        db.session.rollback()
    assert db.session.query(ExportDefinition).count() == 0
    # an update cannot point an export at them either, and keeps its selection
    mine = in_delft(account, customers, "Mine")
    definition = targets.create_export(account, customers.id, spec(ftp_target["url"], selection_id=mine.id))
    with pytest.raises(ValidationError):
        targets.update_export(account, definition.id, spec(ftp_target["url"], selection_id=foreign.id))
    db.session.rollback()
    assert db.session.get(ExportDefinition, definition.id).selection_id == mine.id
    targets.update_export(account, definition.id, spec(ftp_target["url"]))
    assert db.session.get(ExportDefinition, definition.id).selection_id is None


def test_a_collection_selection_exports_its_matching_subprofiles(account, customers, ftp_target):
    orders = databases.create_collection(account, customers.id, "Orders")
    create_field(account, FieldSpec(name="Product", type="text"), collection_id=orders.id)
    product = next(field.id for field in orders.fields if field.name == "Product")
    for profile in profiles_of(account, customers):
        for item in ("shoe", "hat"):
            subprofiles.create_subprofile(account, profile.id, orders.id, {"Product": item}, origin=ADMIN)
    hats = selections.create_selection(
        account,
        customers.id,
        "Hats",
        collection_id=orders.id,
        rules={"match": "all", "rules": [{"field_id": product, "operator": "=", "value": "hat"}]},
    )
    definition = targets.create_export(
        account,
        customers.id,
        spec(ftp_target["url"], username="shop", password="s3cret", selection_id=hats.id, fields=("Product",)),
    )
    assert definition.collection_id == orders.id  # the selection's collection decides what is exported
    targets.run_now(account, definition.id)
    work.dispatch_due()
    run_worker()
    assert list(uploaded(ftp_target).values()) == [["hat", "hat", "hat"]]


def profiles_of(account, database):
    return search.search_profiles(account, database.id, []).items


def test_a_selection_used_by_a_scheduled_export_cannot_be_removed(account, customers, ftp_target):
    selection = in_delft(account, customers)
    targets.create_export(account, customers.id, spec(ftp_target["url"], name="Nightly", selection_id=selection.id))
    with pytest.raises(Conflict, match="Nightly"):
        selections.delete_selection(account, selection.id)
    db.session.rollback()
    assert selections.get_selection(account, selection.id)
    # removing the database removes both
    databases.delete_database(account, customers.id)
    assert db.session.query(ExportDefinition).count() == 0


def test_members_are_exported_once_each_across_many_batches(account, ftp_target, monkeypatch):
    """Each keyset batch bounds the members query by the batch's first id: every member once, in id order."""
    from webapp.exports import files

    monkeypatch.setattr(files, "BATCH_SIZE", 2)
    database = make_database(account, "Many", fields={"Email": "email", "City": "text"})
    for number in range(11):
        city = "Gouda" if number in (0, 7) else "Delft"  # runs of members: a batch's next member is its last + 1
        profiles.create_profile(account, database.id, {"Email": f"p{number}@example.com", "City": city}, origin=ADMIN)
    selection = in_delft(account, database)
    definition = targets.create_export(
        account,
        database.id,
        spec(ftp_target["url"], username="shop", password="s3cret", selection_id=selection.id),
    )
    targets.run_now(account, definition.id)
    work.dispatch_due()
    run_worker()
    expected = [f"p{number}@example.com" for number in range(11) if number not in (0, 7)]
    assert list(uploaded(ftp_target).values()) == [expected]
