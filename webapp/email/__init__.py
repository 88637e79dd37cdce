"""Email: templates, sending a template to a profile, SMTP delivery with DKIM, tracking, and the signed tokens
of links and return paths.

``delivery`` builds, signs and delivers a message (SMTP or the development catcher) and logs it; ``templates``
holds the sandboxed personalisation; ``sending`` sends a template to a profile as marketing mail (headers,
footer, tracked links); ``mass_mail`` sends one to a mailing batch's profiles, rendered once per variant and
filled in per recipient, with ``mime_skeleton`` building the MIME bytes once; ``send_rate`` is the account's
token bucket; ``tracking`` records opens and clicks and unsubscribes from signed links;
``link_tokens`` signs those links and VERP addresses; ``designs`` is the visual editor's design (MJML compiled
into a template's HTML, checked for active content) and its starter templates; ``test_sends`` sends a template
now to a few typed addresses; ``branding`` is an account's logo, colours and redirects for its public pages
and the double opt-in email; ``account_settings`` is an account's own SMTP server,
send rate and DKIM key; ``suppression`` is the account's list of addresses mail must not go to (checked by
``delivery`` before every send); ``refusals`` describes an SMTP refusal at send time and hands final ones to
whoever subscribed (hygiene counts them as bounces). "Email" is the word throughout; "mail" survives only in
table, class and endpoint names that the database and URLs already carry.

May import ``webapp.platform`` and ``webapp.profiles`` (to read and unsubscribe profiles), never a package that
sends email (follow-ups, web forms): they call in here.
"""
