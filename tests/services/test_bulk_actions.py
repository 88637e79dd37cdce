"""Bulk actions: each is one journalled run, durable work in chunks for large selections, and undone like an
import rollback (values, interests, subscription state and removed profiles with their subprofiles)."""

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import make_account
from webapp.bulk import apply as bulk_apply
from webapp.bulk import runs as bulk_runs
from webapp.bulk import undo as bulk_undo
from webapp.bulk.runs import Picked
from webapp.extensions import db
from webapp.models import BulkRunStatus, Profile, ProfileEvent, ScheduledWork, Subprofile
from webapp.platform import work
from webapp.platform.errors import NotFound, ValidationError
from webapp.profiles import databases, profiles, subprofiles, unsubscribe
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.rules.list_filter import Condition, ListFilter

ADMIN = Origin("admin", actor="ann@example.nl")


@pytest.fixture
def shop(account):
    database = databases.create_database(account, "Shop", subscription=True)
    for spec in (
        FieldSpec(name="Email", type="email", unique=True),
        FieldSpec(name="City", type="text"),
        FieldSpec(name="Score", type="number"),
    ):
        create_field(account, spec, database_id=database.id)
    news = databases.create_interest(account, database.id, "News")
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Product", type="text"), collection_id=orders.id)
    made = []
    for i in range(6):
        city = "Utrecht" if i < 4 else "Delft"
        made.append(
            profiles.create_profile(
                account,
                database.id,
                {"Email": f"p{i}@example.nl" if i % 2 == 0 else f"p{i}@example.com", "City": city, "Score": i},
                interests={news.id: i == 0},
                origin=ADMIN,
            )
        )
    subprofiles.create_subprofile(account, made[0].id, orders.id, {"Product": "Tent"}, origin=ADMIN)
    return databases.get_database(account, database.id), news, orders, made


def values(account, database, profile_id):
    profile = db.session.get(Profile, profile_id)
    db.session.refresh(profile)
    names = {f.key: f.name for f in database.fields}
    return {names[k]: v for k, v in profile.fields.items()}, list(profile.interests)


def field(database, name):
    return next(f for f in database.fields if f.name == name)


def test_set_a_field_on_picked_profiles_is_one_journalled_run_and_undo_puts_values_back(account, shop):
    database, _news, _orders, made = shop
    city = field(database, "City")
    picked = Picked(ids=(made[0].id, made[4].id))
    run = bulk_runs.start(
        account, database.id, "set_field", picked, params={"field": city.id, "value": "Gouda"}, actor="ann"
    )
    assert run.status == BulkRunStatus.DONE and run.total == 2 and run.changed == 2
    assert values(account, database, made[0].id)[0]["City"] == "Gouda"
    assert values(account, database, made[1].id)[0]["City"] == "Utrecht"  # not picked
    journal = db.session.scalars(select(ProfileEvent).where(ProfileEvent.reference == f"bulk {run.id}")).all()
    assert {e.profile_id for e in journal} == {made[0].id, made[4].id} and {e.source for e in journal} == {"admin"}
    assert run.first_event_id == min(e.id for e in journal) and run.last_event_id == max(e.id for e in journal)

    profiles.update_profile(account, made[4].id, {"City": "Leiden"}, origin=ADMIN)  # changed again since
    run = bulk_undo.undo_run(account, run.id)
    assert run.status == BulkRunStatus.UNDONE and run.restored == 1
    assert values(account, database, made[0].id)[0]["City"] == "Utrecht"
    assert values(account, database, made[4].id)[0]["City"] == "Leiden"  # left alone, and said so
    assert "City was changed since" in run.error


def test_interests_over_every_match_of_a_search_and_their_undo(account, shop):
    database, news, _orders, made = shop
    every_nl = Picked(where=ListFilter(query="example.nl"))
    run = bulk_runs.start(account, database.id, "add_interest", every_nl, params={"interest": news.id})
    assert run.total == 3 and run.changed == 2  # p0 had it already
    assert [news.id in values(account, database, p.id)[1] for p in made] == [True, False, True, False, True, False]
    bulk_undo.undo_run(account, run.id)
    assert [news.id in values(account, database, p.id)[1] for p in made] == [True] + [False] * 5

    without = Picked(where=ListFilter(rows=(Condition(f"interest:{news.id}", "has"),)))
    removed = bulk_runs.start(account, database.id, "remove_interest", without, params={"interest": news.id})
    assert removed.changed == 1 and values(account, database, made[0].id)[1] == []


def test_unsubscribe_and_its_undo_restore_the_subscription(account, shop):
    database, _news, _orders, made = shop
    run = bulk_runs.start(account, database.id, "unsubscribe", Picked(where=ListFilter(query="Delft")))
    assert run.changed == 2
    assert [unsubscribe.is_subscribed(db.session.get(Profile, p.id)) for p in made[4:]] == [False, False]
    kinds = {e.kind for e in db.session.scalars(select(ProfileEvent).where(ProfileEvent.reference == f"bulk {run.id}"))}
    assert kinds == {"unsubscribed"}
    bulk_undo.undo_run(account, run.id)
    for profile in made[4:]:
        db.session.refresh(db.session.get(Profile, profile.id))
        assert unsubscribe.is_subscribed(db.session.get(Profile, profile.id))


def test_delete_and_undo_bring_profiles_back_whole_with_their_subprofiles(account, shop):
    database, news, orders, made = shop
    first = db.session.get(Profile, made[0].id)
    code, created_at = first.code, first.created_at
    sub = db.session.scalars(select(Subprofile).where(Subprofile.profile_id == first.id)).one()
    sub_id, sub_code = sub.id, sub.code
    run = bulk_runs.start(account, database.id, "delete", Picked(ids=(made[0].id, made[1].id)))
    assert run.changed == 2
    db.session.expire_all()
    assert db.session.get(Profile, made[0].id) is None and db.session.get(Subprofile, sub_id) is None

    run = bulk_undo.undo_run(account, run.id)
    assert run.status == BulkRunStatus.UNDONE and run.restored == 2 and run.error == ""
    back = db.session.get(Profile, made[0].id)
    assert back.code == code and back.created_at == created_at and back.interests == [news.id]
    restored = {"Email": "p0@example.nl", "City": "Utrecht", "Score": 0, "Subscription": "subscribed"}
    assert values(account, database, back.id)[0] == restored
    sub = db.session.get(Subprofile, sub_id)
    assert sub.code == sub_code and sub.collection_id == orders.id and list(sub.fields.values()) == ["Tent"]
    assert profiles.get_profile(account, made[1].id)  # found again through the account


def test_a_unique_value_taken_since_keeps_that_profile_removed_and_says_why(account, shop):
    database, _news, _orders, made = shop
    run = bulk_runs.start(account, database.id, "delete", Picked(ids=(made[2].id,)))
    profiles.create_profile(account, database.id, {"Email": "p2@example.nl"}, origin=ADMIN)
    run = bulk_undo.undo_run(account, run.id)
    assert run.restored == 0 and "could not come back" in run.error
    assert db.session.get(Profile, made[2].id) is None


def test_export_writes_the_selection_and_cannot_be_undone(account, shop, app, tmp_path):
    database, _news, _orders, made = shop
    app.config["BULK_EXPORT_FOLDER"] = str(tmp_path)
    try:
        run = bulk_runs.start(account, database.id, "export", Picked(where=ListFilter(query="utrecht")))
    finally:
        app.config.pop("BULK_EXPORT_FOLDER")
    assert run.status == BulkRunStatus.DONE and run.changed == 4
    rows = list(csv.reader(io.StringIO(Path(run.file_path).read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["id", "created", "modified"] and "Email" in rows[0] and rows[0][-1] == "News"
    assert sorted(int(row[0]) for row in rows[1:]) == [p.id for p in made[:4]]
    with pytest.raises(ValidationError):
        bulk_undo.request_undo(account, run.id)


def test_a_large_selection_is_durable_work_in_chunks_with_progress(account, shop, monkeypatch):
    database, _news, _orders, made = shop
    monkeypatch.setattr(bulk_runs, "RUN_AT_ONCE", 0)
    monkeypatch.setattr(bulk_apply, "CHUNK", 4)
    score = field(database, "Score")
    run = bulk_runs.start(account, database.id, "set_field", Picked(), params={"field": score.id, "value": "7"})
    assert run.status == BulkRunStatus.PENDING and run.total == 6 and run.done == 0
    row = db.session.scalars(select(ScheduledWork).where(ScheduledWork.kind == "bulk_action")).one()
    chunks = []
    original = bulk_apply._apply_chunk
    monkeypatch.setattr(bulk_apply, "_apply_chunk", lambda *a: (chunks.append(len(a[2])), original(*a)))
    assert work.run_work(row.id) == "done"
    run = bulk_runs.get_run(account, run.id)
    db.session.refresh(run)
    assert chunks == [4, 2] and run.status == BulkRunStatus.DONE and run.done == 6 and run.changed == 6
    assert {values(account, database, p.id)[0]["Score"] for p in made} == {7}
    assert work.run_work(row.id) == "done"  # a second run of the row does nothing
    assert bulk_runs.get_run(account, run.id).changed == 6


@pytest.mark.parametrize(
    ("action", "params", "selection", "message"),
    [
        ("explode", {}, Picked(), "Choose what to do"),
        ("set_field", {"field": 999999}, Picked(), "Choose a field"),
        ("set_field", {"field": "Email", "value": "x@example.nl"}, Picked(), "unique"),
        ("set_field", {"field": "Score", "value": "many"}, Picked(), "Score"),
        ("add_interest", {"interest": 999999}, Picked(), "Choose an interest"),
        ("delete", {}, Picked(ids=()), "Pick at least one"),
        ("delete", {}, Picked(where=ListFilter(query="nobody")), "No profiles match"),
    ],
)
def test_bad_input_is_a_clear_error_and_changes_nothing(account, shop, action, params, selection, message):
    database, _news, _orders, made = shop
    by_name = {f.name: f.id for f in database.fields}
    if params.get("field") in by_name:
        params = {**params, "field": by_name[params["field"]]}
    with pytest.raises(ValidationError) as error:
        bulk_runs.start(account, database.id, action, selection, params=params)
    assert message in str(error.value.errors)
    assert db.session.scalar(select(Profile.id).order_by(Profile.id.desc()).limit(1)) == made[-1].id
    assert bulk_runs.list_runs(account, database.id) == []


def test_another_accounts_profiles_and_runs_are_out_of_reach(account, shop):
    database, _news, _orders, made = shop
    other = make_account("Other")
    theirs = databases.create_database(other, "Theirs")
    with pytest.raises(NotFound):
        bulk_runs.start(other, database.id, "delete", Picked(ids=(made[0].id,)))
    with pytest.raises(ValidationError):  # their database does not hold our profile
        bulk_runs.start(other, theirs.id, "delete", Picked(ids=(made[0].id,)))
    run = bulk_runs.start(account, database.id, "unsubscribe", Picked(ids=(made[0].id,)))
    with pytest.raises(NotFound):
        bulk_undo.request_undo(other, run.id)
    assert db.session.get(Profile, made[0].id) is not None
