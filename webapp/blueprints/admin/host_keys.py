"""The confirm-then-pin pair for a changed SFTP host key, shared by import sources and export targets."""

from collections.abc import Callable

from flask import flash, request
from flask_babel import gettext as _

from webapp.blueprints.admin.responses import acted, confirm_page, hx_redirect
from webapp.models import Database
from webapp.platform import remote_files
from webapp.platform.errors import ValidationError


def confirm_host_key(
    check: Callable[[], tuple[str, str]], *, page: str, database: Database, active: str, action: Callable[[str], str]
):
    """Show the server's current host key beside the pinned one (``check``) and ask before pinning it; the
    confirmation posts to ``action(fingerprint)``."""
    try:
        pinned, offered = check()
    except (ValidationError, remote_files.TransientFetchError) as error:
        flash(str(error), "error")
        return hx_redirect(page)
    return confirm_page(
        title=_("Replace the SFTP host key?"),
        message=host_key_question(pinned, offered),
        cancel=page,
        database=database,
        active=active,
        button=_("Trust this key"),
        action=action(offered),
    )


def pin_host_key(replace: Callable[[str], object], *, page: str):
    """Pin the key whose fingerprint the admin confirmed (refused if the server now presents another)."""
    try:
        replace(request.args.get("fingerprint", ""))
    except (ValidationError, remote_files.TransientFetchError) as error:
        return acted(str(error), page, "error")
    return acted(_("The new host key is pinned."), page)


def host_key_question(pinned: str, offered: str) -> str:
    """The confirmation text for replacing a pinned SFTP host key."""
    return _(
        "The server presents the host key %(offered)s; the pinned key is %(pinned)s. Trust the new key only when "
        "the server's administrator confirms this fingerprint: a changed key can also mean someone is "
        "intercepting the connection.",
        offered=offered,
        pinned=pinned or _("none"),
    )
