"""Idempotency-Key on POST, and rate limits per token with RateLimit headers."""

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Profile


def count_profiles() -> int:
    return db.session.scalar(select(func.count()).select_from(Profile))


def test_a_retried_create_with_the_same_key_creates_once(api, database):
    url, body = f"/database/{database.id}/profiles", {"fields": {"Email": "a@example.com"}}
    first = api.post(url, json=body, headers={"Idempotency-Key": "order-1"})
    again = api.post(url, json=body, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["X-Created"] == first.headers["X-Created"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert count_profiles() == 1
    assert api.post(url, json=body, headers={"Idempotency-Key": "order-2"}).status_code == 201
    assert count_profiles() == 2


def test_the_same_key_with_another_body_is_refused(api, database):
    url = f"/database/{database.id}/profiles"
    api.post(url, json={"fields": {"Email": "a@example.com"}}, headers={"Idempotency-Key": "k"})
    response = api.post(url, json={"fields": {"Email": "b@example.com"}}, headers={"Idempotency-Key": "k"})
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert count_profiles() == 1


def test_keys_are_per_token(api, other_api, account, database):
    from tests.api.conftest import Api
    from webapp.accounts.tokens import create_api_token

    _token, secret = create_api_token(account, "second")
    second = Api(api.client, secret)
    url, body = f"/database/{database.id}/profiles", {"fields": {"Email": "a@example.com"}}
    api.post(url, json=body, headers={"Idempotency-Key": "same"})
    assert second.post(url, json=body, headers={"Idempotency-Key": "same"}).status_code == 201
    assert count_profiles() == 2


def test_a_refused_create_is_replayed_as_refused(api, database):
    url, body = f"/database/{database.id}/profiles", {"fields": {"Nope": "x"}}
    first = api.post(url, json=body, headers={"Idempotency-Key": "bad"})
    again = api.post(url, json=body, headers={"Idempotency-Key": "bad"})
    assert first.status_code == again.status_code == 422
    assert again.get_json() == first.get_json()


@pytest.fixture
def three_per_minute(app):
    previous = app.config["API_RATE_LIMIT"]
    app.config["API_RATE_LIMIT"] = "3 per minute"
    yield
    app.config["API_RATE_LIMIT"] = previous


def test_calls_over_the_tokens_limit_are_refused_with_ratelimit_headers(api, other_api, database, three_per_minute):
    answers = [api.get("/databases") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["RateLimit-Policy"] == '"default";q=3;w=60'
    assert answers[0].headers["RateLimit"].startswith('"default";r=2;t=')
    assert answers[2].headers["RateLimit"].startswith('"default";r=0;t=')
    assert answers[3].mimetype == "application/problem+json"
    assert int(answers[3].headers["Retry-After"]) <= 60
    assert other_api.get("/databases").status_code == 200  # another token has its own count
