"""Every business rule lives here. Views, SOAP methods and RQ jobs are thin adapters over these functions.

Services take plain values and an account, never ``request``; they raise errors from ``errors.py``.
"""
