"""A throwaway PostgreSQL server for the tests and the benchmark.

``PgServer.start()`` runs the installed server binaries (``initdb``,
``pg_ctl``; Debian puts them under ``/usr/lib/postgresql/VERSION/bin``) in a
temporary directory, listening on a free loopback port and a unix socket
in that directory. The server refuses to run as root, so under root (CI,
this machine) every command runs as the unprivileged ``postgres`` user
Debian's package creates, in a directory that user owns. Missing binaries
are an error that says how to install them, never a skip: ``.ci/run``
installs them on a clean machine.

``fresh_database()`` creates an empty database and gives its URL; the
pytest fixtures ``pg_server`` (one server per test process) and
``pg_url`` (a new database per test) are registered in ``conftest.py``.
The tests' server trades durability for speed (``fsync=off``): it lives
for one test run; ``PgServer(durable=True)`` keeps PostgreSQL's defaults
(the benchmark).
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

#: The role the tests connect as (the server trusts loopback connections).
USER = "guardian"
INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) were not found on PATH nor under /usr/lib/postgresql/*/bin: "
    "install them (Debian: apt-get install -y postgresql; .ci/run does this when initdb is missing)"
)


class PgError(RuntimeError):
    """The server could not be found or started; the message says why."""


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``: PATH first, else the newest Debian version."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    for initdb in reversed(candidates):
        bindir = Path(initdb).parent
        if (bindir / "pg_ctl").exists():
            return bindir
    raise PgError(INSTALL_HINT)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PgServer:
    """One PostgreSQL server in a temporary directory, as an unprivileged user."""

    def __init__(self, *, durable: bool = False) -> None:
        #: ``durable``: fsync and synchronous commits as a production server has them (the benchmark).
        self.durable = durable
        self.bindir = find_bindir()
        self.root = Path(tempfile.mkdtemp(prefix="guardian-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root / "sock"
        self.log = self.root / "server.log"
        self.port = 0
        self._run_as: list[str] = []
        self._uid: int | None = None
        self._names = itertools.count(1)
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam("postgres")
            except KeyError:
                raise PgError(
                    "running as root, and PostgreSQL refuses root: no 'postgres' user to run it as "
                    "(Debian's postgresql package creates it; or run the tests as another user)"
                ) from None
            runuser = shutil.which("runuser")
            self._run_as = [runuser, "-u", "postgres", "--"] if runuser else ["su", "postgres", "-s", "/bin/sh", "-c"]
            self._uid = entry.pw_uid
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.socket_dir.mkdir()
        if self._uid is not None:
            os.chown(self.socket_dir, self._uid, -1)

    def _cmd(self, *argv: str) -> list[str]:
        if self._run_as and self._run_as[0] == "su":
            import shlex

            return [*self._run_as, shlex.join(argv)]
        return [*self._run_as, *argv]

    def _run(self, *argv: str) -> None:
        proc = subprocess.run(self._cmd(*argv), cwd=self.root, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
            raise PgError(f"{' '.join(argv[:2])} failed ({proc.returncode}): {proc.stderr.strip()}\n{log}")

    def start(self) -> PgServer:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        for attempt in range(5):
            self.port = _free_port()
            options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.socket_dir} -c max_connections=200"
            if not self.durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            try:
                pg_ctl = str(self.bindir / "pg_ctl")
                self._run(pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")
                return self
            except PgError:
                if attempt == 4:
                    raise
                time.sleep(0.2)  # the port was taken meanwhile: another one
        raise AssertionError("unreachable")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """An empty database of its own; its URL."""
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        import psycopg

        name = url.rsplit("/", 1)[1]
        with contextlib.suppress(psycopg.Error), psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self.data.exists():
            with contextlib.suppress(PgError, subprocess.TimeoutExpired):
                self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PgServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One server per test process; a missing or failing server fails the test that needs it."""
    try:
        server = PgServer().start()
    except PgError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: PgServer) -> Iterator[str]:
    """The URL of an empty database, dropped after the test."""
    url = pg_server.fresh_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)
