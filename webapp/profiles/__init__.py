"""Profiles: databases, their fields, interests and collections, and every write to a profile or subprofile.

Owns the field type registry, the SQL expressions over field values and the one set of comparisons on them
(``field_types``, ``field_expressions``, ``field_conditions``: what the rule language and search compare with),
Copernica's field properties as its APIs send them (``copernica_fields``), validation of a write (``values``),
the one reading of a yes/no value (``flags``), the writers (``profiles``, ``subprofiles``, ``bulk_writes``,
``batch_upserts``) and the versions a conditional write checks (``versions``), lists and searches, merges, the
unsubscribe behaviours, signed profile links, consent records (``consents``: written by the doors' packages, read
by privacy), and the event spine (``events``: the journal and its subscribers) with the timeline and the change
feed (``event_feed``) that read it. Every other domain package writes profiles through here and subscribes to
``events`` for what happened.

May import ``webapp.platform``, ``webapp.models`` and ``webapp.extensions``; never another domain package
(they subscribe to ``events`` or are called by the doors instead).
"""
