"""A returning subscriber: a sign-up form finds the profile by its key fields (or unique fields) and updates
it, or with double opt-in has it confirm again; the answer is the same whether or not the address was known.
Double opt-in holds interests back until the confirmation."""

import re

import pytest

from tests.factories import make_database, make_form
from tests.services.test_forms import all_profiles, events_of, field_id, submissions, submit
from webapp.email.delivery import caught_messages
from webapp.extensions import db
from webapp.models import Profile
from webapp.profiles import databases
from webapp.profiles.events import Origin
from webapp.profiles.profiles import create_profile
from webapp.webforms import opt_in

NEWSLETTER = {"type": "choice", "options": {"choices": ["yes", "no", "unconfirmed"]}}


@pytest.fixture(params=["unique", "key field"])
def database(account, request):
    """Email unique (found without key fields) or merely indexed (found as the form's key field)."""
    email = {"type": "email", "indexed": True, "unique": request.param == "unique"}
    database = make_database(account, fields={"Email": email, "Name": "text", "Newsletter": NEWSLETTER})
    databases.create_interest(account, database.id, "Weekly")
    database.key_fields = [field_id(database, "Email")] if request.param == "key field" else []
    return database


def signup_form(account, database, **settings):
    items = [
        {"type": "field", "field": "Email", "required": True},
        {"type": "field", "field": "Name"},
        {"type": "interest", "interest": "Weekly"},
    ]
    return make_form(account, database, items=items, key_field_ids=database.key_fields, **settings)


def values(database, email, name, weekly=True):
    posted = {f"f{field_id(database, 'Email')}": email, f"f{field_id(database, 'Name')}": name}
    if weekly:
        posted[f"i{database.interests[0].id}"] = "1"
    return posted


def answer(result):
    return result.status_code, result.body


def test_signing_up_again_updates_and_answers_as_a_first_sign_up(account, database):
    known = create_profile(account, database.id, {"Email": "kees@example.nl", "Name": "K"}, origin=Origin("admin"))
    form = signup_form(account, database, success_message="Welcome!")

    unknown = submit(form, values(database, "new@example.nl", "New"))
    returning = submit(form, values(database, "Kees@Example.nl", "Kees"))

    assert answer(returning) == answer(unknown) == (200, {"status": "ok", "message": "Welcome!", "redirect": None})
    assert "kees" not in str(returning.body).lower()
    assert len(all_profiles(database)) == 2
    db.session.refresh(known)
    assert known.fields[str(field_id(database, "Name"))] == "Kees"
    assert known.interests == [database.interests[0].id]
    assert [row.status for row in submissions(form)] == ["accepted", "accepted"]
    assert returning.profile_id == known.id


def opt_in_form(account, database):
    news = str(field_id(database, "Newsletter"))
    return signup_form(
        account,
        database,
        double_opt_in={
            "enabled": True,
            "unconfirmed_values": {news: "unconfirmed"},
            "confirmed_values": {news: "yes"},
            "email_subject": "Confirm please",
            "email_text": "Click {link} to confirm.",
        },
    )


def confirm_token(account, to):
    message = [mail for mail in caught_messages(account.id) if mail["To"] == to][0]  # newest first
    link = re.search(r"(http\S+/p/confirm/\S+)", message.get_body(("plain",)).get_content()).group(1)
    return link.rsplit("/", 1)[1]


def test_double_opt_in_holds_interests_back_until_the_confirmation(account, database):
    form = opt_in_form(account, database)
    result = submit(form, values(database, "ann@example.com", "Ann"))
    profile = db.session.get(Profile, result.profile_id)
    assert profile.interests == []  # not before the confirmation
    assert profile.fields[str(field_id(database, "Newsletter"))] == "unconfirmed"

    opt_in.confirm_subscription(confirm_token(account, "ann@example.com"))
    db.session.refresh(profile)
    assert profile.interests == [database.interests[0].id]
    assert profile.fields[str(field_id(database, "Newsletter"))] == "yes"
    confirmed = [event for event in events_of(profile.id) if event.kind == "confirmed"]
    assert len(confirmed) == 1 and confirmed[0].changes["interests"]


def test_with_double_opt_in_a_returning_subscriber_confirms_again_before_anything_changes(account, database):
    form = opt_in_form(account, database)
    news, name = str(field_id(database, "Newsletter")), str(field_id(database, "Name"))
    first = submit(form, values(database, "ann@example.com", "Ann", weekly=False))
    opt_in.confirm_subscription(confirm_token(account, "ann@example.com"))
    unknown = submit(form, values(database, "bob@example.com", "Bob"))

    again = submit(form, values(database, "ann@example.com", "Anna"))

    assert answer(again) == answer(unknown) == answer(first)
    profile = db.session.get(Profile, first.profile_id)
    db.session.refresh(profile)
    assert (profile.fields[name], profile.fields[news], profile.interests) == ("Ann", "yes", [])
    assert [mail["Subject"] for mail in caught_messages(account.id)] == ["Confirm please"] * 3
    token = confirm_token(account, "ann@example.com")
    opt_in.confirm_subscription(token)
    opt_in.confirm_subscription(token)  # a second click of the new link changes nothing
    db.session.refresh(profile)
    assert (profile.fields[name], profile.fields[news]) == ("Anna", "yes")
    assert profile.interests == [database.interests[0].id]
    assert [event.kind for event in events_of(profile.id)].count("confirmed") == 2
    assert len(all_profiles(database)) == 2
