"""Web forms: built in the admin, placed on any site with one snippet, and what a submission does.

``builder`` and ``items`` manage a form's settings and items; ``submissions`` is the public entry (definition,
tokens, ``submit_form``), which takes the ``fast_create`` path for the common case (``create_statement``) and
otherwise logs an ``attempts`` row and, when accepted, writes through ``accepted``. ``spam`` holds the spam
defences (single-use fill-time tokens), ``spam_log`` the bounds of the log of refused attempts, ``opt_in``
double opt-in and notifications, ``results`` what forms collected, ``languages`` which of a form's languages a
visitor gets, ``field_references`` what removing a profile field does to forms' settings. Rendering and
validating a definition (and a text in a language) is ``webapp/widgets``' work.

May import ``webapp.platform``, ``webapp.profiles``, ``webapp.email`` (opt-in mail), ``webapp.widgets`` and
``webapp.exports.files`` (the product's one CSV writer, for the results export).
"""
