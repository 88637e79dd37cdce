"""A new database's unsubscribe works from the start: the field Subscription, which unsubscribes set to
``unsubscribed`` and new sign-up forms set back to ``subscribed``."""

import time

from tests.factories import make_account
from webapp.extensions import db
from webapp.models import Profile
from webapp.profiles import databases
from webapp.profiles.events import Origin
from webapp.profiles.fields import FieldSpec, create_field
from webapp.profiles.profiles import create_profile
from webapp.profiles.unsubscribe import is_subscribed, unsubscribe
from webapp.webforms import builder, items, spam
from webapp.webforms import submissions as forms


def test_a_new_database_unsubscribes_by_its_subscription_field(ctx):
    account = make_account("Acme")
    database = databases.create_database(account, "Newsletter", subscription=True)
    [field] = database.fields
    assert (field.name, field.type, field.default) == ("Subscription", "choice", "subscribed")
    assert not databases.unsubscribe_changes_nothing(database)
    assert databases.subscription_field(database) == field

    profile = create_profile(account, database.id, {}, origin=Origin("admin"))
    assert profile.fields[field.key] == "subscribed" and is_subscribed(profile)
    unsubscribe(account, profile.id, origin=Origin("admin"))
    profile = db.session.get(Profile, profile.id)
    assert profile.fields[field.key] == "unsubscribed" and not is_subscribed(profile)


def test_without_it_unsubscribing_changes_nothing_and_forms_start_empty(ctx):
    account = make_account("Acme")
    database = databases.create_database(account, "Plain")
    assert database.fields == [] and databases.unsubscribe_changes_nothing(database)
    assert databases.subscription_field(database) is None
    assert builder.create_form(account, database.id, name="Sign-up").items == []


def test_signing_up_again_subscribes_again(ctx):
    account = make_account("Acme")
    database = databases.create_database(account, "Newsletter", subscription=True)
    subscription = database.fields[0]
    email = create_field(account, FieldSpec(name="Email", type="email", unique=True), database_id=database.id)
    form = builder.create_form(account, database.id, name="Sign-up")
    assert [(item["type"], item["field_id"], item["default"]) for item in form.items] == [
        ("hidden", subscription.id, "subscribed")
    ]
    items.add_item(account, form.id, "field", field_id=email.id)
    known = create_profile(account, database.id, {"Email": "kees@example.nl"}, origin=Origin("admin"))
    unsubscribe(account, known.id, origin=Origin("unsubscribe"))
    assert not is_subscribed(db.session.get(Profile, known.id))

    token = spam.issue_token(form.key, now=time.time() - 60)
    result = forms.submit_form(form.key, {f"f{email.id}": "kees@example.nl"}, elapsed_token=token)

    assert (result.status_code, result.profile_id) == (200, known.id)
    db.session.expire_all()
    assert is_subscribed(db.session.get(Profile, known.id))
