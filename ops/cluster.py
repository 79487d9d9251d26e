"""`make cluster`: the service as several servers behind a load balancer, on one machine.

    python ops/cluster.py start      # PostgreSQL + PostGIS, two app servers, nginx; the URL
    python ops/cluster.py stop       # all of it (the data stays in the directory)
    python ops/cluster.py db-stop    # PostgreSQL alone (an outage), db-start to end it
    python ops/cluster.py status

- PostgreSQL 15 + PostGIS: its own cluster (initdb) in DIR/pg, on 127.0.0.1:PG_PORT,
  trusting local connections; the database `huaishu`. Never the system cluster. (As
  root, PostgreSQL runs as `postgres`; when that user may not enter DIR, the data go
  to /tmp/huaishu-cluster-pg-PG_PORT instead.)
- Two app servers: gunicorn with gunicorn.conf.py, as `make run` starts it, on
  127.0.0.1:APP_PORT and APP_PORT+1, sharing the database, one SECRET_KEY (kept in
  DIR), TRUSTED_PROXIES = loopback (nginx), DATABASE_CONNECTIONS each.
- nginx (Debian's) on 127.0.0.1:PORT: round robin over both; a server that fails
  (connection refused, 502/504) is skipped for 3 s and the request is passed to
  the other (GET and HEAD only; a POST is never sent twice). Open-source nginx
  has no active health checks, so this script's `watch` loop (started with the
  cluster) asks each server's /readyz every second and marks a server that is not
  ready `down` in the upstream, reloading nginx when that changes.
Everything lives in DIR (default instance/cluster, ignored by git): configs, pid
files, logs.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("HUAISHU_PG_BIN", "/usr/lib/postgresql/15/bin"))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DATABASE = "huaishu"


class Cluster:
    def __init__(self, directory: Path, port: int, app_port: int, pg_port: int,
                 workers: int, threads: int, connections: int):
        self.dir = directory.resolve()
        self.port, self.app_ports, self.pg_port = port, (app_port, app_port + 1), pg_port
        self.workers, self.threads, self.connections = workers, threads, connections
        self.pg_user = "postgres" if os.geteuid() == 0 else None
        self.pg_data = self.dir / "pg"
        if self.pg_user and not self._postgres_may_enter(self.dir):
            # PostgreSQL runs as `postgres`, who may not enter DIR (e.g. a private /tmp dir
            # of root's): its data go to a directory of its own under /tmp.
            self.pg_data = Path("/tmp") / f"huaishu-cluster-pg-{pg_port}"

    def _postgres_may_enter(self, directory: Path) -> bool:
        directory.mkdir(parents=True, exist_ok=True)
        return subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(directory)],
                              capture_output=True).returncode == 0

    # -- PostgreSQL -----------------------------------------------------------------

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{DATABASE}"

    def _pg(self, *args: object, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(a) for a in args]
        if self.pg_user:
            command = ["runuser", "-u", self.pg_user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True)
        if check and result.returncode:
            raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
        return result

    def db_running(self) -> bool:
        return (self.pg_data / "postmaster.pid").exists() and self._pg(
            PG_BIN / "pg_ctl", "-D", self.pg_data, "status", check=False).returncode == 0

    def db_start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fresh = not (self.pg_data / "PG_VERSION").exists()
        if fresh:
            self.pg_data.mkdir(parents=True, exist_ok=True)
            if self.pg_user:
                shutil.chown(self.pg_data, self.pg_user)
                self.pg_data.chmod(0o700)
            self._pg(PG_BIN / "initdb", "-D", self.pg_data, "-U", "postgres", "-A", "trust",
                     "-E", "UTF8", "--locale", "C.UTF-8")
        if self.db_running():
            return
        log = self.pg_data / "server.log"
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.pg_port} "
                   f"-c unix_socket_directories={self.pg_data} -c max_connections=100")
        self._pg(PG_BIN / "pg_ctl", "-D", self.pg_data, "-l", log, "-o", options, "-w", "start")
        if not fresh:
            return
        exists = self._psql("postgres", f"SELECT 1 FROM pg_database WHERE datname='{DATABASE}'")
        if exists.strip() != "1":
            self._psql("postgres", f"CREATE DATABASE {DATABASE}")
        self._psql(DATABASE, "CREATE EXTENSION IF NOT EXISTS postgis")

    def _psql(self, database: str, query: str) -> str:
        return self._pg(PG_BIN / "psql", "-h", "127.0.0.1", "-p", self.pg_port, "-U", "postgres",
                        "-d", database, "-tAc", query).stdout

    def db_stop(self) -> None:
        if self.db_running():
            self._pg(PG_BIN / "pg_ctl", "-D", self.pg_data, "-m", "fast", "-w", "stop")

    # -- app servers ----------------------------------------------------------------

    def _pidfile(self, name: str) -> Path:
        return self.dir / f"{name}.pid"

    def _pid(self, name: str) -> int | None:
        try:
            pid = int(self._pidfile(name).read_text().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def secret_key(self) -> str:
        path = self.dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def app_start(self, index: int) -> None:
        name, port = f"app{index + 1}", self.app_ports[index]
        if self._pid(name):
            return
        env = {**os.environ, "HUAISHU_DATABASE_URL": self.database_url,
               "HUAISHU_SECRET_KEY": self.secret_key(),
               "HUAISHU_TRUSTED_PROXIES": json.dumps(["127.0.0.1"]),
               "HUAISHU_DATABASE_CONNECTIONS": str(self.connections),
               "HUAISHU_SESSION_COOKIE_SECURE": "false",
               "HUAISHU_INSPECTIONS_DB": str(self.dir / "unused.sqlite"),
               "PYTHONPATH": str(ROOT)}
        log = self.dir / f"{name}.log"
        subprocess.run(
            [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py",
             "--bind", f"127.0.0.1:{port}", "--workers", str(self.workers),
             "--threads", str(self.threads), "--daemon", "--pid", str(self._pidfile(name)),
             "--capture-output", "--error-logfile", str(log),
             "--access-logfile", str(self.dir / f"{name}.access")],
            cwd=ROOT, env=env, check=True)

    def app_stop(self, index: int) -> None:
        name = f"app{index + 1}"
        pid = self._pid(name)
        if pid:
            os.kill(pid, signal.SIGTERM)
            _wait(lambda: self._pid(name) is None, 20)

    def ready(self, index: int, timeout: float = 2.0) -> bool:
        url = f"http://127.0.0.1:{self.app_ports[index]}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.status == 200
        except OSError:
            return False

    # -- nginx ----------------------------------------------------------------------

    def nginx_conf(self, down: frozenset[int] = frozenset()) -> Path:
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=3s"
            f"{' down' if i in down else ''};" for i, port in enumerate(self.app_ports))
        temp = self.dir / "nginx-temp"
        temp.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "nginx.conf"
        conf.write_text(f"""\
worker_processes 2;
pid {self.dir}/nginx.pid;
error_log {self.dir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    client_max_body_size 110m;
    upstream huaishu {{
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        location / {{
            proxy_pass http://huaishu;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 1s;
            proxy_read_timeout 60s;
            proxy_next_upstream error timeout http_502 http_504;
            proxy_next_upstream_tries 2;
            add_header X-Upstream $upstream_addr always;
        }}
    }}
}}
""")
        return conf

    def nginx_start(self) -> None:
        conf = self.nginx_conf()
        if self._pid("nginx"):
            subprocess.run([NGINX, "-c", str(conf), "-s", "reload"], check=True)
            return
        subprocess.run([NGINX, "-c", str(conf)], check=True)

    def nginx_stop(self) -> None:
        if self._pid("nginx"):
            subprocess.run([NGINX, "-c", str(self.dir / "nginx.conf"), "-s", "quit"],
                           check=False)
            _wait(lambda: self._pid("nginx") is None, 10)

    # -- the readiness watcher ---------------------------------------------------------

    def watch(self) -> None:
        """Every second: each server's /readyz; the upstream marks a server that is not
        ready `down` (but never both: then nginx tries them as they are)."""
        down: frozenset[int] = frozenset()
        while self._pid("nginx"):
            not_ready = frozenset(i for i in range(2) if not self.ready(i, 1.0))
            wanted = not_ready if len(not_ready) < 2 else frozenset()
            if wanted != down:
                self.nginx_conf(wanted)
                subprocess.run([NGINX, "-c", str(self.dir / "nginx.conf"), "-s", "reload"],
                               check=False)
                ports = sorted(p for i, p in enumerate(self.app_ports) if i in wanted)
                print(f"upstream: down {ports}", flush=True)
                down = wanted
            time.sleep(1)

    def watch_start(self) -> None:
        if self._pid("watch"):
            return
        log = open(self.dir / "watch.log", "a")  # noqa: SIM115 (the child keeps it)
        process = subprocess.Popen(
            [sys.executable, __file__, "watch", *self.argv()], cwd=ROOT, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        self._pidfile("watch").write_text(str(process.pid))

    def watch_stop(self) -> None:
        pid = self._pid("watch")
        if pid:
            os.kill(pid, signal.SIGTERM)

    def argv(self) -> list[str]:
        return ["--dir", str(self.dir), "--port", str(self.port), "--app-port",
                str(self.app_ports[0]), "--pg-port", str(self.pg_port), "--workers",
                str(self.workers), "--threads", str(self.threads), "--connections",
                str(self.connections)]

    # -- all ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> None:
        self.db_start()
        self.app_start(0)  # the first one makes the schema and loads the layers
        if not _wait(lambda: self.ready(0), 180):
            raise SystemExit(f"app1 did not become ready; see {self.dir / 'app1.log'}")
        self.app_start(1)
        if not _wait(lambda: self.ready(1), 180):
            raise SystemExit(f"app2 did not become ready; see {self.dir / 'app2.log'}")
        self.nginx_start()
        self.watch_start()
        if not _wait(lambda: _get(self.url + "readyz") == 200, 20):
            raise SystemExit(f"nginx does not answer; see {self.dir / 'nginx-error.log'}")
        print(f"集群已启动 (cluster up): {self.url}  (PostgreSQL {self.database_url}, "
              f"app servers {', '.join(f'127.0.0.1:{p}' for p in self.app_ports)}, "
              f"files in {self.dir})", flush=True)

    def stop(self) -> None:
        self.watch_stop()
        self.nginx_stop()
        for i in range(2):
            self.app_stop(i)
        self.db_stop()
        print("集群已停止 (cluster stopped)", flush=True)

    def status(self) -> None:
        for name in ("nginx", "watch", "app1", "app2"):
            print(f"{name}: {'running' if self._pid(name) else 'stopped'}")
        print(f"postgresql: {'running' if self.db_running() else 'stopped'}")
        for i in range(2):
            print(f"app{i + 1} ready: {self.ready(i)}")


def _get(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
    except OSError:
        return None


def _wait(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return bool(condition())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", choices=["start", "stop", "status", "db-stop", "db-start",
                                            "app-stop", "app-start", "watch"])
    parser.add_argument("index", nargs="?", type=int, default=1, help="app server: 1 or 2")
    parser.add_argument("--dir", type=Path, default=ROOT / "instance" / "cluster")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--app-port", type=int, default=5101)
    parser.add_argument("--pg-port", type=int, default=5433)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--connections", type=int, default=20)
    args = parser.parse_args(argv)
    cluster = Cluster(args.dir, args.port, args.app_port, args.pg_port, args.workers,
                      args.threads, args.connections)
    if args.command in ("app-stop", "app-start"):
        (cluster.app_stop if args.command == "app-stop" else cluster.app_start)(args.index - 1)
    else:
        {"start": cluster.start, "stop": cluster.stop, "status": cluster.status,
         "db-stop": cluster.db_stop, "db-start": cluster.db_start,
         "watch": cluster.watch}[args.command]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
