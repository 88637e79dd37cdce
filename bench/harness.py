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


def machine_busy_seconds() -> float | None:
    """CPU seconds all cores have spent busy since boot (not idle, not waiting for I/O); None off Linux."""
    try:
        values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return None
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL process on this machine, by pid; the postmaster's figure includes the
    backends that have ended (their parent reaped them). Empty off Linux or without permission to read them."""
    seconds = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if not (entry / "comm").read_text().startswith("postgres"):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent_is_postgres = _comm(int(fields[1])).startswith("postgres")
        ticks = sum(int(value) for value in fields[11 : 13 if parent_is_postgres else 15])
        seconds[int(entry.name)] = ticks / os.sysconf("SC_CLK_TCK")
    return seconds


def postgres_cpu_between(before: dict[int, float], after: dict[int, float]) -> float | None:
    """PostgreSQL's CPU seconds between two ``postgres_cpu_seconds`` readings (a backend that started in between
    counts whole); None when they could not be read."""
    if not after:
        return None
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text()
    except OSError:
        return ""


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
