"""Servers a test starts for itself on loopback (tests/../SERVICES.md): moto's S3-compatible server and
PgBouncer, each on a free port, stopped by PID afterwards."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen | None, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    if proc is not None:
        proc.kill()
    pytest.fail(f"{what} did not start on port {port}")


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """moto's S3-compatible server on a free loopback port, stopped by PID after the module."""
    binary = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
    if binary is None:
        pytest.fail("moto_server is needed (requirements-dev.txt: moto[server])")
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    _wait_listening(port, proc, "moto_server")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def _pgbouncer_binary() -> str:
    binary = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if binary is None:  # scripts/sysdeps.sh installs it (make test); try once here for a bare run
        subprocess.run(
            ["bash", str(Path(__file__).resolve().parents[1] / "scripts/sysdeps.sh"), "pgbouncer"], check=False
        )  # noqa: S603, S607
        binary = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    if binary is None:
        pytest.skip("PgBouncer could not be installed (Debian package pgbouncer): scripts/sysdeps.sh pgbouncer")
    return binary


@pytest.fixture
def pgbouncer():
    """PgBouncer in transaction pooling on a free port, in front of the machine's PostgreSQL (trust auth);
    started with `pgbouncer -d`, stopped by the PID it wrote. Yields (host, port)."""
    binary = _pgbouncer_binary()
    folder = Path(tempfile.mkdtemp(prefix="notifier-pgbouncer-"))  # its own: PgBouncer may run as postgres
    port = free_port()
    (folder / "userlist.txt").write_text('"postgres" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n* = host=127.0.0.1 port=5432\n\n[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        "auth_type = trust\nauth_file = userlist.txt\nadmin_users = postgres\nstats_users = postgres\n"
        "pool_mode = transaction\nmax_client_conn = 200\ndefault_pool_size = 8\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        f"logfile = {folder / 'pgbouncer.log'}\npidfile = {folder / 'pgbouncer.pid'}\n"
    )
    command = [binary, "-d", str(folder / "pgbouncer.ini")]
    if os.geteuid() == 0:  # PgBouncer refuses to run as root: run it as postgres, owner of its folder
        owner = pwd.getpwnam("postgres")
        for path in (folder, *folder.iterdir()):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        command[1:1] = ["-u", "postgres"]
    subprocess.run(command, check=True, cwd=folder, capture_output=True, timeout=30)  # noqa: S603
    _wait_listening(port, None, "pgbouncer")
    yield "127.0.0.1", port
    pid = int((folder / "pgbouncer.pid").read_text())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    shutil.rmtree(folder, ignore_errors=True)


def pgbouncer_stats(host: str, port: int, database: str) -> dict[str, int]:
    """PgBouncer's SHOW STATS row of `database` (its admin console): transactions and queries it relayed."""
    with psycopg.connect(host=host, port=port, user="postgres", dbname="pgbouncer", autocommit=True) as conn:
        cursor = conn.execute("SHOW STATS")
        names = [column.name for column in cursor.description]
        for values in cursor.fetchall():
            row = dict(zip(names, values, strict=True))
            if row["database"] == database:
                return {"transactions": int(row["total_xact_count"]), "queries": int(row["total_query_count"])}
    return {"transactions": 0, "queries": 0}
