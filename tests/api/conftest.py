"""REST test helpers: a client that sends an API token and commits the test's session first."""

import pytest

from tests.factories import make_account, make_database
from webapp.accounts.tokens import create_api_token
from webapp.extensions import db


class Api:
    """The Flask test client with a token. Each request runs in an app context of its own (as in production);
    the test's session is committed first so the request sees the test's data."""

    def __init__(self, client, secret: str | None, prefix: str = "/v4"):
        self.client = client
        self.secret = secret
        self.prefix = prefix

    def call(self, method: str, path: str, *, bearer: bool = True, **kwargs):
        db.session.commit()
        headers = dict(kwargs.pop("headers", {}))
        if self.secret and bearer:
            headers.setdefault("Authorization", f"Bearer {self.secret}")
        with self.client.application.app_context():
            response = self.client.open(self.prefix + path, method=method, headers=headers, **kwargs)
        db.session.expire_all()
        return response

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs):
        return self.call("POST", path, **kwargs)

    def put(self, path: str, **kwargs):
        return self.call("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.call("DELETE", path, **kwargs)


@pytest.fixture
def account(ctx):
    return make_account("Acme")


@pytest.fixture
def database(account):
    return make_database(account, fields={"Email": {"type": "email", "indexed": True}, "customer_id": "number"})


@pytest.fixture
def api(app, account):
    _token, secret = create_api_token(account, "shop")
    return Api(app.test_client(), secret)


@pytest.fixture
def other_api(app, ctx):
    other = make_account("Other")
    _token, secret = create_api_token(other, "theirs")
    return Api(app.test_client(), secret)
