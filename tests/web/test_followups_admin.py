"""The follow-ups admin: list, builder (every step kind round-trips through the page), errors per step, roles,
pause/resume, runs (cancel, retry, review) and the profile panel."""

import json
import re
from html.parser import HTMLParser

import pytest

from tests.factories import make_account, make_database, make_followup, make_followup_run, make_form
from webapp.extensions import db
from webapp.models import EmailTemplate, FollowUp, FollowUpRun
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field


class FormValues(HTMLParser):
    """What a browser would post for the form whose ``action`` is given (no submit buttons, no JS)."""

    def __init__(self, action: str):
        super().__init__()
        self.action, self.inside, self.select, self.option_seen = action, False, None, False
        self.values: list[tuple[str, str]] = []
        self.disabled = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("action") == self.action:
            self.inside = True
        if not self.inside:
            return
        if tag == "fieldset" and "disabled" in attrs:
            self.disabled = True
        if tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.values.append((attrs["name"], attrs.get("value", "")))
        elif tag == "select" and attrs.get("name"):
            self.select = {"name": attrs["name"], "first": None, "chosen": None}
        elif tag == "option" and self.select is not None:
            value = attrs.get("value", "")
            if self.select["first"] is None:
                self.select["first"] = value
            if "selected" in attrs:
                self.select["chosen"] = value

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        if tag == "select" and self.select is not None:
            chosen = self.select["chosen"] if self.select["chosen"] is not None else self.select["first"]
            self.values.append((self.select["name"], chosen or ""))
            self.select = None

    def data(self) -> dict[str, list[str]]:
        posted: dict[str, list[str]] = {}
        for name, value in self.values:
            posted.setdefault(name, []).append(value)
        return posted


def form_values(html: str, action: str) -> dict[str, list[str]]:
    parser = FormValues(action)
    parser.feed(html)
    return parser.data()


@pytest.fixture
def shop(account):
    database = make_database(
        account,
        "Shop",
        fields={
            "Email": {"type": "email"},
            "FirstName": "text",
            "Newsletter": "text",
            "Birthday": "date",
            "Age": "number",
        },
    )
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Total", type="decimal"), collection_id=orders.id)
    databases.create_interest(account, database.id, "Bikes")
    db.session.refresh(database)
    return database


def field(database, name):
    return next(item for item in database.fields if item.name == name)


def template(account, database, name="Welcome"):
    row = EmailTemplate(account_id=account.id, database_id=database.id, name=name, subject="Hi", text="Hello")
    db.session.add(row)
    db.session.commit()
    return row


def stored(followup_id: int) -> dict:
    db.session.expire_all()
    item = db.session.get(FollowUp, followup_id)
    return {
        "name": item.name,
        "collection_id": item.collection_id,
        "form_id": item.form_id,
        "trigger": item.trigger,
        "activation_condition": item.activation_condition,
        "execution_condition": item.execution_condition,
        "delay": item.delay,
        "actions": item.actions,
    }


# --- lists and navigation ------------------------------------------------------------------------------------


def test_the_database_tab_lists_follow_ups_with_status_and_waiting_runs(browser, account, shop):
    followup = make_followup(
        account, shop, name="Welcome mail", trigger={"kind": "profile_created"}, actions=[{"type": "unsubscribe"}]
    )
    make_followup_run(followup, None)
    make_followup_run(followup, None, status="review")
    page = browser("viewer", account).get(f"/databases/{shop.id}/followups").get_data(as_text=True)
    assert "Welcome mail" in page and "A profile is created" in page
    assert f'href="/followups/{followup.id}/runs">1</a>' in page and "needs review: 1" in page
    assert "New follow-up" not in page  # viewers cannot build
    editor_page = browser("editor", account).get(f"/databases/{shop.id}/followups").get_data(as_text=True)
    assert f"/databases/{shop.id}/followups/new" in editor_page
    assert f"/databases/{shop.id}/followups/new?collection={shop.collections[0].id}" in editor_page


def test_the_overview_lists_every_databases_follow_ups(browser, account, shop):
    make_followup(
        account, shop, name="Shop mail", trigger={"kind": "profile_created"}, actions=[{"type": "unsubscribe"}]
    )
    other = make_account("Other")
    make_followup(
        other,
        make_database(other, "Theirs"),
        name="Foreign",
        trigger={"kind": "profile_created"},
        actions=[{"type": "unsubscribe"}],
    )
    page = browser("viewer", account).get("/followups").get_data(as_text=True)
    assert "Shop mail" in page and "Shop" in page and "Foreign" not in page


# --- the builder ------------------------------------------------------------------------------------------------


def test_creating_a_follow_up(browser, account, shop):
    editor = browser("editor", account)
    page = editor.get(f"/databases/{shop.id}/followups/new")
    assert page.status_code == 200
    data = form_values(page.get_data(as_text=True), f"/databases/{shop.id}/followups")
    data.update({"name": ["Welcome"], "op": ["add-action"], "new_action": ["unsubscribe"]})
    with_action = editor.post(f"/databases/{shop.id}/followups", data, htmx=True)
    assert with_action.status_code == 200 and db.session.query(FollowUp).count() == 0  # not saved yet
    data = form_values(with_action.get_data(as_text=True), f"/databases/{shop.id}/followups")
    assert data["action-0-type"] == ["unsubscribe"]
    response = editor.post(f"/databases/{shop.id}/followups", data, htmx=True)
    followup = db.session.query(FollowUp).one()
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/followups/{followup.id}"
    assert followup.name == "Welcome" and followup.status == "active" and followup.actions == [{"type": "unsubscribe"}]


def definitions(account, shop) -> list[dict]:
    """Follow-ups that together use every trigger, rule, delay and action kind."""
    orders, bikes, birthday = shop.collections[0], shop.interests[0], field(shop, "Birthday")
    mail, form = template(account, shop), make_form(account, shop)
    everything = [
        {"type": "send_email", "template_id": mail.id},
        {
            "type": "update_fields",
            "values": {
                str(field(shop, "FirstName").id): "{{ profile.FirstName|upper }}",
                str(field(shop, "Newsletter").id): "",
            },
        },
        {"type": "create_subprofile", "collection_id": orders.id, "values": {str(orders.fields[0].id): "9.95"}},
        {"type": "set_interests", "interests": {str(bikes.id): False}},
        {"type": "webhook", "url": "https://example.com/hook"},
        {"type": "unsubscribe"},
        {"type": "remove_profile"},
    ]
    rules = {
        "match": "any",
        "rules": [
            {"field_id": field(shop, "Age").id, "operator": ">", "value": "17"},
            {"field_id": field(shop, "Newsletter").id, "operator": "in", "value": ["yes", "ja"]},
            {"field_id": field(shop, "FirstName").id, "operator": "not_empty"},
            {"interest_id": bikes.id, "value": True},
            {"subscribed": False},
            {"match": "all", "rules": [{"subscribed": True}]},
        ],
    }
    return [
        {
            "trigger": {
                "kind": "profile_updated",
                "fields": [field(shop, "Newsletter").id],
                "to_value": "yes",
                "exclude_sources": ["import"],
            },
            "activation_condition": rules,
            "delay": {"kind": "duration", "seconds": 86400},
            "actions": everything,
        },
        {
            "trigger": {"kind": "subprofile_updated", "fields": [orders.fields[0].id]},
            "collection_id": orders.id,
            "execution_condition": {
                "match": "all",
                "rules": [{"field_id": orders.fields[0].id, "operator": "<", "value": "10"}],
            },
            "delay": {"kind": "time_of_day", "time": "09:00"},
            "actions": [{"type": "unsubscribe"}],
        },
        {
            "trigger": {
                "kind": "date_field",
                "field_id": birthday.id,
                "offset_days": -1,
                "time": "08:15",
                "yearly": True,
            },
            "delay": {"kind": "date_field", "field_id": birthday.id, "offset_days": 2, "time": "10:00"},
            "actions": [{"type": "remove_profile"}],
        },
        {
            "trigger": {"kind": "email_clicked", "link": "https://example.com/offer"},
            "delay": {"kind": "duration", "seconds": 5400},
            "actions": [{"type": "unsubscribe"}],
        },
        {"trigger": {"kind": "form_submitted"}, "form_id": form.id, "actions": [{"type": "unsubscribe"}]},
        *[
            {"trigger": {"kind": kind}, "actions": [{"type": "unsubscribe"}]}
            for kind in (
                "profile_created",
                "profile_removed",
                "subprofile_created",
                "subprofile_removed",
                "survey_completed",
                "email_opened",
                "unsubscribed",
                "bounced",
            )
        ],
    ]


def test_every_step_kind_round_trips_through_the_builder(browser, account, shop):
    editor = browser("editor", account)
    for number, definition in enumerate(definitions(account, shop)):
        definition = dict(definition)
        form_id = definition.pop("form_id", None)
        collection_id = definition.pop("collection_id", None)
        if definition["trigger"]["kind"].startswith("subprofile"):
            collection_id = shop.collections[0].id
        followup = make_followup(account, shop, name=f"F{number}", collection_id=collection_id, **definition)
        if form_id:
            followup.form_id = form_id
            db.session.commit()
        before = stored(followup.id)
        html = editor.get(f"/followups/{followup.id}").get_data(as_text=True)
        response = editor.post(f"/followups/{followup.id}", form_values(html, f"/followups/{followup.id}"), htmx=True)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert stored(followup.id) == before, definition["trigger"]["kind"]


def test_every_row_button_changes_the_form_without_saving(browser, account, shop):
    followup = make_followup(
        account,
        shop,
        trigger={"kind": "profile_created"},
        actions=[{"type": "unsubscribe"}, {"type": "remove_profile"}],
    )
    editor = browser("editor", account)
    url = f"/followups/{followup.id}"
    data = form_values(editor.get(url).get_data(as_text=True), url)
    before = stored(followup.id)

    def press(operation: str, **extra) -> dict:
        response = editor.post(url, {**data, "op": operation, **extra}, htmx=True)
        assert response.status_code == 200
        return form_values(response.get_data(as_text=True), url)

    assert "activation-0-kind" in press("add-rule:activation") and "execution-0-kind" in press("add-rule:execution")
    moved = press("up-action:1")
    assert moved["action-0-type"] == ["remove_profile"] and moved["action-1-type"] == ["unsubscribe"]
    assert "action-1-type" not in press("remove-action:0")
    assert press("add-action", new_action="webhook")["action-2-type"] == ["webhook"]
    switched = press("refresh", **{"delay-kind": "duration"})
    assert switched["delay-unit"] == ["hours"] and "delay-amount" in switched
    assert stored(followup.id) == before


def test_creating_a_follow_up_with_an_or_group_inside_an_and_condition(browser, account, shop):
    """Subscribed AND (Newsletter is yes OR has the interest Bikes), built with the row buttons alone."""
    editor, url = browser("editor", account), f"/databases/{shop.id}/followups"
    newsletter, bikes = field(shop, "Newsletter"), shop.interests[0]
    data = form_values(editor.get(f"{url}/new").get_data(as_text=True), url)

    def press(operation: str, **changes) -> dict:
        response = editor.post(url, {**data, **changes, "op": operation}, htmx=True)
        assert response.status_code == 200 and db.session.query(FollowUp).count() == 0
        return form_values(response.get_data(as_text=True), url)

    data = press("add-rule:activation")
    data = press("refresh", **{"activation-0-kind": "subscribed"})
    data = press("add-group:activation")
    assert data["activation-match"] == ["all"] and data["activation-1-kind"] == ["group"]
    assert data["activation-1-match"] == ["any"] and "activation-1-rules-0-field_id" in data
    data = press("add-rule:activation:1", **{"activation-1-rules-0-field_id": str(newsletter.id)})
    data = press("refresh", **{"activation-1-rules-0-value": "yes", "activation-1-rules-1-kind": "interest"})
    data.update({"name": ["Newsletter or bikes"], "activation-1-rules-1-interest_id": [str(bikes.id)]})
    data.update({"action-0-type": ["unsubscribe"]})
    response = editor.post(url, data, htmx=True)
    assert response.status_code == 204, response.get_data(as_text=True)
    followup = db.session.query(FollowUp).one()
    expected = {
        "match": "all",
        "rules": [
            {"subscribed": True},
            {
                "match": "any",
                "rules": [
                    {"field_id": newsletter.id, "operator": "=", "value": "yes"},
                    {"interest_id": bikes.id, "value": True},
                ],
            },
        ],
    }
    assert followup.activation_condition == expected
    page = editor.get(f"/followups/{followup.id}").get_data(as_text=True)
    shown = form_values(page, f"/followups/{followup.id}")
    assert shown["activation-1-kind"] == ["group"] and shown["activation-1-match"] == ["any"]
    assert shown["activation-1-rules-0-field_id"] == [str(newsletter.id)]
    assert shown["activation-1-rules-0-value"] == ["yes"]
    assert shown["activation-1-rules-1-interest_id"] == [str(bikes.id)]
    for operation in ("add-rule:activation:1", "remove-rule:activation:1", "up-rule:activation:1"):
        assert f'value="{operation}"' in page
    for operation in ("remove-rule:activation:1:0", "down-rule:activation:1:0", "up-rule:activation:1:1"):
        assert f'value="{operation}"' in page
    assert 'aria-label="Remove rule 2.1"' in page and "<legend>Group (rule 2)</legend>" in page


def test_a_nested_condition_round_trips_through_the_builder(browser, account, shop):
    """A group inside a group (stored through SOAP, say) is shown read-only and saved back as it was; its
    values are escaped in the page."""
    hostile = '"><script>alert(1)</script>'
    first_name = field(shop, "FirstName")
    deeper = {"match": "all", "rules": [{"field_id": first_name.id, "operator": "=", "value": hostile}]}
    condition = {
        "match": "any",
        "rules": [
            {"subscribed": False},
            {"match": "all", "rules": [{"field_id": first_name.id, "operator": "contains", "value": hostile}, deeper]},
        ],
    }
    followup = make_followup(
        account,
        shop,
        trigger={"kind": "profile_created"},
        execution_condition=condition,
        actions=[{"type": "unsubscribe"}],
    )
    before = stored(followup.id)
    assert before["execution_condition"] == condition
    editor, url = browser("editor", account), f"/followups/{followup.id}"
    page = editor.get(url).get_data(as_text=True)
    assert "<script>alert" not in page and "A nested group of 1 rule (kept as it is)" in page
    data = form_values(page, url)
    assert data["execution-1-kind"] == ["group"] and data["execution-1-rules-1-kind"] == ["group"]
    assert json.loads(data["execution-1-rules-1-group"][0]) == deeper
    assert data["execution-1-rules-0-value"] == [hostile]
    response = editor.post(url, data, htmx=True)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert stored(followup.id) == before
    moved = editor.post(url, {**data, "op": "up-rule:execution:1:1"}, htmx=True)
    assert (
        form_values(moved.get_data(as_text=True), url)["execution-1-rules-0-group"] == data["execution-1-rules-1-group"]
    )


def test_kind_selects_refresh_the_form_through_htmx(browser, account, shop):
    page = browser("editor", account).get(f"/databases/{shop.id}/followups/new").get_data(as_text=True)
    assert re.search(r'name="trigger-kind"\s+hx-post="/databases/\d+/followups" hx-trigger="change"', page)
    assert "&#34;op&#34;: &#34;refresh&#34;" in page
    assert "style=" not in page and page.count("<script") == 2  # strict CSP: only the layout's own scripts


def test_errors_are_shown_next_to_their_step(browser, account, shop):
    editor = browser("editor", account)
    url = f"/databases/{shop.id}/followups"
    response = editor.post(
        url,
        {"name": "", "trigger-kind": "date_field", "delay-kind": "duration", "delay-amount": "", "delay-unit": "hours"},
        htmx=True,
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="card step has-error" id="step-trigger"' in page
    assert 'class="card step has-error" id="step-delay"' in page
    assert 'class="card step has-error" id="step-actions"' in page
    assert 'class="card step" id="step-activation"' in page
    assert "Choose a date field of this database." in page and "Add at least one action." in page
    assert "Give the follow-up a name." in page
    assert db.session.query(FollowUp).count() == 0


def test_an_invalid_change_keeps_the_stored_follow_up(browser, account, shop):
    followup = make_followup(account, shop, trigger={"kind": "profile_created"}, actions=[{"type": "unsubscribe"}])
    before = stored(followup.id)
    response = browser("editor", account).post(
        f"/followups/{followup.id}",
        {
            "name": "Changed",
            "trigger-kind": "profile_created",
            "action-0-type": "webhook",
            "action-0-url": "ftp://x",
        },
        htmx=True,
    )
    assert response.status_code == 422 and 'id="step-actions"' in response.get_data(as_text=True)
    assert stored(followup.id) == before


# --- roles ------------------------------------------------------------------------------------------------------


def test_a_viewer_sees_the_builder_but_cannot_change_anything(browser, account, shop):
    followup = make_followup(account, shop, trigger={"kind": "profile_created"}, actions=[{"type": "unsubscribe"}])
    run = make_followup_run(followup, None)
    viewer = browser("viewer", account)
    page = viewer.get(f"/followups/{followup.id}").get_data(as_text=True)
    assert '<fieldset class="plain" disabled>' in page and "Save follow-up" not in page and "Pause" not in page
    assert viewer.get(f"/followups/{followup.id}/runs").status_code == 200
    for url in (
        f"/followups/{followup.id}",
        f"/followups/{followup.id}/pause",
        f"/followups/{followup.id}/delete",
        f"/databases/{shop.id}/followups",
        f"/followup-runs/{run.id}/cancel",
    ):
        assert viewer.post(url, {"name": "x"}).status_code == 403, url
    assert viewer.get(f"/databases/{shop.id}/followups/new").status_code == 403
    assert stored(followup.id)["name"] == "Welcome" and db.session.get(FollowUpRun, run.id).status == "pending"


# --- status and deletion -------------------------------------------------------------------------------------


def test_pause_and_resume(browser, account, shop):
    followup = make_followup(account, shop, trigger={"kind": "profile_created"}, actions=[{"type": "unsubscribe"}])
    editor = browser("editor", account)
    response = editor.post(f"/followups/{followup.id}/pause", htmx=True)
    assert response.status_code == 200 and "toast" in response.headers["HX-Trigger"]
    assert "This follow-up is paused" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(FollowUp, followup.id).status == "paused"
    response = editor.post(f"/followups/{followup.id}/resume")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(FollowUp, followup.id).status == "active"


def test_delete(browser, account, shop):
    followup = make_followup(account, shop, trigger={"kind": "profile_created"}, actions=[{"type": "unsubscribe"}])
    editor = browser("editor", account)
    assert "Delete the follow-up Welcome?" in editor.get(f"/followups/{followup.id}/delete").get_data(as_text=True)
    response = editor.post(f"/followups/{followup.id}/delete", htmx=True)
    assert response.headers["HX-Redirect"] == f"/databases/{shop.id}/followups"
    assert db.session.query(FollowUp).count() == 0


# --- runs -------------------------------------------------------------------------------------------------------


@pytest.fixture
def runs(account, shop):
    followup = make_followup(
        account,
        shop,
        trigger={"kind": "profile_updated"},
        actions=[{"type": "send_email", "template_id": template(account, shop).id}],
    )
    profile = profiles.create_profile(account, shop.id, {"FirstName": "Ann"}, origin=Origin("admin"))
    made = {
        status: make_followup_run(followup, profile.id, status=status)
        for status in ("pending", "failed", "review", "done")
    }
    made["failed"].last_error = "SMTP said no: 550 mailbox unavailable"
    made["review"].message_id = "<abc@verrijk.test>"
    made["done"].outcome = "Email sent (<def@verrijk.test>)."
    db.session.commit()
    return followup, profile, made


def test_the_runs_page_shows_errors_and_the_review_list(browser, account, runs):
    followup, _profile, made = runs
    page = browser("editor", account).get(f"/followups/{followup.id}/runs").get_data(as_text=True)
    assert "SMTP said no: 550 mailbox unavailable" in page and "Email sent (&lt;def@verrijk.test&gt;)." in page
    assert "Needs review" in page and "&lt;abc@verrijk.test&gt;" in page
    assert f"/followup-runs/{made['failed'].id}/retry" in page and f"/followup-runs/{made['pending'].id}/cancel" in page
    assert (
        f"/followup-runs/{made['review'].id}/mark-sent" in page and f"/followup-runs/{made['review'].id}/resend" in page
    )
    viewer_page = browser("viewer", account).get(f"/followups/{followup.id}/runs").get_data(as_text=True)
    assert "/retry" not in viewer_page and "SMTP said no" in viewer_page


def test_a_loop_of_follow_ups_shows_where_it_was_stopped(browser, account, shop):
    from tests.followup_fixtures import run_worker
    from webapp.followups import runs as followup_runs
    from webapp.followups import triggers

    name, note = field(shop, "FirstName"), field(shop, "Newsletter")
    make_followup(
        account,
        shop,
        trigger={"kind": "profile_updated", "fields": [name.id]},
        actions=[{"type": "update_fields", "values": {str(note.id): "{{ profile.Newsletter }}+"}}],
    )
    back = make_followup(
        account,
        shop,
        name="Back",
        trigger={"kind": "profile_updated", "fields": [note.id]},
        actions=[{"type": "update_fields", "values": {str(name.id): "{{ profile.FirstName }}+"}}],
    )
    ann = profiles.create_profile(account, shop.id, {"FirstName": "Ann"}, origin=Origin("admin"))
    profiles.update_profile(account, ann.id, {"FirstName": "Anna"}, origin=Origin("admin"))
    for _round in range(3 * triggers.MAX_CHAIN_DEPTH):  # bounded: a loop without the guard never ends
        if not followup_runs.dispatch_due_runs():
            break
        run_worker()
    page = browser("viewer", account).get(f"/followups/{back.id}/runs?status=failed").get_data(as_text=True)
    count = triggers.MAX_CHAIN_DEPTH + 1
    assert f"Stopped: follow-ups triggered each other {count} times in a row for this profile." in page


def test_runs_are_filtered_by_status_and_paged(browser, account, runs):
    followup, profile, made = runs
    extra = [make_followup_run(followup, profile.id, status="done") for _ in range(55)]
    viewer = browser("viewer", account)
    failed = viewer.get(f"/followups/{followup.id}/runs?status=failed", htmx=True).get_data(as_text=True)
    assert "SMTP said no" in failed and f"<td>{made['pending'].id}</td>" not in failed
    first = viewer.get(f"/followups/{followup.id}/runs").get_data(as_text=True)
    assert f"<td>{extra[-1].id}</td>" in first and f"<td>{made['pending'].id}</td>" not in first
    older = f"/followups/{followup.id}/runs?before={extra[-50].id}"
    assert f'href="{older}"' in first
    second = viewer.get(older).get_data(as_text=True)
    assert f"<td>{made['pending'].id}</td>" in second and f"<td>{extra[-1].id}</td>" not in second
    assert viewer.get(f"/followups/{followup.id}/runs?status=bogus").status_code == 422


def test_cancel_retry_and_resolve_runs(browser, account, runs):
    followup, _profile, made = runs
    editor = browser("editor", account)
    response = editor.post(f"/followup-runs/{made['pending'].id}/cancel", {"view": "runs"}, htmx=True)
    assert response.status_code == 200 and 'id="runs"' in response.get_data(as_text=True)
    assert json.loads(response.headers["HX-Trigger"])["toast"]["message"] == "The run is cancelled."
    assert editor.post(f"/followup-runs/{made['failed'].id}/retry").status_code == 303
    assert editor.post(f"/followup-runs/{made['review'].id}/mark-sent", htmx=True).status_code == 200
    db.session.expire_all()
    statuses = {name: db.session.get(FollowUpRun, run.id).status for name, run in made.items()}
    assert statuses == {"pending": "cancelled", "failed": "pending", "review": "done", "done": "done"}
    again = editor.post(f"/followup-runs/{made['pending'].id}/cancel", htmx=True)
    assert json.loads(again.headers["HX-Trigger"])["toast"]["level"] == "error"


def test_send_again_puts_a_review_run_back(browser, account, runs):
    _followup, _profile, made = runs
    browser("editor", account).post(f"/followup-runs/{made['review'].id}/resend", htmx=True)
    db.session.expire_all()
    run = db.session.get(FollowUpRun, made["review"].id)
    assert run.status == "pending" and run.step == 0


# --- the profile panel ---------------------------------------------------------------------------------------


def test_the_profile_page_loads_the_follow_ups_panel(browser, account, runs):
    followup, profile, made = runs
    viewer = browser("viewer", account)
    page = viewer.get(f"/profiles/{profile.id}").get_data(as_text=True)
    assert f'hx-get="/profiles/{profile.id}/followups"' in page
    panel = viewer.get(f"/profiles/{profile.id}/followups", htmx=True).get_data(as_text=True)
    assert panel.startswith('\n<section id="profile-followups"') or '<section id="profile-followups"' in panel[:300]
    assert "Welcome" in panel and "Email sent (&lt;def@verrijk.test&gt;)." in panel and "SMTP said no" in panel
    assert "/cancel" not in panel  # viewers see, editors act
    full = viewer.get(f"/profiles/{profile.id}/followups").get_data(as_text=True)
    assert "<html" in full and "Profile #" not in full and profiles.display_name(profile) in full


def test_cancelling_from_the_profile_panel(browser, account, runs):
    _followup, profile, made = runs
    editor = browser("editor", account)
    panel = editor.get(f"/profiles/{profile.id}/followups", htmx=True).get_data(as_text=True)
    assert f"/followup-runs/{made['pending'].id}/cancel" in panel
    response = editor.post(f"/followup-runs/{made['pending'].id}/cancel", {"view": "profile"}, htmx=True)
    body = response.get_data(as_text=True)
    assert 'id="profile-followups"' in body and "Nothing waiting." in body
    plain = editor.post(f"/followup-runs/{made['failed'].id}/retry", {"view": "profile"})
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/profiles/{profile.id}")


def test_no_follow_ups_yet_leads_to_making_one(browser, account, shop):
    overview = browser("editor", account).get("/followups").get_data(as_text=True)
    assert "No follow-ups yet" in overview
    assert f'href="/databases/{shop.id}/followups/new">New follow-up for {shop.name}' in overview
    tab = browser("editor", account, email="second@example.com").get(f"/databases/{shop.id}/followups")
    assert f'href="/databases/{shop.id}/followups/new">Create your first follow-up' in tab.get_data(as_text=True)


def test_a_survey_completed_follow_up_may_name_one_survey(browser, account, shop):
    from webapp.surveys import builder as survey_builder

    survey = survey_builder.create_survey(account, shop.id, "Opinions")
    editor = browser("editor", account)
    chosen = editor.post(
        f"/databases/{shop.id}/followups", {"trigger-kind": "survey_completed", "op": "refresh"}, htmx=True
    ).get_data(as_text=True)
    assert 'name="trigger-survey_id"' in chosen and f'<option value="{survey.id}" >Opinions</option>' in chosen
    response = editor.post(
        f"/databases/{shop.id}/followups",
        {
            "name": "After the survey",
            "trigger-kind": "survey_completed",
            "trigger-survey_id": str(survey.id),
            "action-0-type": "unsubscribe",
        },
        htmx=True,
    )
    assert response.status_code in (200, 204), response.get_data(as_text=True)[:2000]
    followup = db.session.query(FollowUp).one()
    assert stored(followup.id)["trigger"] == {"kind": "survey_completed", "exclude_sources": [], "survey_id": survey.id}
    refused = editor.post(
        f"/followups/{followup.id}",
        {
            "name": "X",
            "trigger-kind": "survey_completed",
            "trigger-survey_id": "999999",
            "action-0-type": "unsubscribe",
        },
        htmx=True,
    )
    assert refused.status_code == 422 and "Choose a survey of this database." in refused.get_data(as_text=True)
