"""Outbound callbacks against a real local HTTP receiver, delivered by a real RQ worker from durable rows."""

import json
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select, update
from standardwebhooks.webhooks import Webhook

from tests.callback_receiver import Receiver
from tests.factories import make_account, make_database
from tests.workers import run_burst_worker, settle_heartbeats
from webapp.callbacks import conditions, definitions
from webapp.callbacks import deliveries as callback_deliveries
from webapp.extensions import db
from webapp.models import CallbackDelivery, ScheduledWork, utcnow
from webapp.platform import work
from webapp.platform.errors import NotFound, ValidationError
from webapp.platform.outbound_urls import check_outbound_url, is_public
from webapp.platform.queues import redis_connection
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ADMIN = Origin("admin", actor="user:1 a@example.com")
SOAP = Origin("soap")


@pytest.fixture
def receiver(app):
    server = Receiver().start()
    previous = app.config.get("CALLBACK_TIMEOUT")
    app.config["CALLBACK_TIMEOUT"] = 0.5
    yield server
    server.stop()
    if previous is None:
        app.config.pop("CALLBACK_TIMEOUT", None)
    else:
        app.config["CALLBACK_TIMEOUT"] = previous


@pytest.fixture
def private_urls_refused(app):
    app.config["ALLOW_PRIVATE_URLS"] = False
    yield
    app.config["ALLOW_PRIVATE_URLS"] = True


@pytest.fixture
def database(account):
    return make_database(account, fields={"Email": "email", "City": "text", "Age": "number"})


def run_worker() -> None:
    run_burst_worker()


def deliver() -> None:
    """What the dispatcher and an RQ worker do: due rows into RQ, then run the jobs."""
    work.dispatch_due()
    run_worker()
    db.session.expire_all()


def make_due() -> None:
    """Move every waiting retry to now (instead of sleeping)."""
    past = utcnow() - timedelta(seconds=1)
    db.session.execute(update(ScheduledWork).where(ScheduledWork.status == "pending").values(due_at=past))
    db.session.execute(
        update(CallbackDelivery).where(CallbackDelivery.status == "pending").values(next_attempt_at=past)
    )
    db.session.commit()


def deliveries(callback_id: int) -> list[CallbackDelivery]:
    return list(
        db.session.scalars(
            select(CallbackDelivery).where(CallbackDelivery.callback_id == callback_id).order_by(CallbackDelivery.id)
        )
    )


# --- URLs ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "http://",
        "javascript:alert(1)",
        "http://user:pw@example.com/",
        "",
        "http://[::1",
        "gopher://example.com",
    ],
)
def test_only_plain_http_urls_with_a_host(ctx, url):
    with pytest.raises(ValidationError):
        check_outbound_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost:8080/",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://172.16.5.4/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://[fc00::1]/",
        "http://100.64.0.1/",
        "http://240.0.0.1/",
        "http://[::]/",
        "http://2130706433/",
    ],
)
def test_private_addresses_are_refused_after_resolution(ctx, private_urls_refused, url):
    with pytest.raises(ValidationError) as error:
        check_outbound_url(url)
    assert "url" in error.value.errors


def test_public_addresses_pass_and_the_setting_allows_private_ones(ctx, private_urls_refused, app):
    assert check_outbound_url(" http://93.184.216.34/hook ") == "http://93.184.216.34/hook"
    assert check_outbound_url("https://[2606:2800:220:1:248:1893:25c8:1946]/").startswith("https://")
    app.config["ALLOW_PRIVATE_URLS"] = True
    assert check_outbound_url("http://127.0.0.1:9/x") == "http://127.0.0.1:9/x"


def test_ipv6_forms_of_private_ipv4_are_private():
    import ipaddress

    assert not is_public(ipaddress.ip_address("::ffff:192.168.1.1"))
    assert not is_public(ipaddress.ip_address("2002:c0a8:0101::1"))  # 6to4 of 192.168.1.1
    assert not is_public(ipaddress.ip_address("64:ff9b::7f00:1"))  # NAT64 of 127.0.0.1
    assert is_public(ipaddress.ip_address("8.8.8.8"))


def test_a_callback_to_a_private_url_is_refused_and_so_is_its_delivery(account, database, receiver, app):
    app.config["ALLOW_PRIVATE_URLS"] = False
    try:
        with pytest.raises(ValidationError) as error:
            definitions.create_callback(account, database.id, url=receiver.url)
        assert "url" in error.value.errors
    finally:
        app.config["ALLOW_PRIVATE_URLS"] = True
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    profiles.create_profile(account, database.id, {"City": "Delft"}, origin=ADMIN)
    app.config["ALLOW_PRIVATE_URLS"] = False  # the address is checked again at delivery time
    try:
        deliver()
    finally:
        app.config["ALLOW_PRIVATE_URLS"] = True
    [delivery] = deliveries(callback.id)
    assert receiver.requests == []
    assert delivery.status == "pending" and delivery.attempts == 1 and "private" in delivery.last_error


# --- the condition language -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression, expected",
    [
        ('City == "Delft"', True),
        ('city = "DELFT"', True),
        ('City != "Delft"', False),
        ("Age >= 18", True),
        ("Age < 18", False),
        ('Age > 18 and City == "Delft"', True),
        ('Age > 40 or City == "Delft"', True),
        ('not (Age > 40 or City == "Delft")', False),
        ('City in ["Leiden", "Delft"]', True),
        ('City not in ["Leiden", "Delft"]', False),
        ('Email contains "@example.com"', True),
        ("empty(Email)", False),
        ("empty(Phone)", True),
        ("Phone", False),
        ('Phone == "x"', False),
        ('Phone != "x"', True),
        ("Newsletter", True),
        ("Newsletter == true and not Sport", True),
        ('Tags contains "b"', True),
        ('Tags == "c"', False),
        ("Age == 30.0", True),
        ('Age == "thirty"', False),
        ("true", True),
    ],
)
def test_conditions(ctx, expression, expected):
    values = {
        "City": "Delft",
        "Age": 30,
        "Email": "ann@example.com",
        "Phone": None,
        "Newsletter": True,
        "Sport": False,
        "Tags": ["a", "b"],
    }
    assert conditions.matches(expression, values) is expected


@pytest.mark.parametrize(
    "expression",
    [
        "City ==",
        '(City == "x"',
        'City == "x")',
        "City === 1",
        "__import__('os')",
        "City == x",
        "City in 1",
        'City == "x" City',
        "empty City",
        "1 == 1",
        "City ; drop",
        "Age > 1 and",
        "not",
        "(" * 40 + "Age" + ")" * 40,
    ],
)
def test_bad_conditions_are_clear_errors(ctx, expression):
    with pytest.raises(ValidationError) as error:
        conditions.parse(expression)
    assert error.value.errors["expression"]


def test_conditions_are_checked_against_the_database_when_saved(account, database):
    with pytest.raises(ValidationError) as error:
        definitions.create_callback(account, database.id, url="http://127.0.0.1/x", expression='Town == "Delft"')
    assert "Town" in error.value.errors["expression"]
    callback = definitions.create_callback(account, database.id, url="http://127.0.0.1/x", expression="Age > 3")
    assert callback.expression == "Age > 3"


# --- managing ---------------------------------------------------------------------------------------------


def test_create_validates_and_lists_per_account(account, database):
    with pytest.raises(ValidationError) as error:
        definitions.create_callback(
            account,
            database.id,
            url="http://127.0.0.1/x",
            method="xml",
            actions=["create", "explode"],
            sources=["moon"],
        )
    assert set(error.value.errors) == {"method", "actions", "sources"}
    callback = definitions.create_callback(
        account,
        database.id,
        url="http://127.0.0.1/x",
        method="POST",
        actions=["create", "update", "delete"],
        sources=["soap", "soap"],
    )
    assert callback.method == "post" and callback.actions == [] and callback.sources == ["soap"]
    assert callback.secret.startswith("whsec_") and len(callback.secret) > 40
    assert definitions.list_callbacks(account, database.id) == [callback]
    other = make_account("Other")
    with pytest.raises(NotFound):
        definitions.list_callbacks(other, database.id)
    with pytest.raises(NotFound):
        definitions.get_callback(other, callback.id)
    with pytest.raises(NotFound):
        definitions.delete_callback(other, callback.id)


def test_collection_must_belong_to_the_database(account, database):
    other_database = make_database(account, "Other", fields={})
    collection = databases.create_collection(account, other_database.id, "Orders")
    with pytest.raises(ValidationError) as error:
        definitions.create_callback(account, database.id, url="http://127.0.0.1/x", collection_id=collection.id)
    assert "collection_id" in error.value.errors


# --- delivering ---------------------------------------------------------------------------------------------


def test_a_change_is_delivered_signed_with_copernicas_variables(account, database, receiver):
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    profile = profiles.create_profile(account, database.id, {"Email": "ann@example.com", "City": "Delft"}, origin=ADMIN)
    [delivery] = deliveries(callback.id)
    assert delivery.status == "pending"
    assert db.session.scalar(select(ScheduledWork).where(ScheduledWork.kind == "callback")).status == "pending"
    deliver()
    [request] = receiver.requests
    payload = Webhook(callback.secret).verify(request.body, request.headers)  # the spec's reference code
    assert request.headers["webhook-id"] == str(delivery.id)
    assert request.headers["content-type"] == "application/json"
    assert payload["type"] == "create" and payload["id"] == profile.id and payload["database"] == database.id
    assert payload["fields"] == {"Email": "ann@example.com", "City": "Delft", "Age": None}
    assert payload["changes"] == {"Email": [None, "ann@example.com"], "City": [None, "Delft"]}
    assert payload["source"] == "admin"
    assert len(payload["created"]) == 19 and payload["modified"][4] == "-"
    delivery = db.session.get(CallbackDelivery, delivery.id)
    assert delivery.status == "delivered" and delivery.response_status == 200 and delivery.attempts == 1
    assert delivery.duration_ms is not None
    with pytest.raises(Exception):  # noqa: B017 - a wrong secret does not verify
        Webhook(definitions.new_secret()).verify(request.body, request.headers)


def test_post_method_sends_form_fields_like_copernica(account, database, receiver):
    callback = definitions.create_callback(account, database.id, url=receiver.url, method="post")
    profile = profiles.create_profile(account, database.id, {"City": "Delft", "Age": 7}, origin=SOAP)
    profiles.update_profile(account, profile.id, {"City": "Gouda"}, origin=SOAP)
    deliver()
    first, second = receiver.requests
    assert second.headers["content-type"] == "application/x-www-form-urlencoded"
    Webhook(callback.secret).verify(second.body, second.headers, json_parse=False)
    form = parse_qs(second.text, keep_blank_values=True)
    assert form["type"] == ["update"] and form["id"] == [str(profile.id)]
    assert form["fields[City]"] == ["Gouda"] and form["fields[Age]"] == ["7"]
    assert form["changes[City][0]"] == ["Delft"] and form["changes[City][1]"] == ["Gouda"]
    assert form["source"] == ["soap"]


def test_delete_and_subprofile_events(account, database, receiver):
    collection = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Total", type="number"), collection_id=collection.id)
    on_profiles = definitions.create_callback(account, database.id, url=receiver.url, actions=["delete"])
    on_orders = definitions.create_callback(
        account, database.id, url=receiver.url + "/orders", collection_id=collection.id, expression="Total > 10"
    )
    profile = profiles.create_profile(account, database.id, {"City": "Delft"}, origin=ADMIN)
    subprofiles.create_subprofile(account, profile.id, collection.id, {"Total": 5}, origin=ADMIN)
    order_id = subprofiles.create_subprofile(account, profile.id, collection.id, {"Total": 50}, origin=ADMIN).id
    profile_id = profile.id
    profiles.delete_profile(account, profile.id, origin=ADMIN)
    deliver()
    bodies = {r.path: json.loads(r.body) for r in receiver.requests}
    assert len(receiver.requests) == 2
    assert bodies["/hook"]["type"] == "delete" and bodies["/hook"]["fields"]["City"] == "Delft"
    assert [d.payload["type"] for d in deliveries(on_profiles.id)] == ["delete"]
    order_payload = bodies["/hook/orders"]
    assert order_payload["subprofile"] == order_id and order_payload["collection"] == collection.id
    assert order_payload["id"] == profile_id and order_payload["fields"] == {"Total": 50}
    assert len(deliveries(on_orders.id)) == 1


def test_source_and_action_filters(account, database, receiver):
    soap_only = definitions.create_callback(account, database.id, url=receiver.url, sources=["soap"])
    updates = definitions.create_callback(
        account, database.id, url=receiver.url, actions=["update"], sources=["admin", "import"]
    )
    profile = profiles.create_profile(account, database.id, {"City": "Delft"}, origin=ADMIN)
    profiles.update_profile(account, profile.id, {"City": "Gouda"}, origin=SOAP)
    profiles.update_profile(account, profile.id, {"City": "Ede"}, origin=ADMIN)
    assert [(d.payload["type"], d.payload["source"]) for d in deliveries(soap_only.id)] == [("update", "soap")]
    assert [(d.payload["type"], d.payload["source"]) for d in deliveries(updates.id)] == [("update", "admin")]


def test_conditions_filter_deliveries(account, database, receiver):
    callback = definitions.create_callback(
        account, database.id, url=receiver.url, expression='City in ["Delft", "Gouda"] and Age >= 18'
    )
    profile = profiles.create_profile(account, database.id, {"City": "Delft", "Age": 12}, origin=ADMIN)
    profiles.update_profile(account, profile.id, {"Age": 19}, origin=ADMIN)
    profiles.update_profile(account, profile.id, {"City": "Ede"}, origin=ADMIN)
    assert [d.payload["changes"] for d in deliveries(callback.id)] == [{"Age": [12, 19]}]


def test_nothing_is_delivered_when_the_write_rolls_back(account, database, receiver):
    definitions.create_callback(account, database.id, url=receiver.url)
    with pytest.raises(ValidationError):
        profiles.create_profile(account, database.id, {"Age": "many"}, origin=ADMIN)
    db.session.rollback()
    assert db.session.scalars(select(CallbackDelivery)).all() == []


def test_retries_on_500_with_backoff_then_delivers(account, database, receiver):
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    profiles.create_profile(account, database.id, {"City": "Delft"}, origin=ADMIN)
    receiver.answers = [500, 500]
    deliver()
    [delivery] = deliveries(callback.id)
    assert delivery.status == "pending" and delivery.attempts == 1 and delivery.response_status == 500
    assert "500" in delivery.last_error and "receiver says no" in delivery.last_error
    wait = delivery.next_attempt_at - utcnow()
    assert timedelta(seconds=20) < wait <= timedelta(seconds=30)
    deliver()  # not due yet: nothing happens
    assert len(receiver.requests) == 1
    make_due()
    deliver()
    delivery = db.session.get(CallbackDelivery, delivery.id)
    assert delivery.attempts == 2 and delivery.next_attempt_at - utcnow() > timedelta(seconds=50)
    make_due()
    deliver()
    delivery = db.session.get(CallbackDelivery, delivery.id)
    assert delivery.status == "delivered" and delivery.attempts == 3 and delivery.response_status == 200
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # receivers can de-duplicate
    assert db.session.get(type(callback), callback.id).failing_since is None


def test_a_timeout_is_a_failed_attempt(account, database, receiver):
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    profiles.create_profile(account, database.id, {"City": "Delft"}, origin=ADMIN)
    receiver.answers = ["hang"]
    deliver()
    [delivery] = deliveries(callback.id)
    assert delivery.status == "pending" and delivery.response_status is None
    assert "time" in delivery.last_error and delivery.duration_ms >= 400
    make_due()
    deliver()
    assert db.session.get(CallbackDelivery, delivery.id).status == "delivered"


def test_backoff_doubles_and_is_capped():
    assert callback_deliveries.backoff(1) == timedelta(seconds=30)
    assert callback_deliveries.backoff(2) == timedelta(seconds=60)
    assert callback_deliveries.backoff(5) == timedelta(seconds=480)
    assert callback_deliveries.backoff(30) == callback_deliveries.LONGEST_WAIT


def test_deliveries_of_a_profile_go_out_in_order_and_a_failure_blocks_later_ones(account, database, receiver):
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    anna = profiles.create_profile(account, database.id, {"City": "A1"}, origin=ADMIN)
    profiles.create_profile(account, database.id, {"City": "B1"}, origin=ADMIN)
    profiles.update_profile(account, anna.id, {"City": "A2"}, origin=ADMIN)
    profiles.update_profile(account, anna.id, {"City": "A3"}, origin=ADMIN)
    receiver.answers = [500]  # anna's first call fails
    deliver()
    cities = [json.loads(r.body)["fields"]["City"] for r in receiver.requests]
    assert cities == ["A1", "B1"]  # bob is not held up by anna
    make_due()
    deliver()
    cities = [json.loads(r.body)["fields"]["City"] for r in receiver.requests]
    assert cities == ["A1", "B1", "A1", "A2", "A3"]
    assert {d.status for d in deliveries(callback.id)} == {"delivered"}


def test_a_delivery_is_given_up_after_a_day_and_the_callback_paused(account, database, receiver):
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    profile = profiles.create_profile(account, database.id, {"City": "A1"}, origin=ADMIN)
    profiles.update_profile(account, profile.id, {"City": "A2"}, origin=ADMIN)
    receiver.default = 503
    deliver()
    callback = db.session.get(type(callback), callback.id)
    assert callback.active and callback.failing_since is not None
    a_day_ago = utcnow() - timedelta(days=1, minutes=1)
    db.session.execute(update(CallbackDelivery).values(created_at=a_day_ago))
    callback.failing_since = a_day_ago
    db.session.commit()
    make_due()
    deliver()
    first, second = deliveries(callback.id)
    assert first.status == "failed" and second.status == "pending"
    callback = db.session.get(type(callback), callback.id)
    assert not callback.active and "503" in callback.paused_reason
    # paused: new changes are recorded (not lost) but not sent; pending ones wait
    profiles.update_profile(account, profile.id, {"City": "A3"}, origin=ADMIN)
    profiles.update_profile(account, profile.id, {"City": "A4"}, origin=ADMIN)
    assert [d.status for d in deliveries(callback.id)] == ["failed", "pending", "pending", "pending"]
    assert callback_deliveries.count_deliveries(account, callback.id)["pending"] == 3
    calls = len(receiver.requests)
    make_due()
    deliver()
    assert len(receiver.requests) == calls
    # resumed: what was recorded goes out, in order
    receiver.default = 200
    callback_deliveries.resume_callback(account, callback.id)
    deliver()
    assert [d.status for d in deliveries(callback.id)] == ["failed", "delivered", "delivered", "delivered"]
    assert [json.loads(r.body)["fields"]["City"] for r in receiver.requests[calls:]] == ["A2", "A3", "A4"]
    assert db.session.get(type(callback), callback.id).active
    # the given-up delivery is retried from the admin under its own id (and webhook-id)
    with pytest.raises(ValidationError, match="given-up"):
        callback_deliveries.retry_delivery(account, second.id)
    with pytest.raises(NotFound):
        callback_deliveries.retry_delivery(make_account("Other"), first.id)
    callback_deliveries.retry_delivery(account, first.id)
    deliver()
    assert db.session.get(CallbackDelivery, first.id).status == "delivered"
    assert receiver.requests[-1].headers["webhook-id"] == str(first.id)
    assert json.loads(receiver.requests[-1].body)["changes"] == {"City": [None, "A1"]}


def test_a_paused_callbacks_backlog_is_bounded_and_counted(account, database, receiver, monkeypatch):
    monkeypatch.setattr(callback_deliveries, "PAUSED_BACKLOG", 2)
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    definitions.pause_callback(account, callback.id)
    profile = profiles.create_profile(account, database.id, {"City": "B1"}, origin=ADMIN)
    for city in ("B2", "B3", "B4"):
        profiles.update_profile(account, profile.id, {"City": city}, origin=ADMIN)
    db.session.expire_all()
    assert len(deliveries(callback.id)) == 2
    assert db.session.get(type(callback), callback.id).paused_dropped == 2
    callback_deliveries.resume_callback(account, callback.id)
    deliver()
    assert [json.loads(r.body)["fields"]["City"] for r in receiver.requests] == ["B1", "B2"]
    assert db.session.get(type(callback), callback.id).paused_dropped == 0


def test_redis_losing_the_jobs_loses_no_delivery(account, database, receiver, monkeypatch):
    definitions.create_callback(account, database.id, url=receiver.url)
    profiles.create_profile(account, database.id, {"City": "Delft"}, origin=ADMIN)
    work.dispatch_due()
    redis_connection().flushdb()
    settle_heartbeats()
    monkeypatch.setattr(work, "CHECK_AFTER", timedelta(0))
    assert work.requeue_lost() == 1
    deliver()
    assert len(receiver.requests) == 1


def test_a_redirect_is_not_followed(account, database, receiver):
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    receiver.answers = [302]
    result = callback_deliveries.send_test(account, callback.id)
    assert not result["ok"] and result["status"] == 302 and "redirect" in result["error"]


def test_send_test_and_resend(account, database, receiver):
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    result = callback_deliveries.send_test(account, callback.id)
    assert result["ok"] and result["status"] == 200
    test_call = receiver.requests[0]
    assert Webhook(callback.secret).verify(test_call.body, test_call.headers)["type"] == "test"
    profiles.create_profile(account, database.id, {"City": "Delft"}, origin=ADMIN)
    deliver()
    [delivery] = deliveries(callback.id)
    again = callback_deliveries.resend_delivery(account, delivery.id)
    deliver()
    assert db.session.get(CallbackDelivery, again.id).status == "delivered"
    assert len(receiver.requests) == 3
    assert json.loads(receiver.requests[1].body) == json.loads(receiver.requests[2].body)
    with pytest.raises(NotFound):
        callback_deliveries.resend_delivery(make_account("Other"), delivery.id)


def test_pause_resume_delete_and_new_secret(account, database, receiver):
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    definitions.pause_callback(account, callback.id)
    profiles.create_profile(account, database.id, {"City": "Delft"}, origin=ADMIN)
    deliver()
    assert [d.status for d in deliveries(callback.id)] == ["pending"] and receiver.requests == []
    old = callback.secret
    assert definitions.new_callback_secret(account, callback.id).secret != old
    callback_deliveries.resume_callback(account, callback.id)
    profiles.create_profile(account, database.id, {"City": "Gouda"}, origin=ADMIN)
    assert len(deliveries(callback.id)) == 2
    definitions.delete_callback(account, callback.id)
    assert definitions.list_callbacks(account, database.id) == []
    deliver()  # the work rows of a deleted callback do nothing
    assert receiver.requests == []


def test_a_call_connects_to_the_address_that_was_checked(account, database, receiver, app, monkeypatch):
    """No DNS rebinding: the host is resolved once, checked, and that address is the one connected to."""
    from webapp.platform import outbound_urls

    looked_up = []

    def resolve(host, port):
        looked_up.append(host)
        import ipaddress

        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(outbound_urls, "resolve", resolve)
    monkeypatch.setattr(outbound_urls, "is_public", lambda address: True)  # pretend 127.0.0.1 is a public address
    port = receiver.server.server_address[1]
    app.config["ALLOW_PRIVATE_URLS"] = False
    try:
        callback = definitions.create_callback(account, database.id, url=f"http://hooks.example.test:{port}/hook")
        profiles.create_profile(account, database.id, {"City": "Delft"}, origin=ADMIN)
        deliver()
    finally:
        app.config["ALLOW_PRIVATE_URLS"] = True
    [request] = receiver.requests  # hooks.example.test does not exist: only the pinned address could be reached
    assert request.headers["host"] == f"hooks.example.test:{port}" and request.path == "/hook"
    assert looked_up == ["hooks.example.test", "hooks.example.test"]  # when saved, and before the call
    Webhook(callback.secret).verify(request.body, request.headers)


def test_bulk_writes_get_deliveries(account, database, receiver):
    callback = definitions.create_callback(
        account, database.id, url=receiver.url, sources=["import"], expression="Age > 10"
    )
    rows = [{"City": "A", "Age": 5}, {"City": "B", "Age": 50}, {"City": "C", "Age": 60}]
    assert profiles.bulk_create_profiles(account, database.id, rows, origin=Origin("import")) == 3
    deliver()
    assert sorted(json.loads(r.body)["fields"]["City"] for r in receiver.requests) == ["B", "C"]
    assert {d.status for d in deliveries(callback.id)} == {"delivered"}


def test_two_workers_on_one_profile_neither_repeat_nor_overtake(account, database, receiver, app):
    """Two jobs for the same (callback, profile) at once: the row locks make the second wait for the first."""
    import threading

    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks (FOR UPDATE) exist on PostgreSQL only; SQLite has one writer")
    definitions.create_callback(account, database.id, url=receiver.url)
    profile = profiles.create_profile(account, database.id, {"City": "A1"}, origin=ADMIN)
    profiles.update_profile(account, profile.id, {"City": "A2"}, origin=ADMIN)
    rows = [row.id for row in db.session.scalars(select(ScheduledWork).where(ScheduledWork.kind == "callback"))]
    assert len(rows) == 2
    receiver.default = "slow"

    def run(work_id):
        with app.app_context():
            work.run_work(work_id)
            db.session.remove()

    threads = [threading.Thread(target=run, args=(work_id,)) for work_id in rows]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    cities = [json.loads(r.body)["fields"]["City"] for r in receiver.requests]
    assert cities == ["A1", "A2"]


def test_old_finished_deliveries_are_forgotten(account, database, receiver):
    callback = definitions.create_callback(account, database.id, url=receiver.url)
    profile = profiles.create_profile(account, database.id, {"City": "A1"}, origin=ADMIN)
    deliver()
    profiles.update_profile(account, profile.id, {"City": "A2"}, origin=ADMIN)
    db.session.execute(update(CallbackDelivery).values(created_at=utcnow() - timedelta(days=31)))
    db.session.commit()
    assert callback_deliveries.forget_old_deliveries() == 1  # the delivered one; the pending one stays
    db.session.commit()
    assert [d.status for d in deliveries(callback.id)] == ["pending"]
