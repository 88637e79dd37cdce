"""Rendering for htmx and plain requests: the partial for htmx, the full page otherwise; toasts."""

import json

from flask import make_response, render_template, request


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
