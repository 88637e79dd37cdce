"""The dashboard: per database, what happened over the last days — profiles and subscribers over time, sign-ups
per form, follow-up runs and emails sent, imports and their errors, unsubscribes and bounces — as figures and
server-rendered SVG charts.

Owns ``figures`` (one query per figure, each an aggregate by day over an index: nothing is loaded row by row),
``day_counts`` (the daily count of profiles and subscribers per database, taken by housekeeping, that the "over
time" charts read) and ``charts`` (the geometry of the SVG charts). May import followups, hygiene, imports,
webforms, email, profiles and platform (it reads their tables; it changes nothing of theirs).
"""


def init_app(app) -> None:
    from webapp.dashboard import day_counts

    day_counts.init_app(app)
