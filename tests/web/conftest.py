"""Web test helpers: a logged-in browser-like client that sends CSRF tokens like the real pages do."""

import re

import pytest

from tests.factories import PASSWORD, make_account, make_user
from webapp.extensions import db

CSRF_PATTERNS = (
    re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"'),
    re.compile(r'name="csrf_token" value="([^"]+)"'),
    re.compile(r'"X-CSRFToken": "([^"]+)"'),
)


def csrf_token_in(html: str) -> str:
    for pattern in CSRF_PATTERNS:
        match = pattern.search(html)
        if match:
            return match.group(1)
    raise AssertionError("no CSRF token in page")


class Browser:
    """Wraps the Flask test client: ``post`` adds the CSRF token (as the pages' forms and htmx do).

    Each request runs in an app context of its own, as in production. (The ``ctx`` fixture keeps one app
    context open for the whole test and a test-client request would reuse it, sharing ``g`` — where
    Flask-Login caches the user, Flask-WTF the CSRF token and Flask-Babel the locale — between requests.)
    The test's session is committed first, so the request sees the test's data, and expired objects are
    reloaded afterwards, so the test sees the request's changes.
    """

    def __init__(self, client, user=None):
        self.client = client
        self.user = user
        self._token = None

    def token(self) -> str:
        if self._token is None:
            page = self.get("/login" if self.user is None else "/account")
            self._token = csrf_token_in(page.get_data(as_text=True))
        return self._token

    def _send(self, method: str, url: str, **kwargs):
        db.session.commit()
        with self.client.application.app_context():
            return self.client.open(url, method=method, **kwargs)

    def get(self, url: str, *, htmx: bool = False, **kwargs):
        headers = kwargs.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        return self._send("GET", url, headers=headers, **kwargs)

    def post(self, url: str, data=None, *, htmx: bool = False, csrf: bool = True, **kwargs):
        headers = kwargs.pop("headers", {})
        if htmx:
            headers["HX-Request"] = "true"
        if csrf:
            headers["X-CSRFToken"] = self.token()
        return self._send("POST", url, data=data or {}, headers=headers, **kwargs)

    def delete(self, url: str, *, htmx: bool = True, **kwargs):
        headers = {"X-CSRFToken": self.token()}
        if htmx:
            headers["HX-Request"] = "true"
        return self._send("DELETE", url, headers=headers, **kwargs)


@pytest.fixture
def anonymous(app, ctx):
    return Browser(app.test_client())


@pytest.fixture
def browser(app, ctx):
    """``browser(role="admin", account=None)`` → a Browser logged in as a new user with that role."""

    def log_in(role: str = "admin", account=None, email: str | None = None) -> Browser:
        account = account or make_account("Acme")
        user = make_user(account, role, email=email)
        visitor = Browser(app.test_client())
        response = visitor.post("/login", {"email": user.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        visitor.user = user
        visitor._token = None
        return visitor

    return log_in
