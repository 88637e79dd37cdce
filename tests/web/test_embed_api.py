"""The public embed API through the test client: JSON shapes, CORS, caching, no cookies, the hosted page."""

import logging
import re
import time

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import func, select

from tests.factories import make_database, make_form, tampered
from webapp.email.delivery import caught_messages
from webapp.extensions import db
from webapp.models import FormSubmission, Profile
from webapp.profiles import links, profiles
from webapp.profiles.events import Origin
from webapp.webforms import spam

SHOP = "https://shop.example"


@pytest.fixture
def form(account):
    database = make_database(account, fields={"Email": {"type": "email", "indexed": True}, "Name": "text"})
    return make_form(
        account,
        database,
        items=[
            {"type": "field", "field": "Email", "required": True, "label": "Email address", "prefill": True},
            {"type": "field", "field": "Name", "help": "As you like to be called"},
        ],
        allowed_origins=[SHOP],
        success_message="Welcome!",
    )


def email_name(form):
    return form.items[0]["field_id"] and f"f{form.items[0]['field_id']}"


def old_token(form):
    return spam.issue_token(form.key, now=time.time() - 60)


def post(client, form, values, *, origin=SHOP, **kwargs):
    headers = {"Origin": origin} if origin else {}
    data = {"_token": old_token(form), **values}
    return client.post(f"/p/forms/{form.key}/submissions", data=data, csrf=False, headers=headers, **kwargs)


def test_definition_json_cache_headers_and_cors(anonymous, form):
    response = anonymous.get(f"/p/forms/{form.key}", headers={"Origin": SHOP})
    body = response.get_json()
    assert response.status_code == 200
    assert body["key"] == form.key and body["submit_url"] == f"http://verrijk.test/p/forms/{form.key}/submissions"
    assert [item["name"] for item in body["items"]] == [email_name(form), f"f{form.items[1]['field_id']}"]
    assert body["items"][0] == {
        "name": email_name(form),
        "type": "email",
        "id": form.items[0]["id"],
        "label": "Email address",
        "required": True,
    }
    assert set(body["messages"]) >= {"required", "email", "network", "retry"}
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert {"Origin", "Accept-Language"} <= set(response.vary)
    assert "Set-Cookie" not in response.headers
    again = anonymous.get(f"/p/forms/{form.key}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_definition_in_dutch_and_etag_per_language(anonymous, form):
    english = anonymous.get(f"/p/forms/{form.key}")
    dutch = anonymous.get(f"/p/forms/{form.key}", headers={"Accept-Language": "nl"})
    assert dutch.get_json()["lang"] == "nl" and dutch.headers["ETag"] != english.headers["ETag"]


def test_changing_the_form_changes_the_etag(anonymous, form):
    first = anonymous.get(f"/p/forms/{form.key}").headers["ETag"]
    form.revision += 1
    db.session.commit()
    assert anonymous.get(f"/p/forms/{form.key}").headers["ETag"] != first


def test_disallowed_origin_gets_no_cors_headers(anonymous, form):
    response = anonymous.get(f"/p/forms/{form.key}", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_unknown_form_is_a_json_404(anonymous, ctx):
    response = anonymous.get("/p/forms/doesnotexist")
    assert response.status_code == 404 and "error" in response.get_json()


@pytest.mark.parametrize(("origin", "allowed"), [(SHOP, True), ("https://evil.example", False)])
def test_preflight(anonymous, form, origin, allowed):
    response = anonymous.client.options(
        f"/p/forms/{form.key}/submissions", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code == 204
    assert ("Access-Control-Allow-Origin" in response.headers) is allowed
    assert ("Access-Control-Allow-Methods" in response.headers) is allowed


def test_prefill_with_signed_link(anonymous, form, account):
    profile = profiles.create_profile(account, form.database_id, {"Email": "ann@example.com"}, origin=Origin("admin"))
    query = links.profile_link_query(profile)
    good = anonymous.get(f"/p/forms/{form.key}?profile={query['profile']}&sig={query['sig']}")
    assert good.get_json()["prefill"] == {email_name(form): "ann@example.com"}
    assert good.headers["Cache-Control"] == "private, no-store" and "ETag" not in good.headers
    bad = anonymous.get(f"/p/forms/{form.key}?profile={profile.id}&sig=wrong")
    assert "prefill" not in bad.get_json() and "ann@example.com" not in bad.get_data(as_text=True)


def test_token_counts_a_view_and_is_not_cached(anonymous, form):
    response = anonymous.get(f"/p/forms/{form.key}/token", headers={"Origin": SHOP})
    assert response.get_json()["token"] and response.headers["Cache-Control"] == "no-store"
    assert response.headers["Access-Control-Allow-Origin"] == SHOP


def test_captcha_challenge_shape(anonymous, form):
    body = anonymous.get(f"/p/forms/{form.key}/captcha").get_json()
    assert set(body) == {"algorithm", "challenge", "salt", "signature", "maxnumber"}


def test_submission_ok_invalid_and_replayed(anonymous, form):
    ok = post(anonymous, form, {email_name(form): "ann@example.com", "_idempotency_key": "k1"})
    assert ok.status_code == 200 and ok.get_json() == {"status": "ok", "message": "Welcome!", "redirect": None}
    assert ok.headers["Access-Control-Allow-Origin"] == SHOP and "Origin" in ok.vary
    assert "Set-Cookie" not in ok.headers
    replay = post(anonymous, form, {email_name(form): "ann@example.com", "_idempotency_key": "k1"})
    assert replay.get_json() == ok.get_json()
    assert db.session.scalar(select(Profile.id).where(Profile.database_id == form.database_id)) is not None
    assert len(db.session.scalars(select(Profile)).all()) == 1
    invalid = post(anonymous, form, {email_name(form): "nope"})
    assert invalid.status_code == 422
    assert invalid.get_json()["status"] == "invalid" and email_name(form) in invalid.get_json()["errors"]


def test_a_zero_byte_anywhere_in_the_request_is_a_400_not_a_server_error(anonymous, form):
    """PostgreSQL stores no zero byte (a query holding one fails): the request is refused before any view."""
    name = f"f{form.items[1]['field_id']}"
    for values in ({name: "An\x00n"}, {"_idempotency_key": "k\x001"}, {f"{name}\x00": "Ann"}):
        response = post(anonymous, form, {email_name(form): "ann@example.com", **values})
        assert response.status_code == 400
    assert anonymous.get(f"/p/forms/{form.key}%00").status_code == 400
    assert anonymous.get(f"/p/forms/{form.key}?x=a%00b").status_code == 400
    assert db.session.scalars(select(Profile)).all() == []
    ok = post(anonymous, form, {email_name(form): "ann@example.com", name: "Ann", "_idempotency_key": "k1"})
    assert ok.status_code == 200 and len(db.session.scalars(select(Profile)).all()) == 1


def test_submission_from_a_disallowed_origin_is_refused_and_logged(anonymous, form):
    response = post(anonymous, form, {email_name(form): "ann@example.com"}, origin="https://evil.example")
    assert response.status_code == 403 and response.get_json()["status"] == "rejected"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert db.session.scalar(select(FormSubmission.reason)) == "origin"


def test_spam_token_missing_is_400(anonymous, form):
    response = anonymous.post(
        f"/p/forms/{form.key}/submissions",
        data={email_name(form): "a@example.com"},
        csrf=False,
        headers={"Origin": SHOP},
    )
    assert response.status_code == 400 and response.get_json()["status"] == "rejected"


def test_rate_limit_per_address_answers_429_before_any_database_statement(anonymous, form, app, monkeypatch):
    monkeypatch.setitem(app.config, "FORM_RATE_LIMIT", "2 per minute")
    codes = [post(anonymous, form, {email_name(form): f"a{n}@example.com"}).status_code for n in range(2)]
    assert codes == [200, 200]
    for n in range(2):
        hosted = {"_token": old_token(form), email_name(form): f"h{n}@example.com"}
        assert anonymous.post(f"/f/{form.key}", data=hosted, csrf=False).status_code == 200
    data, paths = (
        {"_token": old_token(form), email_name(form): "b@example.com"},
        (f"/p/forms/{form.key}/submissions", f"/f/{form.key}"),
    )
    statements = []

    def record(_connection, _cursor, statement, *_args):
        statements.append(statement)

    sqlalchemy_event.listen(db.engine, "before_cursor_execute", record)
    try:
        for path in paths:
            limited = anonymous.post(path, data=data, csrf=False)
            assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    finally:
        sqlalchemy_event.remove(db.engine, "before_cursor_execute", record)
    assert statements == []  # not even the form's lookup: the limiter answers first
    limited = post(anonymous, form, {email_name(form): "c@example.com"})
    assert limited.get_json()["status"] == "rate_limited" and limited.get_json()["retry_after"] >= 1
    reasons = db.session.scalars(select(FormSubmission.reason).order_by(FormSubmission.id)).all()
    assert reasons == ["", "", "", ""]


def test_rate_limits_set_to_off_are_switched_off(anonymous, form, app, monkeypatch):
    monkeypatch.setitem(app.config, "FORM_RATE_LIMIT", "off")
    monkeypatch.setitem(app.config, "FORM_RATE_LIMIT_PER_FORM", "off")
    codes = [post(anonymous, form, {email_name(form): f"a{n}@example.com"}).status_code for n in range(3)]
    assert codes == [200, 200, 200]


@pytest.mark.parametrize(
    ("off", "kept"), [("FORM_RATE_LIMIT", "FORM_RATE_LIMIT_PER_FORM"), ("FORM_RATE_LIMIT_PER_FORM", "FORM_RATE_LIMIT")]
)
@pytest.mark.parametrize("value", ["off", "", " Off "])
def test_a_rate_limit_set_to_off_or_empty_is_no_limit_and_the_other_still_holds(
    anonymous, form, app, monkeypatch, caplog, off, kept, value
):
    caplog.set_level(logging.ERROR)
    monkeypatch.setitem(app.config, off, value)
    monkeypatch.setitem(app.config, kept, "3 per minute")
    codes = [post(anonymous, form, {email_name(form): f"a{n}@example.com"}).status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]
    monkeypatch.setitem(app.config, kept, "off")
    monkeypatch.setitem(app.config, off, "1 per minute")
    codes = [post(anonymous, form, {email_name(form): f"b{n}@example.com"}).status_code for n in range(2)]
    assert codes == [200, 429]
    assert not [record for record in caplog.records if "ratelimit" in record.getMessage()]  # "off" is not a limit


def test_embed_script_with_etag(anonymous, ctx):
    response = anonymous.get("/embed.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    again = anonymous.get("/embed.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_hosted_page_get_and_post_with_errors_then_success(anonymous, form):
    page = anonymous.get(f"/f/{form.key}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert f"frame-ancestors 'self' {SHOP}" in page.headers["Content-Security-Policy"]
    assert 'for="vf-' + email_name(form) + '"' in html and 'aria-describedby="help-' in html
    token = re.search(r'name="_token" value="([^"]+)"', html).group(1)
    assert spam.token_age(form.key, token) is not None
    data = {"_token": old_token(form), email_name(form): "not an address", "_hp": ""}
    errors = anonymous.post(f"/f/{form.key}", data=data, csrf=False)
    html = errors.get_data(as_text=True)
    assert errors.status_code == 422
    assert 'aria-invalid="true"' in html and f'id="error-{email_name(form)}"' in html
    assert 'value="not an address"' in html
    data[email_name(form)] = "ann@example.com"
    done = anonymous.post(f"/f/{form.key}", data=data, csrf=False)
    assert done.status_code == 200 and "Welcome!" in done.get_data(as_text=True)


@pytest.mark.parametrize(
    ("fetch_site", "hosted", "accepted"),
    [("same-origin", True, True), ("cross-site", True, False), ("same-origin", False, False), ("", True, False)],
)
def test_hosted_page_posting_with_origin_null(anonymous, form, fetch_site, hosted, accepted):
    """``Origin: null`` passes only from the hosted page itself: the browser says ``Sec-Fetch-Site: same-origin``
    and the token is one the hosted page issued (an API token or a copy on a foreign page does not pass)."""
    token = spam.issue_token(form.key, now=time.time() - 60, hosted=hosted)
    headers = {"Origin": "null", **({"Sec-Fetch-Site": fetch_site} if fetch_site else {})}
    data = {"_token": token, email_name(form): "ann@example.com"}
    response = anonymous.post(f"/f/{form.key}", data=data, csrf=False, headers=headers)
    assert response.status_code == (200 if accepted else 403)
    assert response.headers["Referrer-Policy"] == "same-origin"
    stored = db.session.scalar(select(FormSubmission).where(FormSubmission.form_id == form.id))
    assert (stored.status, stored.reason) == (("accepted", "") if accepted else ("rejected", "origin"))


def test_hosted_page_issues_hosted_tokens(anonymous, form):
    html = anonymous.get(f"/f/{form.key}").get_data(as_text=True)
    token = re.search(r'name="_token" value="([^"]+)"', html).group(1)
    assert spam.is_hosted_token(form.key, token)
    assert not spam.is_hosted_token(form.key, anonymous.get(f"/p/forms/{form.key}/token").get_json()["token"])
    assert not spam.is_hosted_token("another", token)


def test_hosted_page_redirects_when_configured(anonymous, form):
    form.settings = {**form.settings, "redirect_url": "https://shop.example/thanks"}
    db.session.commit()
    data = {"_token": old_token(form), email_name(form): "ann@example.com"}
    response = anonymous.post(f"/f/{form.key}", data=data, csrf=False)
    assert response.status_code == 303 and response.headers["Location"] == "https://shop.example/thanks"
    assert "form-action 'self' https://shop.example" in response.headers["Content-Security-Policy"]


def test_confirm_link_page(anonymous, account):
    database = make_database(
        account, fields={"Email": "email", "News": {"type": "choice", "options": {"choices": ["yes", "pending"]}}}
    )
    news = next(field.id for field in database.fields if field.name == "News")
    form = make_form(
        account,
        database,
        items=[{"type": "field", "field": "Email"}],
        double_opt_in={
            "enabled": True,
            "unconfirmed_values": {str(news): "pending"},
            "confirmed_values": {str(news): "yes"},
        },
    )
    sent = post(anonymous, form, {f"f{database.fields[0].id}": "ann@example.com"}, origin="")
    assert sent.status_code == 200, sent.get_json()
    [message] = caught_messages(account.id)
    path = re.search(r"http://verrijk\.test(/p/confirm/\S+)", message.get_body(("plain",)).get_content()).group(1)
    page = anonymous.get(path)  # what a mail scanner does: it confirms nothing
    assert page.status_code == 200, page.get_data(as_text=True)
    assert "Set-Cookie" not in page.headers and 'method="post"' in page.get_data(as_text=True)
    profile = db.session.scalars(select(Profile)).one()
    assert profile.fields[str(news)] == "pending"
    confirmed = anonymous.post(path, csrf=False)
    assert confirmed.status_code == 200 and "Set-Cookie" not in confirmed.headers
    db.session.refresh(profile)
    assert profile.fields[str(news)] == "yes"
    assert anonymous.post(tampered(path), csrf=False).status_code == 400


def test_no_cookie_even_for_a_logged_in_admin(browser, form):
    admin = browser("admin")
    for url in (f"/p/forms/{form.key}", f"/f/{form.key}", f"/p/forms/{form.key}/token"):
        response = admin.get(url)
        assert response.status_code == 200 and "Set-Cookie" not in response.headers
        assert "Cookie" not in response.vary


def test_a_number_over_the_int_digit_limit_is_a_field_error_in_the_form(anonymous, account):
    database = make_database(account, fields={"Email": "email", "Score": "number", "Amount": "decimal"})
    numbers = make_form(account, database, items=[{"type": "field", "field": name} for name in ("Score", "Amount")])
    score, amount = (f"f{item['field_id']}" for item in numbers.items)
    response = post(anonymous, numbers, {score: "9" * 5000, amount: "1" * 5000}, origin="")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {score, amount}
    assert db.session.scalar(select(func.count()).select_from(Profile)) == 0


@pytest.mark.parametrize(
    ("method", "path", "status", "json"),
    [
        ("GET", "/p/forms/nope/elsewhere", 404, True),
        ("DELETE", "/p/forms/nope/submissions", 405, True),
        ("PUT", "/p/confirm/abc", 405, False),  # GET shows the page, POST confirms
        ("GET", "/f/", 404, False),
        ("POST", "/embed.js", 405, False),
        ("PUT", "/p/u/abc", 405, False),
    ],
)
def test_public_404_and_405_answer_plainly_without_a_session(anonymous, method, path, status, json):
    response = anonymous._send(method, path)
    assert response.status_code == status
    assert "Set-Cookie" not in response.headers and "csrf_token" not in response.get_data(as_text=True)
    if json:
        assert response.is_json and response.get_json()["error"]
    else:
        assert response.mimetype == "text/html" and "admin.css" not in response.get_data(as_text=True)
    if status == 405:
        assert response.headers["Allow"]
