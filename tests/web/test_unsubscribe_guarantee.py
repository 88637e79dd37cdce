"""Issue 22, defect 2: an unsubscribe through any door stops marketing mail, whatever the database's unsubscribe
behaviour — even a new database's "update" without values — and the page says what actually happened."""

import re

import pytest
from sqlalchemy import select

from tests.factories import make_database, make_followup
from tests.followup_fixtures import run_due, runs
from webapp.email import delivery, sending, suppression, templates
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.models import ProfileEvent
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin

ADMIN = Origin("admin")


@pytest.fixture
def mailed(account):
    """A profile on a new database (its own unsubscribe behaviour), a template and the first mail sent."""
    database = make_database(account)
    assert (database.unsubscribe_behaviour, database.unsubscribe_values) == ("update", {})
    profile = profiles.create_profile(account, database.id, {"Email": "ann@example.com"}, origin=ADMIN)
    template = templates.save_template(account, TemplateValues(name="T", subject="News", html="<p>Hi</p>", text="Hi"))
    sending.send_template_email(account.id, template.id, profile.id, message_id=delivery.new_message_id())
    db.session.commit()
    return profile, template, delivery.caught_messages(account.id)[0]


def one_click(anonymous, message):
    [https] = re.findall(r"<(http[^>]+)>", message["List-Unsubscribe"])
    return anonymous.post(https.removeprefix("http://verrijk.test"), data={"List-Unsubscribe": "One-Click"}, csrf=False)


def test_one_click_on_a_new_database_stops_the_next_follow_up_mail(anonymous, account, mailed):
    profile, template, message = mailed
    response = one_click(anonymous, message)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "blocked for these emails" in page and "You are unsubscribed" not in page
    make_followup(
        account,
        profile.database,
        trigger={"kind": "profile_updated"},
        actions=[{"type": "send_email", "template_id": template.id}],
    )
    profiles.update_profile(account, profile.id, {"FirstName": "Ann"}, origin=ADMIN)
    run_due()
    [run] = runs()
    assert run.status == "failed" and "suppression list" in run.last_error
    assert len(delivery.caught_messages(account.id)) == 1  # only the first mail
    assert "already unsubscribed" in anonymous.get(response.request.path).get_data(as_text=True)


def test_the_page_says_the_values_were_set_or_the_profile_removed(anonymous, account, mailed):
    profile, _template, message = mailed
    databases.set_unsubscribe_behaviour(account, database_id=profile.database_id, behaviour="remove")
    page = one_click(anonymous, message).get_data(as_text=True)
    assert "your details have been removed" in page
    assert suppression.active(account.id, "ann@example.com").reason == "unsubscribe"


def test_a_link_of_a_profile_removed_since_suppresses_the_address_it_was_sent_to(anonymous, account, mailed):
    profile, template, message = mailed
    profiles.delete_profile(account, profile.id, origin=ADMIN)
    assert suppression.active(account.id, "ann@example.com") is None
    page = one_click(anonymous, message).get_data(as_text=True)
    assert "blocked for these emails" in page
    again = profiles.create_profile(account, profile.database_id, {"Email": "ann@example.com"}, origin=ADMIN)
    with pytest.raises(delivery.MailSuppressedError):
        sending.send_template_email(account.id, template.id, again.id, message_id=delivery.new_message_id())


def test_every_unsubscribe_is_on_the_timeline(anonymous, account, mailed):
    profile, _template, message = mailed
    one_click(anonymous, message)
    kinds = db.session.scalars(select(ProfileEvent.kind).where(ProfileEvent.profile_id == profile.id))
    assert "unsubscribed" in list(kinds)


def test_the_admin_door_on_a_new_database_says_so_and_the_profile_page_shows_the_suppression(browser, account, mailed):
    profile, template, _message = mailed
    editor = browser("editor", account)
    response = editor.post(f"/profiles/{profile.id}/unsubscribe")
    page = editor.get(response.headers["Location"]).get_data(as_text=True)
    assert "gets no more marketing email" in page
    assert '<span class="badge danger">suppressed</span>' in page and "On the suppression list (Unsubscribed)" in page
    assert f'action="/profiles/{profile.id}/unsubscribe"' not in page  # nothing left to unsubscribe
    with pytest.raises(delivery.MailSuppressedError):
        sending.send_template_email(account.id, template.id, profile.id, message_id=delivery.new_message_id())
