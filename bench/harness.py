"""What the benchmark scripts share: the app under gunicorn, CPU time from Linux's ``/proc``, percentiles."""

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def start_gunicorn(
    app: str, ready_path: str, *, workers: int, threads: int, worker_class: str = "gthread", env: dict[str, str]
) -> tuple[subprocess.Popen, int]:
    """gunicorn serving ``app`` (``module:factory()`` of a bench script) on a free local port, started from the
    project folder (so ``gunicorn.conf.py`` applies); returns once ``GET ready_path`` answers 200."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            *("--workers", str(workers), "--worker-class", worker_class, "--threads", str(threads)),
            *("--bind", f"127.0.0.1:{port}", "--keep-alive", "30", "--log-level", "warning"),
            *("--pythonpath", f"{ROOT},{BENCH_DIR}", app),
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not _answers(port, ready_path):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            sys.exit("gunicorn did not start")
        time.sleep(0.2)
    return server, port


def _answers(port: int, path: str) -> bool:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("GET", path)
        ok = connection.getresponse().status == 200
        connection.close()
        return ok
    except OSError:
        return False


def child_pids(pid: int) -> list[int]:
    """The direct children of a process (e.g. gunicorn's workers), none when it is gone."""
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float | None:
    """User and system CPU of a process (all its threads) so far; None when it is gone or not on this machine."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
