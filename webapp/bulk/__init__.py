"""Bulk actions on a database's profiles: set a field, add or remove an interest, unsubscribe, delete or export —
for the profiles picked on a page or every match of the list's search and filter.

Owns ``runs`` (starting one, its selection, the list of runs), ``apply`` (the ``bulk_action`` work kind: chunks
of profiles, one transaction each with its progress marker, every change journalled with ``reference = "bulk
<id>"``) and ``undo`` (the ``bulk_undo`` work kind: values and interests put back through the import rollback's
journal machinery, removed profiles put back whole with their subprofiles). May import imports (the rollback),
exports (the CSV cell writer), profiles, platform and rules (the list's filter, ``rules.list_filter``).
"""


def init_app(app) -> None:
    from webapp.bulk import apply, undo

    apply.init_app(app)
    undo.init_app(app)
