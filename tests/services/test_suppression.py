"""The suppression list against every send: follow-ups, re-imports, forms (with the confirmation that lifts it),
and refusals at send time (a real SMTP server answering 550/450) counted as bounces."""

import io
import re
import time

import pytest
from sqlalchemy import select

from tests import followup_fixtures
from tests.factories import make_followup, make_form
from tests.followup_fixtures import ADMIN, run_due, runs
from tests.smtp_server import smtp_server  # noqa: F401
from webapp.email import delivery, sending, suppression
from webapp.email.suppression import Reason
from webapp.extensions import db
from webapp.followups import runs as followup_runs
from webapp.imports import apply as imports_apply
from webapp.imports import runs as imports
from webapp.models import EmailTemplate, Profile, ProfileEvent
from webapp.profiles import profiles
from webapp.webforms import opt_in
from webapp.webforms import spam as form_spam
from webapp.webforms import submissions as forms

ADDRESS = "ann@example.com"
shop, clock = followup_fixtures.shop, followup_fixtures.clock  # the fixtures, used by name


@pytest.fixture
def smtp_url(app):
    def use(url: str) -> None:
        app.config["SMTP_URL"] = url

    yield use
    app.config["SMTP_URL"] = ""


@pytest.fixture
def template(account, shop):
    row = EmailTemplate(account_id=account.id, database_id=shop.database.id, name="News", subject="News", text="Hi")
    db.session.add(row)
    db.session.commit()
    return row


def mail_followup(account, shop, template):
    return make_followup(
        account,
        shop.database,
        trigger={"kind": "profile_created"},
        actions=[{"type": "send_email", "template_id": template.id}],
    )


def suppress(account, reason=Reason.UNSUBSCRIBE, address=ADDRESS):
    suppression.suppress(account.id, address, reason)
    db.session.commit()


def bounces(profile_id: int) -> list[dict]:
    query = select(ProfileEvent).where(ProfileEvent.profile_id == profile_id, ProfileEvent.kind == "bounced")
    return [event.changes["bounce"] for event in db.session.scalars(query.order_by(ProfileEvent.id))]


# --- the list itself ----------------------------------------------------------------------------------------


def test_addresses_are_kept_lowercased_and_a_stronger_reason_wins(account):
    suppress(account, Reason.UNSUBSCRIBE, "Ann <ANN@Example.com>")
    suppress(account, Reason.HARD_BOUNCE)
    suppress(account, Reason.UNSUBSCRIBE)
    row = suppression.active(account.id, "ann@EXAMPLE.com")
    assert (row.address, row.reason) == (ADDRESS, "hard_bounce")


@pytest.mark.parametrize(
    ("reason", "marketing", "transactional", "confirmation"),
    [
        (Reason.UNSUBSCRIBE, False, True, True),
        (Reason.SOFT_BOUNCE, False, False, True),
        (Reason.HARD_BOUNCE, False, False, True),
        (Reason.COMPLAINT, False, False, True),
    ],
)
def test_what_each_reason_still_allows(account, reason, marketing, transactional, confirmation):
    suppress(account, reason)
    allowed = {
        category: suppression.blocking_reason(account.id, ADDRESS, category) is None
        for category in ("marketing", "transactional", "confirmation")
    }
    assert allowed == {"marketing": marketing, "transactional": transactional, "confirmation": confirmation}


def test_a_suppressed_address_gets_no_mail_of_a_blocked_category_and_nothing_is_logged(account, shop):
    profile = profiles.create_profile(account, shop.database.id, {"Email": ADDRESS}, origin=ADMIN)
    suppress(account, Reason.HARD_BOUNCE)
    for category in ("marketing", "transactional"):
        with pytest.raises(delivery.MailSuppressedError, match="suppression list"):
            delivery.send_mail(account.id, to=ADDRESS, subject="Hi", text="x", profile_id=profile.id, category=category)
    assert delivery.caught_messages(account.id) == []
    delivery.send_mail(account.id, to=ADDRESS, subject="Confirm", text="x", category="confirmation")
    assert len(delivery.caught_messages(account.id)) == 1


def test_search_page_and_lift(account):
    from tests.factories import make_account

    for number in range(3):
        suppress(account, Reason.COMPLAINT, f"p{number}@example.com")
    suppress(make_account("Other"), Reason.COMPLAINT, "p9@example.com")
    rows, total = suppression.list_suppressed(account, search="P1@")
    assert total == 1 and rows[0].address == "p1@example.com"
    assert suppression.list_suppressed(account, search="%")[1] == 0  # a wildcard is a character
    suppression.lift(account, rows[0].id, by="admin@example.com")
    assert suppression.list_suppressed(account)[1] == 2
    lifted = [row for row in suppression.list_suppressed(account, include_lifted=True)[0] if row.lifted_at]
    assert [row.lifted_by for row in lifted] == ["admin@example.com"]
    exported = list(suppression.export_rows(account))
    assert exported[0][0] == "address" and len(exported) == 3


# --- every door that sends ----------------------------------------------------------------------------------


def test_a_follow_up_send_to_a_suppressed_address_fails_without_mail(account, shop, template, smtp_server, smtp_url):  # noqa: F811
    smtp_url(smtp_server.url)
    suppress(account)
    mail_followup(account, shop, template)
    profile = profiles.create_profile(account, shop.database.id, {"Email": "ANN@example.com"}, origin=ADMIN)
    run_due()
    [run] = runs()
    assert run.status == "failed" and "suppression list" in run.last_error
    assert smtp_server.envelopes == [] and bounces(profile.id) == []  # a suppression is not a bounce


def test_suppression_survives_a_re_import(app, account, shop, tmp_path, monkeypatch, template):  # noqa: F811
    monkeypatch.setitem(app.config, "IMPORT_FOLDER", str(tmp_path / "imports"))
    profile = profiles.create_profile(account, shop.database.id, {"Email": ADDRESS}, origin=ADMIN)
    suppress(account, Reason.COMPLAINT)
    profiles.delete_profile(account, profile.id, origin=ADMIN)
    run = imports.upload(account, shop.database.id, io.BytesIO(b"Email,FirstName\nann@example.com,Ann\n"), "a.csv")
    imports.start_run(account, run.id)
    imports_apply.apply_run(run.id)
    again = db.session.scalars(select(Profile).where(Profile.database_id == shop.database.id)).one()
    with pytest.raises(delivery.MailSuppressedError):
        sending.send_template_email(account.id, template.id, again.id, message_id=delivery.new_message_id())
    assert delivery.caught_messages(account.id) == []


def test_a_form_sign_up_of_a_suppressed_address_is_confirmed_and_the_confirmation_lifts_it(account, shop):
    suppress(account, Reason.HARD_BOUNCE)
    email = shop.field["Email"]
    form = make_form(
        account,
        shop.database,
        items=[{"type": "field", "field": "Email", "required": True}],
        double_opt_in={"enabled": True, "confirmed_values": {str(shop.field["Newsletter"]): "yes"}},
    )
    token = form_spam.issue_token(form.key, now=time.time() - 60)
    result = forms.submit_form(
        form.key, {f"f{email}": ADDRESS}, {}, origin="", ip="192.0.2.1", idempotency_key=None, elapsed_token=token
    )
    assert result.status_code == 200
    [message] = delivery.caught_messages(account.id)  # the confirmation goes out: it is what lifts
    link = re.search(r"/p/confirm/(\S+)", message.get_body(("plain",)).get_content()).group(1)
    assert suppression.active(account.id, ADDRESS) is not None
    opt_in.confirm_subscription(link)
    assert suppression.active(account.id, ADDRESS) is None
    delivery.send_mail(
        account.id, to=ADDRESS, subject="News", text="x", profile_id=result.profile_id, category="marketing"
    )


# --- refusals at send time ----------------------------------------------------------------------------------


def test_a_550_on_rcpt_is_a_hard_bounce_of_that_message(account, shop, template, smtp_server, smtp_url):  # noqa: F811
    smtp_url(smtp_server.url)
    mail_followup(account, shop, template)
    profile = profiles.create_profile(account, shop.database.id, {"Email": ADDRESS}, origin=ADMIN)
    smtp_server.replies = ["550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown"]
    run_due()
    [run] = runs()
    assert run.status == "failed"
    [bounce] = bounces(profile.id)
    assert (bounce["type"], bounce["reason"], bounce["status"], bounce["message_id"]) == (
        "hard",
        "user_unknown",
        "5.1.1",
        run.message_id,
    )
    assert "User unknown" in bounce["diagnostic"]
    assert suppression.active(account.id, ADDRESS).reason == "hard_bounce"


def test_a_5xx_on_data_is_a_hard_bounce_too(account, shop, template, smtp_server, smtp_url):  # noqa: F811
    smtp_url(smtp_server.url)
    mail_followup(account, shop, template)
    profile = profiles.create_profile(account, shop.database.id, {"Email": ADDRESS}, origin=ADMIN)
    smtp_server.replies = [None, "554 5.7.1 Message rejected as spam"]
    run_due()
    [bounce] = bounces(profile.id)
    assert (bounce["type"], bounce["status"], bounce["reason"]) == ("hard", "5.7.1", "blocked")


def test_a_450_is_a_soft_bounce_only_once_the_retries_are_over(account, shop, template, smtp_server, smtp_url, clock):  # noqa: F811
    smtp_url(smtp_server.url)
    mail_followup(account, shop, template)
    profile = profiles.create_profile(account, shop.database.id, {"Email": ADDRESS}, origin=ADMIN)
    for attempt in range(1, followup_runs.MAX_ATTEMPTS + 1):
        smtp_server.replies = ["450 4.2.2 Mailbox full, try again later"]
        run_due()
        [run] = runs()
        assert run.attempts == attempt
        if attempt < followup_runs.MAX_ATTEMPTS:
            assert run.status == "pending" and bounces(profile.id) == []
            clock.advance(hours=1)
    assert run.status == "failed"
    [bounce] = bounces(profile.id)
    assert (bounce["type"], bounce["reason"], bounce["status"]) == ("soft", "mailbox_full", "4.2.2")
    assert suppression.active(account.id, ADDRESS) is None  # one soft bounce of five


def test_a_refusal_whose_policy_removes_the_profile_still_fails_the_run(account, shop, template, smtp_server, smtp_url):  # noqa: F811
    from webapp.hygiene.policies import PolicySettings, save_policy

    save_policy(account, shop.database.id, PolicySettings(hard_action="remove"))
    smtp_url(smtp_server.url)
    mail_followup(account, shop, template)
    profile = profiles.create_profile(account, shop.database.id, {"Email": ADDRESS}, origin=ADMIN)
    smtp_server.replies = ["550 5.1.1 User unknown"]
    run_due()
    [run] = runs()
    assert (run.status, run.profile_id) == ("failed", None)
    assert db.session.get(Profile, profile.id) is None
    assert suppression.active(account.id, ADDRESS).reason == "hard_bounce"
