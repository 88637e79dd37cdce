"""A form rendered on the server from its public definition: the hosted page ``/f/KEY`` and the admin preview.

It needs no JavaScript (plain POST, errors inline) and is accessible: every input has a label, help and error
texts are linked with ``aria-describedby``, an input with an error carries ``aria-invalid``.
"""

import secrets
from typing import Any

from flask import render_template
from markupsafe import Markup


def render_form(
    definition: dict[str, Any],
    *,
    action: str,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    token: str = "",
    link: dict[str, str] | None = None,
) -> Markup:
    """The ``<form>`` element. ``values`` (by item name) refill the inputs after errors and hold prefill;
    ``link`` is the signed profile link (``profile``, ``sig``) to post back along."""
    # render_template autoescapes; only the sanitised text blocks pass as they are.
    return Markup(  # noqa: S704
        render_template(
            "widgets/_form.html",
            definition=definition,
            action=action,
            values=values or {},
            errors=errors or {},
            token=token,
            link=link or {},
            idempotency_key=secrets.token_urlsafe(16),
        )
    )
