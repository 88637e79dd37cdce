"""Rendering for htmx and plain requests: the partial for htmx, the full page otherwise; toasts; the two halves
of a destructive action (a page that asks, then a redirect once done)."""

import json

from flask import flash, make_response, render_template, request, url_for
from flask_babel import gettext as _

from webapp.models import Database


def is_htmx() -> bool:
    """An htmx request that wants a fragment (not a boosted link nor a history restore, which want pages)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and not headers.get("HX-Boosted")
        and not headers.get("HX-History-Restore-Request")
    )


def render(page: str, partial: str | None = None, **context):
    """Render ``partial`` for an htmx request (when given), else the full ``page`` (which includes it)."""
    return render_template(partial if partial and is_htmx() else page, **context)


def toast(response, message: str, level: str = "success"):
    """Show ``message`` as a toast via the ``HX-Trigger`` header (the layout listens for ``toast``)."""
    response = make_response(response)
    triggers = json.loads(response.headers.get("HX-Trigger", "{}") or "{}")
    triggers["toast"] = {"message": str(message), "level": level}
    response.headers["HX-Trigger"] = json.dumps(triggers)
    return response


def hx_redirect(url: str):
    """Send the browser to ``url``: ``HX-Redirect`` for htmx, a 303 otherwise."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    from flask import redirect

    return redirect(url, 303)


# --- destructive actions: the GET view asks, the POST view on the same URL acts ------------------


def confirm_page(
    *,
    title: str,
    message: str,
    cancel: str,
    database: Database,
    active: str,
    button: str | None = None,
    action: str | None = None,
):
    """The GET half: a page that asks first, for browsers without JavaScript (htmx asks with ``hx-confirm``).
    Its button posts to ``action``, by default this same URL, where the POST half acts; ``database`` and
    ``active`` choose the database tab the page shows under."""
    return render_template(
        "admin/databases/confirm.html",
        title=title,
        message=message,
        action=action or url_for(request.endpoint, **(request.view_args or {})),
        cancel=cancel,
        database=database,
        active=active,
        button=button or _("Delete"),
    )


def acted(message: str, url: str, level: str = "success"):
    """The POST half's answer once it has acted: go to ``url``, where ``message`` is shown (a flash)."""
    flash(message, level)
    return hx_redirect(url)
