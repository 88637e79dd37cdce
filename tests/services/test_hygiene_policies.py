"""The per-database hygiene policies: bounce thresholds and their resets, complaints, unsubscribes by any
behaviour, confirmed opt-ins lifting a suppression, and a profile's email status.

Bounces and complaints are journalled here the way intake journals them (``webapp/hygiene/reports.py``)."""

import pytest
from sqlalchemy import select

from tests.factories import make_database
from webapp.email import delivery, suppression
from webapp.extensions import db
from webapp.hygiene import policies
from webapp.hygiene.policies import PolicySettings
from webapp.hygiene.status import email_status
from webapp.models import Profile, ProfileEvent
from webapp.platform.errors import ValidationError
from webapp.profiles import databases, events, profiles
from webapp.profiles.events import Origin
from webapp.profiles.unsubscribe import unsubscribe

ADMIN = Origin("admin")
ADDRESS = "ann@example.com"


@pytest.fixture
def database(account):
    return make_database(account, fields={"Email": "email", "Status": "text"})


@pytest.fixture
def profile(account, database):
    return profiles.create_profile(account, database.id, {"Email": "Ann@Example.com", "Status": "active"}, origin=ADMIN)


def sent(profile, message_id: str) -> None:
    events.record("email_sent", Origin("follow-up"), profile=profile, changes={"message_id": message_id})
    db.session.commit()


def bounce(profile, kind: str, message_id: str, reason: str = "user_unknown") -> None:
    status = "5.1.1" if kind == "hard" else "4.2.2"
    changes = {
        "bounce": {
            "type": kind,
            "reason": reason,
            "status": status,
            "diagnostic": "smtp; 550",
            "message_id": message_id,
        }
    }
    events.record("bounced", Origin("bounce", reference=message_id), profile=profile, changes=changes)
    db.session.commit()


def complain(profile, message_id: str = "<m1@x>") -> None:
    changes = {"complaint": {"feedback_type": "abuse", "message_id": message_id}}
    events.record("complained", Origin("bounce", reference=message_id), profile=profile, changes=changes)
    db.session.commit()


def opened(profile, message_id: str) -> None:
    events.record("email_opened", Origin("email"), profile=profile, changes={"message_id": message_id})
    db.session.commit()


def suppressed(account) -> str | None:
    row = suppression.active(account.id, ADDRESS)
    return row.reason if row else None


def soft_bounces(profile, count: int, start: int = 0) -> None:
    for number in range(start, start + count):
        sent(profile, f"<m{number}@x>")
        bounce(profile, "soft", f"<m{number}@x>", "mailbox_full")


def policy(account, database, **changes):
    return policies.save_policy(account, database.id, PolicySettings(**changes))


def kinds(profile_id: int) -> list[str]:
    query = select(ProfileEvent.kind).where(ProfileEvent.profile_id == profile_id).order_by(ProfileEvent.id)
    return list(db.session.scalars(query))


# --- hard bounces -----------------------------------------------------------------------------------------


def test_one_hard_bounce_suppresses_by_default_and_keeps_the_profile(account, profile):
    sent(profile, "<m1@x>")
    bounce(profile, "hard", "<m1@x>")
    assert suppressed(account) == "hard_bounce"
    assert db.session.get(Profile, profile.id).fields  # the default action is "nothing"
    with pytest.raises(delivery.MailSuppressedError):
        delivery.send_mail(account.id, to=ADDRESS, subject="Hi", text="x", profile_id=profile.id)


def test_a_hard_threshold_of_two_waits_for_the_second_and_applies_the_action(account, database, profile):
    policy(account, database, hard_threshold=2, hard_action="set_fields", hard_values={"Status": "bounced"})
    sent(profile, "<m1@x>")
    bounce(profile, "hard", "<m1@x>")
    assert suppressed(account) is None
    sent(profile, "<m2@x>")
    bounce(profile, "hard", "<m2@x>")
    assert suppressed(account) == "hard_bounce"
    status_field = next(field for field in database.fields if field.name == "Status")
    assert db.session.get(Profile, profile.id).fields[status_field.key] == "bounced"


def test_the_remove_action_removes_the_profile_and_the_suppression_survives_it(account, database, profile):
    policy(account, database, hard_action="remove")
    bounce(profile, "hard", "<m1@x>")
    assert db.session.get(Profile, profile.id) is None
    assert kinds(profile.id)[-2:] == ["bounced", "profile_removed"]
    again = profiles.create_profile(account, database.id, {"Email": ADDRESS}, origin=Origin("soap"))
    assert suppressed(account) == "hard_bounce"
    with pytest.raises(delivery.MailSuppressedError):
        delivery.send_mail(account.id, to=ADDRESS, subject="Hi", text="x", profile_id=again.id, category="marketing")


def test_the_unsubscribe_action_applies_the_database_behaviour(account, database, profile):
    databases.set_unsubscribe_behaviour(
        account, database_id=database.id, behaviour="update", field_values={"Status": "unsubscribed"}
    )
    policy(account, database, hard_action="unsubscribe")
    bounce(profile, "hard", "<m1@x>")
    assert kinds(profile.id)[-2:] == ["bounced", "unsubscribed"]
    assert "unsubscribed" in db.session.get(Profile, profile.id).fields.values()
    assert suppressed(account) == "hard_bounce"  # the stronger reason stays


def test_a_hard_bounce_of_an_address_suppressed_only_by_an_unsubscribe_applies_the_action(account, database, profile):
    policy(account, database, hard_action="set_fields", hard_values={"Status": "bounced"})
    suppression.suppress(account.id, ADDRESS, suppression.Reason.UNSUBSCRIBE)
    db.session.commit()
    bounce(profile, "hard", "<m1@x>")
    assert suppressed(account) == "hard_bounce"
    assert "bounced" in db.session.get(Profile, profile.id).fields.values()


def test_a_complaint_of_an_address_suppressed_only_by_an_unsubscribe_applies_the_action(account, database, profile):
    policy(account, database, complaint_action="set_fields", complaint_values={"Status": "complained"})
    suppression.suppress(account.id, ADDRESS, suppression.Reason.UNSUBSCRIBE)
    db.session.commit()
    complain(profile)
    assert suppressed(account) == "complaint"
    assert "complained" in db.session.get(Profile, profile.id).fields.values()


# --- soft bounces -----------------------------------------------------------------------------------------


def test_soft_bounces_act_after_five_in_a_row(account, profile):
    soft_bounces(profile, 4)
    assert suppressed(account) is None
    soft_bounces(profile, 1, start=4)
    assert suppressed(account) == "soft_bounce"


def test_an_open_between_soft_bounces_starts_the_count_again(account, profile):
    soft_bounces(profile, 4)
    opened(profile, "<m3@x>")
    soft_bounces(profile, 4, start=4)
    assert suppressed(account) is None
    soft_bounces(profile, 1, start=8)
    assert suppressed(account) == "soft_bounce"


def test_a_click_between_soft_bounces_starts_the_count_again(account, profile):
    soft_bounces(profile, 3)
    events.record("email_clicked", Origin("email"), profile=profile, changes={"message_id": "<m2@x>"})
    db.session.commit()
    soft_bounces(profile, 4, start=3)
    assert suppressed(account) is None


def test_a_message_delivered_between_soft_bounces_starts_the_count_again(account, profile):
    soft_bounces(profile, 3)
    sent(profile, "<delivered@x>")  # never bounced
    soft_bounces(profile, 4, start=3)
    assert suppressed(account) is None
    assert email_status(account, profile.id).soft_bounces_in_a_row == 4


def test_a_message_sent_after_the_bounced_one_does_not_break_the_chain(account, profile):
    """Mail sent while an older message's bounce is still under way is not a delivery between bounces."""
    soft_bounces(profile, 4)
    sent(profile, "<m4@x>")
    sent(profile, "<in-flight@x>")
    bounce(profile, "soft", "<m4@x>", "mailbox_full")
    assert suppressed(account) == "soft_bounce"


def test_hard_bounces_do_not_count_as_soft_ones(account, database, profile):
    policy(account, database, hard_threshold=10, soft_threshold=2)
    sent(profile, "<a@x>")
    bounce(profile, "hard", "<a@x>")
    soft_bounces(profile, 1)
    assert suppressed(account) is None
    soft_bounces(profile, 1, start=1)
    assert suppressed(account) == "soft_bounce"


def test_a_configured_soft_threshold_and_action(account, database, profile):
    policy(account, database, soft_threshold=2, soft_action="remove")
    soft_bounces(profile, 2)
    assert db.session.get(Profile, profile.id) is None


def test_lifting_starts_the_count_again(account, database, profile):
    policy(account, database, soft_threshold=2)
    soft_bounces(profile, 2)
    row = suppression.active(account.id, ADDRESS)
    suppression.lift(account, row.id, by="admin@example.com")
    assert suppressed(account) is None
    soft_bounces(profile, 1, start=2)
    assert suppressed(account) is None
    soft_bounces(profile, 1, start=3)
    assert suppressed(account) == "soft_bounce"


def test_later_bounces_of_mail_under_way_do_not_apply_the_action_again(account, database, profile):
    policy(account, database, hard_action="set_fields", hard_values={"Status": "bounced"})
    bounce(profile, "hard", "<m1@x>")
    profiles.update_profile(account, profile.id, {"Status": "fixed by hand"}, origin=ADMIN)
    bounce(profile, "hard", "<m2@x>")
    assert "fixed by hand" in db.session.get(Profile, profile.id).fields.values()


# --- complaints and unsubscribes ---------------------------------------------------------------------------


def test_a_complaint_unsubscribes_and_suppresses_by_default(account, database, profile):
    databases.set_unsubscribe_behaviour(account, database_id=database.id, behaviour="remove")
    complain(profile)
    assert suppressed(account) == "complaint"
    assert db.session.get(Profile, profile.id) is None
    assert kinds(profile.id)[-3:] == ["complained", "unsubscribed", "profile_removed"]


def test_a_complaint_with_the_action_nothing_only_suppresses(account, database, profile):
    policy(account, database, complaint_action="nothing")
    complain(profile)
    assert suppressed(account) == "complaint"
    assert kinds(profile.id)[-1] == "complained"


@pytest.mark.parametrize("behaviour", ["nothing", "update", "remove"])
def test_an_unsubscribe_suppresses_marketing_mail_whatever_the_behaviour(account, database, profile, behaviour):
    """ "update" is a new database's own: with no values to set, an unsubscribe changes no value (issue 22)."""
    if behaviour != "update":
        databases.set_unsubscribe_behaviour(account, database_id=database.id, behaviour=behaviour)
    assert database.unsubscribe_behaviour == behaviour
    unsubscribe(account, profile.id, origin=Origin("unsubscribe", actor="mailto"))
    assert suppressed(account) == "unsubscribe"
    assert suppression.blocking_reason(account.id, ADDRESS, "marketing") == "unsubscribe"
    assert suppression.blocking_reason(account.id, ADDRESS, "transactional") is None
    assert suppression.blocking_reason(account.id, ADDRESS, "confirmation") is None


def test_a_confirmed_opt_in_lifts_the_suppression(account, database, profile):
    complain(profile)
    profiles.update_profile(account, profile.id, {}, origin=Origin("form", reference="1"), kind="confirmed")
    assert suppressed(account) is None
    assert suppression.get_suppression(account, suppression.list_suppressed(account, include_lifted=True)[0][0].id)


# --- the status and the settings ---------------------------------------------------------------------------


def test_the_email_status_of_a_profile(account, database, profile):
    policy(account, database, soft_threshold=3)
    assert email_status(account, profile.id).bounce_count == 0
    soft_bounces(profile, 2)
    status = email_status(account, profile.id)
    assert (status.bounce_count, status.soft_bounces_in_a_row, status.suppressed) == (2, 2, False)
    assert (status.last_bounce_type, status.last_bounce_reason) == ("soft", "mailbox_full")
    bounce(profile, "hard", "<h@x>")
    status = email_status(account, profile.id)
    assert (status.bounce_count, status.suppressed, status.suppression_reason) == (3, True, "hard_bounce")
    assert status.address == "Ann@example.com" and status.last_bounce_at is not None


def test_bad_settings_are_refused_with_every_error_and_nothing_stored(account, database):
    with pytest.raises(ValidationError) as refused:
        policy(
            account,
            database,
            hard_threshold=0,
            soft_action="explode",
            complaint_action="set_fields",
            signup_days=0,
            signup_values={"Nope": "x"},
        )
    assert set(refused.value.errors) == {
        "hard_threshold",
        "soft_action",
        "complaint_values",
        "signup_days",
        "signup_values",
    }
    assert policies.get_policy(account, database.id).hard_threshold == 1


def test_the_settings_of_another_accounts_database_are_not_found(account, database):
    from tests.factories import make_account
    from webapp.platform.errors import NotFound

    with pytest.raises(NotFound):
        policies.get_policy(make_account("Other"), database.id)


def test_bounces_complaints_and_unsubscribes_are_on_the_timeline(account, database, profile):
    from webapp.profiles.timeline import events_of_profile

    policy(account, database, complaint_action="nothing")
    bounce(profile, "soft", "<m1@x>", "mailbox_full")
    complain(profile)
    unsubscribe(account, profile.id, origin=Origin("unsubscribe", actor="mailto"))
    entries = events_of_profile(account, profile.id).entries
    notes = {entry.event.kind: entry.notes for entry in entries}
    assert notes["bounced"][:2] == ["Soft bounce: mailbox_full 4.2.2", "smtp; 550"]
    assert notes["complained"][0] == "Feedback type: abuse"
    assert "unsubscribed" in notes
