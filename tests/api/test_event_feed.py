"""The change feed: every event once, in order, even when writers commit out of order."""

import pytest
from sqlalchemy import insert

from tests.factories import make_account, make_database
from webapp.extensions import db
from webapp.models import ProfileEvent
from webapp.platform.errors import ValidationError
from webapp.profiles import event_feed, profiles
from webapp.profiles.events import Origin

ADMIN = Origin("admin")


def read_all(api, cursor: str | None = None) -> tuple[list[dict], str]:
    query = {"after": cursor} if cursor else {}
    body = api.get("/events", query_string=query).get_json()
    return body["data"], body["cursor"]


def test_changes_come_in_order_with_names_old_and_new_values_and_source(api, account, database):
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    api.put(f"/profile/{profile.id}/fields", json={"Email": "b@example.com"})
    events, cursor = read_all(api)
    assert [(e["kind"], e["source"]) for e in events] == [("profile_created", "admin"), ("profile_updated", "api")]
    assert events[1]["changes"]["fields"] == {"Email": ["a@example.com", "b@example.com"]}
    assert events[1]["profile"] == str(profile.id)
    assert read_all(api, cursor) == ([], cursor)
    api.delete(f"/profile/{profile.id}")
    events, _ = read_all(api, cursor)
    assert [e["kind"] for e in events] == ["profile_removed"]


def test_the_limit_pages_through_every_event_once(api, account, database):
    for number in range(5):
        profiles.create_profile(account, database.id, {"customer_id": number}, origin=ADMIN)
    seen, cursor = [], None
    for _page in range(4):
        body = api.get("/events", query_string={"limit": 2, **({"after": cursor} if cursor else {})}).get_json()
        seen += [e["changes"]["fields"]["customer_id"][1] for e in body["data"]]
        cursor = body["cursor"]
    assert seen == [0, 1, 2, 3, 4]


def test_another_accounts_events_never_show(api, account, database):
    other = make_account("Other")
    theirs = make_database(other, "Theirs")
    profiles.create_profile(other, theirs.id, {"Email": "x@example.com"}, origin=ADMIN)
    assert read_all(api)[0] == []


def test_a_bad_cursor_is_a_problem(api, account):
    response = api.get("/events?after=abc")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "after"
    with pytest.raises(ValidationError):
        event_feed.parse_cursor("1.-2")


def test_a_long_poll_returns_at_once_when_events_are_waiting(api, account, database):
    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    events = api.get("/events?wait=30").get_json()["data"]
    assert [e["kind"] for e in events] == ["profile_created"]


def _event(connection, account_id: int, profile_id: int) -> int:
    row = {
        "account_id": account_id,
        "database_id": 1,
        "profile_id": profile_id,
        "kind": "profile_updated",
        "source": "admin",
        "reference": "",
        "actor": "",
        "changes": {},
        "created_at": db.func.now(),
    }
    return connection.execute(insert(ProfileEvent).values(row).returning(ProfileEvent.id)).scalar_one()


def test_writers_that_commit_out_of_order_lose_no_event_and_repeat_none(api, account):
    """T1 writes first and commits last: the feed holds back T2's event until T1 has ended, then hands out
    both, and a cursor taken in between skips nothing."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers: commit order is id order")
    db.session.commit()
    first, second = db.engine.connect(), db.engine.connect()
    try:
        early = first.begin()
        early_id = _event(first, account.id, 1)
        late = second.begin()
        late_id = _event(second, account.id, 2)
        assert late_id > early_id
        late.commit()  # T2 commits first

        events, cursor = read_all(api)
        assert events == []  # T2's event waits behind the still-running T1

        early.commit()
        events, cursor = read_all(api, cursor)
        assert [int(e["ID"]) for e in events] == [early_id, late_id]
        assert read_all(api, cursor)[0] == []
    finally:
        first.close()
        second.close()


def test_a_rolled_back_writer_leaves_no_gap_that_holds_the_feed(api, account):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    db.session.commit()
    first, second = db.engine.connect(), db.engine.connect()
    try:
        failed = first.begin()
        _event(first, account.id, 1)
        kept = second.begin()
        kept_id = _event(second, account.id, 2)
        kept.commit()
        failed.rollback()
        assert [int(e["ID"]) for e in read_all(api)[0]] == [kept_id]
    finally:
        first.close()
        second.close()


def test_events_written_in_bulk_reach_the_feed(api, account, database):
    """Bulk writers insert events with Core: the server default gives them their transaction's id too."""
    profiles.bulk_create_profiles(account, database.id, [{"customer_id": n} for n in range(3)], origin=ADMIN)
    events, _ = read_all(api)
    assert [e["changes"]["fields"]["customer_id"][1] for e in events] == [0, 1, 2]
    if db.engine.dialect.name == "postgresql":
        assert None not in db.session.scalars(db.select(ProfileEvent.txid)).all()


@pytest.mark.parametrize("query", ["limit=1e309", "wait=nan", "limit=-1", "wait=abc"])
def test_bad_numbers_are_problems_not_errors(api, account, query):
    response = api.get(f"/events?{query}")
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
