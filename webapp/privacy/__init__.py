"""Privacy (GDPR/AVG): what is held about a person, and the person's rights over it.

Owns finding a person by address across an account's databases (``people``), the access export (``access``:
everything held about them as JSON), erasure and anonymisation (``erasure``: a durable ``privacy_erasure`` work
kind with a report of counts per table, leaving a keyed-hash suppression entry), the generic scrubbing of a
person's values out of stored JSON and text (``scrubbing``), retention per account (``retention``: a
``privacy_retention`` work kind scheduled by housekeeping, with its last-run report) and the signed
self-service links of the preference page (``self_service``). Consent records are written lower, by the doors'
packages (``profiles.consents``), and read here.

May import every domain package below it (surveys, webforms, hygiene, followups, imports, exports, email,
callbacks, profiles, accounts, platform); no other package imports it. See ``docs/privacy.md``.
"""


def init_app(app) -> None:
    """Register the work kinds and the retention housekeeping."""
    from webapp.privacy import erasure, retention

    app.extensions["work_handlers"][erasure.WORK_KIND] = erasure.run_erasure_work
    app.extensions["work_handlers"][retention.WORK_KIND] = retention.run_retention_work
    app.extensions["housekeeping_tasks"].append(retention.ensure_retention_work)
