"""見守り名簿: the worked example of docs/plugins.md ("Reading data"), built only on the public plugin API.

A page that lists the people of the open cases the signed-in user may see whose 本人 consented to sharing for one
purpose (the tenant's setting ``purpose``, by default 参加支援).
"""

from __future__ import annotations

from pathlib import Path

from typing import Annotated

from litestar import Request, get
from litestar.params import Parameter
from litestar.response import Template

from core.hookspecs import hookimpl
from core.plugin_data import case_data, consent_purposes
from core.plugin_types import NavItem, PluginInfo, Widget

PLUGIN = PluginInfo(
    name="watch_list",
    version="1.0.0",
    vendor="test-vendor",
    api_versions=("1.1",),
    description_ja="同意のある世帯員の見守り名簿（手引きの例）",
    title_ja="見守り名簿",
)


@get("/")
async def index(request: Request, page: Annotated[int, Parameter(ge=1, le=10_000)] = 1) -> Template:
    host = request.app.state.plugins
    purpose = (await host.settings_for(request.scope["user"].tenant_id, PLUGIN.name))["purpose"]
    size = 20
    async with case_data(request) as data:
        cases = await data.open_cases(purpose=purpose, offset=(page - 1) * size, limit=size)
    context = await host.page_context(request, active="/plugins/watch_list/", cases=cases, page=page,
                                      purpose_label=consent_purposes().get(purpose, purpose))
    return Template("watch_list/index.html", context=context)


@get("/count")
async def count(request: Request) -> Template:
    """The home-page card's number, loaded by htmx: hooks run without a database, pages have one."""
    purpose = (await request.app.state.plugins.settings_for(request.scope["user"].tenant_id, PLUGIN.name))["purpose"]
    async with case_data(request) as data:
        cases = await data.open_cases(purpose=purpose, limit=1)
    return Template("watch_list/count.html", context={"total": cases.total})


@hookimpl
def kyosei_route_handlers():
    return [index, count]


@hookimpl
def kyosei_dashboard_widgets(tenant_id, principal):
    return [Widget(title="見守り名簿", template="watch_list/widget.html")]


@hookimpl
def kyosei_template_dirs():
    return [Path(__file__).parent / "templates"]


@hookimpl
def kyosei_plugin_settings_defaults():
    return {"purpose": "participation_support"}


@hookimpl
def kyosei_nav_entries(tenant_id, principal):
    return [NavItem("見守り名簿", "/plugins/watch_list/")]
