"""Listing profiles: search, sorting and keyset pagination."""

import pytest

from tests.factories import make_database
from webapp.platform.errors import ValidationError
from webapp.profiles import profiles
from webapp.profiles.events import Origin
from webapp.profiles.lists import list_profiles

NAMES = ["anna", "Anne", "bert", "Carla", "carl", "Daan", "eva", "Anouk", None, "Zoë", "emma", "Ab_x"]


@pytest.fixture
def database(account):
    database = make_database(
        account,
        fields={
            "Email": {"type": "email", "indexed": True},
            "FirstName": {"type": "text", "indexed": True},
            "Score": {"type": "number", "indexed": True},
            "City": "text",
        },
    )
    rows = [
        {
            "Email": f"p{i}@example.com",
            "FirstName": name,
            "Score": (i * 7) % 5 if i % 4 else None,
            "City": f"Town{i % 3}",
        }
        for i, name in enumerate(NAMES)
    ]
    for row in rows:
        profiles.create_profile(account, database.id, row, origin=Origin("admin"))
    return database


def walk(account, database, **kwargs):
    """All pages forwards; returns the ids in order, and the cursors seen."""
    ids, cursor, pages = [], None, []
    while True:
        page = list_profiles(account, database.id, cursor=cursor, limit=5, **kwargs)
        ids += [p.id for p in page.items]
        pages.append(page)
        if not page.next_cursor:
            return ids, pages
        cursor = page.next_cursor


def field_id(database, name):
    return next(f.id for f in database.fields if f.name == name)


def test_pages_by_id_cover_everything_once(account, database):
    ids, pages = walk(account, database)
    assert ids == sorted(ids) and len(ids) == len(NAMES)
    assert pages[0].previous_cursor is None and pages[1].previous_cursor
    back = list_profiles(account, database.id, cursor=pages[2].previous_cursor, limit=5)
    assert [p.id for p in back.items] == [p.id for p in pages[1].items]


@pytest.mark.parametrize("descending", [False, True])
def test_sort_by_indexed_text_field_is_case_insensitive(account, database, descending):
    ids, _ = walk(account, database, sort=f"field:{field_id(database, 'FirstName')}", descending=descending)
    key = str(field_id(database, "FirstName"))
    by_id = {p.id: p for p in list_profiles(account, database.id, limit=100).items}
    names = [(by_id[i].fields.get(key) or "").lower() for i in ids]
    assert len(ids) == len(NAMES)
    expected = sorted(names, reverse=descending)
    assert names == expected


@pytest.mark.parametrize("descending", [False, True])
def test_sort_by_number_puts_empty_values_at_one_end(account, database, descending):
    ids, _ = walk(account, database, sort=f"field:{field_id(database, 'Score')}", descending=descending)
    assert len(set(ids)) == len(NAMES)
    key = str(field_id(database, "Score"))
    by_id = {p.id: p for p in list_profiles(account, database.id, limit=100).items}
    scores = [by_id[i].fields.get(key) for i in ids if by_id[i].fields.get(key) is not None]
    assert scores == sorted(scores, reverse=descending)


def test_sort_by_created_and_modified(account, database):
    for sort in ("created", "modified"):
        ids, _ = walk(account, database, sort=sort, descending=True)
        assert ids == sorted(ids, reverse=True)


def test_search_finds_what_is_typed_anywhere_in_the_text_fields(account, database):
    found = list_profiles(account, database.id, query="an")
    key = str(field_id(database, "FirstName"))
    assert sorted(p.fields[key] for p in found.items) == ["Anne", "Anouk", "Daan", "anna"]
    assert [p.fields[key] for p in list_profiles(account, database.id, query="b_").items] == ["Ab_x"]
    assert list_profiles(account, database.id, query="a%").items == []
    assert len(list_profiles(account, database.id, query="P1").items) == 3  # p1@, p10@, p11@
    assert len(list_profiles(account, database.id, query="p1@").items) == 1
    assert len(list_profiles(account, database.id, query="@EXAMPLE.com").items) == len(NAMES)


def test_search_by_id(account, database):
    first = list_profiles(account, database.id, limit=1).items[0]
    assert first in list_profiles(account, database.id, query=str(first.id)).items


def test_search_falls_back_to_substring_without_indexed_fields(account):
    database = make_database(account, fields={"City": "text"})
    profiles.create_profile(account, database.id, {"City": "Den Haag"}, origin=Origin("admin"))
    assert len(list_profiles(account, database.id, query="haag").items) == 1


def test_bad_sort_or_cursor_is_a_clear_error(account, database):
    with pytest.raises(ValidationError):
        list_profiles(account, database.id, sort="field:999")
    with pytest.raises(ValidationError):
        list_profiles(account, database.id, sort=f"field:{field_id(database, 'City')}")
    with pytest.raises(ValidationError):
        list_profiles(account, database.id, cursor="not-a-cursor")
