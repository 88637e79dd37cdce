"""A live HTTP server of the session app (in a thread) and a zeep client against it."""

import threading

import pytest
from werkzeug.serving import make_server

from tests.factories import make_account
from tests.soap.helpers import copernica_call
from webapp.accounts.tokens import create_api_token
from webapp.extensions import db


class _AsPublicHost:
    """Requests reach the app under its SERVER_NAME host (the test app routes ``verrijk.test`` only)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ["HTTP_HOST"] = self.app.config["SERVER_NAME"]
        return self.app(environ, start_response)


@pytest.fixture(scope="session")
def live_url(app):
    server = make_server("127.0.0.1", 0, _AsPublicHost(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/soap"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture(scope="session")
def direct_url(app):
    """A live server reached under its own address (``127.0.0.1:<port>``), as a fresh install is without
    ``PUBLIC_URL``: clients that post where the WSDL says (PHP's SoapClient) need this one."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/soap"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture(scope="session")
def wsdl_client(live_url):
    """A zeep client built from the live WSDL (the document is fetched once per session)."""
    import zeep

    return zeep.Client(f"{live_url}?SOAPAPI=WSDL")


class SoapService:
    """The zeep service proxy in Copernica's layout (``helpers.copernica_call``: ``parameters={...}`` in,
    the ``result``'s member out); each call first ends the test's transaction.

    The server thread has its own session: ending ours lets it see what the test stored, lets the test
    see what the call changed afterwards (objects are expired), and holds no locks its DDL could wait on.
    """

    def __init__(self, service):
        self._service = service

    def __getattr__(self, name):
        operation = getattr(self._service, name)

        def call(**kwargs):
            db.session.commit()
            return copernica_call(operation, **kwargs)

        return call


@pytest.fixture
def soap(wsdl_client, live_url, ctx):
    """The zeep service proxy, posting to the live server, with a clean database."""
    binding = next(iter(wsdl_client.wsdl.bindings))
    return SoapService(wsdl_client.create_service(binding, live_url))


@pytest.fixture
def token(account):
    _, secret = create_api_token(account, "soap tests")
    return secret


@pytest.fixture
def other_token(ctx):
    other = make_account("Other")
    _, secret = create_api_token(other, "other")
    return secret
