"""Accounts: the tenant boundary (``accounts``), their users with roles and passwords (``users``), the per-account
login backoff (``login_backoff``), and API tokens (``tokens``).

May import ``webapp.platform``, ``webapp.models`` and ``webapp.extensions``; no other domain package.
"""
