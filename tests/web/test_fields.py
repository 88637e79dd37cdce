"""The fields admin: list, add (each kind of type option), edit, type changes, delete, move; roles, htmx."""

import json

import pytest
from sqlalchemy import select

from tests.factories import make_account, make_database, make_form
from webapp.extensions import db
from webapp.models import Field, Form, Profile
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ADMIN = Origin("admin", actor="test")


def committed():
    """Forget what the session holds, so the test sees only what the requests committed."""
    db.session.rollback()
    return db.session


def field_named(database_id: int, name: str, collection_id: int | None = None) -> Field | None:
    return committed().scalar(
        select(Field).where(Field.database_id == database_id, Field.name == name, Field.collection_id == collection_id)
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)


def toast_of(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]["message"]


def new_field(**values) -> dict:
    """A posted field form: unchecked checkboxes are absent, as browsers send them."""
    return {"type": "text", "shown": "y", **values}


# --- the list -------------------------------------------------------------------------------------


def test_fields_page_shows_types_options_defaults_and_flags(browser):
    me = browser("viewer")
    account = me.user.account
    database = make_database(
        account,
        fields={
            "Email": {"type": "email", "unique": True, "required": True, "default": "nobody@example.com"},
            "Size": {"type": "choice", "options": {"choices": ["S", "M", "L"], "multiple": True}},
            "Mobile": {"type": "phone", "options": {"region": "NL"}, "hidden": True},
        },
    )

    page = text_of(me.get(f"/databases/{database.id}/fields"))

    assert "Email address" in page and "Multiple choice" in page and "Phone number" in page
    assert "S, M, L" in page and "more than one" in page and "default region NL" in page
    assert "nobody@example.com" in page
    for flag in ("required", "unique", "hidden", "list column"):
        assert f'<span class="badge{" muted" if flag in ("hidden", "list column") else ""}">{flag}</span>' in page
    assert "Add a field" not in page and "Edit</a>" not in page  # a viewer only reads


def test_admin_sees_the_form_and_actions_and_an_empty_state(browser):
    me = browser("admin")
    database = make_database(me.user.account, fields={})
    page = text_of(me.get(f"/databases/{database.id}/fields"))
    assert "No fields yet" in page and "Add a first field below" in page
    assert f'action="/databases/{database.id}/fields"' in page
    assert 'name="indexed"' in page and 'name="unique"' in page


def test_htmx_gets_the_fields_fragment(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    fragment = text_of(me.get(f"/databases/{database.id}/fields", htmx=True))
    assert "<html" not in fragment and fragment.lstrip().startswith('<section id="fields"')
    assert "FirstName" in fragment


# --- create, one test per kind of type option -------------------------------------------------------


def test_add_a_text_field_with_a_length(browser):
    me = browser("admin")
    database = make_database(me.user.account, fields={})
    response = me.post(
        f"/databases/{database.id}/fields",
        new_field(name="City", length="40", default="Amsterdam", required="y", indexed="y"),
        htmx=True,
    )
    assert response.status_code == 200
    assert toast_of(response) == "Field City is added."
    assert "<html" not in text_of(response) and "at most 40 characters" in text_of(response)
    field = field_named(database.id, "City")
    assert (field.type, field.options, field.default) == ("text", {"length": 40}, "Amsterdam")
    assert field.required and field.shown and field.indexed and not field.unique


def test_add_a_choice_field_with_choices_and_multiple(browser):
    me = browser("admin")
    database = make_database(me.user.account, fields={})
    response = me.post(
        f"/databases/{database.id}/fields",
        new_field(
            name="Hobbies",
            type="choice",
            choices="Reading\r\nSailing\r\n\r\nReading\r\nChess",
            multiple="y",
            default="chess, sailing",
        ),
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/databases/{database.id}/fields")
    field = field_named(database.id, "Hobbies")
    assert field.options == {"choices": ["Reading", "Sailing", "Chess"], "multiple": True}
    assert field.default == ["Sailing", "Chess"]
    assert "Field Hobbies is added." in text_of(me.get(response.headers["Location"]))


def test_add_a_phone_field_with_a_default_region(browser):
    me = browser("admin")
    database = make_database(me.user.account, fields={})
    me.post(f"/databases/{database.id}/fields", new_field(name="Mobile", type="phone", region="nl"), htmx=True)
    assert field_named(database.id, "Mobile").options == {"region": "NL"}


def test_add_a_reference_field_to_another_database(browser):
    me = browser("admin")
    account = me.user.account
    companies = make_database(account, "Companies", fields={})
    people = make_database(account, "People", fields={})
    page = text_of(me.get(f"/databases/{people.id}/fields"))
    assert f'<option value="{companies.id}">Companies</option>' in page

    response = me.post(
        f"/databases/{people.id}/fields",
        new_field(name="Employer", type="reference", reference_database=str(companies.id)),
        htmx=True,
    )

    assert response.status_code == 200
    assert field_named(people.id, "Employer").options == {"database_id": companies.id}
    assert "profiles of Companies" in text_of(response)


def test_a_reference_to_another_accounts_database_is_refused(browser):
    me = browser("admin")
    secret = make_database(make_account("Globex"), "Secret", fields={})
    database = make_database(me.user.account, fields={})
    response = me.post(
        f"/databases/{database.id}/fields",
        new_field(name="Spy", type="reference", reference_database=str(secret.id)),
        htmx=True,
    )
    assert response.status_code == 422
    assert "Choose the database whose profiles this field refers to." in text_of(response)
    assert 'id="reference_database-error"' in text_of(response)
    assert field_named(database.id, "Spy") is None


@pytest.mark.parametrize(
    ("values", "input_name", "message"),
    [
        ({"name": "2nd name"}, "name", "Use a letter followed by letters, digits or underscores"),
        ({"name": "Email"}, "name", "A field named Email already exists."),
        ({"name": "Code", "length": "5000"}, "length", "Length must be between 1 and 1000."),
        ({"name": "Size", "type": "choice", "choices": "  "}, "choices", "Give at least one choice, one per line."),
        ({"name": "Mobile", "type": "phone", "region": "XX"}, "region", "Use an ISO 3166 country code, like NL."),
        ({"name": "Age", "type": "number", "default": "old"}, "default", "The default must be a whole number."),
        ({"name": "Notes", "type": "large_text", "unique": "y"}, "unique", "This type of field cannot be unique."),
    ],
)
def test_invalid_field_is_refused_with_the_message_at_its_input(browser, values, input_name, message):
    me = browser("admin")
    database = make_database(me.user.account)
    before = [f.name for f in database.fields]

    response = me.post(f"/databases/{database.id}/fields", new_field(**values), htmx=True)

    assert response.status_code == 422
    page = text_of(response)
    assert message in page
    assert f'id="{input_name}-error"' in page
    assert [f.name for f in databases.get_database(me.user.account, database.id).fields] == before


def test_required_field_over_existing_profiles_needs_a_default(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)

    refused = me.post(f"/databases/{database.id}/fields", new_field(name="Country", required="y"), htmx=True)
    assert refused.status_code == 409
    assert "1 profile has no value for Country: give a default to fill it with." in text_of(refused)
    assert "<strong>Country</strong>" not in text_of(refused)  # the refused field is not listed
    assert field_named(database.id, "Country") is None

    accepted = me.post(
        f"/databases/{database.id}/fields",
        new_field(name="Country", type="country", required="y", default="nl"),
        htmx=True,
    )
    assert accepted.status_code == 200
    field = field_named(database.id, "Country")
    assert committed().scalar(select(Profile)).fields[field.key] == "NL"


def test_a_refused_field_leaves_nothing_for_a_later_commit(browser):
    """The service rolls back a refused create: a door that commits other work afterwards stores no stray field."""
    from webapp.platform.errors import Conflict

    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    with pytest.raises(Conflict):
        create_field(account, FieldSpec(name="Country", type="country", required=True), database_id=database.id)
    db.session.commit()
    assert field_named(database.id, "Country") is None


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_add_fields(browser, role):
    me = browser(role)
    database = make_database(me.user.account, fields={})
    response = me.post(f"/databases/{database.id}/fields", new_field(name="City"))
    assert response.status_code == 403
    assert field_named(database.id, "City") is None


def test_fields_of_another_account_are_not_found(browser):
    globex = make_account("Globex")
    other = make_database(globex, "Secret")
    field = other.fields[0]
    me = browser("admin")
    assert me.post(f"/databases/{other.id}/fields", new_field(name="Mine")).status_code == 404
    assert me.get(f"/fields/{field.id}/edit").status_code == 404
    assert me.post(f"/fields/{field.id}", new_field(name="Hacked")).status_code == 404
    assert me.post(f"/fields/{field.id}/delete").status_code == 404
    assert me.post(f"/fields/{field.id}/move", {"direction": "down"}).status_code == 404
    assert committed().get(Field, field.id).name == "Email"


# --- edit and type changes ------------------------------------------------------------------------


def test_edit_form_is_filled_with_the_field(browser):
    me = browser("admin")
    database = make_database(
        me.user.account,
        fields={
            "Size": {"type": "choice", "options": {"choices": ["S", "M"], "multiple": True}, "default": ["M"]},
        },
    )
    field = database.fields[0]
    page = text_of(me.get(f"/fields/{field.id}/edit", htmx=True))
    assert "<html" not in page and "Edit field Size" in page
    assert f'action="/fields/{field.id}"' in page
    assert "S\nM</textarea>" in page
    assert '<input checked id="multiple" name="multiple" type="checkbox" value="y">' in page
    assert 'value="M"' in page


def test_rename_and_change_options(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    field = field_named(database.id, "LastName")
    response = me.post(f"/fields/{field.id}", new_field(name="Surname", length="80", required=""), htmx=True)
    assert response.status_code == 200 and toast_of(response) == "Field Surname is saved."
    saved = committed().get(Field, field.id)
    assert (saved.name, saved.options) == ("Surname", {"length": 80})


def test_type_change_that_stored_values_cannot_survive_is_refused(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account, fields={"Age": "text"})
    field = database.fields[0]
    profiles.create_profile(account, database.id, {"Age": "forty"}, origin=ADMIN)
    profiles.create_profile(account, database.id, {"Age": "41"}, origin=ADMIN)

    response = me.post(f"/fields/{field.id}", new_field(name="Age", type="number"), htmx=True)

    assert response.status_code == 409
    page = text_of(response)
    assert "1 stored values of Age cannot become Whole number" in page
    assert "nothing was changed" in page
    assert '<option selected value="number">' in page  # the form keeps what was chosen
    saved = committed().get(Field, field.id)
    assert (saved.type, saved.options) == ("text", {"length": 255})
    assert sorted(p.fields[saved.key] for p in committed().scalars(select(Profile))) == ["41", "forty"]


def test_type_change_that_values_survive_converts_them(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account, fields={"Age": "text"})
    field = database.fields[0]
    profiles.create_profile(account, database.id, {"Age": "41"}, origin=ADMIN)

    response = me.post(f"/fields/{field.id}", new_field(name="Age", type="number"))

    assert response.status_code == 303
    assert committed().get(Field, field.id).type == "number"
    assert committed().scalar(select(Profile)).fields[field.key] == 41


def test_unique_over_duplicates_is_refused(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    for _ in range(2):
        profiles.create_profile(account, database.id, {"Email": "same@example.com"}, origin=ADMIN)
    field = field_named(database.id, "Email")

    response = me.post(f"/fields/{field.id}", new_field(name="Email", type="email", unique="y"), htmx=True)

    assert response.status_code == 409
    assert "Email cannot be unique: 2 profiles share the value same@example.com." in text_of(response)
    assert committed().get(Field, field.id).unique is False


def test_type_options_part_follows_the_chosen_type(browser):
    me = browser("admin")
    make_database(me.user.account, "Companies", fields={})
    choice = text_of(me.get("/fields/options?type=choice&choices=A%0AB", htmx=True))
    assert "<html" not in choice and 'id="field-options"' in choice
    assert 'name="choices"' in choice and "A\nB</textarea>" in choice
    assert 'name="length"' not in choice and "<noscript>" not in choice
    reference = text_of(me.get("/fields/options?type=reference", htmx=True))
    assert 'name="reference_database"' in reference and "Companies" in reference
    assert "This type has no options." in text_of(me.get("/fields/options?type=date", htmx=True))
    assert 'name="length"' in text_of(me.get("/fields/options?type=bogus", htmx=True))


def test_without_javascript_the_page_offers_every_types_options(browser):
    me = browser("admin")
    database = make_database(me.user.account, fields={})
    page = text_of(me.get(f"/databases/{database.id}/fields"))
    assert 'hx-get="/fields/options"' in page
    options = page[page.index('id="field-options"') :]
    noscript = options[options.index("<noscript>") : options.index("</noscript>")]
    assert 'name="choices"' in noscript and 'name="region"' in noscript and 'name="reference_database"' in noscript
    assert 'name="length"' not in noscript  # text is the chosen type: its options are outside noscript


# --- delete and move ------------------------------------------------------------------------------


def test_delete_removes_the_values_and_says_how_many_profiles_lost_one(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    field = field_named(database.id, "FirstName")
    field_id, key = field.id, field.key
    for email, first in [("a@example.com", "Ann"), ("b@example.com", "Bob"), ("c@example.com", "")]:
        profiles.create_profile(account, database.id, {"Email": email, "FirstName": first}, origin=ADMIN)
    page = text_of(me.get(f"/databases/{database.id}/fields"))
    assert "Its value is removed from every profile that has one." in page  # the hx-confirm

    response = me.post(f"/fields/{field_id}/delete", htmx=True)

    assert response.status_code == 200
    assert toast_of(response) == "Field FirstName is deleted; 2 profiles lost a value."
    assert "FirstName" not in text_of(response)
    assert committed().get(Field, field_id) is None
    assert all(key not in p.fields for p in committed().scalars(select(Profile)))


def test_delete_with_http_delete_and_without_javascript(browser):
    me = browser("admin")
    database = make_database(me.user.account)
    first, last = field_named(database.id, "FirstName"), field_named(database.id, "LastName")
    confirm = me.get(f"/fields/{first.id}/delete")
    assert confirm.status_code == 200 and "Delete field FirstName?" in text_of(confirm)
    assert f'action="/fields/{first.id}/delete"' in text_of(confirm)

    assert me.delete(f"/fields/{first.id}/delete").status_code == 200
    plain = me.post(f"/fields/{last.id}/delete")
    assert plain.status_code == 303
    assert [f.name for f in databases.get_database(me.user.account, database.id).fields] == ["Email"]


def test_delete_names_the_forms_whose_settings_lose_the_field(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    first, last = field_named(database.id, "FirstName"), field_named(database.id, "LastName")
    first_id, last_id = first.id, last.id
    form = make_form(
        account,
        database,
        name="Preferences",
        behaviour="update",
        key_field_ids=["Email", "FirstName"],
        double_opt_in={"enabled": False, "unconfirmed_values": {str(last_id): "new"}, "confirmed_values": {}},
    )
    make_form(account, database, name="Untouched")
    confirm = text_of(me.get(f"/fields/{first_id}/delete"))
    assert "It is also taken out of the settings of these forms" in confirm and "Preferences" in confirm
    assert "Untouched" not in confirm

    response = me.post(f"/fields/{first_id}/delete", htmx=True)

    assert response.status_code == 200
    assert toast_of(response) == (
        "Field FirstName is deleted; 0 profiles lost a value. It is taken out of the settings of form Preferences."
    )
    stored = committed().get(Form, form.id)
    assert stored.key_field_ids == [field_named(database.id, "Email").id]
    assert stored.settings["double_opt_in"]["unconfirmed_values"] == {str(last_id): "new"}
    me.post(f"/fields/{last_id}/delete", htmx=True)
    assert committed().get(Form, form.id).settings["double_opt_in"]["unconfirmed_values"] == {}


def test_delete_is_refused_while_the_unsubscribe_behaviour_uses_the_field(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account, fields={"Status": "text"})
    databases.set_unsubscribe_behaviour(
        account, behaviour="update", field_values={"Status": "out"}, database_id=database.id
    )
    field = database.fields[0]
    response = me.post(f"/fields/{field.id}/delete", htmx=True)
    assert response.status_code == 409
    assert "The unsubscribe behaviour uses field Status; change it first." in text_of(response)
    assert committed().get(Field, field.id) is not None


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_admins_delete_fields(browser, role):
    me = browser(role)
    database = make_database(me.user.account)
    field = field_named(database.id, "Email")
    assert me.post(f"/fields/{field.id}/delete").status_code == 403
    assert me.get(f"/fields/{field.id}/delete").status_code == 403
    assert committed().get(Field, field.id) is not None


def test_move_up_and_down(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)

    response = me.post(f"/fields/{field_named(database.id, 'LastName').id}/move", {"direction": "up"}, htmx=True)
    assert response.status_code == 200 and "<html" not in text_of(response)
    assert [f.name for f in databases.get_database(account, committed() and database.id).fields] == [
        "Email",
        "LastName",
        "FirstName",
    ]

    me.post(f"/fields/{field_named(database.id, 'Email').id}/move", {"direction": "down"})
    assert [f.name for f in databases.get_database(account, committed() and database.id).fields] == [
        "LastName",
        "Email",
        "FirstName",
    ]


# --- collection fields ----------------------------------------------------------------------------


def test_collection_fields_use_the_same_form_without_indexed_and_unique(browser):
    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    orders = databases.create_collection(account, database.id, "Orders")

    page = text_of(me.get(f"/collections/{orders.id}"))
    assert f'action="/collections/{orders.id}/fields"' in page
    assert 'name="indexed"' not in page and 'name="unique"' not in page

    response = me.post(
        f"/collections/{orders.id}/fields", new_field(name="Amount", type="decimal", indexed="y", unique="y"), htmx=True
    )
    assert response.status_code == 200 and toast_of(response) == "Field Amount is added."
    field = field_named(database.id, "Amount", collection_id=orders.id)
    assert field.type == "decimal" and not field.indexed and not field.unique
    assert field_named(database.id, "Amount") is None  # not a field of the database itself

    plain = me.post(f"/fields/{field.id}", new_field(name="Total", type="decimal"))
    assert plain.status_code == 303 and plain.headers["Location"].endswith(f"/collections/{orders.id}")
    assert committed().get(Field, field.id).name == "Total"


def test_deleting_a_collection_field_counts_subprofiles(browser):
    from webapp.profiles import subprofiles

    me = browser("admin")
    account = me.user.account
    database = make_database(account)
    orders = databases.create_collection(account, database.id, "Orders")
    field_id = create_field(account, FieldSpec(name="Amount", type="number"), collection_id=orders.id).id
    profile = profiles.create_profile(account, database.id, {"Email": "a@example.com"}, origin=ADMIN)
    for amount in (10, 20):
        subprofiles.create_subprofile(account, profile.id, orders.id, {"Amount": amount}, origin=ADMIN)

    response = me.post(f"/fields/{field_id}/delete", htmx=True)

    assert toast_of(response) == "Field Amount is deleted; 2 subprofiles lost a value."
    assert committed().get(Field, field_id) is None


# --- labels ---------------------------------------------------------------------------------------


def test_a_field_has_labels_apart_from_its_name_and_forms_use_them(browser):
    from webapp.webforms import builder, items

    me = browser("admin")
    account = me.user.account
    database = make_database(account, fields={})
    me.post(
        f"/databases/{database.id}/fields",
        new_field(name="FirstName", label_en="  First   name ", label_nl="Voornaam"),
        htmx=True,
    )
    field = field_named(database.id, "FirstName")
    assert field.labels == {"en": "First name", "nl": "Voornaam"}
    assert "First name" in text_of(me.get(f"/databases/{database.id}/fields"))
    assert 'value="Voornaam"' in text_of(me.get(f"/fields/{field.id}/edit"))

    form = builder.create_form(account, database.id, name="Sign-up")
    assert items.add_item(account, form.id, "field", field_id=field.id)["label"] == "First name"
    account.language = "nl"
    db.session.commit()
    assert (
        items.add_item(account, builder.create_form(account, database.id, name="Nl").id, "field", field_id=field.id)[
            "label"
        ]
        == "Voornaam"
    )


def test_labels_are_checked_and_kept_when_a_door_does_not_speak_of_them(browser):
    from webapp.profiles.fields import update_field

    me = browser("admin")
    database = make_database(me.user.account, fields={})
    response = me.post(f"/databases/{database.id}/fields", new_field(name="City", label_en="x" * 101), htmx=True)
    assert response.status_code == 422 and "A label has at most 100 characters." in text_of(response)
    assert field_named(database.id, "City") is None
    field = create_field(me.user.account, FieldSpec(name="City", labels={"en": "Town"}), database_id=database.id)
    update_field(me.user.account, field.id, FieldSpec(name="City", type="text"))  # e.g. SOAP: no labels
    assert field_named(database.id, "City").labels == {"en": "Town"}
