"""The scale-out shape as real processes: RQ workers (``worker.py``) and dispatchers (``flask dispatcher``)
against the test database and Redis, each started in a session of its own so a test can SIGKILL it."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def wait_until(condition: Callable[[], object], *, timeout: float, what: str) -> None:
    """Wait for ``condition()`` to hold (checked every 50 ms); fail with ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.05)


class Cluster:
    """Workers and dispatchers of one test; ``stop()`` ends every process it started."""

    def __init__(self, app, instance_path: Path):
        self.environment = {
            **os.environ,
            "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": app.config["REDIS_URL"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "SMTP_URL": app.config["SMTP_URL"],
            "PUBLIC_URL": app.config["PUBLIC_URL"],
            "ALLOW_PRIVATE_URLS": "1",
            "DISPATCH_INTERVAL": "0.2",
            "INSTANCE_PATH": str(instance_path),
        }
        self.workers: list[subprocess.Popen] = []
        self.dispatchers: list[subprocess.Popen] = []

    def start_worker(self) -> subprocess.Popen:
        process = self._start([sys.executable, str(ROOT / "worker.py")])
        self.workers.append(process)
        return process

    def start_dispatcher(self) -> subprocess.Popen:
        process = self._start([sys.executable, "-m", "flask", "--app", "webapp", "dispatcher"])
        self.dispatchers.append(process)
        return process

    def _start(self, command: list[str]) -> subprocess.Popen:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.environment,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the process with its children (a worker's work horse runs in a process group of its own)."""
        for child in children_of(process.pid):
            os.kill(child, signal.SIGKILL)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        running = [process for process in self.workers + self.dispatchers if process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill(process)


def children_of(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux ``/proc``)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found += [int(child) for child in (task / "children").read_text().split()]
    return found
