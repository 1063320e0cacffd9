"""Offboarding (利用終了): export all of a tenant's rows as an archive, delete them with a receipt, import an archive.

Runs as the **owner role** (``DATABASE_URL``; the CLI has it from ``database_up()``), never as the app role: the app
role cannot read another tenant's rows, let alone delete them. The owner is behind FORCEd row-level security too,
so every transaction here first sets ``app.tenant_id`` to the tenant being handled: the tenant wall itself
guarantees the export holds that tenant's rows and the delete touches nothing else.

Tenant tables are found from ``pg_catalog``: every table of the public schema with a ``tenant_id`` column, except
the global tables that merely mention a tenant (``GLOBAL_TABLES``). A domain added tomorrow is exported tomorrow.
The archive format is documented in docs/offboarding.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import asyncpg

from infra.database.provision import connect
from tenants.lifecycle import LifecycleError
from tenants.registry import InvalidLocalGovernmentCode, find

FORMAT = "kyosei-tenant-archive"
FORMAT_VERSION = 1
# Global tables that carry a tenant_id but are not the tenant's data: the registry row itself (kept, marked
# offboarded) and login sessions (ended, not archived).
GLOBAL_TABLES = frozenset({"tenant", "web_session"})
# Bookkeeping that lives only inside a transaction, never data: count_summary_stale holds the counts a transaction
# has touched until its commit recounts them (migration 0019y). Deleting a tenant's rows marks counts as it goes;
# the marks are gone at commit, so they are neither exported nor counted as deleted.
TRANSIENT_TABLES = frozenset({"count_summary_stale"})
BATCH = 1000


class ArchiveError(LifecycleError):
    """The archive is damaged, for another schema revision, or the target is not empty."""


@dataclass
class TableEntry:
    name: str
    file: str
    columns: list[str]
    rows: int
    sha256: str


@dataclass
class Manifest:
    tenant_id: str
    tenant_name: str
    tenant_status: str
    schema_revision: str
    exported_at: str
    tables: list[TableEntry] = field(default_factory=list)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def row_counts(self) -> dict[str, int]:
        return {t.name: t.rows for t in self.tables}

    def to_json(self) -> str:
        body = asdict(self)
        body["total_rows"] = sum(t.rows for t in self.tables)
        return json.dumps(body, ensure_ascii=False, indent=2)

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        body = json.loads(text)
        if body.get("format") != FORMAT or body.get("format_version") != FORMAT_VERSION:
            raise ArchiveError("この形式のアーカイブは読み込めません / not a Kyosei tenant archive (version 1)")
        body.pop("total_rows", None)
        tables = [TableEntry(**t) for t in body.pop("tables")]
        return cls(**body, tables=tables)


@dataclass
class ExportResult:
    path: Path
    sha256: str
    size: int
    manifest: Manifest
    seconds: float


@dataclass
class DeletionReceipt:
    tenant_id: str
    tenant_name: str
    deleted_rows: dict[str, int]
    archive: str
    archive_sha256: str
    deleted_at: str
    schema_revision: str

    def to_json(self) -> str:
        body = asdict(self)
        body["total_rows"] = sum(self.deleted_rows.values())
        return json.dumps(body, ensure_ascii=False, indent=2)


def _tenant(code: str):
    try:
        municipality = find(code)
    except InvalidLocalGovernmentCode as exc:
        raise LifecycleError(str(exc)) from None
    if municipality.is_prefecture:
        raise LifecycleError("高知県（390003）は利用終了の対象ではありません。")
    return municipality


async def tenant_tables(conn: asyncpg.Connection) -> list[str]:
    """Every tenant table, parents before children (foreign keys among tenant tables decide the order)."""
    names = [
        r["relname"]
        for r in await conn.fetch(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                          AND NOT a.attisdropped)
            ORDER BY c.relname
            """
        )
        if r["relname"] not in GLOBAL_TABLES | TRANSIENT_TABLES
    ]
    edges = await conn.fetch(
        """
        SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
        FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid <> c.confrelid
        """
    )
    parents = {name: set() for name in names}
    for e in edges:
        if e["child"] in parents and e["parent"] in parents:
            parents[e["child"]].add(e["parent"])
    ordered: list[str] = []
    while parents:
        ready = sorted(n for n, ps in parents.items() if not ps - set(ordered))
        if not ready:  # a cycle between tables: keep the rest alphabetical; import drops the keys anyway
            ready = sorted(parents)
        for n in ready:
            ordered.append(n)
            parents.pop(n)
    return ordered


async def _columns(conn: asyncpg.Connection, table: str) -> list[str]:
    return [
        r["attname"]
        for r in await conn.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped "
            "AND attgenerated = '' ORDER BY attnum",
            f'"{table}"',
        )
    ]


def _quoted(columns: list[str]) -> str:
    return ", ".join(f'"{c}"' for c in columns)


async def _bind_tenant(conn: asyncpg.Connection, code: str) -> None:
    await conn.execute("SELECT set_config('app.tenant_id', $1, true)", code)


async def _revision(conn: asyncpg.Connection) -> str:
    return await conn.fetchval("SELECT version_num FROM alembic_version")


async def export_tenant(owner_url: str, code: str, target: Path) -> ExportResult:
    """Write ``target`` (.zip): manifest.json + tables/<table>.jsonl, one JSON object per row (row_to_json)."""
    municipality = _tenant(code)
    started = time.perf_counter()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    conn = await connect(owner_url)
    try:
        await conn.execute("SET TIME ZONE 'UTC'")
        # One snapshot for every table: the archive is consistent even while the tenant is still working.
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            await _bind_tenant(conn, municipality.code)
            status = await conn.fetchval("SELECT status FROM tenant WHERE tenant_id = $1", municipality.code)
            if status is None:
                raise LifecycleError(f"{municipality.code} {municipality.name} は利用団体ではありません。")
            manifest = Manifest(
                tenant_id=municipality.code,
                tenant_name=municipality.name,
                tenant_status=status,
                schema_revision=await _revision(conn),
                exported_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            )
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for table in await tenant_tables(conn):
                    columns = await _columns(conn, table)
                    digest, rows, name = hashlib.sha256(), 0, f"tables/{table}.jsonl"
                    with archive.open(name, "w") as out:
                        query = (
                            f'SELECT row_to_json(t)::text AS j FROM (SELECT {_quoted(columns)} FROM "{table}" '
                            f"WHERE tenant_id = $1) t"
                        )
                        async for record in conn.cursor(query, municipality.code, prefetch=BATCH):
                            line = (record["j"] + "\n").encode()
                            digest.update(line)
                            out.write(line)
                            rows += 1
                    manifest.tables.append(TableEntry(table, name, columns, rows, digest.hexdigest()))
                archive.writestr("manifest.json", manifest.to_json())
    finally:
        await conn.close()
    partial.replace(target)
    data = target.read_bytes()
    return ExportResult(target, hashlib.sha256(data).hexdigest(), len(data), manifest, time.perf_counter() - started)


def read_archive(path: Path) -> tuple[Manifest, zipfile.ZipFile]:
    """Open and verify an archive: every file's SHA-256 and row count must match the manifest."""
    if not path.is_file():
        raise ArchiveError(f"アーカイブがありません / no such archive: {path}")
    try:
        archive = zipfile.ZipFile(path)
        manifest = Manifest.from_json(archive.read("manifest.json").decode())
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, TypeError) as exc:
        raise ArchiveError(f"アーカイブを読み込めません / unreadable archive: {exc}") from None
    for entry in manifest.tables:
        data = archive.read(entry.file)
        if hashlib.sha256(data).hexdigest() != entry.sha256 or data.count(b"\n") != entry.rows:
            raise ArchiveError(f"アーカイブが壊れています / checksum or row count mismatch in {entry.file}")
    return manifest, archive


async def delete_tenant_rows(owner_url: str, code: str, archive_path: Path) -> DeletionReceipt:
    """Delete every row of the tenant, after checking that ``archive_path`` holds exactly those rows.

    One transaction: the counts are compared with the archive's manifest under a lock on the tenant row, then the
    rows go, children before parents, and the tenant is marked ``offboarded`` (its registry entry stays, so it can
    be onboarded again). Login sessions of the tenant are ended too.
    """
    municipality = _tenant(code)
    manifest, archive = read_archive(archive_path)
    archive.close()
    if manifest.tenant_id != municipality.code:
        raise ArchiveError(f"このアーカイブは {manifest.tenant_id} のものです / archive is of another tenant")
    archive_sha = hashlib.sha256(archive_path.read_bytes()).hexdigest()
    conn = await connect(owner_url)
    try:
        async with conn.transaction():
            await _bind_tenant(conn, municipality.code)
            await conn.execute("SELECT 1 FROM tenant WHERE tenant_id = $1 FOR UPDATE", municipality.code)
            revision = await _revision(conn)
            if revision != manifest.schema_revision:
                raise ArchiveError(f"スキーマのリビジョンが異なります（{manifest.schema_revision} → {revision}）。書き出し直してください。")
            tables = await tenant_tables(conn)
            current = {t: await conn.fetchval(f'SELECT count(*) FROM "{t}" WHERE tenant_id = $1', municipality.code)
                       for t in tables}
            expected = {t: manifest.row_counts.get(t, 0) for t in tables}
            if current != expected:
                changed = sorted(t for t in tables if current[t] != expected[t])
                raise ArchiveError(f"書き出し後にデータが変わりました（{', '.join(changed)}）。書き出し直してください。")
            deleted = {}
            for table in reversed(tables):
                status = await conn.execute(f'DELETE FROM "{table}" WHERE tenant_id = $1', municipality.code)
                deleted[table] = int(status.split()[-1])
            await conn.execute("DELETE FROM web_session WHERE tenant_id = $1", municipality.code)
            await conn.execute(
                "UPDATE tenant SET status = 'offboarded', status_changed_at = now() WHERE tenant_id = $1",
                municipality.code,
            )
    finally:
        await conn.close()
    return DeletionReceipt(
        tenant_id=municipality.code,
        tenant_name=municipality.name,
        deleted_rows=dict(sorted(deleted.items())),
        archive=str(archive_path),
        archive_sha256=archive_sha,
        deleted_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        schema_revision=revision,
    )


async def import_archive(owner_url: str, archive_path: Path) -> dict[str, int]:
    """Restore an archive into a database migrated to the same revision where the tenant has no rows yet.

    The tenant's registry entry and tenant row are created when missing (status as exported; an archive of an
    offboarded tenant comes back active). Rows go in with INSERT … jsonb_populate_recordset (COPY FROM is not
    allowed under row-level security), in one transaction in which the tenant tables' user triggers are disabled
    (the audit chain keeps its recorded hashes instead of being renumbered) and foreign keys among them are
    dropped and re-created, so row order within a file does not matter and the keys are re-validated at the end.
    Returns the row count per table afterwards.
    """
    manifest, archive = read_archive(archive_path)
    municipality = _tenant(manifest.tenant_id)
    conn = await connect(owner_url)
    try:
        await conn.execute("SET TIME ZONE 'UTC'")
        async with conn.transaction():
            await _bind_tenant(conn, municipality.code)
            revision = await _revision(conn)
            if revision != manifest.schema_revision:
                raise ArchiveError(
                    f"スキーマのリビジョンが異なります（アーカイブ {manifest.schema_revision}、データベース {revision}）。"
                    "同じリビジョンまで移行してから読み込んでください。"
                )
            tables = await tenant_tables(conn)
            unknown = sorted(set(manifest.row_counts) - set(tables))
            if unknown:
                raise ArchiveError(f"データベースにない表があります: {', '.join(unknown)}")
            for table in tables:
                if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{table}" WHERE tenant_id = $1)', municipality.code):
                    raise ArchiveError(f"読み込み先に {municipality.name} のデータが既にあります（{table}）。空のデータベースに読み込んでください。")
            await conn.execute(
                "INSERT INTO municipality (code, name, kana, romaji, kind) VALUES ($1, $2, $3, $4, $5) "
                "ON CONFLICT (code) DO NOTHING",
                municipality.code, municipality.name, municipality.kana, municipality.romaji, municipality.kind.value,
            )
            status = "active" if manifest.tenant_status == "offboarded" else manifest.tenant_status
            await conn.execute(
                "INSERT INTO tenant (tenant_id, status) VALUES ($1, $2) "
                "ON CONFLICT (tenant_id) DO UPDATE SET status = EXCLUDED.status, status_changed_at = now()",
                municipality.code, status,
            )
            foreign_keys = await conn.fetch(
                "SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS def "
                "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY($1::text[])",
                tables,
            )
            for fk in foreign_keys:
                await conn.execute(f'ALTER TABLE "{fk["tbl"]}" DROP CONSTRAINT "{fk["conname"]}"')
            for table in tables:
                await conn.execute(f'ALTER TABLE "{table}" DISABLE TRIGGER USER')
            for entry in manifest.tables:
                columns = _quoted(entry.columns)
                insert = (
                    f'INSERT INTO "{entry.name}" ({columns}) SELECT {columns} '
                    f'FROM jsonb_populate_recordset(NULL::"{entry.name}", $1::jsonb)'
                )
                lines = archive.read(entry.file).decode().splitlines()
                for start in range(0, len(lines), BATCH):
                    await conn.execute(insert, "[" + ",".join(lines[start:start + BATCH]) + "]")
            for table in tables:
                await conn.execute(f'ALTER TABLE "{table}" ENABLE TRIGGER USER')
            for fk in foreign_keys:
                await conn.execute(f'ALTER TABLE "{fk["tbl"]}" ADD CONSTRAINT "{fk["conname"]}" {fk["def"]}')
            return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}" WHERE tenant_id = $1', municipality.code)
                    for t in tables}
    finally:
        await conn.close()
        archive.close()


async def tenant_row_counts(owner_url: str, code: str) -> dict[str, int]:
    """Rows per tenant table for one tenant (as the owner, bound to that tenant)."""
    conn = await connect(owner_url)
    try:
        async with conn.transaction(readonly=True):
            await _bind_tenant(conn, code)
            return {t: await conn.fetchval(f'SELECT count(*) FROM "{t}" WHERE tenant_id = $1', code)
                    for t in await tenant_tables(conn)}
    finally:
        await conn.close()


def receipt_path(archive: Path) -> Path:
    return archive.with_name(archive.name.removesuffix(".zip") + ".receipt.json")


def default_archive_name(code: str) -> str:
    return f"kyosei-tenant-{code}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.zip"
