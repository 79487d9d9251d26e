"""The app served on a loopback port, for clients that need a real URL.

`LiveServer` serves an app object from a thread of the test process (Chromium
and other clients in their own processes). `LiveServerProcess` serves a new app
from a child process: needed by clients that run inside the test process and
hold the GIL while they wait for an answer (GDAL, through pyogrio), which a
thread of the same process could then never give.
"""

import json
import subprocess
import sys
import threading
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]


class LiveServer:
    def __init__(self, app):
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(5)


class LiveServerProcess:
    def __init__(self, config: dict):
        self.config = {k: str(v) for k, v in config.items()}
        self.process: subprocess.Popen | None = None
        self.url = ""

    def __enter__(self):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.liveserver", json.dumps(self.config)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        port = self.process.stdout.readline().strip()
        if not port.isdigit():
            self.process.kill()
            raise RuntimeError("the app did not start in the child process")
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc):
        assert self.process is not None
        self.process.terminate()
        self.process.wait(10)
        if self.process.stdout:
            self.process.stdout.close()


def _serve(config: dict) -> None:
    sys.path.insert(0, str(ROOT))
    from server import create_app

    server = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
