"""Where plugins appear on every page: navigation entries, the admin's error badge, and dashboard widgets.

``ui.page.page_context`` calls ``plugin_navigation``; the home page calls ``dashboard_widgets``. Both go through
the app's ``PluginHost`` for the logged-in user's tenant only, and nothing a plugin does here can fail the page.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from litestar import Request
from markupsafe import Markup

from core.plugins.api import plugins_of
from core.plugins.containment import PluginFailure

log = structlog.get_logger("kyosei.plugins")

ADMIN_PAGE = "/admin/plugins"
CATALOG_PAGE = "/admin/plugins/catalog"
VENDOR_PAGE = "/vendor/plugins"


@dataclass(frozen=True)
class NavLink:
    label: str
    href: str


def _principal(request: Request):
    return request.scope.get("user")


async def plugin_navigation(request: Request) -> list[NavLink]:
    """The tenant's plugins' entries, then the plugin admin pages the user may open (with the error badge)."""
    principal = _principal(request)
    host = plugins_of(request)
    if principal is None or principal.tenant_id is None or host is None:
        return []
    links: list[NavLink] = []
    items = await host.call(principal.tenant_id, "kyosei_nav_entries", principal=principal)
    links += [NavLink(item.label, item.href) for item in sorted(items, key=lambda i: (i.order, i.label))]
    if principal.has_role("tenant-admin", "prefecture-admin"):
        errors = await host.open_error_count(principal.tenant_id)
        label = "プラグイン" + (f" ⚠ エラー{errors}件" if errors else "")
        links.append(NavLink(label, ADMIN_PAGE))
    if principal.has_role("prefecture-admin"):
        links.append(NavLink("プラグイン審査", CATALOG_PAGE))
    if principal.has_role("vendor"):
        links.append(NavLink("事業者ページ", VENDOR_PAGE))
    return links


@dataclass(frozen=True)
class RenderedWidget:
    plugin: str
    title: str
    html: Markup
    order: int


async def dashboard_widgets(request: Request) -> list[RenderedWidget]:
    """The tenant's plugins' dashboard cards, each rendered on its own; a card that fails is left out."""
    principal = _principal(request)
    host = plugins_of(request)
    if principal is None or principal.tenant_id is None or host is None:
        return []
    engine = request.app.template_engine
    rendered = []
    for plugin, widgets in await host.call_each(principal.tenant_id, "kyosei_dashboard_widgets", principal=principal):
        for widget in widgets:
            try:
                html = engine.get_template(widget.template).render(**dict(widget.context))
            except Exception as exc:
                await host.record_failure(principal.tenant_id, PluginFailure(
                    plugin, host.plugins[plugin].info.version, "kyosei_dashboard_widgets", "exception",
                    type(exc).__name__, f"template {widget.template}"[:300]))
                continue
            rendered.append(RenderedWidget(plugin, widget.title, Markup(html), widget.order))
    return sorted(rendered, key=lambda w: (w.order, w.title))
