"""The served OpenAPI document, and Schemathesis against it: no server error, no answer outside the schema."""

import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from werkzeug.serving import make_server

from tests.factories import make_database
from webapp.accounts.tokens import create_api_token
from webapp.extensions import db
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin


class _AsPublicHost:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        environ["HTTP_HOST"] = self.app.config["SERVER_NAME"]
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def live_api(app):
    server = make_server("127.0.0.1", 0, _AsPublicHost(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/api/v1"
    finally:
        server.shutdown()
        thread.join()


@pytest.fixture
def secret(account):
    database = make_database(account, fields={"Email": {"type": "email"}, "customer_id": "number"})
    databases.create_collection(account, database.id, "orders")
    databases.create_interest(account, database.id, "news")
    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=Origin("admin"))
    _token, value = create_api_token(account, "schemathesis")
    db.session.commit()
    return value


@pytest.fixture
def api_schema(ctx):
    from webapp.blueprints.api.openapi import build_document

    with ctx.test_request_context():
        return schemathesis.openapi.from_dict(build_document())


def test_the_document_is_served_as_openapi_3_1(app, ctx):
    with app.test_client() as client, app.app_context():
        response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    assert {"/database/{id}/profiles", "/profile/{id}/fields", "/events"} <= set(document["paths"])
    assert set(document["paths"]["/database/{id}/profiles"]) == {"get", "post", "put"}
    privacy = {"/privacy/lookup", "/privacy/access", "/privacy/erasures", "/privacy/erasures/{id}"}
    assert privacy <= set(document["paths"])


def test_no_server_error_and_no_answer_outside_the_schema(api_schema, live_api, secret):
    """Each operation gets a few generated calls (bounded: CI stays fast), with a valid token."""
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        def calls(case):
            case.call_and_validate(
                base_url=live_api,
                headers={"Authorization": f"Bearer {secret}"},
                checks=[not_a_server_error, response_schema_conformance],
            )

        calls()
