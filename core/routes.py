"""Every route handler the app serves, gathered from the domains (the isolation suite walks the same list)."""

from __future__ import annotations


def route_handlers() -> list:
    from tenants.api import TenantRegistryController

    return [TenantRegistryController]
