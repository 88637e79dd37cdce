"""The owners' jobs page: workers and dispatchers (last heartbeat), queues, and the account's failed, due and
overdue work, with a retry for failed work (``platform/health.py``). The component refreshes itself."""

from datetime import UTC, datetime

from flask import flash, url_for
from flask_babel import gettext as _

from webapp.blueprints.admin import bp
from webapp.blueprints.admin.access import current_account, requires
from webapp.blueprints.admin.responses import hx_redirect, is_htmx, render, toast
from webapp.blueprints.admin.settings import local_time
from webapp.platform import health, work

JOBS_PAGE, JOBS_PARTIAL = "admin/jobs/page.html", "admin/jobs/_jobs.html"


def _context() -> dict:
    return {"overview": health.jobs_overview(current_account().id), "when": _when}


def _when(moment: datetime | None) -> str | None:
    """Stored (naive UTC) and heartbeat (aware UTC) moments in the account's time zone."""
    if moment is not None and moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return local_time(moment)


@bp.get("/jobs")
@requires("owner")
def jobs():
    """Workers, dispatchers, queues and this account's failed, due and overdue work."""
    return render(JOBS_PAGE, JOBS_PARTIAL, **_context())


@bp.post("/jobs/work/<int:work_id>/retry")
@requires("owner")
def work_retry(work_id: int):
    """Run a failed row of work again from its first attempt."""
    work.retry(work_id, current_account().id)
    message = _("The work is queued again.")
    if is_htmx():
        return toast(render(JOBS_PAGE, JOBS_PARTIAL, **_context()), message)
    flash(message, "success")
    return hx_redirect(url_for("admin.jobs"))
