"""Every admin page at phone width (375 px) and at 1280 px: the document never scrolls sideways.

The pages are found by crawling: from the databases page, every same-site link of each page visited (the
navigation, tabs, rows, "edit" and "new" links), one page per URL shape (``/profiles/7`` and ``/profiles/8``
are one shape), with data made in the test so that lists, detail pages and builders have something to show.
A page added later is covered once something links to it.
"""

import re
from collections import deque
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD, make_account, make_followup, make_form_submission, make_user
from tests.survey_fixtures import make_survey
from webapp.bulk import runs as bulk_runs
from webapp.bulk.runs import Picked
from webapp.callbacks.definitions import create_callback
from webapp.email.templates import TemplateValues, save_template
from webapp.extensions import db
from webapp.profiles import databases
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.profiles.profiles import create_profile
from webapp.profiles.subprofiles import create_subprofile
from webapp.webforms import builder, items

pytestmark = pytest.mark.browser

PHONE, DESKTOP = {"width": 375, "height": 812}, {"width": 1280, "height": 900}
# Not pages: downloads, the public pages, and actions a GET would confirm rather than show.
SKIPPED = re.compile(r"\.(csv|json|js|css|ico|png|svg)$|^/(static|f|p|t|soap|embed)/|/download|/logout")
MAX_PAGES = 200


def shape(path: str) -> str:
    """The path with its ids (numbers, and the hex ids of form items) as ``N``."""
    return re.sub(r"/(\d+|[0-9a-f]{8})(?=/|$)", "/N", path)


@pytest.fixture
def owner_page(page, verrijk, ctx):
    """An owner logged in, with a database of every kind of thing the admin lists and shows."""
    user = make_user(make_account("Acme"), "owner")
    account = user.account
    database = databases.create_database(account, "Newsletter", subscription=True)
    for name, kind in (("Email", "email"), ("FirstName", "text"), ("Birthday", "date")):
        create_field(account, FieldSpec(name=name, type=kind, indexed=name == "Email"), database_id=database.id)
    databases.create_interest(account, database.id, "Weekly")
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="OrderNumber", type="text"), collection_id=orders.id)
    profile = create_profile(
        account, database.id, {"Email": "ann.van.der.berg@example.com", "FirstName": "Ann"}, origin=Origin("admin")
    )
    create_subprofile(account, profile.id, orders.id, {"OrderNumber": "A-1001"}, origin=Origin("admin"))
    form = builder.create_form(account, database.id, name="Sign-up")
    for field in database.fields[1:3]:
        items.add_item(account, form.id, "field", field_id=field.id)
    items.add_item(account, form.id, "interest", interest_id=database.interests[0].id)
    make_form_submission(form, profile=profile)
    save_template(
        account,
        TemplateValues(
            name="Welcome", subject="Welcome, {{ profile.FirstName }}", html="<p>Hello</p>", database_id=database.id
        ),
    )
    make_followup(account, database, trigger={"kind": "profile_created"}, actions=[{"type": "unsubscribe"}])
    create_callback(account, database.id, url="https://hooks.example/verrijk")
    add_sent_mailing(account, database, profile)
    weekly = database.interests[0].id
    bulk_runs.start(account, database.id, "add_interest", Picked(ids=(profile.id,)), params={"interest": weekly})
    page.survey = make_survey(account)  # its own database, with the fields the survey maps to
    db.session.commit()
    page.goto(f"{verrijk.url}/login")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("nav.mainnav")).to_be_visible()
    return page


def add_sent_mailing(account, database, profile) -> None:
    """A mailing sent to the profile, with an open and a click: its page shows results, the chart, a link."""
    from webapp.email.templates import list_templates
    from webapp.mailings import definitions, lifecycle, results
    from webapp.models import EmailResult, Selection, utcnow

    everyone = Selection(account_id=account.id, database_id=database.id, name="Everyone", rules={})
    db.session.add(everyone)
    db.session.commit()
    values = definitions.MailingValues(
        name="December news with a rather long name that must wrap on a phone",
        database_id=database.id,
        template_id=list_templates(account)[0].id,
        target_ids=[everyone.id],
        variants=[{"subject": "Version A"}, {"subject": "Version B"}],
    )
    mailing = definitions.create_mailing(account, values)
    lifecycle.send_now(account, mailing.id)
    now = utcnow()
    db.session.add(
        EmailResult(
            account_id=account.id,
            database_id=database.id,
            profile_id=profile.id,
            mailing_id=mailing.id,
            category="marketing",
            sent_at=now,
            opened_at=now,
            open_count=2,
            clicked_at=now,
            click_count=1,
            bounce="",
        )
    )
    results.count_link_click(mailing.id, "https://shop.example/a/very/long/path/that/must/not/push/the/page/sideways")
    definitions.create_mailing(
        account,
        definitions.MailingValues(
            name="Draft", database_id=database.id, template_id=values.template_id, target_ids=[everyone.id]
        ),
    )


def crawl(page, start: str) -> list[str]:
    """The admin pages reachable from ``start``: one URL per shape, in the order found."""
    origin = "{0.scheme}://{0.netloc}".format(urlsplit(start))
    seen, found, queue = set(), [], deque([start])
    while queue and len(found) < MAX_PAGES:
        url = queue.popleft()
        response = page.goto(url)
        if response is None or response.status != 200 or not page.url.startswith(origin):
            continue
        found.append(url)
        for href in page.eval_on_selector_all("a[href]", "links => links.map(link => link.href)"):
            parts = urlsplit(href)
            if f"{parts.scheme}://{parts.netloc}" != origin or SKIPPED.search(parts.path):
                continue
            key = shape(parts.path)
            if key not in seen:
                seen.add(key)
                queue.append(origin + parts.path + (f"?{parts.query}" if parts.query else ""))
    return found


def sideways(page) -> int:
    """How far the document reaches past the window's right edge (0: no sideways scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


# For the failure message: the elements past the right edge, with where they start and end, the first that
# stick out of a parent that does not (the cause) when there are such, else all (e.g. an absolutely placed
# element that a scrolling table does not clip).
OFFENDERS_JS = """() => {
  const edge = document.documentElement.clientWidth + 0.5;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.classList.length ? '.' + [...el.classList].join('.') : '');
  const where = (el) => {
    const box = el.getBoundingClientRect();
    return `${name(el)} (${Math.round(box.left)}-${Math.round(box.right)}, ${getComputedStyle(el).position})`;
  };
  const clipped = (el) => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  const past = [...document.body.querySelectorAll('*')].filter((el) => el.getBoundingClientRect().right > edge);
  const causes = past.filter((el) => !clipped(el) && el.parentElement.getBoundingClientRect().right <= edge);
  return (causes.length ? causes : past).slice(0, 6).map(where);
}"""


def test_every_admin_page_fits_a_phone_and_a_desktop(owner_page, verrijk):
    page = owner_page
    pages = crawl(page, f"{verrijk.url}/")
    assert len(pages) >= 25, pages  # the crawl reached the areas: databases, forms, follow-ups, email, account
    too_wide = {}
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        for url in pages:
            page.goto(url)
            overflow = sideways(page)
            if overflow > 0:
                where = f"{viewport['width']} {url.removeprefix(verrijk.url)}"
                too_wide[where] = f"{overflow} px: {', '.join(page.evaluate(OFFENDERS_JS))}"
    assert too_wide == {}


def test_the_survey_builder_with_an_item_and_a_page_open_fits_a_phone(owner_page, verrijk):
    """The crawl sees one URL per shape: the builder's open item and page forms (and its folded settings and
    JSON editor, unfolded) are looked at here."""
    page = owner_page
    page.set_viewport_size(PHONE)
    too_wide = {}
    for query in ("", "?item=colour", "?item=service", "?item=why_red", "?item=intro", "?page=0"):
        page.goto(f"{verrijk.url}/surveys/{page.survey.id}{query}")
        expect(page.get_by_role("heading", name="Pages and questions")).to_be_visible()
        page.evaluate("document.querySelectorAll('details').forEach(d => { d.open = true; })")  # settings, JSON
        overflow = sideways(page)
        if overflow > 0:
            too_wide[query] = f"{overflow} px: {', '.join(page.evaluate(OFFENDERS_JS))}"
    assert too_wide == {}
