"""Test sends: a template, saved or not, sent now to a few addresses the editor types.

Personalised with a chosen profile's values (or an empty profile of the template's database), with the text
part the real email gets, the subject marked as a test, no tracking and a dead unsubscribe link (the
recipients are not the profile). It goes out as transactional email through the account's own SMTP server
(or the caught-mail list), so the suppression list still applies to bounced and complaining addresses.
"""

import re

from flask_babel import gettext as _

from webapp.email import delivery, templates, text_part
from webapp.email.templates import TemplateValues
from webapp.extensions import db
from webapp.models import Account
from webapp.platform.errors import ValidationError
from webapp.profiles.profiles import get_profile

MAX_ADDRESSES = 5
_SEPARATORS = re.compile(r"[\s,;]+")


def addresses_of(text: str) -> list[str]:
    """The distinct addresses in ``text`` (separated by commas, semicolons or spaces); ValidationError else."""
    addresses = list(dict.fromkeys(part for part in _SEPARATORS.split(text.strip()) if part))
    if not addresses:
        raise ValidationError({"test_addresses": _("Enter the address to send the test to.")})
    if len(addresses) > MAX_ADDRESSES:
        raise ValidationError({"test_addresses": _("Send a test to at most %(count)s addresses.", count=MAX_ADDRESSES)})
    wrong = [address for address in addresses if not templates.is_address(address)]
    if wrong:
        raise ValidationError({"test_addresses": _("Not an email address: %(addresses)s", addresses=", ".join(wrong))})
    return addresses


def send_test(account: Account, values: TemplateValues, addresses: str, profile_id: int | None = None) -> list[str]:
    """Send ``values`` to each address now; returns the addresses. ValidationError for bad input or a refusal."""
    recipients = addresses_of(addresses)
    if profile_id is not None:
        rendered = templates.render(values, get_profile(account, profile_id), unsubscribe_url="#")
    else:
        rendered = templates.render_sample(account, values)
    text = rendered.text or text_part.text_of(rendered.html)
    subject = _("[Test] %(subject)s", subject=rendered.subject)
    for recipient in recipients:
        try:
            delivery.send_mail(
                account.id,
                to=recipient,
                subject=subject,
                text=text,
                html=rendered.html or None,
                sender=values.sender or None,
                reply_to=values.reply_to or None,
                category="transactional",
            )
        except delivery.MailError as error:
            db.session.commit()  # the log of those sent before
            raise ValidationError(
                {"test_addresses": _("The test to %(address)s was not sent: %(error)s", address=recipient, error=error)}
            ) from None
    db.session.commit()  # the sent-message log (or the caught mail)
    return recipients
