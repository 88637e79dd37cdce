"""A profile field a web form's settings name (key fields, language field, double opt-in values) is removed: the
removal takes it out of every form's settings in its transaction, settings saved before that are read without it,
and the form can be saved as before."""

import pytest

from tests.factories import make_database, make_form
from webapp.extensions import db
from webapp.models import Field, Form
from webapp.platform.errors import Conflict, ValidationError
from webapp.profiles import databases
from webapp.profiles.fields import delete_field
from webapp.webforms import builder, field_references


@pytest.fixture
def database(account):
    return make_database(
        account,
        fields={
            "Email": {"type": "email", "indexed": True},
            "CustomerId": "text",
            "Language": "text",
            "Newsletter": {"type": "choice", "options": {"choices": ["no", "unconfirmed", "yes"]}},
            "Source": "text",
        },
    )


def ids(database) -> dict[str, int]:
    return {field.name: field.id for field in database.fields}


def opt_in(unconfirmed: dict, confirmed: dict) -> dict:
    return {
        "enabled": True,
        "unconfirmed_values": unconfirmed,
        "confirmed_values": confirmed,
        "email_subject": "Please confirm",
        "email_text": "Click {link}",
        "link_ttl_hours": 48,
    }


@pytest.fixture
def form(account, database):
    """A preference form naming every field it can: key fields, language field, opt-in values."""
    field = ids(database)
    return make_form(
        account,
        database,
        name="Preferences",
        behaviour="update",
        key_field_ids=["Email", "CustomerId"],
        languages=["nl", "en"],
        language_field_id=field["Language"],
        double_opt_in=opt_in(
            {str(field["Newsletter"]): "unconfirmed", str(field["Source"]): "web"},
            {str(field["Newsletter"]): "yes", str(field["Source"]): "confirmed"},
        ),
    )


def reload(form: Form) -> Form:
    db.session.expire_all()
    return db.session.get_one(Form, form.id)


def save_as_read(account, form: Form, **changes) -> Form:
    """Save the form with its settings as a client reads them (``settings_of``) and ``changes``, as the REST door's
    ``PUT form/{id}`` does with what its body leaves out."""
    settings = builder.settings_of(form)
    values = {
        "name": form.name,
        "collection_id": form.collection_id,
        "behaviour": form.behaviour,
        "key_field_ids": builder.key_fields_of(form),
        "on_no_match": form.on_no_match,
        "allowed_origins": list(form.allowed_origins or []),
        "double_opt_in": settings["double_opt_in"],
        "languages": settings.get("languages") or [],
        "language_field_id": settings.get("language_field_id"),
        **{name: settings[name] for name in ("submit_label", "success_message", "redirect_url", "notify_email")},
        **{name: settings[name] for name in ("max_submissions_per_profile", "min_fill_seconds")},
    }
    return builder.update_settings(account, form.id, **(values | changes))


def remove_without_cleaning(field_id: int) -> None:
    """Remove a field as Verrijk did before removals cleaned forms' settings: the settings still name it."""
    db.session.delete(db.session.get_one(Field, field_id))
    db.session.commit()


def test_removing_a_field_takes_it_out_of_the_forms_settings_in_its_transaction(account, database, form):
    field = ids(database)
    untouched = make_form(account, database, name="Other", key_field_ids=["Email"], behaviour="update")
    elsewhere = make_database(account, "Elsewhere")
    other_database = make_form(account, elsewhere, name="Elsewhere", key_field_ids=["Email"], behaviour="update")
    assert [one.name for one in field_references.forms_naming(account, db.session.get_one(Field, field["Source"]))] == [
        "Preferences"
    ]
    revisions = {one.id: one.revision for one in (form, untouched, other_database)}

    delete_field(account, field["Source"])
    delete_field(account, field["CustomerId"])
    delete_field(account, field["Language"])

    stored = reload(form)
    assert stored.key_field_ids == [field["Email"]]
    assert stored.settings["language_field_id"] is None and stored.settings["languages"] == ["nl", "en"]
    assert stored.settings["double_opt_in"] == opt_in(
        {str(field["Newsletter"]): "unconfirmed"}, {str(field["Newsletter"]): "yes"}
    )
    assert stored.revision == revisions[form.id] + 3  # each change is a new public definition
    assert reload(untouched).revision == revisions[untouched.id]
    assert reload(other_database).revision == revisions[other_database.id]
    assert reload(other_database).key_field_ids == [elsewhere.fields[0].id]

    saved = save_as_read(account, stored, name="Preferences 2")
    assert saved.name == "Preferences 2" and saved.key_field_ids == [field["Email"]]


def test_a_form_still_saves_when_its_only_confirmed_value_or_key_field_is_removed(account, database, form):
    """What the marketer must choose again is asked for by name on the next save; choosing it saves."""
    field = ids(database)
    delete_field(account, field["Newsletter"])
    delete_field(account, field["Source"])
    delete_field(account, field["Email"])
    delete_field(account, field["CustomerId"])
    stored = reload(form)
    assert stored.key_field_ids == [] and stored.settings["double_opt_in"]["enabled"] is True
    with pytest.raises(ValidationError) as error:
        save_as_read(account, stored)
    assert error.value.errors == {
        "key_field_ids": "Choose the key fields that find the profile.",
        "confirmed_values": "Choose the values a confirmation sets.",
    }
    assert reload(form).revision == stored.revision
    choices = {"enabled": True, "confirmed_values": {"Language": "nl"}}
    saved = save_as_read(
        account,
        stored,
        key_field_ids=[field["Language"]],
        double_opt_in={**builder.settings_of(stored)["double_opt_in"], **choices},
    )
    assert saved.settings["double_opt_in"]["confirmed_values"] == {str(field["Language"]): "nl"}


def test_settings_saved_before_removals_cleaned_them_are_read_without_the_field(account, database, form):
    field = ids(database)
    for name in ("Source", "CustomerId", "Language"):
        remove_without_cleaning(field[name])
    stored = reload(form)
    assert stored.key_field_ids == [field["Email"], field["CustomerId"]]  # as it was stored

    settings = builder.settings_of(stored)
    assert builder.key_fields_of(stored) == [field["Email"]]
    assert settings["language_field_id"] is None
    assert settings["double_opt_in"]["unconfirmed_values"] == {str(field["Newsletter"]): "unconfirmed"}
    assert settings["double_opt_in"]["confirmed_values"] == {str(field["Newsletter"]): "yes"}

    saved = save_as_read(account, stored, name="Preferences 2")
    assert saved.key_field_ids == [field["Email"]] and saved.settings["language_field_id"] is None
    assert saved.settings["double_opt_in"]["confirmed_values"] == {str(field["Newsletter"]): "yes"}


def test_naming_a_removed_field_in_a_change_is_still_refused(account, database, form):
    """Leniency is for what was stored; a value given now for a field that is gone is a mistake to report."""
    field = ids(database)
    delete_field(account, field["Source"])
    stored = reload(form)
    given = {**builder.settings_of(stored)["double_opt_in"], "unconfirmed_values": {str(field["Source"]): "web"}}
    with pytest.raises(ValidationError) as error:
        save_as_read(account, stored, double_opt_in=given)
    assert error.value.errors == {"unconfirmed_values": f"There is no field named {field['Source']}."}
    with pytest.raises(ValidationError) as error:
        save_as_read(account, stored, key_field_ids=[field["Source"]])
    assert error.value.errors == {"key_field_ids": "Key fields must be fields of the form's database."}
    assert reload(form).revision == stored.revision


def test_a_refused_removal_leaves_the_forms_settings_as_they_are(account, database, form):
    field = ids(database)
    databases.set_unsubscribe_behaviour(
        account, behaviour="update", field_values={"Source": "out"}, database_id=database.id
    )
    before = (reload(form).settings, reload(form).revision)
    with pytest.raises(Conflict):
        delete_field(account, field["Source"])
    db.session.rollback()
    assert (reload(form).settings, reload(form).revision) == before
    assert db.session.get(Field, field["Source"]) is not None
