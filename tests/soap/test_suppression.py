"""The suppression list against profiles created over SOAP: the follow-up mail a SOAP change triggers is not
sent to a suppressed address, and a SOAP profile update does not lift the suppression."""

from tests.factories import make_database, make_followup
from tests.followup_fixtures import run_due, runs
from tests.soap.helpers import pairs
from webapp.email import delivery, suppression
from webapp.extensions import db
from webapp.models import EmailTemplate


def test_a_follow_up_triggered_over_soap_does_not_mail_a_suppressed_address(soap, token, account):
    database = make_database(account)
    template = EmailTemplate(account_id=account.id, database_id=database.id, name="Hi", subject="Hi", text="Hi")
    db.session.add(template)
    db.session.commit()
    make_followup(
        account,
        database,
        trigger={"kind": "profile_created"},
        actions=[{"type": "send_email", "template_id": template.id}],
    )
    suppression.suppress(account.id, "ann@example.com", suppression.Reason.COMPLAINT)
    suppression.suppress(account.id, "bob@example.com", suppression.Reason.UNSUBSCRIBE)
    suppression.lift_in_transaction(account.id, "bob@example.com", by="admin")
    db.session.commit()
    for address in ("Ann@Example.com", "bob@example.com"):
        created = soap.Database_createProfile(access_token=token, id=database.id, fields=pairs(Email=address))
        soap.Profile_updateFields(access_token=token, id=created.id, fields=pairs(FirstName="X"))
    db.session.rollback()
    run_due()
    by_address = {run.profile_id: run for run in runs()}
    assert sorted(run.status for run in by_address.values()) == ["done", "failed"]
    assert [message["To"] for message in delivery.caught_messages(account.id)] == ["bob@example.com"]
    assert suppression.active(account.id, "ann@example.com").reason == "complaint"


def test_setting_the_unsubscribe_values_over_soap_is_an_unsubscribe(soap, token, account):
    """Copernica's API unsubscribes by setting the database's unsubscribe values: the address is suppressed, and
    stays so after the values are taken off again or the profile is made anew."""
    from webapp.profiles import databases

    database = make_database(account, fields={"Email": "email", "Newsletter": "text"})
    databases.set_unsubscribe_behaviour(
        account, database_id=database.id, behaviour="update", field_values={"Newsletter": "no"}
    )
    db.session.commit()
    created = soap.Database_createProfile(
        access_token=token, id=database.id, fields=pairs(Email="ann@example.com", Newsletter="yes")
    )
    soap.Profile_updateFields(access_token=token, id=created.id, fields=pairs(Email="ann@example.com"))
    db.session.rollback()
    assert suppression.active(account.id, "ann@example.com") is None  # an update that unsubscribes nothing
    soap.Profile_updateFields(access_token=token, id=created.id, fields=pairs(Newsletter="no"))
    db.session.rollback()
    assert suppression.active(account.id, "ann@example.com").reason == "unsubscribe"
    soap.Profile_updateFields(access_token=token, id=created.id, fields=pairs(Newsletter="yes"))
    db.session.rollback()
    assert suppression.active(account.id, "ann@example.com") is not None
