"""A real PostgreSQL (Debian's) in a temporary directory, for the centre's tests.

    server = PostgresServer.start()     # initdb + pg_ctl, a free port on 127.0.0.1
    dsn = server.create_database()      # a fresh database, owned by the superuser
    server.restart()                    # pg_ctl restart -m fast, back when pg_isready says so
    server.stop()

Tests run as root in CI and PostgreSQL refuses to run as root, so when we are root the
cluster belongs to the ``postgres`` system user (Debian's package creates it) and every
PostgreSQL command runs through ``runuser -u postgres``. The superuser has a random password
(no default, no empty one); connections are TCP on 127.0.0.1 with scram-sha-256. ``fsync`` is
off: the tests kill and restart the server cleanly, never the machine. Waits are bounded:
``pg_isready`` is polled for at most ``READY_S`` seconds.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from branchline.central.db import connect, migrate

__all__ = ["PostgresServer", "central", "free_tcp_port", "postgres"]

READY_S = 30.0
SUPERUSER = "central_admin"


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bin_dir() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parent.parent.name))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/install-system-deps "
                           "(Debian package postgresql)")
    return found[-1].parent


@dataclass
class PostgresServer:
    root: Path
    port: int
    password: str
    bin: Path
    as_user: str | None
    _databases: int = 0

    @classmethod
    def start(cls, *, ssl: tuple[Path, Path] | None = None) -> PostgresServer:
        """A new cluster, started. ``ssl``: (certificate, key) files to serve TLS with."""
        as_user = "postgres" if os.geteuid() == 0 else None
        # Not under pytest's tmp_path: that is root's 0700 tree, closed to the postgres user.
        root = Path(tempfile.mkdtemp(prefix="branchline-pg-"))
        server = cls(root, free_tcp_port(), secrets.token_urlsafe(18), _bin_dir(), as_user)
        pwfile = root / "pw"
        pwfile.write_text(server.password + "\n")
        if as_user:
            shutil.chown(root, as_user)
            shutil.chown(pwfile, as_user)
        server._pg("initdb", "-D", str(server.data), "-U", SUPERUSER, "--pwfile", str(pwfile),
                   "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8")
        pwfile.unlink()
        settings = [f"port = {server.port}", "listen_addresses = '127.0.0.1'",
                    f"unix_socket_directories = '{root}'", "fsync = off",
                    "max_connections = 60"]
        if ssl:
            for source, name in zip(ssl, ("server.crt", "server.key"), strict=True):
                target = server.data / name
                shutil.copyfile(source, target)
                target.chmod(0o600)
                if as_user:
                    shutil.chown(target, as_user)
            settings += ["ssl = on", "ssl_cert_file = 'server.crt'",
                         "ssl_key_file = 'server.key'"]
        with (server.data / "postgresql.conf").open("a") as conf:
            conf.write("\n".join(settings) + "\n")
        server._launch()
        return server

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _pg(self, tool: str, *args: str, check=True) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120,
                              check=False)
        if check and done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}")
        return done

    def _launch(self) -> None:
        self._pg("pg_ctl", "start", "-D", str(self.data), "-l", str(self.root / "log"),
                 "--no-wait")
        self.wait_ready()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_S
        while self._pg("pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "2",
                       check=False).returncode != 0:
            if time.monotonic() > deadline:
                log = (self.root / "log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PostgreSQL not ready within {READY_S} s:\n{log}")
            time.sleep(0.05)

    def restart(self) -> None:
        """Stop fast (sessions are cut, open transactions roll back) and start again."""
        self._pg("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-t", "60")
        self._launch()

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._pg("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", "-t", "60")
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, dbname: str = "postgres", *, user: str = SUPERUSER,
            password: str | None = None, port: int | None = None) -> str:
        return psycopg.conninfo.make_conninfo(
            host="127.0.0.1", port=port or self.port, dbname=dbname, user=user,
            password=password or self.password, connect_timeout=10)

    def create_database(self) -> str:
        """A fresh, empty database; returns the superuser's DSN for it."""
        self._databases += 1
        name = f"central_{self._databases}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)


# Fixtures: import them into a test package's conftest (`from pg_harness import central,
# postgres`).

@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL server for the test session."""
    server = PostgresServer.start()
    yield server
    server.stop()


@pytest.fixture
def central(postgres):
    """The superuser's DSN of a fresh database at the current schema version."""
    dsn = postgres.create_database()
    with connect(dsn) as conn:
        migrate(conn)
    return dsn
