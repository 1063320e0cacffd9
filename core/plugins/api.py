"""How handlers and services reach the plugin host: the ``plugins`` dependency and a request-scoped shortcut."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.datastructures import State

from core.plugins.manager import PluginHost


def provide_plugins(state: State) -> PluginHost:
    """Litestar dependency ``plugins``: the app's ``PluginHost``."""
    return state.plugins


def plugins_of(connection: ASGIConnection) -> PluginHost | None:
    return getattr(connection.app.state, "plugins", None)


async def call_for_request(connection: ASGIConnection, hook_name: str, /, **kwargs: Any) -> list:
    """``host.call`` for the tenant of the logged-in user; ``[]`` when there is no tenant or no host."""
    host = plugins_of(connection)
    principal = connection.scope.get("user")
    tenant_id = getattr(principal, "tenant_id", None)
    if host is None or tenant_id is None:
        return []
    return await host.call(tenant_id, hook_name, **kwargs)
