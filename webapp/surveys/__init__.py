"""Surveys: multi-page questionnaires with conditions and branching, in several languages, hosted or embedded.

``builder`` creates surveys and checks their pages and settings; ``conditions`` evaluates a question's
condition and a page's branches on the server; ``responses`` is the public entry (start or resume, submit a page,
complete: partial responses, signed profile links, limits, field mapping through the event spine, the
``survey_completed`` event); ``results`` what surveys collected (counts, drop-off, open answers, CSV).
Showing and validating a page is ``webapp/widgets``' work; the spam defences are the web forms'.

May import ``webapp.platform``, ``webapp.profiles``, ``webapp.email`` (notifications), ``webapp.widgets``,
``webapp.webforms`` (spam defences) and ``webapp.exports.files`` (the one CSV writer).
"""
