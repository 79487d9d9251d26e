"""Run the production server (gunicorn, gunicorn.conf.py) on a loopback port.

Used by bench/loadtest.py and by the tests that need the real server
(tests/stores/test_durability.py, tests/bench/test_loadtest.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProductionServer:
    """gunicorn serving the app on 127.0.0.1, with its own inspection store.

    `config` holds app settings (as HUAISHU_* variables, e.g. {"TODAY": "2026-11-25"});
    `gunicorn_args` extra gunicorn flags (e.g. ["--workers", "4"]).
    """

    def __init__(self, db_path: Path, *, workers: int | None = None, threads: int | None = None,
                 config: dict[str, str] | None = None, gunicorn_args: list[str] | None = None,
                 log_path: Path | None = None):
        self.db_path = Path(db_path)
        self.workers = workers
        self.threads = threads
        self.config = config or {}
        self.gunicorn_args = gunicorn_args or []
        self.log_path = log_path or self.db_path.with_suffix(".server.log")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "gunicorn.conf.py"),
               "--chdir", str(ROOT), "--bind", f"127.0.0.1:{self.port}",
               "--access-logfile", "/dev/null"]  # 50 clients would drown the log
        if self.workers:
            cmd += ["--workers", str(self.workers)]
        if self.threads:
            cmd += ["--threads", str(self.threads)]
        return cmd + self.gunicorn_args

    def start(self, timeout: float = 60) -> ProductionServer:
        env = dict(os.environ, HUAISHU_INSPECTIONS_DB=str(self.db_path))
        # Every client of a benchmark or test comes from 127.0.0.1: the per-client budget
        # (layers/accounts/budget.py) would measure itself, not the server. Off unless asked.
        env["HUAISHU_CLIENT_RATE"] = "0"
        env.update({f"HUAISHU_{k}": v for k, v in self.config.items()})
        env.pop("WEB_CONCURRENCY", None)
        with open(self.log_path, "ab") as log:
            # A session of its own: kill() reaches the master and every worker.
            self.process = subprocess.Popen(self.command(), cwd=ROOT, env=env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the server exited ({self.process.returncode}); "
                                   f"see {self.log_path}:\n{self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + "/api/layers", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not answer within {timeout} s; see {self.log_path}")

    def pids(self) -> list[int]:
        """The master and its workers."""
        assert self.process is not None
        master = self.process.pid
        children = Path(f"/proc/{master}/task/{master}/children")
        workers = [int(p) for p in children.read_text().split()] if children.exists() else []
        return [master, *workers]

    def kill(self) -> None:
        """SIGKILL the master and every worker at once: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """A graceful stop (SIGTERM), as a service manager does."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ProductionServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
