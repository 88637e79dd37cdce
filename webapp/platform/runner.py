"""The run command's supervisor: web, RQ worker, dispatcher and mail receiver as child processes, stopped together.

Without ``REDIS_URL`` it starts an embedded Redis first (``platform.embedded_redis``) and hands its URL to the
children. The web process is gunicorn (threaded workers; ``WEB_CONCURRENCY`` processes, default 1), with the
project's ``gunicorn.conf.py``, on 127.0.0.1:``PORT``. Ctrl-C (SIGINT) or SIGTERM stops every process it
started, Redis last.
"""

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from webapp.platform.embedded_redis import EmbeddedRedis

PROJECT = Path(__file__).resolve().parents[2]
WEB_THREADS = 4


class Supervisor:
    def __init__(self, instance_path: str, port: int):
        self.instance_path = instance_path
        self.port = port
        self.children: list[subprocess.Popen] = []
        self.redis: EmbeddedRedis | None = None
        self.stopping = threading.Event()

    def prepare_environment(self) -> dict[str, str]:
        env = dict(os.environ)
        if not env.get("REDIS_URL"):
            redis = self.redis = EmbeddedRedis(str(Path(self.instance_path) / "redis"))
            env["REDIS_URL"] = redis.start()
            os.environ["REDIS_URL"] = env["REDIS_URL"]
            assert redis.process is not None, "start() sets the process"
            print(f"started embedded redis (pid {redis.process.pid}) at {redis.url}", flush=True)
        return env

    def commands(self) -> dict[str, list[str]]:
        flask = [sys.executable, "-m", "flask", "--app", "webapp"]
        return {
            "web": self.web_command(),
            "worker": [sys.executable, str(PROJECT / "worker.py")],
            "dispatcher": [*flask, "dispatcher"],
            # Bounces, complaints and mailto: unsubscribes (MAIL_RECEIVER_PORT; by default a free local port).
            "mailreceiver": [*flask, "mailreceiver"],
        }

    def web_command(self) -> list[str]:
        """gunicorn, as the README tells production to run it (threads: a request waiting on the database or
        an outbound call does not hold up the others)."""
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(PROJECT / "gunicorn.conf.py"),
            "--chdir",
            str(PROJECT),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--worker-class",
            "gthread",
            "--threads",
            str(WEB_THREADS),
            "--access-logfile",
            "-",
            "webapp:create_app()",
        ]

    def run(self, env: dict[str, str]) -> int:
        """Start the children and wait until one exits or a signal arrives; then stop them all."""
        signal.signal(signal.SIGTERM, lambda *_: self.stopping.set())
        signal.signal(signal.SIGINT, lambda *_: self.stopping.set())
        try:
            for name, command in self.commands().items():
                child = subprocess.Popen(command, env=env, start_new_session=True)
                self.children.append(child)
                print(f"started {name} (pid {child.pid})", flush=True)
            while not self.stopping.wait(0.5):
                if any(child.poll() is not None for child in self.children):
                    break
        finally:
            self.stop()
        return max((child.returncode or 0) for child in self.children) if self.children else 0

    def stop(self) -> None:
        for child in self.children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in self.children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if self.redis:
            self.redis.stop()
