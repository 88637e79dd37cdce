"""Subscription hygiene: bounces, complaints, ``mailto:`` unsubscribes and sign-ups, processed by rule.

Intake (the inbound SMTP receiver and the email providers' webhooks) turns each message into a ``Report``
(``reports``), matches it to the message we sent, keeps it, and journals it on the profile as a ``bounced``
or ``complained`` event with source ``bounce`` (the shape is in ``reports``). The per-database policies
react to those events: they count bounces, suppress addresses and apply the configured action.

Intake: ``reading`` (a message → ``Report``), ``classification``, ``intake`` (match, keep, journal, the
unmatched store), ``receiver`` (the SMTP process), ``ses``, ``webhooks`` and ``credentials`` (providers),
``review`` (the admin's list). Policies: ``policies`` (the rules per database), ``bounce_batch`` (them, per
group commit), ``send_refusals`` (SMTP refusals at send time), ``signups`` (pruning unconfirmed sign-ups),
``status`` (a profile's email status).

May import ``webapp.platform``, ``webapp.profiles`` and ``webapp.email`` (the sent-message log, the return
addresses and the suppression list); nothing below imports it.
"""


def init_app(app) -> None:
    """Register the housekeeping that forgets unmatched messages after their retention period, and the policies
    (event subscriber, send-time refusals, sign-up pruning)."""
    from webapp.hygiene import bounce_batch, intake, policies
    from webapp.platform import work

    with app.app_context():
        work.add_housekeeping(intake.forget_old_unmatched)
    policies.init_app(app)
    bounce_batch.init_app(app)
