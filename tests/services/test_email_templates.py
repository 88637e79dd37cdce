"""Email templates: storage, validation when saving, sandboxed personalisation, preview against a profile."""

import pytest

from tests.factories import make_account, make_database
from webapp.email import templates as email_templates
from webapp.email.templates import TemplateValues
from webapp.platform.errors import Conflict, NotFound, ValidationError
from webapp.profiles import databases, profiles, subprofiles
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field

ADMIN = Origin("admin")


@pytest.fixture
def database(account):
    return make_database(account)


@pytest.fixture
def profile(account, database):
    return profiles.create_profile(account, database.id, {"Email": "ann@example.com", "FirstName": "Ann"}, origin=ADMIN)


def values(**overrides) -> TemplateValues:
    return TemplateValues(**({"name": "Welcome", "subject": "Hi {{ profile.FirstName }}", "text": "Hello"} | overrides))


def test_save_list_update_and_delete(account, database):
    template = email_templates.save_template(account, values(database_id=database.id, html="<p>Hi</p>"))
    assert [t.name for t in email_templates.list_templates(account)] == ["Welcome"]
    email_templates.save_template(account, values(name="Welcome back", track_opens=False), template.id)
    stored = email_templates.get_template(account, template.id)
    assert (stored.name, stored.track_opens, stored.database_id) == ("Welcome back", False, None)
    email_templates.delete_template(account, template.id)
    with pytest.raises(NotFound):
        email_templates.get_template(account, template.id)


def test_another_accounts_template_is_not_found(account):
    template = email_templates.save_template(account, values())
    other = make_account("Other")
    with pytest.raises(NotFound):
        email_templates.get_template(other, template.id)
    with pytest.raises(NotFound):
        email_templates.delete_template(other, template.id)


def test_names_are_unique_per_account(account):
    email_templates.save_template(account, values())
    with pytest.raises(Conflict):
        email_templates.save_template(account, values(name="WELCOME"))
    email_templates.save_template(make_account("Other"), values())


@pytest.mark.parametrize(
    ("overrides", "part", "message"),
    [
        ({"name": " "}, "name", "name"),
        ({"subject": ""}, "subject", "subject"),
        ({"text": "", "html": ""}, "text", "HTML part"),
        ({"sender": "not an address"}, "sender", "email address"),
        ({"reply_to": "a@example.com\nBcc: b@example.com"}, "reply_to", "email address"),
        ({"text": "Hello {{ profile.FirstName "}, "text", "Line 1"),
        ({"html": "{% for x in %}{% endfor %}"}, "html", "Line 1"),
        ({"text": "{{ ''.__class__.__mro__[1].__subclasses__() }}"}, "text", "unsafe"),
        ({"text": "{{ profile.update({'x': 1}) }}"}, "text", "unsafe"),
        ({"subject": "Hi {{ frist_name }}"}, "subject", "frist_name"),
        ({"text": "{{ 1 / 0 }}"}, "text", "division"),
    ],
)
def test_errors_are_reported_when_saving(account, database, overrides, part, message):
    with pytest.raises(ValidationError) as error:
        email_templates.save_template(account, values(database_id=database.id, **overrides))
    assert part in error.value.errors
    assert message.lower() in error.value.errors[part].lower()
    assert email_templates.list_templates(account) == []


def test_render_personalises_every_part(account, database, profile):
    interest = databases.create_interest(account, database.id, "Cycling")
    profiles.update_profile(account, profile.id, {}, origin=ADMIN, interests={interest.id: True})
    template = email_templates.save_template(
        account,
        values(
            database_id=database.id,
            subject="Hi {{ profile.FirstName }}  \n from {{ database }}",
            html="<p>Dear {{ profile.FirstName }} {{ profile.LastName | default('friend') }}</p>",
            text="{{ profile.Email }} likes {{ interests | join(', ') }}; year {{ now.year }}; {{ unsubscribe_url }}",
        ),
    )
    rendered = email_templates.render(template, profile, unsubscribe_url="https://x.example/u")
    assert rendered.subject == "Hi Ann from Customers"
    assert rendered.html == "<p>Dear Ann friend</p>"
    assert rendered.text.startswith("ann@example.com likes Cycling; year 20")
    assert rendered.text.endswith("https://x.example/u")


def test_html_is_escaped_and_text_is_not(account, database, profile):
    profiles.update_profile(account, profile.id, {"FirstName": "<b>Ann & Bob</b>"}, origin=ADMIN)
    template = email_templates.save_template(
        account, values(html="{{ profile.FirstName }}", text="{{ profile.FirstName }}")
    )
    rendered = email_templates.render(template, profile)
    assert rendered.html == "&lt;b&gt;Ann &amp; Bob&lt;/b&gt;"
    assert rendered.text == "<b>Ann & Bob</b>"


def test_subprofile_values(account, database, profile):
    orders = databases.create_collection(account, database.id, "Orders")
    create_field(account, FieldSpec(name="Product", type="text"), collection_id=orders.id)
    subprofiles.create_subprofile(account, profile.id, orders.id, {"Product": "Bike"}, origin=ADMIN)
    latest = subprofiles.create_subprofile(account, profile.id, orders.id, {"Product": "Helmet"}, origin=ADMIN)
    template = email_templates.save_template(
        account,
        values(
            text="{{ subprofile.Product }}|{% for o in subprofiles.Orders %}{{ o.Product }},{% endfor %}"
            "|{{ subprofiles.Pets | length }}",
        ),
    )
    assert email_templates.render(template, profile, subprofile=latest).text == "Helmet|Helmet,Bike,|0"


def test_preview_shows_errors_per_part_for_a_real_profile(account, database, profile):
    rendered, errors = email_templates.preview(account, values(text="Hi {{ profile.FirstName }}"), profile.id)
    assert errors == {} and rendered.text == "Hi Ann"
    rendered, errors = email_templates.preview(
        account, values(html="{{ profile.FirstName.nope.deeper }}", text="{{ ''.__class__ }}"), profile.id
    )
    assert rendered is None
    assert set(errors) == {"html", "text"}
    with pytest.raises(NotFound):
        email_templates.preview(make_account("Other"), values(), profile.id)


def test_a_template_broken_after_saving_fails_at_render_with_a_clear_error(account, profile):
    template = email_templates.save_template(account, values())
    template.text = "{{ profile.FirstName.x.y }}"
    with pytest.raises(ValidationError) as error:
        email_templates.render(template, profile)
    assert "text" in error.value.errors
