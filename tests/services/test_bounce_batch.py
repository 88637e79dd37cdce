"""The bounce policy over a batch of events (``hygiene.bounce_batch``: the receiver's group commit): the same
rules as one event at a time, with the counting, the suppressions and the actions per profile."""

import pytest
from sqlalchemy import insert, select

from tests.factories import make_database
from webapp.email import suppression
from webapp.extensions import db
from webapp.hygiene import bounce_batch, policies
from webapp.hygiene.policies import PolicySettings
from webapp.models import ProfileEvent, utcnow
from webapp.profiles import events, profiles
from webapp.profiles.events import Origin

ADMIN = Origin("admin")


@pytest.fixture
def database(account):
    return make_database(account, fields={"Email": "email", "Status": "text"})


@pytest.fixture
def people(account, database):
    return [
        profiles.create_profile(account, database.id, {"Email": f"P{number}@example.com"}, origin=ADMIN)
        for number in range(4)
    ]


@pytest.fixture
def batched(monkeypatch):
    """Fail when a bounce of the batch goes the one-event way (the actions' own events do)."""
    original = policies.on_profile_event

    def one_by_one(event):
        assert event.kind != "bounced", "the batch went event by event"
        original(event)

    monkeypatch.setattr(policies, "on_profile_event", one_by_one)


def bounce_together(bounces: list[tuple]) -> None:
    """Journal (profile, type, message id) bounces in one INSERT and hand them to the subscribers together, as
    intake does, then commit."""
    rows = [
        {
            "account_id": profile.account_id,
            "database_id": profile.database_id,
            "profile_id": profile.id,
            "collection_id": None,
            "subprofile_id": None,
            "kind": "bounced",
            "source": "bounce",
            "actor": "",
            "reference": message_id,
            "changes": {
                "bounce": {"type": kind, "reason": "x", "status": "5.1.1", "diagnostic": "", "message_id": message_id}
            },
            "created_at": utcnow(),
        }
        for profile, kind, message_id in bounces
    ]
    ids = db.session.scalars(insert(ProfileEvent).returning(ProfileEvent.id, sort_by_parameter_order=True), rows).all()
    events.note_written([ProfileEvent(id=event_id, **row) for event_id, row in zip(ids, rows, strict=True)])
    db.session.commit()


def reason(account, number: int) -> str | None:
    row = suppression.active(account.id, f"p{number}@example.com")
    return row.reason if row else None


def kinds(profile_id: int) -> list[str]:
    query = select(ProfileEvent.kind).where(ProfileEvent.profile_id == profile_id).order_by(ProfileEvent.id)
    return list(db.session.scalars(query))


def test_hard_bounces_together_suppress_each_address_and_apply_the_action_once(account, database, people, batched):
    policies.save_policy(account, database.id, PolicySettings(hard_action="unsubscribe"))
    suppression.suppress(account.id, "p1@example.com", suppression.Reason.UNSUBSCRIBE)
    suppression.suppress(account.id, "p2@example.com", suppression.Reason.HARD_BOUNCE)
    db.session.commit()
    bounce_together([(person, "hard", f"<m{number}@x>") for number, person in enumerate(people)])
    assert [reason(account, number) for number in range(4)] == ["hard_bounce"] * 4
    assert kinds(people[0].id)[-2:] == ["bounced", "unsubscribed"]
    assert kinds(people[1].id)[-2:] == ["bounced", "unsubscribed"]  # was only unsubscribed: the action applies
    assert kinds(people[2].id)[-1] == "bounced"  # already suppressed for a hard bounce: not again


def test_soft_bounces_together_count_per_profile_from_the_last_lifting(account, database, people, batched):
    policies.save_policy(account, database.id, PolicySettings(soft_threshold=2))
    bounce_together([(people[0], "soft", "<a1@x>"), (people[1], "soft", "<b1@x>")])
    assert reason(account, 0) is None and reason(account, 1) is None
    bounce_together([(people[0], "soft", "<a2@x>"), (people[2], "soft", "<c1@x>")])
    assert [reason(account, number) for number in range(3)] == ["soft_bounce", None, None]
    row = suppression.active(account.id, "p0@example.com")
    suppression.lift(account, row.id, by="admin@example.com")
    bounce_together([(people[0], "soft", "<a3@x>"), (people[1], "soft", "<b2@x>")])
    assert [reason(account, number) for number in range(2)] == [None, "soft_bounce"]


def test_a_profile_twice_in_a_batch_goes_event_by_event(account, database, people, monkeypatch):
    policies.save_policy(account, database.id, PolicySettings(hard_threshold=2))
    seen = []
    original = policies.on_profile_event

    def one_by_one(event):
        seen.append(event.id)
        original(event)

    monkeypatch.setattr(bounce_batch.policies, "on_profile_event", one_by_one)
    bounce_together([(people[0], "hard", "<m1@x>"), (people[0], "hard", "<m2@x>")])
    assert len(seen) == 2
    assert reason(account, 0) == "hard_bounce"  # the second bounce counts the first
