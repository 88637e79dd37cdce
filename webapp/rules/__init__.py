"""Rules: the one rule language of Verrijk (selections, follow-up conditions, callbacks' conditions and selection
filter, the profile list's conditions): a JSON tree of AND/OR groups over field, interest, subscription,
subprofile, email-result, suppression and selection-membership rules. ``tree`` validates a tree against a
database, ``sql`` compiles it to a WHERE clause (PostgreSQL and SQLite), ``evaluate`` checks it for one profile
(or plain values), ``list_filter`` builds the profile list's conditions as a tree. A field rule's comparison is
``profiles.field_conditions``, which Copernica's requirement search (``profiles.search``) uses too. See
docs/selections.md."""
