"""The public links in our email: open pixel, signed click redirect, unsubscribe page and RFC 8058 one-click."""

import re

import pytest
from sqlalchemy import select

from tests.factories import make_database, tampered
from webapp.email import delivery, link_tokens, sending, templates
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.models import Profile, ProfileEvent
from webapp.profiles import databases, profiles
from webapp.profiles.events import Origin
from webapp.profiles.unsubscribe import is_subscribed


@pytest.fixture
def sent(account):
    """A profile and the message sent to it; returns (profile, message)."""
    database = make_database(account)
    profile = profiles.create_profile(
        account, database.id, {"Email": "ann@example.com", "FirstName": "Ann"}, origin=Origin("admin")
    )
    template = templates.save_template(
        account, TemplateValues(name="T", subject="S", html='<a href="https://shop.example/a?b=1">shop</a>', text="Hi")
    )
    sending.send_template_email(
        account.id, template.id, profile.id, message_id=delivery.new_message_id(), source="system"
    )
    db.session.commit()
    return profile, delivery.caught_messages()[0]


def link(message, kind: str) -> str:
    html = message.get_body(("html",)).get_content()
    return re.search(rf'"http://verrijk\.test(/p/{kind}/[^"]+)"', html).group(1)


def events_of(kind: str) -> list[ProfileEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(ProfileEvent).where(ProfileEvent.kind == kind)))


def test_the_open_pixel_records_every_open(anonymous, sent):
    profile, message = sent
    for _ in range(2):
        response = anonymous.get(link(message, "o"))
        assert response.status_code == 200 and response.mimetype == "image/gif"
        assert response.headers["Cache-Control"].startswith("no-store")
    opened = events_of("email_opened")
    assert len(opened) == 2
    assert (opened[0].profile_id, opened[0].source) == (profile.id, "email")
    assert opened[0].changes == {"message_id": message["Message-ID"]}


def test_a_click_redirects_to_the_signed_target_and_is_recorded(anonymous, sent):
    profile, message = sent
    for _ in range(2):
        response = anonymous.get(link(message, "c"))
        assert response.status_code == 302
        assert response.headers["Location"] == "https://shop.example/a?b=1"
    [first, _second] = events_of("email_clicked")
    assert (first.source, first.changes["url"]) == ("email", "https://shop.example/a?b=1")


def test_a_forged_or_altered_click_link_never_redirects(anonymous, sent, app):
    _profile, message = sent
    token = link(message, "c").rsplit("/", 1)[1]
    with app.app_context():
        other_target = link_tokens.sign("open", a=1, p="x", m="m", u="https://evil.example")
        wrong_key = link_tokens.URLSafeSerializer("another key", salt="verrijk-mail-click").dumps(
            {"a": 1, "p": "x", "m": "m", "u": "https://evil.example"}
        )
    for bad in (tampered(token), other_target, wrong_key, "nonsense"):
        response = anonymous.get(f"/p/c/{bad}")
        assert response.status_code == 404
        assert "Location" not in response.headers
    assert anonymous.get("/p/o/nonsense").status_code == 404
    assert events_of("email_clicked") == []


def test_links_of_a_removed_profile_still_answer(anonymous, sent, account):
    profile, message = sent
    profiles.delete_profile(account, profile.id, origin=Origin("admin"))
    assert anonymous.get(link(message, "o")).status_code == 200
    assert anonymous.get(link(message, "c")).status_code == 302
    assert anonymous.get(link(message, "u")).status_code == 200


def test_the_unsubscribe_page_asks_first_then_unsubscribes(anonymous, sent, account):
    profile, message = sent
    database = profile.database
    interest = databases.create_interest(account, database.id, "Newsletter")
    databases.set_unsubscribe_behaviour(
        account, behaviour="update", interest_values={"Newsletter": False}, database_id=database.id
    )
    profiles.update_profile(account, profile.id, {}, origin=Origin("admin"), interests={interest.id: True})
    url = link(message, "u")
    page = anonymous.get(url)
    assert page.status_code == 200
    assert 'method="post"' in page.get_data(as_text=True)
    assert events_of("unsubscribed") == []  # a GET (a link scanner) changes nothing
    response = anonymous.post(url, csrf=False)
    assert response.status_code == 200
    assert "You are unsubscribed" in response.get_data(as_text=True)
    assert not is_subscribed(db.session.get(Profile, profile.id))
    [event] = events_of("unsubscribed")
    assert (event.source, event.reference) == ("unsubscribe", message["Message-ID"][:100])
    assert "You were already unsubscribed" in anonymous.get(url).get_data(as_text=True)


def test_one_click_unsubscribe_per_rfc_8058_removes_per_the_database_behaviour(anonymous, sent, account):
    profile, message = sent
    profile_id = profile.id
    databases.set_unsubscribe_behaviour(account, behaviour="remove", database_id=profile.database_id)
    [https] = re.findall(r"<(http[^>]+)>", message["List-Unsubscribe"])
    path = https.removeprefix("http://verrijk.test")
    response = anonymous.post(path, data={"List-Unsubscribe": "One-Click"}, csrf=False)
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.get(Profile, profile_id) is None
    assert anonymous.post(path, data={"List-Unsubscribe": "One-Click"}, csrf=False).status_code == 200


def test_a_forged_unsubscribe_link_is_refused(anonymous, sent):
    profile, message = sent
    url = link(message, "u")
    assert anonymous.post(tampered(url), csrf=False).status_code == 404
    assert anonymous.get("/p/u/nonsense").status_code == 404
    assert is_subscribed(db.session.get(Profile, profile.id))
