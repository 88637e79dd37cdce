"""A real RQ worker process for the crash tests: ``python -m tests.followup_worker <kill point>``.

It runs the queued jobs (burst) against the test database and Redis given in the environment, and SIGKILLs
itself at the chosen point — test-only hooks installed here, none in the product code:

- ``before-mark``: while the run is being marked ``sending`` (before that commit, before any SMTP);
- ``after-accept``: right after the SMTP server accepted the message (before the run moves on);
- ``next-action``: in the action after a send (the acceptance committed).
"""

import os
import signal
import sys

from tests.workers import run_burst_worker
from webapp import create_app
from webapp.email import delivery
from webapp.followups import actions


def _die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def _die_after(original):
    def sending(*args, **kwargs):
        original(*args, **kwargs)
        _die()

    return sending


def main(kill_point: str) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": os.environ["TEST_DATABASE_URI"],
            "REDIS_URL": os.environ["TEST_REDIS_URL"],
            "SMTP_URL": os.environ.get("TEST_SMTP_URL", ""),
            "SERVER_NAME": "verrijk.test",
            "PUBLIC_URL": "http://verrijk.test",
            "ALLOW_PRIVATE_URLS": True,
        }
    )
    if kill_point == "before-mark":
        delivery.new_message_id = _die
    elif kill_point == "after-accept":
        delivery.smtp_send = _die_after(delivery.smtp_send)
    elif kill_point == "next-action":
        actions.perform = _die
    with app.app_context():
        run_burst_worker()


if __name__ == "__main__":
    main(sys.argv[1])
