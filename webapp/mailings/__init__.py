"""Mailings: a template sent to the members of selections — now, at a time, or periodically —, throttled, as
an A/B test if wanted, durable and resumable, with its results live.

``definitions`` validates and stores a mailing; ``audience`` freezes its recipients (``INSERT … SELECT`` over
``selections.membership``) and draws the A/B sample; ``lifecycle`` starts, schedules, repeats, pauses, resumes
and cancels, sends tests and settles interrupted sends; ``batches`` dispatches and sends the recipients in
batches, each message at most once; ``confirmations`` writes a sent message's confirmation with the next
claim in one statement; ``ab_tests`` picks the winner; ``results`` counts what became of the
messages (``EmailResult``), clicks per link, the chart over time and a profile's mailings. See
``docs/mailings.md``.

May import ``webapp.platform``, ``webapp.profiles``, ``webapp.selections``, ``webapp.email`` and
``webapp.hygiene``.
"""


def init_app(app) -> None:
    """Register the work kinds (scheduled start, repeat, A/B winner), the batch dispatcher as a work source,
    and the per-link click counter."""
    from webapp.email import results as email_results
    from webapp.mailings import batches, lifecycle, results

    app.extensions["work_handlers"]["mailing-start"] = lifecycle.run_start_work
    app.extensions["work_handlers"]["mailing-repeat"] = lifecycle.run_repeat_work
    app.extensions["work_handlers"]["mailing-ab"] = lifecycle.run_ab_work
    app.extensions["work_sources"].append((batches.dispatch_due_batches, batches.requeue_lost_batches))
    email_results.subscribe_clicks(app, results.count_link_click)
