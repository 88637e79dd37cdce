"""The profile list's conditions through the admin: rows in the URL (bookmarkable), the form's operators per
field type, adding and removing rows, a bulk action over every match of the conditions, save as selection."""

import re
from urllib.parse import urlencode

from sqlalchemy import select

from tests.factories import make_database
from webapp.extensions import db
from webapp.models import BulkRun, Profile, Selection
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin


def text_of(response) -> str:
    return response.get_data(as_text=True)


def row_ids(page: str) -> list[int]:
    return [int(number) for number in re.findall(r'<tr id="profile-(\d+)"', page)]


def shop_of(account):
    database = make_database(
        account,
        "Shop",
        fields={
            "Email": {"type": "email", "indexed": True},
            "Score": "number",
            "Secret": {"type": "text", "hidden": True},
        },
    )
    news = databases.create_interest(account, database.id, "News")
    made = [
        profiles.create_profile(
            account,
            database.id,
            {"Email": f"p{i}@example.{'nl' if i < 3 else 'com'}", "Score": i * 10},
            interests={news.id: i % 2 == 0},
            origin=Origin("admin"),
        )
        for i in range(5)
    ]
    return database, news, made


def field(database, name):
    return next(f for f in database.fields if f.name == name)


def conditions(*rows) -> str:
    return urlencode([pair for subject, op, value in rows for pair in (("ff", subject), ("fo", op), ("fv", value))])


def test_conditions_in_the_url_narrow_the_list_and_its_count(browser):
    me = browser("viewer")
    database, news, made = shop_of(me.user.account)
    score = field(database, "Score")
    url = f"/databases/{database.id}/profiles"
    query = conditions((f"field:{score.id}", ">", "15"), (f"interest:{news.id}", "has", ""))
    assert row_ids(text_of(me.get(f"{url}?{query}", htmx=True))) == [made[2].id, made[4].id]
    assert "2 profiles match" in text_of(me.get(f"{url}/count?{query}"))
    assert row_ids(text_of(me.get(f"{url}?q=example.nl&{query}", htmx=True))) == [made[2].id]
    page = text_of(me.get(f"{url}?{query}"))  # the bookmarked URL shows its rows in the form
    assert f'<option value="field:{score.id}" selected>' in page and '<option value="&gt;" selected>' in page
    assert f'<option value="interest:{news.id}" selected>' in page
    assert f'field:{field(database, "Secret").id}"' not in page  # a hidden field is never offered


def test_a_bad_condition_is_said_and_the_list_shown_unfiltered(browser):
    me = browser("viewer")
    database, _news, made = shop_of(me.user.account)
    score = field(database, "Score")
    page = text_of(me.get(f"/databases/{database.id}/profiles?{conditions((f'field:{score.id}', '>', 'many'))}"))
    assert "Score" in page and 'role="alert"' in page
    assert row_ids(page) == [p.id for p in made]


def test_adding_and_removing_a_row_gives_the_url_without_the_button(browser):
    me = browser("viewer")
    database, news, _made = shop_of(me.user.account)
    url = f"/databases/{database.id}/profiles"
    added = me.get(f"{url}?q=p1&add=1")
    assert added.status_code == 303 and "add=" not in added.headers["Location"]
    assert "ff=&fo=&fv=" in added.headers["Location"] and "q=p1" in added.headers["Location"]
    swapped = me.get(f"{url}?q=p1&add=1", htmx=True, headers={"HX-Target": "profiles-page"})
    assert 'id="profiles-page"' in text_of(swapped) and "add=" not in swapped.headers["HX-Push-Url"]
    two = conditions((f"interest:{news.id}", "has", ""), (f"field:{field(database, 'Score').id}", "=", "0"))
    dropped = me.get(f"{url}?{two}&drop=0")
    assert dropped.status_code == 303 and "interest" not in dropped.headers["Location"]
    # a row whose field changed gets the operators of the new field (contains is not a number's)
    score_contains = conditions((f"field:{field(database, 'Score').id}", "contains", ""))
    changed = text_of(me.get(f"{url}?{score_contains}"))
    assert '<option value="=" selected>' in changed and 'value="contains"' not in changed


def test_a_bulk_action_over_every_match_of_the_conditions(browser):
    me = browser("editor")
    database, news, made = shop_of(me.user.account)
    score = field(database, "Score")
    rows = [(f"field:{score.id}", "<", "25")]
    page = text_of(me.get(f"/databases/{database.id}/profiles?{conditions(*rows)}"))
    assert f'name="ff" value="field:{score.id}"' in page  # the bulk form carries the conditions
    data = {"scope": "all", "action": "remove_interest", "interest_id": news.id}
    form = {**data, "ff": [rows[0][0]], "fo": [rows[0][1]], "fv": [rows[0][2]]}
    asked = text_of(me.post(f"/databases/{database.id}/bulk", form))
    assert "Remove the interest News from 3 profiles?" in asked
    assert f'name="ff" value="field:{score.id}"' in asked and 'name="fo" value="&lt;"' in asked
    me.post(f"/databases/{database.id}/bulk", {**form, "confirmed": "yes"})
    run = db.session.scalars(select(BulkRun)).one()
    assert run.selection["rules"]["rules"] == [{"field_id": score.id, "operator": "<", "value": 25}]
    db.session.expire_all()
    assert [db.session.get(Profile, p.id).interests for p in made] == [[], [], [], [], [news.id]]


def test_save_the_filtered_list_as_a_selection(browser):
    me = browser("editor")
    database, news, _made = shop_of(me.user.account)
    form = {"name": "News in nl", "q": "example.nl", "ff": [f"interest:{news.id}"], "fo": ["has"], "fv": [""]}
    listed = conditions((f"interest:{news.id}", "has", ""))
    page = text_of(me.get(f"/databases/{database.id}/profiles?q=example.nl&{listed}"))
    assert "Save as selection" in page
    saved = me.post(f"/databases/{database.id}/profiles/selection", form, htmx=True)
    selection = db.session.scalars(select(Selection).where(Selection.name == "News in nl")).one()
    assert saved.headers["HX-Redirect"] == f"/selections/{selection.id}"
    members = text_of(me.get(f"/selections/{selection.id}/members"))
    assert "p0@example.nl" in members and "p2@example.nl" in members and "p1@example.nl" not in members
    assert "p4@example.com" not in members
    refused = me.post(f"/databases/{database.id}/profiles/selection", {**form, "name": ""}, htmx=True)
    assert refused.headers["HX-Redirect"].startswith(f"/databases/{database.id}/profiles?")
    viewer = browser("viewer", me.user.account)
    assert "Save as selection" not in text_of(viewer.get(f"/databases/{database.id}/profiles?q=example.nl"))
    assert viewer.post(f"/databases/{database.id}/profiles/selection", form).status_code == 403
