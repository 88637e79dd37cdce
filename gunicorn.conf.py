"""gunicorn's settings for Verrijk, read from the working directory: ``gunicorn "webapp:create_app()"``.

Only what the app itself needs; bind address, workers and threads stay on the command line."""

import gc


def post_worker_init(worker) -> None:
    """Freeze what loading the app made (modules, models, templates, caches) out of the garbage collector's
    reach: every full collection would otherwise walk those long-lived objects again, for nothing."""
    gc.collect()
    gc.freeze()
