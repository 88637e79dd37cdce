"""Start an RQ worker (with its scheduler) on the app's queues: ``python worker.py``.

Jobs run in a forked work horse inside the app context set up here; the database pool is emptied
before forking so that no connection is shared between processes.
"""

from rq import Worker

from webapp import create_app
from webapp.extensions import db
from webapp.queues import get_queue, redis_connection


def main() -> None:
    app = create_app()
    with app.app_context():
        db.engine.dispose()
        queues = [get_queue(name) for name in app.config["RQ_QUEUES"]]
        Worker(queues, connection=redis_connection()).work(with_scheduler=True)


if __name__ == "__main__":
    main()
