"""プラグイン pages: a tenant's plugins (enable, settings, errors), the prefecture's catalog, the vendor seat.

- ``/admin/plugins``: the tenant admin for their own tenant; the prefecture admin for any tenant (``?tenant=``).
- ``/admin/plugins/catalog``: the prefecture admin approves or revokes installed plugin versions.
- ``/vendor/plugins``: a ``vendor`` user sees their own plugins (vendor id mapped to their user name in
  ``plugin_vendor_user``), which tenants run them, and their error reports (no personal data).
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from core.plugins import service
from core.plugins.manager import PluginHost
from core.plugins.registry import supported_api_versions
from ui.errors import respond
from ui.page import flash, form_fields, page_context
from ui.plugins.extensions import ADMIN_PAGE, CATALOG_PAGE, VENDOR_PAGE
from ui.plugins.settings_form import read_settings, setting_fields

TENANT_CODE = re.compile(r"^[0-9]{6}$")
STATUS_LABELS = {"pending": "承認待ち", "approved": "承認済み", "revoked": "承認取消"}
KIND_LABELS = {"exception": "例外", "timeout": "時間切れ", "bad_result": "不正な戻り値"}


def _tenant_name(code: str) -> str:
    from tenants.registry import InvalidLocalGovernmentCode, find

    try:
        return find(code).name
    except InvalidLocalGovernmentCode:
        return code


async def _target_tenant(request: Request, asked: str | None) -> str | Response:
    """Whose plugins this request manages: one's own tenant, or (prefecture admin only) the tenant asked for."""
    principal = request.scope["user"]
    if not asked or asked == principal.tenant_id:
        if principal.has_role("tenant-admin", "prefecture-admin"):
            return principal.tenant_id
        return respond(request, 403, message="プラグインの管理は団体管理者が行います。")
    if not principal.has_role("prefecture-admin") or not principal.is_prefecture:
        return respond(request, 403, message="ほかの団体のプラグインは管理できません。")
    from core.auth.middleware import tenant_status

    if not TENANT_CODE.match(asked) or await tenant_status(request, asked) != "active":
        return respond(request, 404, message="その団体は利用中ではありません。")
    return asked


def _back(tenant_id: str, request: Request) -> Redirect:
    own = tenant_id == request.scope["user"].tenant_id
    return Redirect(ADMIN_PAGE if own else f"{ADMIN_PAGE}?tenant={tenant_id}", status_code=303)


async def _install_bundled_catalog(request: Request, plugins: PluginHost, tenant_id: str, name: str) -> None:
    """A municipality's plugin brings its programmes (``kyosei_program_catalog``): enabling it installs them, so
    staff see the hub and its timetable without a second step. Idempotent; a plugin still awaiting the
    prefecture's approval does not run yet and installs nothing until it does (the 事業・拠点 page's button)."""
    from core.audit.trail import bind_actor
    from core.programs.service import install_plugin_catalogs
    from core.tenancy.context import tenant_scope

    with tenant_scope(tenant_id):
        bind_actor(request.scope["user"].sub)
        async with request.app.state.sessions() as session, session.begin():
            done = (await install_plugin_catalogs(session, plugins)).get(name)
    if done is not None:
        label = plugins.plugins[name].info.display_name
        await flash(request, "success", f"「{label}」の事業カタログを取り込みました（拠点{done.hubs}件、事業"
                                        f"{done.programs}件、時間枠{done.slots}件を追加、{done.updated}件を更新）。")


class PluginAdminController(Controller):
    path = ADMIN_PAGE
    include_in_schema = False

    # The handlers answer a Template or an error Response; without media_type Litestar sent the page as JSON.
    @get("/", media_type=MediaType.HTML)
    async def tenant_plugins(
        self, request: Request, plugins: NamedDependency[PluginHost], tenant: FromQuery[str | None] = None
    ) -> Any:
        tenant_id = await _target_tenant(request, tenant)
        if isinstance(tenant_id, Response):
            return tenant_id
        state = await plugins.tenant_plugins(tenant_id) if plugins.plugins else None
        statuses = await service.catalog_statuses(plugins.sessions)
        rows = []
        for name, plugin in sorted(plugins.plugins.items()):
            info = plugin.info
            stored = state.settings.get(name, {}) if state else {}
            rows.append({
                "name": name, "info": info,
                "status": statuses.get((name, info.version), {}).get("status", "pending"),
                "enabled_flag": bool(state and state.rows.get(name)),
                "running": bool(state and name in state.enabled),
                "fields": setting_fields(plugins.defaults.get(name, {}), stored),
            })
        errors = await service.tenant_errors(plugins, tenant_id)
        context = await page_context(
            request, active=ADMIN_PAGE, tenant_id=tenant_id, tenant_label=_tenant_name(tenant_id), rows=rows,
            errors=errors, status_labels=STATUS_LABELS, kind_labels=KIND_LABELS,
            own=tenant_id == request.scope["user"].tenant_id, sandbox=service.is_sandbox(tenant_id),
        )
        return Template("plugins/admin.html", context=context)

    @post("/enable", status_code=303)
    async def enable(self, request: Request, plugins: NamedDependency[PluginHost]) -> Response:
        form = await form_fields(request)
        tenant_id = await _target_tenant(request, form.get("tenant"))
        if isinstance(tenant_id, Response):
            return tenant_id
        enable = form.get("enabled") == "on"
        name = form.get("plugin", "")
        try:
            await service.set_enabled(plugins, tenant_id, name, enable, request.scope["user"].sub)
        except service.PluginRefused as exc:
            await flash(request, "error", str(exc))
            return _back(tenant_id, request)
        label = plugins.plugins[name].info.display_name
        await flash(request, "success", f"プラグイン「{label}」を{'有効' if enable else '無効'}にしました。")
        if enable:
            await _install_bundled_catalog(request, plugins, tenant_id, name)
        return _back(tenant_id, request)

    @post("/settings", status_code=303)
    async def settings(self, request: Request, plugins: NamedDependency[PluginHost]) -> Response:
        form = await form_fields(request)
        tenant_id = await _target_tenant(request, form.get("tenant"))
        if isinstance(tenant_id, Response):
            return tenant_id
        name = form.get("plugin", "")
        if name not in plugins.plugins:
            await flash(request, "error", "このプラグインはインストールされていません。")
            return _back(tenant_id, request)
        state = await plugins.tenant_plugins(tenant_id)
        fields = setting_fields(plugins.defaults.get(name, {}), state.settings.get(name, {}))
        values, problems = read_settings(fields, form)
        if problems:
            for message in problems:  # nothing is saved while one value cannot be read
                await flash(request, "error", message)
            return _back(tenant_id, request)
        try:
            await service.save_settings(plugins, tenant_id, name, values, request.scope["user"].sub)
        except service.PluginRefused as exc:
            await flash(request, "error", str(exc))
        else:
            await flash(request, "success", f"「{plugins.plugins[name].info.display_name}」の設定を保存しました。")
        return _back(tenant_id, request)

    @post("/errors/acknowledge", status_code=303)
    async def acknowledge(self, request: Request, plugins: NamedDependency[PluginHost]) -> Response:
        form = await form_fields(request)
        tenant_id = await _target_tenant(request, form.get("tenant"))
        if isinstance(tenant_id, Response):
            return tenant_id
        await service.acknowledge_errors(plugins, tenant_id)
        await flash(request, "success", "エラー報告を確認済みにしました。")
        return _back(tenant_id, request)

    @get("/catalog", media_type=MediaType.HTML)
    async def catalog(self, request: Request, plugins: NamedDependency[PluginHost]) -> Any:
        principal = request.scope["user"]
        if not (principal.has_role("prefecture-admin") and principal.is_prefecture):
            return respond(request, 403, message="プラグインの審査は県管理者が行います。")
        statuses = await service.catalog_statuses(plugins.sessions)
        usage = await service.usage(plugins)
        rows = [{"name": name, "info": p.info, "source": p.source,
                 "status": statuses.get((name, p.info.version), {}).get("status", "pending"),
                 "tenants": [(t, _tenant_name(t)) for t in usage.get(name, [])]}
                for name, p in sorted(plugins.plugins.items())]
        context = await page_context(request, active=CATALOG_PAGE, rows=rows, refused=plugins.refused,
                                     status_labels=STATUS_LABELS, supported=supported_api_versions())
        return Template("plugins/catalog.html", context=context)

    @post("/catalog/decide", status_code=303)
    async def decide(self, request: Request, plugins: NamedDependency[PluginHost]) -> Response:
        principal = request.scope["user"]
        if not (principal.has_role("prefecture-admin") and principal.is_prefecture):
            return respond(request, 403, message="プラグインの審査は県管理者が行います。")
        form = await form_fields(request)
        plugin = plugins.plugins.get(form.get("plugin", ""))
        if plugin is None or plugin.info.version != form.get("version"):
            await flash(request, "error", "そのプラグインのバージョンはインストールされていません。")
            return Redirect(CATALOG_PAGE, status_code=303)
        decision = "approved" if form.get("decision") == "approve" else "revoked"
        await service.decide_version(plugins, plugin.info, decision, principal.sub)
        await flash(request, "success", f"{plugin.info.display_name} {plugin.info.version}: {STATUS_LABELS[decision]}")
        return Redirect(CATALOG_PAGE, status_code=303)


class VendorSeatController(Controller):
    path = VENDOR_PAGE
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def vendor_plugins(self, request: Request, plugins: NamedDependency[PluginHost]) -> Any:
        principal = request.scope["user"]
        if not principal.has_role("vendor"):
            return respond(request, 403, message="事業者ページは事業者のアカウントで利用します。")
        vendors = await service.vendors_of(plugins, principal.username)
        mine = {name: p for name, p in plugins.plugins.items() if p.info.vendor in vendors}
        statuses = await service.catalog_statuses(plugins.sessions)
        usage = await service.usage(plugins) if mine else {}
        errors = await service.error_overview(plugins, set(mine)) if mine else []
        rows = [{"name": name, "info": p.info,
                 "status": statuses.get((name, p.info.version), {}).get("status", "pending"),
                 "tenants": [(t, _tenant_name(t)) for t in usage.get(name, [])]}
                for name, p in sorted(mine.items())]
        context = await page_context(request, active=VENDOR_PAGE, vendors=sorted(vendors), rows=rows,
                                     errors=errors, status_labels=STATUS_LABELS, kind_labels=KIND_LABELS,
                                     tenant_name=_tenant_name)
        return Template("plugins/vendor.html", context=context)
