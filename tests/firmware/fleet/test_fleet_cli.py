"""The fleet's commands as processes, against a PostgreSQL that serves TLS: the centre
migrates and issues a branch its login, the branch joins with the centre's CA (password on
stdin), ships over verified TLS, and `branchline central serve` answers."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fleet_kit import wait_for, write_calls
from pg_harness import PostgresServer, free_tcp_port

from branchline.central.db import connect
from branchline.central.schema import SCHEMA_VERSION
from branchline.config.data_dir import DataDir
from branchline.config.web.tls import ensure_certificate
from branchline.firmware.fleet import FleetSettings, Shipper

BRANCHLINE = str(Path(sys.executable).with_name("branchline"))


@pytest.fixture
def tls_postgres(tmp_path):
    cert, key = ensure_certificate(tmp_path / "centre-tls")
    server = PostgresServer.start(ssl=(cert, key))
    yield server, cert
    server.stop()


def run(*args, dsn=None, stdin="", check=True):
    env = {**os.environ}
    if dsn:
        env["BRANCHLINE_CENTRAL_DSN"] = dsn
    done = subprocess.run([BRANCHLINE, *args], input=stdin, capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_join_ship_over_tls_and_serve(tls_postgres, tmp_path):
    server, ca = tls_postgres
    dsn = server.create_database()
    assert run("central", "migrate", dsn=dsn).stdout == \
        f"centre schema at version {SCHEMA_VERSION}\n"
    issued = run("central", "branch", "add", "sz-futian", "--name", "Futian", "--region",
                 "south", dsn=dsn).stdout
    role = issued.split("role ", 1)[1].split()[0]
    password = issued.split("password (shown once): ", 1)[1].split()[0]
    data = tmp_path / "branch"
    data.mkdir()
    base = ["fleet", "join", "--centre", f"127.0.0.1:{server.port}", "--database",
            dsn.split("dbname=")[1].split()[0], "--role", role, "--data", str(data)]

    wrong = run(*base, "--ca", str(ca), stdin="not-it\n", check=False)
    assert wrong.returncode == 2 and "nothing was saved" in wrong.stderr
    assert not DataDir(data).fleet_settings.exists()

    joined = run(*base, "--ca", str(ca), stdin=password + "\n")
    assert password not in joined.stdout + joined.stderr
    assert stat.S_IMODE(DataDir(data).fleet_settings.stat().st_mode) == 0o600
    settings = FleetSettings.load(DataDir(data))
    assert "sslmode=verify-full" in settings.conninfo() and password not in repr(settings)

    write_calls(DataDir(data).records_db, range(25))
    assert "not yet there      25" in run("fleet", "status", "--data", str(data)).stdout
    with Shipper(DataDir(data).records_db, settings.conninfo()) as shipper:
        assert shipper.ship_available() == 25 + 50 + 25 + 3 + 25  # and the calls' IVR visits
    assert "not yet there       0" in run("fleet", "status", "--data", str(data)).stdout
    with connect(settings.conninfo()) as conn:
        assert conn.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                            ).fetchone() == (True,)

    port = free_tcp_port()
    serve = subprocess.Popen(
        [BRANCHLINE, "central", "serve", "--listen", f"127.0.0.1:{port}", "--data",
         str(tmp_path / "centre")], env={**os.environ, "BRANCHLINE_CENTRAL_DSN": dsn},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in serve.stdout:
            lines.append(line)
            if "serving" in line:
                break
        assert any("/setup?token=" in line for line in lines), lines
        page = wait_for(lambda: _get(f"http://127.0.0.1:{port}/login"), "the centre answers",
                        limit_s=30)
        assert page.status_code == 200 and "/static/app.css" in page.text
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        serve.stdout.close()


def test_a_remote_centre_without_a_ca_is_refused(tmp_path):
    data = tmp_path / "branch"
    done = run("fleet", "join", "--centre", "10.1.2.3:5432", "--database", "d", "--role",
               "r", "--data", str(data), stdin="pw\n", check=False)
    assert done.returncode == 2 and "no CA certificate is given" in done.stderr


def _get(url):
    try:
        return httpx.get(url, timeout=5)
    except httpx.TransportError:
        return None
