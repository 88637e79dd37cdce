"""Accounts: the tenant boundary, their users with roles and passwords, and API tokens.

May import ``webapp.platform``, ``webapp.models`` and ``webapp.extensions``; no other domain package.
"""
