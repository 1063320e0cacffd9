"""Rules and transactions of the plugin platform, for the admin pages (app role) and the CLI (owner role).

Who may do what:

- a tenant admin (``tenant-admin``) enables, disables and configures plugins for their own tenant;
- the prefecture admin (``prefecture-admin`` of 高知県 390003) approves plugin versions and may do the same for
  any tenant (the service then binds that tenant for the transaction: row-level security still applies);
- a plugin can be enabled only while the installed version is approved, except in the **sandbox**: the
  prefecture's own tenant (390003) holds no case data of a municipality, so vendors and the prefecture try an
  unapproved version there first (see docs/plugins.md, "Sandbox and vendor seat").

Every write runs in its own transaction, and the host's caches are dropped after it commits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from core.plugin_types import PluginInfo
from core.plugins.manager import SANDBOX_TENANT, PluginHost
from core.tenancy.context import tenant_scope

PREFECTURE = "390003"


class PluginRefused(Exception):
    """A change the rules do not allow; the message is for the person (Japanese)."""


@dataclass(frozen=True)
class ErrorReport:
    plugin_name: str
    plugin_version: str
    hook: str
    kind: str
    exc_type: str
    location: str
    occurrences: int
    last_at: Any
    acknowledged_at: Any = None
    tenant_id: str = ""


def is_sandbox(tenant_id: str) -> bool:
    return tenant_id == SANDBOX_TENANT


async def version_status(sessions, name: str, version: str) -> str:
    async with sessions() as session:
        status = (await session.execute(
            text("SELECT status FROM plugin_version WHERE name = :n AND version = :v"), {"n": name, "v": version}
        )).scalar()
    return status or "pending"


async def catalog_statuses(sessions) -> dict[tuple[str, str], dict]:
    async with sessions() as session:
        rows = (await session.execute(text(
            "SELECT name, version, status, decided_at, decided_by FROM plugin_version ORDER BY name, version"
        ))).mappings().all()
    return {(r["name"], r["version"]): dict(r) for r in rows}


async def set_enabled(host: PluginHost, tenant_id: str, name: str, enabled: bool, actor: str) -> None:
    plugin = host.plugins.get(name)
    if plugin is None:
        raise PluginRefused("このプラグインはインストールされていません。")
    if enabled and not is_sandbox(tenant_id):
        if await version_status(host.sessions, name, plugin.info.version) != "approved":
            raise PluginRefused(
                f"{plugin.info.display_name} {plugin.info.version} は県の承認前のため有効にできません。")
    with tenant_scope(tenant_id):
        async with host.sessions() as session, session.begin():
            await session.execute(text(
                """
                INSERT INTO tenant_plugin (tenant_id, plugin_name, enabled, changed_by)
                VALUES (:t, :n, :e, :a)
                ON CONFLICT (tenant_id, plugin_name) DO UPDATE
                SET enabled = EXCLUDED.enabled, changed_by = EXCLUDED.changed_by, changed_at = now()
                """
            ), {"t": tenant_id, "n": name, "e": enabled, "a": actor})
    host.invalidate(tenant_id)


async def save_settings(host: PluginHost, tenant_id: str, name: str, settings: Mapping[str, Any], actor: str) -> None:
    if name not in host.plugins:
        raise PluginRefused("このプラグインはインストールされていません。")
    if not isinstance(settings, Mapping):
        raise PluginRefused("設定は JSON のオブジェクト（{ … }）で入力してください。")
    with tenant_scope(tenant_id):
        async with host.sessions() as session, session.begin():
            await session.execute(text(
                """
                INSERT INTO tenant_plugin (tenant_id, plugin_name, enabled, settings, changed_by)
                VALUES (:t, :n, false, CAST(:s AS jsonb), :a)
                ON CONFLICT (tenant_id, plugin_name) DO UPDATE
                SET settings = EXCLUDED.settings, changed_by = EXCLUDED.changed_by, changed_at = now()
                """
            ), {"t": tenant_id, "n": name, "s": json.dumps(dict(settings), ensure_ascii=False), "a": actor})
    host.invalidate(tenant_id)


async def decide_version(host: PluginHost, info: PluginInfo, status: str, actor: str) -> None:
    """Approve (``approved``) or revoke (``revoked``) a plugin version; only while bound to the prefecture."""
    assert status in ("approved", "revoked")
    with tenant_scope(PREFECTURE):
        async with host.sessions() as session, session.begin():
            await session.execute(text(
                """
                INSERT INTO plugin_version (name, version, vendor, api_versions, description_ja, status, decided_at,
                                            decided_by)
                VALUES (:n, :v, :vendor, :api, :d, :s, now(), :a)
                ON CONFLICT (name, version) DO UPDATE
                SET status = EXCLUDED.status, decided_at = now(), decided_by = EXCLUDED.decided_by
                """
            ), {"n": info.name, "v": info.version, "vendor": info.vendor, "api": list(info.api_versions),
                "d": info.description_ja[:500], "s": status, "a": actor})
    host.invalidate()


async def tenant_errors(host: PluginHost, tenant_id: str, *, include_acknowledged: bool = True) -> list[ErrorReport]:
    with tenant_scope(tenant_id):
        async with host.sessions() as session, session.begin():
            rows = (await session.execute(text(
                "SELECT plugin_name, plugin_version, hook, kind, exc_type, location, occurrences, last_at, "
                "acknowledged_at, tenant_id FROM plugin_error "
                + ("" if include_acknowledged else "WHERE acknowledged_at IS NULL ")
                + "ORDER BY last_at DESC LIMIT 200"
            ))).mappings().all()
    return [ErrorReport(**r) for r in rows]


async def acknowledge_errors(host: PluginHost, tenant_id: str) -> None:
    with tenant_scope(tenant_id):
        async with host.sessions() as session, session.begin():
            await session.execute(text("UPDATE plugin_error SET acknowledged_at = now() WHERE acknowledged_at IS NULL"))


async def usage(host: PluginHost) -> dict[str, list[str]]:
    """Plugin name -> tenants that have it enabled (the prefecture's narrow path; no personal data)."""
    with tenant_scope(PREFECTURE):
        async with host.sessions() as session, session.begin():
            rows = (await session.execute(text("SELECT plugin_name, tenant_id, enabled FROM plugin_usage()"))).all()
    found: dict[str, list[str]] = {}
    for row in rows:
        if row.enabled:
            found.setdefault(row.plugin_name, []).append(row.tenant_id)
    return found


async def error_overview(host: PluginHost, plugins: set[str] | None = None) -> list[ErrorReport]:
    with tenant_scope(PREFECTURE):
        async with host.sessions() as session, session.begin():
            rows = (await session.execute(text(
                "SELECT tenant_id, plugin_name, plugin_version, hook, kind, exc_type, location, occurrences, "
                "last_at FROM plugin_error_overview()"
            ))).mappings().all()
    return [ErrorReport(**r) for r in rows if plugins is None or r["plugin_name"] in plugins]


async def vendors_of(host: PluginHost, username: str) -> set[str]:
    async with host.sessions() as session:
        rows = (await session.execute(
            text("SELECT vendor FROM plugin_vendor_user WHERE username = :u"), {"u": username}
        )).scalars().all()
    return set(rows)
