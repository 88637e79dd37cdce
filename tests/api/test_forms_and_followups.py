"""Web forms, their submissions and follow-ups over REST: reads need a token, switching follow-ups needs admin."""

from tests.api.conftest import Api
from tests.factories import make_database, make_followup, make_form, make_form_submission
from webapp.accounts.tokens import create_api_token
from webapp.extensions import db
from webapp.models import Field, FollowUp, Form


def welcome(account, database):
    """A follow-up on new profiles that sets the customer id."""
    customer = next(field for field in database.fields if field.name == "customer_id")
    actions = [{"type": "update_fields", "values": {str(customer.id): "1"}}]
    return make_followup(account, database, trigger={"kind": "profile_created"}, actions=actions)


def test_forms_are_listed_and_read_with_their_counts(api, account, database):
    form = make_form(account, database, name="Newsletter")
    make_form_submission(form, data={f"f{database.fields[0].id}": "a@example.com"})
    make_form_submission(form, status="rejected", reason="honeypot")
    listed = api.get("/forms").get_json()
    assert [(item["ID"], item["name"], item["accepted"]) for item in listed["data"]] == [
        (str(form.id), "Newsletter", 1)
    ]
    assert api.get(f"/forms?database={database.id}").get_json()["count"] == 1
    read = api.get(f"/form/{form.id}").get_json()
    assert read["submissions"] == {"accepted": 1, "invalid": 0, "rejected": 1}
    assert read["database"] == str(database.id)


def test_submissions_come_newest_first_in_keyset_pages_with_named_values(api, account, database):
    form = make_form(account, database)
    email = database.fields[0]
    made = [make_form_submission(form, data={f"f{email.id}": f"p{n}@example.com"}) for n in range(3)]
    first = api.get(f"/form/{form.id}/submissions?limit=2").get_json()
    assert [item["ID"] for item in first["data"]] == [str(made[2].id), str(made[1].id)]
    assert first["data"][0]["fields"] == {"Email": "p2@example.com"}
    second = api.get(f"/form/{form.id}/submissions?limit=2&before={first['next']}").get_json()
    assert [item["ID"] for item in second["data"]] == [str(made[0].id)]
    assert second["next"] is None
    assert api.get(f"/form/{form.id}/submissions?status=accepted").get_json()["count"] == 3
    bad = api.get(f"/form/{form.id}/submissions?status=lost&limit=0")
    assert bad.status_code == 422
    assert {error["field"] for error in bad.get_json()["errors"]} == {"status"}


def test_another_accounts_forms_and_follow_ups_are_not_found(other_api, account, database):
    form = make_form(account, database)
    followup = welcome(account, database)
    assert other_api.get(f"/form/{form.id}").status_code == 404
    assert other_api.get(f"/form/{form.id}/submissions").status_code == 404
    assert other_api.get(f"/database/{database.id}/followups").status_code == 404
    assert other_api.put(f"/followup/{followup.id}/status", json={"status": "paused"}).status_code == 404
    assert other_api.get("/forms").get_json()["data"] == []


def test_follow_ups_are_listed_and_switched_off_and_on_by_an_admin_token(app, api, account, database):
    followup = welcome(account, database)
    assert [item["ID"] for item in api.get(f"/database/{database.id}/followups").get_json()["data"]] == [
        str(followup.id)
    ]
    _token, secret = create_api_token(account, "writer", scope="write")
    writer = Api(app.test_client(), secret)
    refused = writer.put(f"/followup/{followup.id}/status", json={"status": "paused"})
    assert refused.status_code == 403 and "admin" in refused.get_json()["detail"]
    assert db.session.get(FollowUp, followup.id).status == "active"
    paused = api.put(f"/followup/{followup.id}/status", json={"status": "paused"})
    assert paused.status_code == 200 and paused.get_json()["status"] == "paused"
    assert db.session.get(FollowUp, followup.id).status == "paused"
    assert api.put(f"/followup/{followup.id}/status", json={"status": "on"}).status_code == 422
    assert api.put(f"/followup/{followup.id}/status", json={"status": "active"}).get_json()["status"] == "active"
    assert api.get(f"/followup/{followup.id}").get_json()["status"] == "active"


def removed_without_cleaning(field_id: int) -> None:
    """A field removed as Verrijk did before removals cleaned forms' settings: the settings still name it."""
    db.session.delete(db.session.get_one(Field, field_id))
    db.session.commit()


def test_a_form_whose_field_is_removed_is_read_and_saved_without_it(api, account):
    """Removing a field the settings name (key fields, language field, double opt-in values) leaves the form
    savable with a body that names none of them, and a client can send back what it read."""
    database = make_database(
        account,
        "Letters",
        fields={
            "Email": {"type": "email", "indexed": True},
            "Code": "text",
            "Language": "text",
            "Status": {"type": "choice", "options": {"choices": ["new", "unconfirmed", "yes"]}},
            "Source": "text",
        },
    )
    field = {one.name: one.id for one in database.fields}
    form = make_form(
        account,
        database,
        behaviour="update",
        key_field_ids=["Email", "Code"],
        languages=["nl", "en"],
        language_field_id=field["Language"],
        double_opt_in={
            "enabled": True,
            "unconfirmed_values": {str(field["Status"]): "unconfirmed", str(field["Source"]): "web"},
            "confirmed_values": {str(field["Status"]): "yes", str(field["Source"]): "confirmed"},
            "email_subject": "Confirm",
            "email_text": "Click {link}",
            "link_ttl_hours": 48,
        },
    )

    assert api.delete(f"/database/{database.id}/field/{field['Source']}").status_code == 204
    read = api.get(f"/form/{form.id}").get_json()
    assert read["double_opt_in"]["unconfirmed_values"] == {str(field["Status"]): "unconfirmed"}
    assert read["double_opt_in"]["confirmed_values"] == {str(field["Status"]): "yes"}
    assert db.session.get_one(Form, form.id).settings["double_opt_in"]["confirmed_values"] == {
        str(field["Status"]): "yes"
    }
    assert api.put(f"/form/{form.id}", json={"name": "Renamed"}).status_code == 204

    removed_without_cleaning(field["Code"])
    removed_without_cleaning(field["Language"])
    read = api.get(f"/form/{form.id}").get_json()
    assert (read["key_fields"], read["language_field"]) == ([str(field["Email"])], None)
    changed = api.put(f"/form/{form.id}", json={"success_message": "Thanks"})
    assert changed.status_code == 204, changed.get_json()
    stored = db.session.get_one(Form, form.id)
    assert stored.key_field_ids == [field["Email"]] and stored.settings["language_field_id"] is None
    assert stored.settings["double_opt_in"]["confirmed_values"] == {str(field["Status"]): "yes"}
    sent_back = {key: value for key, value in read.items() if key in ("key_fields", "language_field", "double_opt_in")}
    assert api.put(f"/form/{form.id}", json=sent_back).status_code == 204

    named = api.put(f"/form/{form.id}", json={"key_fields": [field["Code"]]})
    assert named.status_code == 422 and named.get_json()["errors"][0]["field"] == "key_field_ids"
