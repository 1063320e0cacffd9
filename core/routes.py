"""Every route handler the app serves, gathered from the domains (the isolation suite walks the same list)."""

from __future__ import annotations


def route_handlers() -> list:
    from core.auth.routes import AuthController
    from tenants.api import TenantRegistryController
    from ui.home.controller import HomeController

    return [AuthController, HomeController, TenantRegistryController]
