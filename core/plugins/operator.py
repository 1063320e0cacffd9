"""Prefecture-wide plugin operations as the *owner* role, for ``kyosei plugins …`` and the test fixture.

The owner owns the tables but is behind FORCEd row-level security like everyone else, so every statement on a
tenant table runs in a transaction that first binds that tenant (``set_config('app.tenant_id', …, true)``).
``plugin_version`` is ENABLEd but not FORCEd: the owner decides approvals without a tenant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.plugin_types import PluginInfo
from infra.database.provision import connect

CLI_ACTOR = "kyosei-cli"


@dataclass(frozen=True)
class Usage:
    tenant_id: str
    plugin_name: str
    enabled: bool


async def _bound(conn, tenant_id: str) -> None:
    await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_id)


async def approve(owner_url: str, info: PluginInfo, status: str = "approved", actor: str = CLI_ACTOR) -> None:
    conn = await connect(owner_url)
    try:
        await conn.execute(
            """
            INSERT INTO plugin_version (name, version, vendor, api_versions, description_ja, status, decided_at,
                                        decided_by)
            VALUES ($1, $2, $3, $4, $5, $6, now(), $7)
            ON CONFLICT (name, version) DO UPDATE
            SET status = EXCLUDED.status, decided_at = now(), decided_by = EXCLUDED.decided_by
            """,
            info.name, info.version, info.vendor, list(info.api_versions), info.description_ja[:500], status, actor,
        )
    finally:
        await conn.close()


async def set_enabled(owner_url: str, tenant_id: str, name: str, enabled: bool, settings: dict | None = None,
                      actor: str = CLI_ACTOR) -> None:
    conn = await connect(owner_url)
    try:
        async with conn.transaction():
            await _bound(conn, tenant_id)
            await conn.execute(
                """
                INSERT INTO tenant_plugin (tenant_id, plugin_name, enabled, settings, changed_by)
                VALUES ($1, $2, $3, $4::jsonb, $5)
                ON CONFLICT (tenant_id, plugin_name) DO UPDATE
                SET enabled = EXCLUDED.enabled, changed_by = EXCLUDED.changed_by, changed_at = now(),
                    settings = CASE WHEN $6 THEN EXCLUDED.settings ELSE tenant_plugin.settings END
                """,
                tenant_id, name, enabled, json.dumps(settings or {}, ensure_ascii=False), actor, settings is not None,
            )
    finally:
        await conn.close()


async def tenants(owner_url: str) -> list[str]:
    conn = await connect(owner_url)
    try:
        return [r["tenant_id"] for r in await conn.fetch("SELECT tenant_id FROM tenant ORDER BY tenant_id")]
    finally:
        await conn.close()


async def usage(owner_url: str) -> list[Usage]:
    """Every tenant's enablement rows, read tenant by tenant (one bound transaction each)."""
    conn = await connect(owner_url)
    found = []
    try:
        for row in await conn.fetch("SELECT tenant_id FROM tenant ORDER BY tenant_id"):
            async with conn.transaction():
                await _bound(conn, row["tenant_id"])
                # Explicit filter: bound to the prefecture, the owner's overview policy shows every tenant's rows.
                for r in await conn.fetch("SELECT plugin_name, enabled FROM tenant_plugin WHERE tenant_id = $1 "
                                          "ORDER BY plugin_name", row["tenant_id"]):
                    found.append(Usage(row["tenant_id"], r["plugin_name"], r["enabled"]))
        return found
    finally:
        await conn.close()


async def statuses(owner_url: str) -> dict[tuple[str, str], str]:
    conn = await connect(owner_url)
    try:
        return {(r["name"], r["version"]): r["status"]
                for r in await conn.fetch("SELECT name, version, status FROM plugin_version")}
    finally:
        await conn.close()


async def add_vendor_user(owner_url: str, vendor: str, username: str) -> None:
    conn = await connect(owner_url)
    try:
        await conn.execute("INSERT INTO plugin_vendor_user (username, vendor) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                           username, vendor)
    finally:
        await conn.close()


async def forget(owner_url: str, name: str) -> None:
    """Remove every trace of a plugin (test clean-up): enablement and errors in every tenant, catalog rows."""
    conn = await connect(owner_url)
    try:
        for row in await conn.fetch("SELECT tenant_id FROM tenant"):
            async with conn.transaction():
                await _bound(conn, row["tenant_id"])
                await conn.execute("DELETE FROM tenant_plugin WHERE plugin_name = $1", name)
                await conn.execute("DELETE FROM plugin_error WHERE plugin_name = $1", name)
        await conn.execute("DELETE FROM plugin_version WHERE name = $1", name)
    finally:
        await conn.close()
