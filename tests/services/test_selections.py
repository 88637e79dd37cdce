"""Selections: create, rename, rules, count with its time, members page by page, a collection's selection,
standard selections, cycles refused, export source and follow-up condition, tenancy."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import make_account, make_database, make_form
from webapp.email import suppression
from webapp.exports.files import ExportOptions
from webapp.extensions import db
from webapp.followups import conditions
from webapp.models import EmailResult, Profile, StandardSelection, Subprofile, utcnow
from webapp.platform.errors import Conflict, NotFound, ValidationError
from webapp.profiles import databases, events, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.selections import selections
from webapp.selections.membership import member_ids, subprofile_ids

ADMIN = Origin("admin")


@pytest.fixture
def shop(account):
    database = make_database(account, "Customers")
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Amount", type="number"), collection_id=orders.id)
    people = [
        profiles.create_profile(
            account, database.id, {"Email": f"p{n}@example.com", "FirstName": f"N{n}"}, origin=ADMIN
        )
        for n in range(5)
    ]
    for person, amounts in zip(people, ([50, 150], [200], [], [10], [300, 400]), strict=True):
        for amount in amounts:
            subprofiles.create_subprofile(account, person.id, orders.id, {"Amount": amount}, origin=ADMIN)
    amount = next(field.id for field in orders.fields)
    first = next(field.id for field in database.fields if field.name == "FirstName")
    return database, orders, people, amount, first


def test_create_rename_and_names_unique_per_database(account, shop):
    database, *_ = shop
    selection = selections.create_selection(account, database.id, "  Big   spenders ", description="orders")
    assert selection.name == "Big spenders" and selection.rules == {"match": "all", "rules": []}
    with pytest.raises(ValidationError) as error:
        selections.create_selection(account, database.id, "big SPENDERS")
    assert "already has a selection named" in error.value.errors["name"]
    with pytest.raises(ValidationError):
        selections.create_selection(account, database.id, "   ")
    renamed = selections.update_selection(account, selection.id, name="Whales")
    assert renamed.name == "Whales"


def test_count_is_stored_with_its_time_and_forgotten_when_rules_change(account, shop):
    database, orders, people, amount, first = shop
    selection = selections.create_selection(account, database.id, "All")
    counted = selections.count_selection(account, selection.id)
    assert counted.value == 5 and selection.counted == 5 and selection.counted_at == counted.counted_at
    selections.update_selection(
        account, selection.id, rules={"rules": [{"field_id": first, "operator": "in", "value": "n1, n2"}]}
    )
    assert selection.counted is None and selection.counted_at is None
    assert selections.count_selection(account, selection.id).value == 2


def test_members_page_by_page_in_id_order(account, shop):
    database, orders, people, amount, first = shop
    selection = selections.create_selection(account, database.id, "All")
    page = selections.members(account, selection.id, start=0, length=2)
    assert [p.id for p in page.items] == [people[0].id, people[1].id] and page.total == 5
    last = selections.members(account, selection.id, start=4, length=2)
    assert [p.id for p in last.items] == [people[4].id] and last.total == 5
    assert selections.members(account, selection.id, start=2, length=2, total=False).total is None


def test_a_collection_selection_selects_subprofiles_and_its_members_are_their_profiles(account, shop):
    database, orders, people, amount, first = shop
    big = selections.create_selection(
        account,
        database.id,
        "Big orders",
        collection_id=orders.id,
        rules={"rules": [{"field_id": amount, "operator": ">", "value": 100}]},
    )
    found = set(db.session.scalars(subprofile_ids(big)))
    expected = set(db.session.scalars(select(Subprofile.id).where(Subprofile.fields[str(amount)].as_integer() > 100)))
    assert found == expected and len(found) == 4
    assert set(db.session.scalars(member_ids(big))) == {people[0].id, people[1].id, people[4].id}
    assert selections.count_selection(account, big.id).value == 4  # subprofiles
    page = selections.members(account, big.id, length=10)
    assert all(isinstance(item, Subprofile) for item in page.items) and page.total == 4
    # a profile rule inside a collection selection is about the subprofile's profile
    selections.update_selection(
        account,
        big.id,
        rules={
            "rules": [
                {"field_id": amount, "operator": ">", "value": 100},
                {"field_id": first, "operator": "=", "value": "N4"},
            ]
        },
    )
    assert selections.count_selection(account, big.id).value == 2
    # and a database selection may say "in that collection selection": profiles having such a subprofile
    whales = selections.create_selection(account, database.id, "Whales", rules={"rules": [{"selection_id": big.id}]})
    assert set(db.session.scalars(member_ids(whales))) == {people[4].id}


def test_cycles_are_refused_with_the_path(account, shop):
    database, *_ = shop
    a = selections.create_selection(account, database.id, "A")
    b = selections.create_selection(account, database.id, "B", rules={"rules": [{"selection_id": a.id}]})
    c = selections.create_selection(account, database.id, "C", rules={"rules": [{"selection_id": b.id, "in": False}]})
    with pytest.raises(ValidationError) as error:
        selections.update_selection(
            account, a.id, rules={"match": "any", "rules": [{"match": "all", "rules": [{"selection_id": c.id}]}]}
        )
    assert "cannot contain itself: C → B → A" in error.value.errors["rules"]
    with pytest.raises(ValidationError):
        selections.update_selection(account, a.id, rules={"rules": [{"selection_id": a.id}]})
    assert a.rules == {"match": "all", "rules": []}  # nothing stored


def test_a_selection_used_by_another_cannot_be_removed(account, shop):
    database, *_ = shop
    a = selections.create_selection(account, database.id, "A")
    b = selections.create_selection(account, database.id, "B", rules={"rules": [{"selection_id": a.id}]})
    with pytest.raises(Conflict, match="B use this selection"):
        selections.delete_selection(account, a.id)
    selections.delete_selection(account, b.id)
    selections.delete_selection(account, a.id)
    assert selections.list_selections(account, database.id) == []


def test_a_selection_in_a_follow_up_condition_cannot_be_removed(account, shop):
    from tests.factories import make_followup

    database, *_ = shop
    used = selections.create_selection(account, database.id, "Used")
    make_followup(
        account,
        database,
        name="Welcome",
        trigger={"kind": "profile_created"},
        actions=[{"type": "unsubscribe"}],
        execution_condition={"match": "all", "rules": [{"match": "any", "rules": [{"selection_id": used.id}]}]},
    )
    with pytest.raises(Conflict, match="The follow-ups Welcome use this selection"):
        selections.delete_selection(account, used.id)
    assert selections.get_selection(account, used.id).name == "Used"


def test_standard_selections(account):
    database = databases.create_database(account, "News", subscription=True)
    create_field(account, FieldSpec(name="Email", type="email"), database_id=database.id)
    form = make_form(account, database, double_opt_in={"enabled": True})
    people = [
        profiles.create_profile(account, database.id, {"Email": f"s{n}@example.com"}, origin=ADMIN) for n in range(4)
    ]
    profiles.update_profile(account, people[0].id, {"Subscription": "unsubscribed"}, origin=ADMIN)
    signup = profiles.create_profile(
        account, database.id, {"Email": "new@example.com"}, origin=Origin("form", reference=str(form.id))
    )
    confirmed = profiles.create_profile(
        account, database.id, {"Email": "ok@example.com"}, origin=Origin("form", reference=str(form.id))
    )
    events.record("confirmed", Origin("form", reference=str(form.id)), profile=confirmed)
    db.session.add(
        EmailResult(
            account_id=account.id, database_id=database.id, profile_id=people[1].id, bounce="hard", bounced_at=utcnow()
        )
    )
    db.session.add(
        EmailResult(
            account_id=account.id, database_id=database.id, profile_id=people[2].id, bounce="soft", bounced_at=utcnow()
        )
    )
    suppression.suppress(account.id, "S3@example.com", suppression.Reason.UNSUBSCRIBE)
    db.session.commit()
    assert selections.missing_standard_selections(account, database.id) == list(selections.STANDARD_RULES)
    added = selections.add_standard_selections(account, database.id)
    assert selections.add_standard_selections(account, database.id) == []
    by_kind = {row.standard: row for row in added}

    def members(kind):
        return set(db.session.scalars(member_ids(by_kind[kind])))

    everyone = {p.id for p in people} | {signup.id, confirmed.id}
    assert members(StandardSelection.SUBSCRIBED) == everyone - {people[0].id}
    assert members(StandardSelection.HARD_BOUNCED) == {people[1].id}
    assert members(StandardSelection.UNCONFIRMED) == {signup.id}
    # the unsubscribe suppressed people[0]'s address too (hygiene's policy)
    assert members(StandardSelection.SUPPRESSED) == {people[0].id, people[3].id}


def test_standard_names_do_not_clash_with_a_marketers_own(account, shop):
    database, *_ = shop
    selections.create_selection(account, database.id, "Subscribed")
    added = selections.add_standard_selections(account, database.id)
    assert "Subscribed (2)" in {row.name for row in added}


def test_export_source_streams_only_the_members(account, shop):
    database, orders, people, amount, first = shop
    two = selections.create_selection(
        account, database.id, "Two", rules={"rules": [{"field_id": first, "operator": "in", "value": ["N1", "N3"]}]}
    )
    export = selections.export_selection(account, two.id, ExportOptions(fields=["FirstName"], interests=False))
    lines = b"".join(export.chunks).decode().splitlines()
    assert lines[0] == "id,created,modified,FirstName" and [line.split(",")[-1] for line in lines[1:]] == ["N1", "N3"]
    big = selections.create_selection(
        account,
        database.id,
        "Big",
        collection_id=orders.id,
        rules={"rules": [{"field_id": amount, "operator": ">=", "value": 300}]},
    )
    rows = b"".join(selections.export_selection(account, big.id, ExportOptions()).chunks).decode().splitlines()
    assert [row.split(",")[-1] for row in rows[1:]] == ["300", "400"]


def test_a_follow_up_condition_may_name_a_selection(account, shop):
    database, orders, people, amount, first = shop
    big = selections.create_selection(
        account,
        database.id,
        "Big",
        collection_id=orders.id,
        rules={"rules": [{"field_id": amount, "operator": ">", "value": 100}]},
    )
    fields = {field.id: field for field in database.fields}
    condition = conditions.validate(
        {"rules": [{"selection_id": big.id}]}, fields, set(), account_id=account.id, database_id=database.id
    )
    matched = {p.id for p in people if conditions.matches(condition, db.session.get(Profile, p.id))}
    assert matched == {people[0].id, people[1].id, people[4].id}
    with pytest.raises(ValueError, match="Unknown selection"):
        conditions.validate({"rules": [{"selection_id": big.id}]}, fields, set())  # no database: no selections


def test_another_accounts_selection_is_not_found(account, shop):
    database, *_ = shop
    mine = selections.create_selection(account, database.id, "Mine")
    other = make_account("Other")
    other_database = make_database(other, "Theirs")
    with pytest.raises(NotFound):
        selections.get_selection(other, mine.id)
    with pytest.raises(NotFound):
        selections.create_selection(other, database.id, "Sneaky")
    with pytest.raises(ValidationError, match="Unknown selection"):
        selections.create_selection(other, other_database.id, "Ref", rules={"rules": [{"selection_id": mine.id}]})


def test_old_email_results_and_periods(account, shop):
    database, orders, people, amount, first = shop
    db.session.add(
        EmailResult(
            account_id=account.id,
            database_id=database.id,
            profile_id=people[0].id,
            sent_at=utcnow() - timedelta(days=10),
            opened_at=utcnow() - timedelta(days=9),
        )
    )
    db.session.commit()
    recent = selections.create_selection(
        account, database.id, "Recent", rules={"rules": [{"email": "opened", "days": 7}]}
    )
    older = selections.create_selection(
        account, database.id, "Older", rules={"rules": [{"email": "opened", "days": 14}]}
    )
    assert selections.count_selection(account, recent.id).value == 0
    assert selections.count_selection(account, older.id).value == 1
    assert db.session.scalar(select(func.count()).select_from(member_ids(older).subquery())) == 1
