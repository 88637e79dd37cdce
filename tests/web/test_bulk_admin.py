"""Bulk actions through the admin: the list's form, the confirmation that names the count, the run's page with its
undo, roles, and the export download."""

import re

from sqlalchemy import select

from tests.factories import make_database
from webapp.extensions import db
from webapp.models import BulkRun, Profile
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin


def text_of(response) -> str:
    return response.get_data(as_text=True)


def shop_of(account):
    database = make_database(account, "Shop")
    news = databases.create_interest(account, database.id, "News")
    made = [
        profiles.create_profile(
            account, database.id, {"Email": f"p{i}@example.{'nl' if i < 3 else 'com'}"}, origin=Origin("admin")
        )
        for i in range(5)
    ]
    return database, news, made


def test_the_list_offers_ticks_and_the_bulk_form_to_editors_only(browser):
    editor = browser("editor")
    database, _news, made = shop_of(editor.user.account)
    page = text_of(editor.get(f"/databases/{database.id}/profiles"))
    assert 'id="bulk-form"' in page and f'name="id" value="{made[0].id}" form="bulk-form"' in page
    assert ">p0@example.nl</a>" in page and f">#{made[0].id}<" not in page  # named by email, not by number
    assert 'value="export"' not in page  # exports are for admins
    viewer = browser("viewer", editor.user.account)
    assert 'id="bulk-form"' not in text_of(viewer.get(f"/databases/{database.id}/profiles"))
    assert viewer.post(f"/databases/{database.id}/bulk", {"action": "delete", "id": made[0].id}).status_code == 403


def test_ticked_profiles_get_an_interest_after_a_confirmation_and_the_undo_takes_it_away(browser):
    me = browser("editor")
    database, news, made = shop_of(me.user.account)
    data = {"scope": "picked", "action": "add_interest", "interest_id": news.id, "id": [made[0].id, made[3].id]}
    asked = text_of(me.post(f"/databases/{database.id}/bulk", data))
    assert "Add the interest News to 2 profiles?" in asked and 'name="confirmed" value="yes"' in asked
    assert db.session.get(Profile, made[0].id).interests == []  # nothing happened yet
    done = me.post(f"/databases/{database.id}/bulk", {**data, "confirmed": "yes"})
    assert done.status_code == 303
    run = db.session.scalars(select(BulkRun)).one()
    assert done.headers["Location"].endswith(f"/bulk/{run.id}")
    page = text_of(me.get(f"/bulk/{run.id}"))
    assert re.search(r'data-figure="changed">2<', page) and f'href="/bulk/{run.id}/undo"' in page
    db.session.expire_all()
    assert [db.session.get(Profile, p.id).interests for p in made] == [[news.id], [], [], [news.id], []]

    assert "Undo this bulk action?" in text_of(me.get(f"/bulk/{run.id}/undo"))
    me.post(f"/bulk/{run.id}/undo", {})
    db.session.expire_all()
    assert [db.session.get(Profile, p.id).interests for p in made] == [[]] * 5
    assert "undone" in text_of(me.get(f"/databases/{database.id}/bulk"))


def test_all_matches_of_the_search_are_deleted_and_come_back(browser):
    me = browser("editor")
    database, _news, made = shop_of(me.user.account)
    ids = [p.id for p in made]
    data = {"scope": "all", "action": "delete", "q": "example.nl", "confirmed": "yes"}
    asked = text_of(me.post(f"/databases/{database.id}/bulk", {**data, "confirmed": ""}))
    assert "Delete 3 profiles with their subprofiles?" in asked
    me.post(f"/databases/{database.id}/bulk", data)
    db.session.expire_all()
    assert [db.session.get(Profile, i) is not None for i in ids] == [False, False, False, True, True]
    run = db.session.scalars(select(BulkRun)).one()
    me.post(f"/bulk/{run.id}/undo", {})
    db.session.expire_all()
    assert all(db.session.get(Profile, i) is not None for i in ids)


def test_bad_input_goes_back_to_the_list_with_a_clear_message(browser):
    me = browser("editor")
    database, _news, made = shop_of(me.user.account)
    email = next(f for f in database.fields if f.name == "FirstName")
    nothing = me.post(f"/databases/{database.id}/bulk", {"scope": "picked", "action": "delete"})
    assert nothing.status_code == 303
    assert "Pick profiles in the list" in text_of(me.get(nothing.headers["Location"]))
    refused = me.post(
        f"/databases/{database.id}/bulk",
        {
            "scope": "picked",
            "action": "set_field",
            "field": email.id,
            "value": "x" * 300,
            "id": made[0].id,
            "confirmed": "yes",
        },
    )
    assert "FirstName" in text_of(me.get(refused.headers["Location"]))
    assert db.session.scalars(select(BulkRun)).all() == []


def test_an_export_is_downloaded_by_an_admin(browser, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "BULK_EXPORT_FOLDER", str(tmp_path))
    me = browser("admin")
    database, _news, made = shop_of(me.user.account)
    me.post(f"/databases/{database.id}/bulk", {"scope": "all", "action": "export", "q": ".com", "confirmed": "yes"})
    run = db.session.scalars(select(BulkRun)).one()
    page = text_of(me.get(f"/bulk/{run.id}"))
    assert f'href="/bulk/{run.id}/download"' in page and f'href="/bulk/{run.id}/undo"' not in page
    download = me.get(f"/bulk/{run.id}/download")
    body = download.get_data(as_text=True)
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert "p3@example.com" in body and "p4@example.com" in body and "p0@example.nl" not in body
    editor = browser("editor", me.user.account)
    assert editor.get(f"/bulk/{run.id}/download").status_code == 403
