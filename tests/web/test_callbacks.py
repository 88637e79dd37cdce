"""The callbacks admin: list and add per database, the callback page, actions, delivery log; roles and CSRF."""

import json

import pytest
from sqlalchemy import select

from tests.callback_receiver import Receiver
from tests.factories import make_account, make_database
from tests.workers import run_burst_worker
from webapp.callbacks import definitions
from webapp.extensions import db
from webapp.models import Callback, CallbackDelivery
from webapp.platform import work
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin

ADMIN = Origin("admin", actor="test")


@pytest.fixture
def receiver(app):
    server = Receiver().start()
    app.config["CALLBACK_TIMEOUT"] = 0.5
    yield server
    server.stop()
    app.config.pop("CALLBACK_TIMEOUT", None)


def committed():
    db.session.rollback()
    return db.session


def callbacks_of(database_id: int) -> list[Callback]:
    return list(committed().scalars(select(Callback).where(Callback.database_id == database_id).order_by(Callback.id)))


def text_of(response) -> str:
    return response.get_data(as_text=True)


def toast_of(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]["message"]


def deliver() -> None:
    work.dispatch_due()
    run_burst_worker()
    db.session.expire_all()


def test_the_tab_and_the_empty_list(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    page = text_of(me.get(f"/databases/{database.id}/callbacks"))
    assert f'href="/databases/{database.id}/callbacks" aria-current="page"' in page
    assert "No callbacks yet" in page and "Add a callback" in page and "How to write a condition" in page
    fragment = text_of(me.get(f"/databases/{database.id}/callbacks", htmx=True))
    assert "<html" not in fragment and fragment.lstrip().startswith('<div id="callbacks"')


def test_add_a_callback(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    collection = databases.create_collection(me.user.account, database.id, "Orders")
    response = me.post(
        f"/databases/{database.id}/callbacks",
        {
            "url": "http://127.0.0.1:9/hook",
            "method": "post",
            "actions": ["create", "delete"],
            "sources": ["soap", "import"],
            "expression": 'FirstName == "Ann"',
            "collection_id": "",
        },
        htmx=True,
    )
    assert response.status_code == 200, text_of(response)
    assert "signing secret" in toast_of(response)
    assert "http://127.0.0.1:9/hook" in text_of(response) and "<html" not in text_of(response)
    [callback] = callbacks_of(database.id)
    assert (callback.method, callback.actions, callback.sources) == ("post", ["create", "delete"], ["soap", "import"])
    assert callback.expression == 'FirstName == "Ann"' and callback.collection_id is None
    assert f'value="{collection.id}"' in text_of(me.get(f"/databases/{database.id}/callbacks"))


def test_a_copernica_style_callback_is_chosen_in_the_form_and_needs_a_dkim_key(browser):
    from webapp.email import account_settings

    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    form = {"url": "http://127.0.0.1:9/hook", "method": "json", "style": "copernica", "collection_id": ""}
    refused = me.post(f"/databases/{database.id}/callbacks", form, htmx=True)
    assert refused.status_code == 422 and "DKIM" in text_of(refused) and callbacks_of(database.id) == []
    account_settings.generate_dkim_key(account, domain="shop.example", selector="hooks1")
    assert me.post(f"/databases/{database.id}/callbacks", form, htmx=True).status_code == 200
    [callback] = callbacks_of(database.id)
    assert callback.style == "copernica"
    page = text_of(me.get(f"/callbacks/{callback.id}"))
    assert "X-Copernica-ID" in page and callback.secret not in page
    assert '<option selected value="copernica">' in page or 'value="copernica" selected' in page


def test_add_without_javascript_goes_to_the_callback_page(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    response = me.post(f"/databases/{database.id}/callbacks", {"url": "http://127.0.0.1:9/hook", "method": "json"})
    assert response.status_code == 303
    [callback] = callbacks_of(database.id)
    assert response.headers["Location"].endswith(f"/callbacks/{callback.id}")
    page = text_of(me.get(response.headers["Location"]))
    assert callback.secret in page and "Nothing sent yet" in page


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"url": "ftp://example.com/"}, "Only http and https URLs are allowed."),
        ({"url": "http://127.0.0.1/", "expression": "Town == 1"}, "Unknown field or interest: Town."),
        ({"url": "http://127.0.0.1/", "expression": "FirstName =="}, "The condition ends too early"),
        ({"url": "http://127.0.0.1/", "actions": ["explode"]}, "Choose among create, update and delete."),
    ],
)
def test_invalid_callbacks_are_refused(browser, values, message):
    me = browser("admin")
    database = make_database(me.user.account)
    response = me.post(f"/databases/{database.id}/callbacks", {"method": "json", **values}, htmx=True)
    assert response.status_code == 422
    assert message in text_of(response)
    assert callbacks_of(database.id) == []


def test_private_urls_are_refused_unless_allowed(browser, app):
    me = browser("admin")
    database = make_database(me.user.account)
    app.config["ALLOW_PRIVATE_URLS"] = False
    try:
        response = me.post(f"/databases/{database.id}/callbacks", {"url": "http://169.254.169.254/"}, htmx=True)
    finally:
        app.config["ALLOW_PRIVATE_URLS"] = True
    assert response.status_code == 422 and "private or reserved address" in text_of(response)


def test_edit_pause_resume_secret_and_delete(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    callback = definitions.create_callback(account, database.id, url="http://127.0.0.1:9/hook")
    secret = callback.secret
    response = me.post(
        f"/callbacks/{callback.id}",
        {"url": "http://127.0.0.1:9/other", "method": "json", "actions": ["update"]},
        htmx=True,
    )
    assert response.status_code == 200 and toast_of(response) == "The callback is saved."
    assert callbacks_of(database.id)[0].url == "http://127.0.0.1:9/other"

    response = me.post(f"/callbacks/{callback.id}/pause", htmx=True)
    assert toast_of(response) == "The callback is paused." and "Resume" in text_of(response)
    assert not callbacks_of(database.id)[0].active
    response = me.post(f"/callbacks/{callback.id}/resume", htmx=True)
    assert callbacks_of(database.id)[0].active

    response = me.post(f"/callbacks/{callback.id}/secret", htmx=True)
    assert callbacks_of(database.id)[0].secret != secret

    assert "Delete the callback" in text_of(me.get(f"/callbacks/{callback.id}/delete"))
    response = me.post(f"/callbacks/{callback.id}/delete", htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == f"/databases/{database.id}/callbacks"
    assert callbacks_of(database.id) == []


def test_send_test_shows_the_answer(browser, receiver):
    me = browser("admin")
    database = make_database(me.user.account)
    callback = definitions.create_callback(me.user.account, database.id, url=receiver.url)
    response = me.post(f"/callbacks/{callback.id}/test", htmx=True)
    assert "The test was delivered (HTTP 200" in toast_of(response)
    assert json.loads(receiver.requests[0].body)["type"] == "test"
    receiver.answers = [500]
    response = me.post(f"/callbacks/{callback.id}/test", htmx=True)
    assert "The test failed" in toast_of(response) and "HTTP 500" in text_of(response)


def test_delivery_log_and_resend(browser, receiver):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    profile = profiles.create_profile(account, database.id, {"FirstName": "Ann"}, origin=ADMIN)
    receiver.answers = [500]
    deliver()
    page = text_of(me.get(f"/callbacks/{callback.id}"))
    assert "receiver says no" in page and "pending: 1" in page
    assert f'<a href="/profiles/{profile.id}">Ann</a>' in page  # the profile by its name, not its number
    [delivery] = committed().scalars(select(CallbackDelivery)).all()
    log = text_of(me.get(f"/callbacks/{callback.id}/deliveries", htmx=True))
    assert log.lstrip().startswith('<section id="deliveries"') and "500" in log
    response = me.post(f"/deliveries/{delivery.id}/resend", htmx=True, headers={"HX-Target": "deliveries"})
    assert response.status_code == 200 and "queued to be sent again" in toast_of(response)
    assert len(committed().scalars(select(CallbackDelivery)).all()) == 2


def test_paused_callback_tells_the_admin_why(browser):
    me = browser("viewer")
    account = me.user.account
    database = make_database(account)
    callback = definitions.create_callback(account, database.id, url="http://127.0.0.1:9/hook")
    callback.active, callback.paused_reason = False, "Paused automatically: calls failed"
    db.session.commit()
    listing = text_of(me.get(f"/databases/{database.id}/callbacks"))
    assert "paused" in listing
    page = text_of(me.get(f"/callbacks/{callback.id}"))
    assert "Paused automatically: calls failed" in page
    assert "Changes are recorded while it is paused (0 waiting)" in page
    profiles.create_profile(account, database.id, {"FirstName": "Ann"}, origin=ADMIN)
    callback.paused_dropped = 7
    db.session.commit()
    page = text_of(me.get(f"/callbacks/{callback.id}"))
    assert "(1 waiting)" in page and "7 later changes were not recorded" in page


def test_a_given_up_delivery_is_retried_from_the_log(browser, receiver):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    profiles.create_profile(account, database.id, {"FirstName": "Ann"}, origin=ADMIN)
    [delivery] = committed().scalars(select(CallbackDelivery)).all()
    delivery.status = "failed"
    db.session.commit()
    log = text_of(me.get(f"/callbacks/{callback.id}/deliveries", htmx=True))
    assert f"/deliveries/{delivery.id}/retry" in log
    response = me.post(f"/deliveries/{delivery.id}/retry", htmx=True, headers={"HX-Target": "deliveries"})
    assert response.status_code == 200 and "will be tried again" in toast_of(response)
    deliver()
    assert committed().get(CallbackDelivery, delivery.id).status == "delivered"
    assert f"/deliveries/{delivery.id}/retry" not in text_of(me.get(f"/callbacks/{callback.id}/deliveries"))
    again = me.post(f"/deliveries/{delivery.id}/retry", htmx=True)
    assert "Only a given-up delivery" in toast_of(again)


def test_viewers_read_but_do_not_manage_nor_see_the_secret(browser):
    me = browser("editor")
    account = me.user.account
    database = make_database(account)
    callback = definitions.create_callback(account, database.id, url="http://127.0.0.1:9/hook")
    listing = text_of(me.get(f"/databases/{database.id}/callbacks"))
    assert "http://127.0.0.1:9/hook" in listing and "Add a callback" not in listing
    page = text_of(me.get(f"/callbacks/{callback.id}"))
    assert callback.secret not in page and "Send test" not in page
    for url in (
        f"/databases/{database.id}/callbacks",
        f"/callbacks/{callback.id}",
        f"/callbacks/{callback.id}/pause",
        f"/callbacks/{callback.id}/test",
        f"/callbacks/{callback.id}/secret",
        f"/callbacks/{callback.id}/delete",
    ):
        assert me.post(url, {"url": "http://127.0.0.1:9/x"}).status_code == 403, url
    assert me.get(f"/callbacks/{callback.id}/delete").status_code == 403
    assert callbacks_of(database.id)[0].active


def test_posts_without_csrf_are_refused(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    response = me.post(f"/databases/{database.id}/callbacks", {"url": "http://127.0.0.1:9/hook"}, csrf=False)
    assert response.status_code == 400
    assert callbacks_of(database.id) == []


def test_another_accounts_callbacks_are_not_found(browser):
    me = browser("owner")
    other = make_account("Other")
    database = make_database(other)
    callback = definitions.create_callback(other, database.id, url="http://127.0.0.1:9/hook")
    assert me.get(f"/databases/{database.id}/callbacks").status_code == 404
    assert me.get(f"/callbacks/{callback.id}").status_code == 404
    assert me.post(f"/callbacks/{callback.id}/pause").status_code == 404
    assert me.post(f"/callbacks/{callback.id}/test").status_code == 404
    assert callbacks_of(database.id)[0].active
