"""The profiles admin: list (search, sort, keyset pages, lazy count), create, inline edit, delete, the profile
page (fields, interests, unsubscribe) and its timeline."""

import html
import json
import re

import pytest
from babel.dates import format_datetime
from sqlalchemy import func, select

from tests.factories import make_account, make_database
from webapp.extensions import db
from webapp.models import Profile, ProfileEvent
from webapp.profiles import databases, fields, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec
from webapp.profiles.timeline import local_time

SYSTEM = Origin("system")


def text_of(response) -> str:
    return response.get_data(as_text=True)


def row_ids(page: str) -> list[int]:
    return [int(number) for number in re.findall(r'<tr id="profile-(\d+)"', page)]


def link(page: str, rel: str) -> str | None:
    match = re.search(rf'rel="{rel}" href="([^"]+)"', page)
    return html.unescape(match.group(1)) if match else None


def field_named(database, name):
    return next(field for field in database.fields if field.name == name)


def make_profile(account, database, **values) -> Profile:
    return profiles.create_profile(account, database.id, values, origin=SYSTEM)


def events_of(profile_id: int) -> list[ProfileEvent]:
    return list(
        db.session.scalars(select(ProfileEvent).where(ProfileEvent.profile_id == profile_id).order_by(ProfileEvent.id))
    )


def profile_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Profile))


# --- the list -------------------------------------------------------------------------------------


def test_list_shows_only_shown_fields(browser, account):
    database = make_database(
        account,
        fields={
            "Email": {"type": "email", "indexed": True},
            "Internal": {"type": "text", "shown": False},
            "Secret": {"type": "text", "hidden": True},
        },
    )
    profile = make_profile(account, database, Email="ann@example.com", Internal="not-in-list", Secret="hush")
    page = text_of(browser("viewer", account).get(f"/databases/{database.id}/profiles"))
    assert "<th" in page and ">Email<" in page
    assert "ann@example.com" in page
    assert f'href="/profiles/{profile.id}"' in page
    assert "Internal" not in page and "not-in-list" not in page
    assert "Secret" not in page and "hush" not in page


def test_htmx_request_gets_the_partial_plain_request_the_page(browser, account):
    database = make_database(account)
    make_profile(account, database, Email="ann@example.com")
    me = browser("viewer", account)
    partial = me.get(f"/databases/{database.id}/profiles", htmx=True)
    assert partial.status_code == 200
    assert "<html" not in text_of(partial) and "ann@example.com" in text_of(partial)
    assert "HX-Request" in partial.headers["Vary"]
    full = me.get(f"/databases/{database.id}/profiles")
    assert "<html" in text_of(full) and 'id="profile-list"' in text_of(full)
    assert 'aria-current="page">Profiles<' in text_of(full)
    # htmx restoring history after a cache miss needs the whole page
    restore = me.get(f"/databases/{database.id}/profiles", htmx=True, headers={"HX-History-Restore-Request": "true"})
    assert "<html" in text_of(restore)


def test_search_finds_text_anywhere_ignoring_case_or_an_id(browser, account):
    database = make_database(account)
    anna = make_profile(account, database, FirstName="Anna", Email="anna@example.com")
    annet = make_profile(account, database, FirstName="annet", Email="a2@example.nl")
    bert = make_profile(account, database, FirstName="Bert", Email="bert@example.com", LastName="Vanna")
    me = browser("viewer", account)

    found = text_of(me.get(f"/databases/{database.id}/profiles?q=ANN", htmx=True))
    assert row_ids(found) == [anna.id, annet.id, bert.id]  # Vanna holds it too
    assert row_ids(text_of(me.get(f"/databases/{database.id}/profiles?q=example.nl", htmx=True))) == [annet.id]
    assert row_ids(text_of(me.get(f"/databases/{database.id}/profiles?q={bert.id}", htmx=True))) == [bert.id]
    page = text_of(me.get(f"/databases/{database.id}/profiles?q=BERT@"))
    assert row_ids(page) == [bert.id]
    assert 'value="BERT@"' in page
    assert "such as a domain like example.nl" in page


def test_search_looks_in_fields_not_shown_but_never_in_hidden_ones(browser, account):
    database = make_database(
        account,
        fields={"Name": "text", "Note": {"type": "text", "shown": False}, "Secret": {"type": "text", "hidden": True}},
    )
    first = make_profile(account, database, Name="Johanna", Note="x")
    second = make_profile(account, database, Name="Piet", Note="anna")
    make_profile(account, database, Name="Kees", Secret="anna")
    page = text_of(browser("viewer", account).get(f"/databases/{database.id}/profiles?q=ANNA"))
    assert row_ids(page) == [first.id, second.id]


def test_the_interest_filter_narrows_the_list_and_its_count(browser, account):
    database = make_database(account)
    news = databases.create_interest(account, database.id, "News")
    reader = make_profile(account, database, Email="reader@example.com")
    other = make_profile(account, database, Email="other@example.com")
    profiles.update_profile(account, reader.id, {}, interests={news.id: True}, origin=Origin("admin"))
    me = browser("viewer", account)
    url = f"/databases/{database.id}/profiles"
    assert row_ids(text_of(me.get(f"{url}?interest={news.id}", htmx=True))) == [reader.id]
    assert row_ids(text_of(me.get(f"{url}?interest=-{news.id}", htmx=True))) == [other.id]
    assert "1 profile matches" in text_of(me.get(f"{url}/count?interest=-{news.id}"))
    refused = text_of(me.get(f"{url}?interest=999999"))
    assert "no such interest" in refused and row_ids(refused) == [reader.id, other.id]


def test_no_results_and_no_profiles_are_different_empty_states(browser, account):
    database = make_database(account)
    editor = browser("editor", account)
    empty = text_of(editor.get(f"/databases/{database.id}/profiles"))
    assert "No profiles yet" in empty
    assert "Create the first profile" in empty

    make_profile(account, database, FirstName="Anna")
    none = text_of(editor.get(f"/databases/{database.id}/profiles?q=zzz", htmx=True))
    assert "No profiles match “zzz”" in none
    assert "Clear the search" in none and "No profiles yet" not in none


def test_a_viewer_is_not_invited_to_create_the_first_profile(browser, account):
    database = make_database(account)
    page = text_of(browser("viewer", account).get(f"/databases/{database.id}/profiles"))
    assert "No profiles yet" in page
    assert "Create the first profile" not in page and "/profiles/new" not in page


def test_count_is_loaded_by_its_own_request(browser, account):
    database = make_database(account)
    for name in ("Anna", "Annet", "Bert"):
        make_profile(account, database, FirstName=name)
    me = browser("viewer", account)
    page = text_of(me.get(f"/databases/{database.id}/profiles?q=ann"))
    assert f'hx-get="/databases/{database.id}/profiles/count?q=ann" hx-trigger="load"' in page
    assert "3 profiles" not in page
    assert "2 profiles match" in text_of(me.get(f"/databases/{database.id}/profiles/count?q=ann", htmx=True))
    assert "3 profiles" in text_of(me.get(f"/databases/{database.id}/profiles/count", htmx=True))


@pytest.mark.parametrize("descending", [False, True])
def test_sort_by_an_indexed_field(browser, account, descending):
    database = make_database(account)
    carla = make_profile(account, database, FirstName="carla")
    anna = make_profile(account, database, FirstName="Anna")
    bert = make_profile(account, database, FirstName="Bert")
    nobody = make_profile(account, database, Email="x@example.com")
    first_name = field_named(database, "FirstName")
    me = browser("viewer", account)
    query = f"?sort=field:{first_name.id}" + ("&dir=desc" if descending else "")
    page = text_of(me.get(f"/databases/{database.id}/profiles{query}", htmx=True))
    expected = [nobody.id, anna.id, bert.id, carla.id]  # empty sorts first, then case-insensitively
    assert row_ids(page) == (expected[::-1] if descending else expected)
    assert f'aria-sort="{"descending" if descending else "ascending"}"' in page
    toggle = f"sort=field:{first_name.id}" + ("" if descending else "&amp;dir=desc")
    assert f'href="/databases/{database.id}/profiles?{toggle}"' in page


def test_a_field_that_is_not_indexed_is_not_a_sort_link(browser, account):
    database = make_database(account)
    make_profile(account, database, FirstName="Anna")
    last_name = field_named(database, "LastName")
    me = browser("viewer", account)
    page = text_of(me.get(f"/databases/{database.id}/profiles"))
    assert f"sort=field:{last_name.id}" not in page
    refused = text_of(me.get(f"/databases/{database.id}/profiles?sort=field:{last_name.id}"))
    assert "cannot be sorted" in refused and "Anna" in refused


@pytest.mark.parametrize("sort", ["id", "name", "created"])
def test_pages_walk_every_profile_once_forward_and_back(browser, account, sort):
    database = make_database(account)
    rows = [{"FirstName": f"name{index % 7}", "Email": f"p{index}@example.com"} for index in range(120)]
    profiles.bulk_create_profiles(account, database.id, rows, origin=SYSTEM)
    all_profiles = list(db.session.scalars(select(Profile).where(Profile.database_id == database.id)))
    first_name = field_named(database, "FirstName")
    if sort == "name":
        key, expected = f"field:{first_name.id}", sorted(all_profiles, key=lambda p: (p.fields[first_name.key], p.id))
    elif sort == "created":
        key, expected = "created", sorted(all_profiles, key=lambda p: (p.created_at, p.id))
    else:
        key, expected = "id", sorted(all_profiles, key=lambda p: p.id)
    expected_ids = [profile.id for profile in expected][::-1]  # descending: the harder direction
    me = browser("viewer", account)

    url = f"/databases/{database.id}/profiles?sort={key}&dir=desc"
    pages = []
    while url:
        page = text_of(me.get(url, htmx=True))
        pages.append(row_ids(page))
        assert "Counting" in page or not row_ids(page)
        url = link(page, "next")
        last = page
    assert [len(ids) for ids in pages] == [50, 50, 20]
    assert [profile_id for ids in pages for profile_id in ids] == expected_ids
    assert "cursor=" not in (
        link(text_of(me.get(f"/databases/{database.id}/profiles?sort={key}&dir=desc")), "prev") or ""
    )

    back = []
    url = link(last, "prev")
    while url:
        page = text_of(me.get(url, htmx=True))
        back.append(row_ids(page))
        url = link(page, "prev")
    assert back == pages[-2::-1]
    assert link(page, "next") is not None


def test_a_tampered_cursor_shows_the_first_page_with_a_message(browser, account):
    database = make_database(account)
    profile = make_profile(account, database, FirstName="Anna")
    page = text_of(browser("viewer", account).get(f"/databases/{database.id}/profiles?sort=created&cursor=eyJ2IjoxfQ"))
    assert "no longer valid" in page
    assert row_ids(page) == [profile.id]


# --- create ---------------------------------------------------------------------------------------


def test_create_form_is_generated_from_the_fields(browser, account):
    database = make_database(
        account,
        fields={
            "Email": {"type": "email", "required": True},
            "Phone": {"type": "phone", "options": {"region": "NL"}},
            "Born": "date",
            "Seen": "datetime",
            "Size": {"type": "choice", "options": {"choices": ["S", "M", "L"]}, "default": "M"},
            "Tags": {"type": "choice", "options": {"choices": ["a", "b"], "multiple": True}},
            "Bio": "large_text",
            "Age": "number",
        },
    )
    databases.create_interest(account, database.id, "Newsletter", "Mail")
    databases.create_interest(account, database.id, "Offers", "Mail")
    page = text_of(browser("editor", account).get(f"/databases/{database.id}/profiles/new"))
    by_name = {field.name: field for field in database.fields}
    email_id = by_name["Email"].id
    assert f'<input type="email" id="field-{email_id}" name="field-{email_id}" aria-required="true"' in page
    assert f'<input type="tel" id="field-{by_name["Phone"].id}"' in page
    assert f'<input type="date" id="field-{by_name["Born"].id}"' in page
    assert f'<input type="datetime-local" id="field-{by_name["Seen"].id}"' in page
    assert re.search(rf'<select id="field-{by_name["Tags"].id}" name="field-{by_name["Tags"].id}"[^>]* multiple', page)
    assert '<option value="M" selected>M</option>' in page
    assert f'<textarea id="field-{by_name["Bio"].id}"' in page
    assert f'<input type="number" id="field-{by_name["Age"].id}"' in page
    assert "<legend>Mail</legend>" in page and 'name="interest"' in page
    assert "read as NL numbers" in page


def test_create_with_a_bad_email_shows_the_error_and_stores_nothing(browser, account):
    database = make_database(account)
    email = field_named(database, "Email")
    first_name = field_named(database, "FirstName")
    me = browser("editor", account)
    response = me.post(
        f"/databases/{database.id}/profiles/new",
        {f"field-{email.id}": "not-an-address", f"field-{first_name.id}": "Anna"},
        htmx=True,
    )
    assert response.status_code == 422
    page = text_of(response)
    assert "Email is not a valid email address" in page
    assert "<html" not in page
    assert re.search(rf'id="field-{email.id}"[^>]*aria-invalid="true"', page)
    assert 'value="Anna"' in page and 'value="not-an-address"' in page
    assert profile_count() == 0
    assert db.session.scalar(select(func.count()).select_from(ProfileEvent)) == 0


def test_a_zero_byte_in_a_search_or_a_form_is_a_400(browser, account):
    """The app refuses ``%00`` before any view: PostgreSQL stores none, and a query holding one fails."""
    database = make_database(account)
    first_name = field_named(database, "FirstName")
    me = browser("editor", account)
    search = me.get(f"/databases/{database.id}/profiles?q=an%00n", htmx=True)
    assert search.status_code == 400 and "zero byte" in text_of(search)
    created = me.post(f"/databases/{database.id}/profiles/new", {f"field-{first_name.id}": "An\x00n"}, htmx=True)
    assert created.status_code == 400 and profile_count() == 0
    assert me.get(f"/databases/{database.id}/profiles?q=ann", htmx=True).status_code == 200


def test_create_stores_the_profile_and_its_event_shows_in_the_timeline(browser, account):
    database = make_database(
        account,
        fields={
            "Email": "email",
            "Seen": "datetime",
            "Tags": {"type": "choice", "options": {"choices": ["a", "b", "c"], "multiple": True}},
        },
    )
    news = databases.create_interest(account, database.id, "Newsletter")
    by_name = {field.name: field for field in database.fields}
    me = browser("editor", account)
    response = me.post(
        f"/databases/{database.id}/profiles/new",
        {
            f"field-{by_name['Email'].id}": "Ann@Example.com",
            f"field-{by_name['Seen'].id}": "2024-01-02T10:00",
            f"field-{by_name['Tags'].id}": ["", "c", "a"],
            "interest": [str(news.id)],
        },
    )
    assert response.status_code == 303
    profile = db.session.scalars(select(Profile)).one()
    assert response.headers["Location"].endswith(f"/profiles/{profile.id}")
    assert profile.fields == {
        by_name["Email"].key: "Ann@example.com",
        by_name["Seen"].key: "2024-01-02 10:00:00",
        by_name["Tags"].key: ["a", "c"],
    }
    assert profile.interests == [news.id]
    (event,) = events_of(profile.id)
    assert (event.kind, event.source) == ("profile_created", "admin")
    assert event.actor.endswith(f"editor.{account.id}@example.com")

    page = text_of(me.get(response.headers["Location"]))
    assert "Profile Ann@example.com created." in page  # named by its address, not a number
    timeline = page.split('id="timeline"', 1)[1]
    assert "Profile created" in timeline and "Admin" in timeline
    assert f"editor.{account.id}@example.com" in timeline
    assert "Ann@example.com" in timeline and "Newsletter" in timeline
    assert 'value="2024-01-02T10:00:00"' in page


def test_create_and_add_another_returns_to_the_form(browser, account):
    database = make_database(account)
    me = browser("editor", account)
    response = me.post(f"/databases/{database.id}/profiles/new", {"then": "another"}, htmx=True)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == f"/databases/{database.id}/profiles/new"
    assert profile_count() == 1


def test_create_a_duplicate_unique_value(browser, account):
    database = make_database(account, fields={"Email": {"type": "email", "unique": True}})
    make_profile(account, database, Email="ann@example.com")
    email = field_named(database, "Email")
    response = browser("editor", account).post(
        f"/databases/{database.id}/profiles/new", {f"field-{email.id}": "ANN@example.com"}, htmx=True
    )
    assert response.status_code == 422
    assert "Another profile already has" in text_of(response)
    assert profile_count() == 1


# --- inline edit and delete in the list -----------------------------------------------------------


def test_inline_edit_saves_one_value_and_records_an_event(browser, account):
    database = make_database(account)
    profile = make_profile(account, database, FirstName="Anna", Email="anna@example.com")
    first_name = field_named(database, "FirstName")
    me = browser("editor", account)
    cell_url = f"/profiles/{profile.id}/fields/{first_name.id}"

    editing = me.get(cell_url + "/edit", htmx=True)
    assert editing.status_code == 200
    assert f'name="field-{first_name.id}"' in text_of(editing) and 'value="Anna"' in text_of(editing)
    assert "autofocus" in text_of(editing) and "data-cell-cancel" in text_of(editing)

    saved = me.post(cell_url, {f"field-{first_name.id}": "Annabel"}, htmx=True)
    assert saved.status_code == 200
    assert 'class="cell editable"' in text_of(saved) and "Annabel" in text_of(saved)
    assert json.loads(saved.headers["HX-Trigger"])["toast"]["message"] == "FirstName of anna@example.com saved."
    db.session.refresh(profile)
    assert profile.fields == {first_name.key: "Annabel", field_named(database, "Email").key: "anna@example.com"}
    event = events_of(profile.id)[-1]
    assert event.kind == "profile_updated"
    assert event.changes["fields"] == {first_name.key: ["Anna", "Annabel"]}

    cancelled = me.get(cell_url, htmx=True)
    assert "Annabel" in text_of(cancelled) and "<form" not in text_of(cancelled)


def test_inline_edit_with_a_bad_value_shows_the_error_in_the_cell(browser, account):
    database = make_database(account)
    profile = make_profile(account, database, Email="anna@example.com")
    email = field_named(database, "Email")
    response = browser("editor", account).post(
        f"/profiles/{profile.id}/fields/{email.id}", {f"field-{email.id}": "nope"}, htmx=True
    )
    assert response.status_code == 422
    assert "not a valid email address" in text_of(response) and 'aria-invalid="true"' in text_of(response)
    db.session.refresh(profile)
    assert profile.fields[email.key] == "anna@example.com"
    assert len(events_of(profile.id)) == 1


def test_delete_from_the_list(browser, account):
    database = make_database(account)
    profile_id = make_profile(account, database, Email="anna@example.com").id
    keep = make_profile(account, database, Email="bert@example.com")
    me = browser("editor", account)
    assert f'hx-delete="/profiles/{profile_id}/delete"' in text_of(me.get(f"/databases/{database.id}/profiles"))
    response = me.delete(f"/profiles/{profile_id}/delete")
    assert response.status_code == 200 and text_of(response) == ""
    assert json.loads(response.headers["HX-Trigger"])["toast"]["message"] == "Profile anna@example.com deleted."
    assert db.session.get(Profile, profile_id) is None and db.session.get(Profile, keep.id) is not None
    removed = events_of(profile_id)[-1]
    assert removed.kind == "profile_removed"
    assert removed.changes["fields"] == {field_named(database, "Email").key: ["anna@example.com", None]}


def test_delete_from_the_profile_page_goes_back_to_the_list(browser, account):
    database = make_database(account)
    profile_id = make_profile(account, database, Email="anna@example.com").id
    me = browser("editor", account)
    response = me.post(f"/profiles/{profile_id}/delete")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/databases/{database.id}/profiles")
    assert db.session.get(Profile, profile_id) is None
    assert "Profile anna@example.com deleted." in text_of(me.get(response.headers["Location"]))


def test_a_viewer_sees_no_edit_controls_and_cannot_change_anything(browser, account):
    database = make_database(account)
    databases.create_interest(account, database.id, "Newsletter")
    profile = make_profile(account, database, FirstName="Anna")
    first_name = field_named(database, "FirstName")
    me = browser("viewer", account)
    listing = text_of(me.get(f"/databases/{database.id}/profiles"))
    assert "Anna" in listing
    assert "cell-edit" not in listing and "hx-delete" not in listing and "New profile" not in listing
    page = text_of(me.get(f"/profiles/{profile.id}"))
    assert "Anna" in page
    assert '<form id="profile-fields"' not in page and "Unsubscribe</button>" not in page
    assert "hx-post" not in page.split("</header>", 1)[1]

    attempts = [
        me.post(f"/profiles/{profile.id}/fields/{first_name.id}", {f"field-{first_name.id}": "X"}, htmx=True),
        me.post(f"/profiles/{profile.id}", {f"field-{first_name.id}": "X"}),
        me.post(f"/profiles/{profile.id}/interests", {"interest": []}),
        me.post(f"/profiles/{profile.id}/unsubscribe"),
        me.post(f"/databases/{database.id}/profiles/new", {f"field-{first_name.id}": "X"}),
        me.delete(f"/profiles/{profile.id}/delete"),
        me.get(f"/profiles/{profile.id}/fields/{first_name.id}/edit", htmx=True),
    ]
    assert [response.status_code for response in attempts] == [403] * len(attempts)
    db.session.refresh(profile)
    assert profile.fields == {first_name.key: "Anna"}
    assert profile_count() == 1 and len(events_of(profile.id)) == 1


def test_state_changes_need_a_csrf_token(browser, account):
    database = make_database(account)
    profile = make_profile(account, database, FirstName="Anna")
    response = browser("editor", account).post(f"/profiles/{profile.id}/delete", csrf=False)
    assert response.status_code == 400
    assert db.session.get(Profile, profile.id) is not None


def test_another_accounts_profiles_are_not_found(browser, account):
    database = make_database(account)
    profile = make_profile(account, database, FirstName="Anna")
    first_name = field_named(database, "FirstName")
    stranger = browser("admin", make_account("Other"))
    urls = [
        f"/profiles/{profile.id}",
        f"/profiles/{profile.id}/timeline",
        f"/profiles/{profile.id}/fields/{first_name.id}",
        f"/profiles/{profile.id}/fields/{first_name.id}/edit",
        f"/databases/{database.id}/profiles",
        f"/databases/{database.id}/profiles/count",
        f"/databases/{database.id}/profiles/new",
    ]
    assert [stranger.get(url).status_code for url in urls] == [404] * len(urls)
    assert stranger.post(f"/profiles/{profile.id}", {f"field-{first_name.id}": "X"}).status_code == 404
    assert stranger.post(f"/profiles/{profile.id}/unsubscribe").status_code == 404
    assert stranger.delete(f"/profiles/{profile.id}/delete").status_code == 404
    assert "Profile not found." in text_of(stranger.get(f"/profiles/{profile.id}"))
    db.session.refresh(profile)
    assert profile.fields == {first_name.key: "Anna"}


def test_a_field_of_another_database_is_not_a_cell_of_this_profile(browser, account):
    database = make_database(account)
    other = make_database(account, "Other")
    profile = make_profile(account, database, FirstName="Anna")
    foreign = field_named(other, "FirstName")
    me = browser("editor", account)
    assert me.get(f"/profiles/{profile.id}/fields/{foreign.id}/edit", htmx=True).status_code == 404
    assert me.post(f"/profiles/{profile.id}/fields/{foreign.id}", {f"field-{foreign.id}": "X"}).status_code == 404


# --- the profile page -----------------------------------------------------------------------------


def test_profile_page_shows_fields_interests_and_a_masked_code(browser, account):
    database = make_database(account)
    databases.create_interest(account, database.id, "Newsletter", "Mail")
    profile = make_profile(account, database, FirstName="Anna")
    page = text_of(browser("editor", account).get(f"/profiles/{profile.id}"))
    assert '<nav class="breadcrumbs"' in page
    assert f'<a href="/databases/{database.id}/profiles">Customers</a>' in page
    assert f'<h1>Anna <span class="muted small">#{profile.id}</span>' in page  # named by its name field
    assert profile.code not in page and profile.code[-4:] in page
    assert 'value="Anna"' in page
    assert "Newsletter" in page and 'hx-trigger="change"' in page
    assert "subscribed" in page
    assert "Nothing has happened" not in page and "Profile created" in page


def test_profile_form_saves_and_asks_the_timeline_to_reload(browser, account):
    database = make_database(account)
    profile = make_profile(account, database, FirstName="Anna", LastName="Smit")
    by_name = {field.name: field for field in database.fields}
    me = browser("editor", account)
    response = me.post(
        f"/profiles/{profile.id}",
        {
            f"field-{by_name['Email'].id}": "anna@example.com",
            f"field-{by_name['FirstName'].id}": "Anna",
            f"field-{by_name['LastName'].id}": "",
        },
        htmx=True,
    )
    assert response.status_code == 200
    assert "<html" not in text_of(response) and 'id="profile-fields"' in text_of(response)
    triggers = json.loads(response.headers["HX-Trigger"])
    assert triggers["timeline-changed"] is True and triggers["toast"]["message"] == "Profile saved."
    db.session.refresh(profile)
    assert profile.fields == {by_name["Email"].key: "anna@example.com", by_name["FirstName"].key: "Anna"}
    assert events_of(profile.id)[-1].changes["fields"] == {
        by_name["Email"].key: [None, "anna@example.com"],
        by_name["LastName"].key: ["Smit", None],
    }


def test_profile_form_without_javascript_redirects_and_errors_keep_the_page(browser, account):
    database = make_database(account)
    profile = make_profile(account, database, FirstName="Anna")
    email = field_named(database, "Email")
    me = browser("editor", account)
    ok = me.post(f"/profiles/{profile.id}", {f"field-{email.id}": "a@example.com"})
    assert ok.status_code == 303 and ok.headers["Location"].endswith(f"/profiles/{profile.id}")
    bad = me.post(f"/profiles/{profile.id}", {f"field-{email.id}": "bad"})
    assert bad.status_code == 422
    assert "<html" in text_of(bad) and "not a valid email address" in text_of(bad) and 'value="bad"' in text_of(bad)
    db.session.refresh(profile)
    assert profile.fields[email.key] == "a@example.com"


def test_interests_are_toggled_with_htmx(browser, account):
    database = make_database(account)
    news = databases.create_interest(account, database.id, "Newsletter")
    offers = databases.create_interest(account, database.id, "Offers")
    profile = profiles.create_profile(account, database.id, {}, interests={"Offers": True}, origin=SYSTEM)
    me = browser("editor", account)
    response = me.post(f"/profiles/{profile.id}/interests", {"interest": [str(news.id)]}, htmx=True)
    assert response.status_code == 200
    assert re.search(rf'value="{news.id}" checked', text_of(response))
    assert not re.search(rf'value="{offers.id}" checked', text_of(response))
    assert json.loads(response.headers["HX-Trigger"])["toast"]["message"] == "Interests saved."
    db.session.refresh(profile)
    assert profile.interests == [news.id]
    changes = events_of(profile.id)[-1].changes
    assert changes["interests"] == {str(news.id): [False, True], str(offers.id): [True, False]}


def test_unsubscribe_with_behaviour_update_sets_the_configured_values(browser, account):
    database = make_database(account, fields={"Email": "email", "Status": "text"})
    news = databases.create_interest(account, database.id, "Newsletter")
    databases.set_unsubscribe_behaviour(
        account,
        behaviour="update",
        field_values={"Status": "unsubscribed"},
        interest_values={"Newsletter": False},
        database_id=database.id,
    )
    profile = profiles.create_profile(
        account,
        database.id,
        {"Email": "a@example.com", "Status": "active"},
        interests={"Newsletter": True},
        origin=SYSTEM,
    )
    status = field_named(database, "Status")
    me = browser("editor", account)
    before = text_of(me.get(f"/profiles/{profile.id}"))
    assert "Unsubscribing sets Status = unsubscribed, Newsletter = off." in before

    response = me.post(f"/profiles/{profile.id}/unsubscribe", htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/profiles/{profile.id}"
    db.session.refresh(profile)
    assert profile.fields[status.key] == "unsubscribed" and profile.interests == []
    event = events_of(profile.id)[-1]
    assert (event.kind, event.source) == ("unsubscribed", "admin")
    assert event.changes["fields"] == {status.key: ["active", "unsubscribed"]}
    assert event.changes["interests"] == {str(news.id): [True, False]}

    after = text_of(me.get(f"/profiles/{profile.id}"))
    assert "a@example.com is unsubscribed: Status = unsubscribed, Newsletter = off." in after
    assert '<span class="badge danger">unsubscribed</span>' in after
    assert "Unsubscribe</button>" not in after
    assert 'Status</span>: active <span aria-label="becomes">→</span> unsubscribed' in after


def test_unsubscribe_with_behaviour_remove_removes_the_profile(browser, account):
    database = make_database(account)
    databases.set_unsubscribe_behaviour(account, behaviour="remove", database_id=database.id)
    profile_id = make_profile(account, database, FirstName="Anna").id
    me = browser("editor", account)
    response = me.post(f"/profiles/{profile_id}/unsubscribe")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/databases/{database.id}/profiles")
    assert db.session.get(Profile, profile_id) is None
    assert [event.kind for event in events_of(profile_id)] == ["profile_created", "unsubscribed", "profile_removed"]
    assert "removed" in text_of(me.get(response.headers["Location"]))


def test_unsubscribe_with_behaviour_nothing_warns(browser, account):
    database = make_database(account)
    databases.set_unsubscribe_behaviour(account, behaviour="nothing", database_id=database.id)
    profile = make_profile(account, database, FirstName="Anna")
    me = browser("editor", account)
    response = me.post(f"/profiles/{profile.id}/unsubscribe")
    page = text_of(me.get(response.headers["Location"]))
    assert "unlawful in the EU" in page
    assert events_of(profile.id)[-1].kind == "unsubscribed"
    assert "no values were changed" in page


# --- the timeline ---------------------------------------------------------------------------------


def test_timeline_names_fields_marks_removed_ones_and_uses_the_account_time_zone(browser, account):
    account.time_zone = "America/New_York"
    db.session.commit()
    database = make_database(account)
    extra = fields.create_field(account, FieldSpec(name="Extra"), database_id=database.id)
    news = databases.create_interest(account, database.id, "Newsletter")
    profile = make_profile(account, database, FirstName="Anna", Extra="gone soon")
    profiles.update_profile(
        account,
        profile.id,
        {"FirstName": "Anne"},
        interests={"Newsletter": True},
        origin=Origin("soap", actor="token:1"),
    )
    fields.delete_field(account, extra.id)
    page = text_of(browser("viewer", account).get(f"/profiles/{profile.id}"))
    timeline = page.split('id="timeline"', 1)[1]
    assert timeline.index("Profile updated") < timeline.index("Profile created")
    assert "SOAP API · token:1" in timeline
    assert '<span class="change-name">FirstName</span>: Anna <span aria-label="becomes">→</span> Anne' in timeline
    assert f'<span class="change-name">#{extra.id}</span>: <span class="muted">(empty)</span>' in timeline
    assert f'<span class="change-name">{news.name}</span>: off <span aria-label="becomes">→</span> on' in timeline
    assert "Times in America/New_York" in timeline
    created = events_of(profile.id)[0]
    shown = format_datetime(local_time(account, created.created_at), "medium", locale="en")
    assert shown in timeline
    assert "-05:00" in timeline or "-04:00" in timeline


def test_timeline_loads_more_with_keyset_pages(browser, account):
    database = make_database(account)
    profile = make_profile(account, database, FirstName="v0")
    for number in range(1, 25):
        profiles.update_profile(account, profile.id, {"FirstName": f"v{number}"}, origin=SYSTEM)
    event_ids = [event.id for event in events_of(profile.id)][::-1]
    me = browser("viewer", account)
    page = text_of(me.get(f"/profiles/{profile.id}"))
    assert page.count('class="timeline-entry') == 20
    match = re.search(r'hx-get="(/profiles/\d+/timeline\?before=(\d+))"', page)
    assert match and int(match.group(2)) == event_ids[19]
    more = text_of(me.get(html.unescape(match.group(1)), htmx=True))
    assert more.count('class="timeline-entry') == 5
    assert "Profile created" in more and "Load more" not in more
    assert "v4 <span" not in more and "v1 <span" in more
    # without JavaScript, "Load more" is a link to the profile page showing older events
    fallback = text_of(me.get(f"/profiles/{profile.id}?before={event_ids[19]}"))
    assert fallback.count('class="timeline-entry') == 5 and "Show the newest events" in fallback
    assert me.get(f"/profiles/{profile.id}/timeline?before={event_ids[19]}").status_code == 302


def test_ids_beyond_any_profile_are_not_found(browser, account):
    me = browser("viewer", account)
    huge = 10**22
    assert me.get(f"/profiles/{huge}").status_code == 404
    assert me.get(f"/profiles/{huge}/timeline", htmx=True).status_code == 404
    assert me.get(f"/subprofiles/{huge}", htmx=True).status_code == 404


def test_the_timeline_says_in_words_what_caused_a_change(browser, account):
    from tests.factories import make_form

    database = make_database(account)
    form = make_form(account, database, name="Spring sign-up")
    profile = make_profile(account, database, FirstName="Anna")
    for reference, source in ((str(form.id), "form"), ("import 7", "import"), ("m-1f3a9", "email")):
        profiles.update_profile(
            account, profile.id, {"FirstName": f"Anna {source}"}, origin=Origin(source, reference=reference)
        )
    timeline = text_of(browser("viewer", account).get(f"/profiles/{profile.id}")).split('id="timeline"', 1)[1]
    assert "Through the web form Spring sign-up" in timeline and "By import 7" in timeline
    assert "Reference" not in timeline and "m-1f3a9" not in timeline


def test_a_profile_page_is_titled_by_its_email_or_name(browser, account):
    database = make_database(account)
    by_email = make_profile(account, database, Email="ann@example.com", FirstName="Ann")
    by_name = make_profile(account, database, FirstName="Bob", LastName="Jansen")
    nameless = make_profile(account, database)
    me = browser("viewer", account)
    assert "<h1>ann@example.com" in text_of(me.get(f"/profiles/{by_email.id}"))
    assert "<title>ann@example.com · Customers" in text_of(me.get(f"/profiles/{by_email.id}"))
    assert "<h1>Bob Jansen" in text_of(me.get(f"/profiles/{by_name.id}"))
    assert f"<h1>Profile #{nameless.id}" in text_of(me.get(f"/profiles/{nameless.id}"))


def test_inline_edit_of_a_number_over_the_int_digit_limit_is_a_field_error(browser, account):
    database = make_database(account, fields={"Email": "email", "Score": "number"})
    profile = make_profile(account, database, Email="anna@example.com", Score=5)
    score = field_named(database, "Score")
    response = browser("editor", account).post(
        f"/profiles/{profile.id}/fields/{score.id}", {f"field-{score.id}": "9" * 5000}, htmx=True
    )
    assert response.status_code == 422 and "at most 30 digits" in text_of(response)
    db.session.refresh(profile)
    assert profile.fields[score.key] == 5
