"""Callbacks (webhooks): signed HTTP calls to a customer's URL on every profile or subprofile change.

``definitions`` manages them, ``conditions`` parses their filter expressions into rule trees, ``deliveries`` turns
journalled changes into delivery rows and sends them, ``copernica`` shapes and signs the calls of Copernica-style
callbacks. May import ``webapp.platform``, ``webapp.profiles``, ``webapp.email`` (the account's DKIM key),
``webapp.rules`` (conditions and the selection filter) and ``webapp.models``.
"""
