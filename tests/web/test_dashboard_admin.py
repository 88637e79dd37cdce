"""The dashboard as the first admin screen: figures of the chosen database, SVG charts, links, the health strip."""

import re
from datetime import timedelta

from sqlalchemy import update

from tests.factories import make_account, make_database, make_form, make_form_submission
from webapp.extensions import db
from webapp.models import Profile, utcnow
from webapp.platform import heartbeats
from webapp.profiles import profiles
from webapp.profiles.events import Origin


def text_of(response) -> str:
    return response.get_data(as_text=True)


def figure(page: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}">([^<]*)<', page)
    assert match, name
    return match.group(1).strip()


def test_login_lands_on_the_dashboard_of_the_first_database(browser):
    me = browser("viewer")
    shop = make_database(me.user.account, "Shop")
    for i in range(3):
        profiles.create_profile(me.user.account, shop.id, {"Email": f"p{i}@example.nl"}, origin=Origin("admin"))
    page = text_of(me.get("/"))
    assert "<h1>Dashboard</h1>" in page and 'aria-current="page">Dashboard<' in page
    assert figure(page, "profiles") == "3" and "3 new in 30 days" in page
    assert page.count('<svg class="chart"') >= 5 and "<script" not in page.split("<main", 1)[1].split("</main>")[0]
    assert f'href="/databases/{shop.id}/profiles"' in page and f'href="/databases/{shop.id}/imports"' in page


def test_the_database_picker_chooses_the_figures(browser):
    me = browser("viewer")
    account = me.user.account
    first, second = make_database(account, "Alpha"), make_database(account, "Beta")
    profiles.create_profile(account, second.id, {"Email": "b@example.nl"}, origin=Origin("admin"))
    form = make_form(account, second, name="Newsletter")
    make_form_submission(form, created_at=utcnow() - timedelta(days=1))
    assert figure(text_of(me.get("/")), "profiles") == "0"  # Alpha comes first
    page = text_of(me.get(f"/?database={second.id}"))
    assert figure(page, "profiles") == "1" and "Newsletter" in page and figure(page, "signups") == "1"
    assert f'<option value="{second.id}" selected>Beta</option>' in page
    assert first.id != second.id


def test_profiles_created_before_the_period_count_in_the_total_not_in_the_new(browser):
    me = browser("viewer")
    shop = make_database(me.user.account, "Shop")
    old = profiles.create_profile(me.user.account, shop.id, {"Email": "old@example.nl"}, origin=Origin("admin"))
    profiles.create_profile(me.user.account, shop.id, {"Email": "new@example.nl"}, origin=Origin("admin"))
    db.session.execute(update(Profile).where(Profile.id == old.id).values(created_at=utcnow() - timedelta(days=90)))
    page = text_of(me.get("/"))
    assert figure(page, "profiles") == "2" and "1 new in 30 days" in page


def test_the_health_strip_says_when_no_worker_or_dispatcher_runs(browser):
    me = browser("owner")
    make_database(me.user.account, "Shop")
    page = text_of(me.get("/"))
    assert "No worker and no dispatcher is running" in page and 'href="/jobs"' in page
    heartbeats.beat(heartbeats.WORKER, "w1")
    heartbeats.beat(heartbeats.DISPATCHER, "d1")
    assert "is running" not in text_of(me.get("/"))


def test_no_database_yet_leads_to_creating_one(browser):
    page = text_of(browser("admin").get("/"))
    assert "No databases yet" in page and 'href="/databases"' in page


def test_another_accounts_database_is_not_found(browser):
    theirs = make_database(make_account("Other"), "Theirs")
    assert browser("owner").get(f"/?database={theirs.id}").status_code == 404
