"""サンプル事業者のプラグイン: one navigation entry and one page, for the municipalities that enable it."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Response

from core.hookspecs import hookimpl
from core.plugin_types import NavItem, PluginInfo

PLUGIN = PluginInfo(
    name="example_vendor",
    version="0.1.0",
    vendor="sample-vendor",
    api_versions=("1.0",),
    description_ja="サンプル事業者の見守り記録プラグイン（試験用）",
    title_ja="見守り記録（サンプル）",
)


@get("/")
async def index(request: Request) -> Response:
    tenant = request.scope["user"].tenant_name
    return Response(f"<h1>見守り記録（サンプル）</h1><p>{tenant}で有効です。</p>", media_type="text/html")


@hookimpl
def kyosei_route_handlers():
    return [index]


@hookimpl
def kyosei_nav_entries(principal):
    return [NavItem("見守り記録", "/plugins/example_vendor/")]
