"""Real-browser fixtures: Verrijk served by a real WSGI server, a site owner's page on another origin that
pastes the embed snippet, and Debian's Chromium driven by Playwright (never a downloaded browser).

Without Chromium or Playwright the browser tests skip with the reason, except in CI (``CI`` set), where they
fail: ``.ci/run`` installs Chromium and ``scripts/setup`` installs Playwright with the test extras.
"""

import os
import threading
from collections.abc import Callable

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from webapp import create_app
from webapp.extensions import db

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
TIMEOUT_MS = 20_000  # generous: the machines are shared; expectations return as soon as they hold


def _unavailable(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests (.ci/run installs Chromium)", pytrace=False)
    pytest.skip(reason)


class LiveServer:
    """A WSGI app on 127.0.0.1 (a free port) in a daemon thread, one thread per request."""

    def __init__(self, wsgi_app, host_name: str = "127.0.0.1"):
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.url = f"http://{host_name}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()


class HostSite:
    """The site owner's website: serves the pages a test puts on it, on an origin other than Verrijk's."""

    def __init__(self):
        self.pages: dict[str, tuple[str, dict[str, str]]] = {}

    def __call__(self, environ, start_response):
        request = Request(environ)
        html, headers = self.pages.get(request.path, ("not found", {}))
        status = 200 if request.path in self.pages else 204 if request.path == "/favicon.ico" else 404
        return Response(html, status, headers, content_type="text/html; charset=utf-8")(environ, start_response)


@pytest.fixture(scope="package")
def verrijk(app):
    """The Verrijk app on a live server, on the test database (the session ``app`` has built the schema).

    A second app: the session app's SERVER_NAME and PUBLIC_URL name the test client's host, not this one.
    """
    live_app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"],
            "ALLOW_PRIVATE_URLS": True,
        }
    )
    server = LiveServer(live_app)
    live_app.config["PUBLIC_URL"] = server.url
    yield server
    server.stop()
    with live_app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="package")
def host_site():
    site = HostSite()
    # "localhost" and another port: another origin than Verrijk's http://127.0.0.1:<port>
    server = LiveServer(site, host_name="localhost")
    server.site = site
    yield server
    server.stop()


@pytest.fixture
def host_page(host_site, verrijk, ctx):
    """``host_page(body_html, csp=None, path="/", lang="en")`` → the URL of a page on the host site with that body.

    ``{verrijk}`` in the body is replaced by Verrijk's URL. ``csp`` becomes the page's Content-Security-Policy,
    ``lang`` its ``<html lang>``.
    """

    def put(body: str, *, csp: str | None = None, path: str = "/", lang: str = "en") -> str:
        html = f"<!doctype html><html lang='{lang}'><head><title>Host</title></head><body>{body}</body></html>"
        headers = {"Content-Security-Policy": csp} if csp else {}
        host_site.site.pages[path] = (html.replace("{verrijk}", verrijk.url), headers)
        return host_site.url + path

    yield put
    host_site.site.pages.clear()


@pytest.fixture(scope="package")
def chromium():
    if not os.path.exists(CHROMIUM):
        _unavailable(f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (scripts/setup installs it with the test extras)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser context (own cache) and page; ``page.problems`` collects console errors and page errors."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    yield page
    context.close()


@pytest.fixture
def embed_snippet(verrijk) -> Callable[..., str]:
    """``embed_snippet(key, nonce="")``: the snippet the admin shows for a form, as a site owner pastes it."""
    from webapp.blueprints.admin.forms import snippet

    def paste(key: str, *, nonce: str = "") -> str:
        html = snippet(key, verrijk.url)
        return html.replace(" async>", f' async nonce="{nonce}">') if nonce else html

    return paste
