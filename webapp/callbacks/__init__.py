"""Callbacks (webhooks): signed HTTP calls to a customer's URL on every profile or subprofile change.

``definitions`` manages them, ``conditions`` parses their filter expressions, ``deliveries`` turns journalled
changes into delivery rows and sends them. May import ``webapp.platform``, ``webapp.profiles``, ``webapp.models``.
"""
