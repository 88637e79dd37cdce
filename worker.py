"""Start an RQ worker (with its scheduler) on the app's queues: ``python worker.py``.

The worker records its heartbeat (``platform.workers``), so a dispatcher requeues its work within seconds if
it is killed.

Jobs run in a forked work horse inside the app context set up here; the database pool is emptied
before forking so that no connection is shared between processes. What the start-up made is frozen out of
the garbage collector's reach (``gc.freeze``): otherwise a work horse whose allocations tip it into a full
collection walks, and so copies, the whole heap it inherited (about 0.1 s of CPU, for any job).
"""

import gc

from webapp import create_app
from webapp.extensions import db
from webapp.platform.queues import get_queue, redis_connection
from webapp.platform.workers import HeartbeatWorker


def main() -> None:
    app = create_app()
    with app.app_context():
        db.engine.dispose()
        queues = [get_queue(name) for name in app.config["RQ_QUEUES"]]
        gc.collect()
        gc.freeze()
        HeartbeatWorker(queues, connection=redis_connection()).work(with_scheduler=True)


if __name__ == "__main__":
    main()
