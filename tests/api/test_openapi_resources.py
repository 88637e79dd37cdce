"""The new resources are in the OpenAPI document (and so in the Schemathesis run of ``test_openapi.py``)."""


def test_the_structure_views_mailings_surveys_and_export_files_are_documented(app, ctx):
    with app.test_client() as client, app.app_context():
        paths = client.get("/api/openapi.json").get_json()["paths"]
    expected = {
        "/databases": {"get", "post"},
        "/database/{id}": {"get", "put"},
        "/database/{id}/fields": {"get", "post"},
        "/database/{id}/field/{field_id}": {"get", "put", "delete"},
        "/database/{id}/interest/{interest_id}": {"put", "delete"},
        "/collection/{id}": {"get", "put", "delete"},
        "/collection/{id}/field/{field_id}": {"get", "put", "delete"},
        "/database/{id}/views": {"get", "post"},
        "/view/{id}": {"get", "put", "delete"},
        "/view/{id}/profiles": {"get"},
        "/mailings": {"get", "post"},
        "/mailing/{id}": {"get", "put", "delete"},
        "/mailing/{id}/send": {"post"},
        "/mailing/{id}/results": {"get"},
        "/surveys": {"get"},
        "/survey/{id}/responses": {"get"},
        "/forms": {"get", "post"},
        "/form/{id}": {"get", "put", "delete"},
        "/database/{id}/followups": {"get", "post"},
        "/followup/{id}": {"get", "put", "delete"},
        "/database/{id}/export-files": {"post"},
        "/export-file/{id}/download": {"get"},
    }
    assert {path: set(paths.get(path, {})) for path in expected} == expected
