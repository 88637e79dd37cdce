"""Imports: CSV/TSV files uploaded or fetched on a schedule, mapped onto a database and applied through the
event spine, with a line-by-line report and a rollback.

``files`` reads a file (encodings, delimiters, compression); ``storage`` keeps and forgets stored files;
``mapping`` is a definition's column mapping and key fields; ``runs`` uploads, previews and starts a run;
``cells`` and ``planner`` validate lines and decide what each does (``lines``: a line's result and rules);
``apply`` writes a run in batches (with ``staging``, the set-based PostgreSQL path); ``rollback`` undoes a run
from the journal; ``sources`` fetches files on a schedule (its clients are ``platform.remote_files``);
``new_fields`` creates a field for an unmapped column. See ``docs/imports.md``.

May import ``webapp.platform``, ``webapp.profiles`` and ``webapp.exports`` (its CSV writer, for the error report).
"""
