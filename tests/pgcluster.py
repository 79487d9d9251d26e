"""A throwaway PostgreSQL + PostGIS cluster for the tests (initdb in a temp dir).

The server listens on 127.0.0.1 on a free port and on a socket in its own
directory; it trusts local connections. As root, it runs as the unprivileged
`postgres` user (PostgreSQL refuses to run as root). `PgCluster.create_database`
clones a template database, which is much faster than loading one afresh.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg

PG_BIN = Path(os.environ.get("HUAISHU_PG_BIN", "/usr/lib/postgresql/15/bin"))
POSTGIS_CONTROL = Path("/usr/share/postgresql/15/extension/postgis.control")
INSTALL_HINT = ("PostGIS is not installed: the tests of the PostGIS store need PostgreSQL 15 "
                "and PostGIS 3 (Debian: apt-get install postgresql-15 postgresql-15-postgis-3; "
                "`make test` installs them). Set HUAISHU_SKIP_POSTGIS=1 to skip these tests "
                "on a machine without them (never in CI).")


def missing() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if not (PG_BIN / "initdb").exists() or not POSTGIS_CONTROL.exists():
        return INSTALL_HINT
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="huaishu-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        self.superuser = "postgres"
        self._counter = 0

    def _run(self, *args: str) -> None:
        command = [str(a) for a in args]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")

    def start(self) -> PgCluster:
        if self.user:
            shutil.chown(self.root, self.user)
        self._run(PG_BIN / "initdb", "-D", self.data, "-U", self.superuser, "-A", "trust",
                  "-E", "UTF8", "--locale", "C.UTF-8", "--no-sync")
        return self.resume()

    def pause(self) -> None:
        """Stop the server (as an operator would: fast shutdown), keeping its data."""
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def resume(self) -> PgCluster:
        """Start the server (again) on the same port and data."""
        options = (f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                   f"-c unix_socket_directories={self.root} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")
        self._run(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.root / "server.log",
                  "-o", options, "-w", "start")
        return self

    def stop(self) -> None:
        try:
            self._run(PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql://{self.superuser}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as db:
            db.execute(sql)  # type: ignore[arg-type]

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (or a clone of `template`); its URL."""
        self._counter += 1
        name = f"t{os.getpid()}_{self._counter}"
        clause = f" TEMPLATE {template}" if template else ""
        self.execute(f"CREATE DATABASE {name}{clause}")
        return self.url(name)
