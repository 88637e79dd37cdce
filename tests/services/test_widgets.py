"""The widgets: a form's public definition, the one validator, and the server-rendered HTML."""

import pytest

from tests.factories import make_database, make_form
from webapp.profiles import databases
from webapp.profiles.field_types import coerce
from webapp.widgets.definition import bindings, form_definition
from webapp.widgets.html import render_form
from webapp.widgets.validation import UploadedFile, accepts, validate_submission

FIELDS = {
    "Email": "email",
    "Name": {"type": "text", "options": {"length": 20}},
    "Age": "number",
    "Score": "decimal",
    "Born": "date",
    "Seen": "datetime",
    "Phone": "phone",
    "Bio": "large_text",
    "Country": "country",
    "Colour": {"type": "choice", "options": {"choices": ["red", "green"]}},
    "Tags": {"type": "choice", "options": {"choices": ["a", "b", "c"], "multiple": True}},
}


@pytest.fixture
def database(account):
    database = make_database(account, fields=FIELDS)
    databases.create_interest(account, database.id, "Weekly")
    return database


def ids(database):
    return {field.name: field.id for field in database.fields}


def test_input_types_follow_field_types(account, database):
    form = make_form(account, database)
    items = {item["label"]: item for item in form_definition(form)["items"]}
    assert {label: item["type"] for label, item in items.items()} == {
        "Email": "email",
        "Name": "text",
        "Age": "number",
        "Score": "number",
        "Born": "date",
        "Seen": "datetime",
        "Phone": "tel",
        "Bio": "textarea",
        "Country": "text",
        "Colour": "select",
        "Tags": "checkboxes",
    }
    assert items["Name"]["maxlength"] == 20 and items["Score"]["step"] == "any"
    assert items["Colour"]["options"] == [{"value": "red", "label": "red"}, {"value": "green", "label": "green"}]


def test_widget_and_multiline_choices_and_other_items(account, database):
    form = make_form(
        account,
        database,
        items=[
            {"type": "field", "field": "Colour", "widget": "radio"},
            {"type": "field", "field": "Name", "multiline": True},
            {"type": "interest", "interest": "Weekly"},
            {"id": "ok", "type": "consent", "text": "Yes, mail me.", "required": True},
            {"type": "text", "html": "<p>Hello</p>"},
            {"id": "cv", "type": "file", "accept": [".pdf", "image/*"], "max_bytes": 1000},
            {"type": "captcha"},
            {"type": "hidden", "field": "Country", "default": "NL"},
            {"type": "password", "field": "Bio"},
        ],
    )
    definition = form_definition(form)
    kinds = [(item["name"], item["type"]) for item in definition["items"]]
    weekly = database.interests[0].id
    assert kinds == [
        (f"f{ids(database)['Colour']}", "radio"),
        (f"f{ids(database)['Name']}", "textarea"),
        (f"i{weekly}", "interest"),
        ("cok", "consent"),
        ("", "html"),
        ("file_cv", "file"),
        ("_altcha", "captcha"),
        (f"f{ids(database)['Country']}", "hidden"),
        (f"f{ids(database)['Bio']}", "password"),
    ]
    by_type = {item["type"]: item for item in definition["items"]}
    assert by_type["consent"]["text"] == "Yes, mail me." and by_type["html"]["html"] == "<p>Hello</p>"
    assert by_type["file"]["accept"] == ".pdf,image/*" and by_type["file"]["max_bytes"] == 1000
    assert by_type["captcha"]["captcha_url"].endswith(f"/p/forms/{form.key}/captcha")
    assert by_type["password"]["repeat_label"] and by_type["hidden"]["default"] == "NL"


def test_items_of_removed_fields_drop_out(account, database):
    items = [{"type": "field", "field_id": 999999}, {"type": "field", "field": "Age"}]
    form = make_form(account, database, items=items)
    assert [item["label"] for item in form_definition(form)["items"]] == ["Age"]


VALUES = {
    "Email": ("ann@example.com", "ann@"),
    "Age": ("42", "4.5"),
    "Score": ("4,5", "many"),
    "Born": ("2000-02-29", "2001-02-29"),
    "Seen": ("2024-01-02T03:04", "yesterday"),
    "Phone": ("+31 20 123 4567", "12"),
    "Country": ("nl", "Atlantis"),
    "Colour": ("Red", "blue"),
    "Name": ("Ann", "x" * 21),
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_the_validator_accepts_exactly_what_the_field_accepts(account, database, name):
    form = make_form(account, database, items=[{"type": "field", "field": name}])
    field = next(field for field in database.fields if field.name == name)
    good, bad = VALUES[name]
    clean = validate_submission(form, bindings(form), {f"f{field.id}": good})
    assert clean.valid and clean.profile_values == {name: coerce(field.type, good, field.options)}
    refused = validate_submission(form, bindings(form), {f"f{field.id}": bad})
    assert set(refused.errors) == {f"f{field.id}"} and name in refused.errors[f"f{field.id}"]


def test_checkboxes_take_several_values_and_custom_messages_win(account, database):
    form = make_form(
        account,
        database,
        items=[
            {"type": "field", "field": "Tags"},
            {"type": "field", "field": "Email", "required": True, "validation_message": "We need your email."},
        ],
    )
    tags = ids(database)["Tags"]
    clean = validate_submission(form, bindings(form), {f"f{tags}": ["c", "a"]})
    assert clean.profile_values == {"Tags": ["a", "c"]}
    assert clean.errors == {f"f{ids(database)['Email']}": "We need your email."}


def test_hidden_items_store_their_default_whatever_is_posted(account, database):
    form = make_form(account, database, items=[{"type": "hidden", "field": "Country", "default": "NL"}])
    clean = validate_submission(form, bindings(form), {f"f{ids(database)['Country']}": "DE"})
    assert clean.profile_values == {"Country": "NL"}


def test_password_repeat_and_it_is_never_logged(account, database):
    form = make_form(account, database, items=[{"type": "password", "field": "Name", "required": True}])
    name = f"f{ids(database)['Name']}"
    assert validate_submission(form, bindings(form), {})
    assert name in validate_submission(form, bindings(form), {}).errors
    mismatch = validate_submission(form, bindings(form), {name: "secret", f"{name}_repeat": "other"})
    assert set(mismatch.errors) == {f"{name}_repeat"}
    clean = validate_submission(form, bindings(form), {name: "secret", f"{name}_repeat": "secret"})
    assert clean.passwords == {"Name": "secret"} and clean.data == {} and clean.profile_values == {}


def test_interest_required_and_unticked(account, database):
    weekly = database.interests[0].id
    form = make_form(account, database, items=[{"type": "interest", "interest": "Weekly"}])
    assert validate_submission(form, bindings(form), {}).interests == {weekly: False}
    assert validate_submission(form, bindings(form), {f"i{weekly}": "on"}).interests == {weekly: True}
    form.items = [{**form.items[0], "required": True}]
    assert f"i{weekly}" in validate_submission(form, bindings(form), {}).errors


@pytest.mark.parametrize(
    ("accept", "filename", "content_type", "ok"),
    [
        ([], "a.exe", "application/x-msdownload", True),
        ([".pdf"], "CV.PDF", "application/pdf", True),
        (["image/*"], "me.png", "image/png", True),
        (["image/png"], "me.gif", "image/gif", False),
        ([".pdf"], "cv.pdf.exe", "application/pdf", False),  # the name must end in the extension
        ([".pdf"], "cv.exe", "application/octet-stream", False),
    ],
)
def test_file_accept_lists(accept, filename, content_type, ok):
    assert accepts(accept, UploadedFile(filename, content_type, b"")) is ok


def test_rendered_html_is_accessible_and_escaped(account, database, app):
    form = make_form(
        account,
        database,
        items=[
            {"type": "field", "field": "Email", "required": True, "help": "We never share it", "label": "<b>Mail</b>"},
            {"type": "text", "html": '<p>Read <a href="https://example.com">this</a></p>'},
        ],
    )
    email = f"f{ids(database)['Email']}"
    with app.test_request_context():
        html = str(
            render_form(
                form_definition(form), action="/f/x", values={email: '"><script>'}, errors={email: "Wrong"}, token="t"
            )
        )
    assert f'<label for="vf-{email}">&lt;b&gt;Mail&lt;/b&gt;' in html
    assert f'aria-describedby="help-{email} error-{email}"' in html and 'aria-invalid="true"' in html
    assert f'<p class="vf-error" id="error-{email}">Wrong</p>' in html
    assert "&#34;&gt;&lt;script&gt;" in html and "<script>" not in html
    assert '<a href="https://example.com">this</a>' in html
    assert 'name="_hp" tabindex="-1" autocomplete="off"' in html and 'name="_token" value="t"' in html
