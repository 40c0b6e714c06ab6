"""The machine's PostgreSQL server, run as a private cluster of the launcher on loopback.

The cluster lives under `$KAA_HOME/postgres` (initialised once with `initdb`), listens only on TCP
with password authentication (no Unix socket, so it never collides with a system cluster), and logs
to `$KAA_HOME/logs/postgres.log`. PostgreSQL refuses to run as root, so as root the server runs as
the `postgres` system user that the Debian package creates.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import asyncpg

from kaa.dev.launcher import processes, system
from kaa.dev.launcher.blocking import ensure_blocking_allowed, run_blocking
from kaa.dev.launcher.errors import InfraError
from kaa.dev.launcher.settings import InfraSettings


class PostgresServer:
    """Initialises, starts, recognises and stops the launcher's own PostgreSQL cluster."""

    def __init__(self, settings: InfraSettings) -> None:
        self.settings = settings
        self.log_file = settings.logs_dir / "postgres.log"
        self.password_file = settings.home / "postgres" / "password"

    @property
    def run_as(self) -> str | None:
        """The user the server runs as: `postgres` when we are root, else ourselves."""
        if os.geteuid() != 0:
            return None
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise InfraError(
                "running as root, but there is no 'postgres' system user to run PostgreSQL as; "
                "install the server package (Debian: apt-get install postgresql) or run as another user"
            ) from exc
        return "postgres"

    @property
    def data_dir(self) -> Path:
        preferred = self.settings.home / "postgres" / "data"
        user = self.run_as
        if user is None or _user_can_reach(user, preferred.parent.parent):
            return preferred
        # As root in a checkout the postgres user cannot traverse (e.g. under /root): keep the
        # cluster in a directory of its own, named after the checkout so two checkouts differ.
        digest = hashlib.sha256(str(self.settings.home).encode()).hexdigest()[:12]
        return Path("/var/lib/kaa") / f"postgres-{digest}" / "data"

    @property
    def marker(self) -> str:
        return str(self.data_dir)

    def is_ours(self, pid: int | None) -> bool:
        return processes.is_ours(pid, self.marker)

    def password(self) -> str:
        if not self.password_file.is_file():
            self.password_file.parent.mkdir(parents=True, exist_ok=True)
            self.password_file.touch(mode=0o600)
            self.password_file.write_text(secrets.token_urlsafe(24))
        return self.password_file.read_text().strip()

    def url(self, database: str | None = None) -> str:
        s = self.settings
        return (
            f"postgresql://{quote(s.postgres_user)}:{quote(self.password(), safe='')}"
            f"@{s.postgres_host}:{s.postgres_port}/{quote(database or s.database_name)}"
        )

    # -- lifecycle ----------------------------------------------------------------------------

    def initdb(self, bindir: Path) -> None:
        data = self.data_dir
        if (data / "PG_VERSION").is_file():
            return
        user = self.run_as
        data.mkdir(parents=True, exist_ok=True)
        data.chmod(0o700)
        if user is not None:
            pw = pwd.getpwnam(user)
            for path in (data, data.parent):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        # initdb reads the superuser password from a file the server's user can read.
        with tempfile.NamedTemporaryFile("w", dir=data.parent, delete=False) as pwfile:
            pwfile.write(self.password() + "\n")
        try:
            if user is not None:
                pw = pwd.getpwnam(user)
                os.chown(pwfile.name, pw.pw_uid, pw.pw_gid)
            result = subprocess.run(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    self.settings.postgres_user,
                    f"--pwfile={pwfile.name}",
                    "--auth=scram-sha-256",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                ],
                capture_output=True,
                text=True,
                cwd=data.parent,
                user=user,
                group=pwd.getpwnam(user).pw_gid if user else None,
                extra_groups=[] if user else None,
            )
        finally:
            os.unlink(pwfile.name)
        if result.returncode != 0:
            shutil.rmtree(data, ignore_errors=True)
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise InfraError(f"initdb failed for {data}: {detail[0]}")

    def prepare(self) -> Path:
        """Check the port and find the server binaries before any process starts."""
        s = self.settings
        processes.require_free_port(
            s.postgres_host, s.postgres_port, "PostgreSQL", "KAA_POSTGRES_PORT"
        )
        return system.ensure_postgres(s)

    def start(self) -> int:
        """Start the server in the background, wait for connections, create the database."""
        s = self.settings
        bindir = self.prepare()
        self.initdb(bindir)
        user = self.run_as
        pid = processes.start_detached(
            [
                str(bindir / "postgres"),
                "-D",
                str(self.data_dir),
                "-p",
                str(s.postgres_port),
                "-c",
                f"listen_addresses={s.postgres_host}",
                "-c",
                "unix_socket_directories=",
                "-c",
                "max_connections=200",
                # Projections and rebuilds write in bulk: room for the working set and fewer
                # checkpoints (each one makes the next writes of every page log a full image).
                "-c",
                "shared_buffers=512MB",
                "-c",
                "max_wal_size=4GB",
                "-c",
                "checkpoint_timeout=15min",
                "-c",
                "wal_compression=on",
                # The services' statements are short: compiling one costs more than it saves
                # (identify's release round paid 20-45 ms of JIT for a 9-16 ms query).
                "-c",
                "jit=off",
                # The working set is in memory (or on SSD): a page read at random costs about
                # what one read in order does. At the default (4.0, for spinning disks) the
                # planner hashed a whole table rather than probe its key for each of a batch's
                # rows (identify's release deleting 2,000 pending rows: 23 ms against 9.5 ms).
                "-c",
                "random_page_cost=1.1",
            ],
            log_file=self.log_file,
            cwd=self.data_dir.parent,
            user=user,
        )
        try:
            self.wait_ready(pid)
            run_blocking(self._create_database())
        except BaseException:
            processes.stop(pid, first_signal=signal.SIGQUIT, timeout=5)
            raise
        return pid

    def wait_ready(self, pid: int | None) -> None:
        ensure_blocking_allowed()
        timeout = self.settings.postgres_ready_timeout
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if pid is not None and not processes.is_running(pid):
                tail = processes.log_tail(self.log_file, 1)
                raise InfraError(
                    f"PostgreSQL exited during start-up; see {self.log_file}"
                    + (f" (last line: {tail})" if tail else "")
                )
            try:
                run_blocking(ping_database(self.url("postgres")))
                return
            except Exception as exc:  # any failure means "not yet"; the last one is reported
                last_error = f"{type(exc).__name__}: {exc}"[:200]
            time.sleep(0.2)
        raise InfraError(
            f"PostgreSQL at {self.settings.postgres_host}:{self.settings.postgres_port} did not accept "
            f"connections within {timeout:.0f} s ({last_error}); see {self.log_file}"
        )

    async def _create_database(self) -> None:
        conn = await asyncpg.connect(self.url("postgres"))
        try:
            name = self.settings.database_name
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    def stop(self, pid: int) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit.
        processes.stop(pid, first_signal=signal.SIGINT, timeout=self.settings.stop_timeout)


async def ping_database(url: str) -> None:
    """Succeeds when the database at `url` answers a query."""
    conn = await asyncio.wait_for(asyncpg.connect(url), 5)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


def _user_can_reach(user: str, directory: Path) -> bool:
    """True when `user` can enter and write `directory` (creating it first if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    pw = pwd.getpwnam(user)
    probe = subprocess.run(
        ["test", "-x", str(directory)], user=user, group=pw.pw_gid, extra_groups=[], check=False
    )
    return probe.returncode == 0
