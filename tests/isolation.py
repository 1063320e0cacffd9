"""What the isolation suite needs to know about each route parameter: how to name another tenant's object.

When you add a route with a path parameter, register here how to create an object of tenant B that the
parameter can name. The suite in tests/test_isolation.py refuses to run a route it cannot fill, so a new route is
never silently left out.
"""

from __future__ import annotations

from collections.abc import Callable

from infra.database.provision import DatabaseUrls

# Routes that serve no tenant data at all (public facts or the login door), with the reason.
TENANTLESS_ROUTES: dict[str, str] = {
    "/healthz": "liveness probe",
    "/readyz": "readiness probe",
    "/static": "static assets",
    "/api/schema": "OpenAPI document",
    "/auth": "login door; acts only on the caller's own session",
    "/api/registry": "public registry of Kochi's municipalities",
}

# parameter name -> function(urls, tenant_id) returning the id of an object of that tenant (created via services)
OBJECT_MAKERS: dict[str, Callable[[DatabaseUrls, str], str]] = {}


def object_maker(*param_names: str):
    def register(fn):
        for name in param_names:
            OBJECT_MAKERS[name] = fn
        return fn

    return register


def is_tenantless(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in TENANTLESS_ROUTES)
