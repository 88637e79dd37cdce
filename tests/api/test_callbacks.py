"""Callbacks over REST: create, read, update, pause and resume, delete — admin tokens only, per account."""

from sqlalchemy import func, select

from tests.api.conftest import Api
from webapp.accounts.tokens import create_api_token
from webapp.extensions import db
from webapp.models import Callback


def callbacks() -> int:
    return db.session.scalar(select(func.count()).select_from(Callback)) or 0


def test_a_callback_is_created_read_changed_paused_resumed_and_deleted(api, database):
    made = api.post(
        f"/database/{database.id}/callbacks",
        json={"url": "https://shop.example.com/hook", "actions": ["create", "update"], "expression": "customer_id > 3"},
    )
    assert made.status_code == 201, made.get_data(as_text=True)
    new_id = made.headers["X-Created"]
    assert made.headers["Location"].endswith(f"/callback/{new_id}")
    read = api.get(f"/callback/{new_id}").get_json()
    assert (read["url"], read["actions"], read["status"]) == (
        "https://shop.example.com/hook",
        ["create", "update"],
        "active",
    )
    assert read["secret"].startswith("whsec_")
    changed = api.put(f"/callback/{new_id}", json={"url": "https://shop.example.com/other", "method": "post"})
    assert changed.status_code == 204
    assert (api.get(f"/callback/{new_id}").get_json()["url"], db.session.get(Callback, int(new_id)).method) == (
        "https://shop.example.com/other",
        "post",
    )
    paused = api.put(f"/callback/{new_id}/status", json={"status": "paused"}).get_json()
    assert paused["status"] == "paused" and paused["paused_reason"]
    assert api.put(f"/callback/{new_id}/status", json={"status": "active"}).get_json()["status"] == "active"
    listed = api.get(f"/database/{database.id}/callbacks").get_json()
    assert [item["ID"] for item in listed["data"]] == [new_id]
    assert api.delete(f"/callback/{new_id}").status_code == 204
    assert callbacks() == 0
    assert api.get(f"/callback/{new_id}").status_code == 404


def test_bad_settings_are_problems_naming_the_field_and_change_nothing(app, api, database):
    made = api.post(f"/database/{database.id}/callbacks", json={"url": "https://shop.example.com/hook"})
    new_id = made.headers["X-Created"]
    refused = api.put(f"/callback/{new_id}", json={"url": "https://shop.example.com/x", "expression": "Town == 1"})
    assert refused.status_code == 422
    assert [error["field"] for error in refused.get_json()["errors"]] == ["expression"]
    assert db.session.get(Callback, int(new_id)).url == "https://shop.example.com/hook"
    wrong = api.post(f"/database/{database.id}/callbacks", json={"url": 7, "colour": "red"})
    assert wrong.status_code == 422
    assert {error["field"] for error in wrong.get_json()["errors"]} == {"colour"}
    app.config["ALLOW_PRIVATE_URLS"] = False
    try:
        private = api.post(f"/database/{database.id}/callbacks", json={"url": "http://127.0.0.1:8080/hook"})
    finally:
        app.config["ALLOW_PRIVATE_URLS"] = True
    assert private.status_code == 422 and private.get_json()["errors"][0]["field"] == "url"
    assert api.put(f"/callback/{new_id}/status", json={}).status_code == 422
    assert callbacks() == 1


def test_only_admin_tokens_of_the_account_reach_callbacks(app, api, other_api, account, database):
    new_id = api.post(f"/database/{database.id}/callbacks", json={"url": "https://a.example.com/"}).headers["X-Created"]
    for scope in ("read", "write"):
        _token, secret = create_api_token(account, f"{scope} token", scope=scope)
        limited = Api(app.test_client(), secret)
        assert limited.get(f"/callback/{new_id}").status_code == 403
        assert limited.get(f"/database/{database.id}/callbacks").status_code == 403
        assert limited.delete(f"/callback/{new_id}").status_code == 403
    assert other_api.get(f"/callback/{new_id}").status_code == 404
    assert other_api.put(f"/callback/{new_id}", json={"url": "https://evil.example.com/"}).status_code == 404
    assert other_api.delete(f"/callback/{new_id}").status_code == 404
    assert (
        other_api.post(f"/database/{database.id}/callbacks", json={"url": "https://b.example.com/"}).status_code == 404
    )
    assert callbacks() == 1
