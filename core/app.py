"""The composition root: ``create_app()`` is the one place where Kyosei is wired together.

The CLI (``kyosei run``), the tests and any ASGI server (``uvicorn --factory core.app:create_app``) all call it.
"""

from __future__ import annotations

import datetime as dt
import gc
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator

from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig

import httpx

from core.auth.middleware import authentication_middleware
from core.auth.oidc import IdentityProvider
from core.auth.sessions import SessionStore, SessionTimeouts
from litestar.di import Provide

from core.database import create_engine, provide_db_session, session_factory
from core.health import healthz, readyz
from core.logging import configure_logging
from core.plugins import PluginHost
from core.plugins.api import provide_plugins
from core.request_guard import RequestLimits, request_guard_middleware
from core.requests import head_as_get, request_id_middleware
from core.security_headers import security_headers_middleware
from core.settings import Settings, get_settings


class KyoseiApp(Litestar):
    """Litestar, answering ``HEAD`` wherever ``GET`` works (core.requests.head_as_get), before routing."""

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[override]
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope, send = head_as_get(scope, send)
        await super().__call__(scope, receive, send)


def _app_database_url(settings: Settings) -> str:
    """The application role's URL when the caller did not bring the database up itself."""
    from infra.database.embedded import EmbeddedPostgres
    from infra.database.provision import APP_ROLE, DATABASE, with_user

    if settings.database_app_url:
        return settings.database_app_url
    if settings.database_url:
        return with_user(settings.database_url, APP_ROLE, settings.app_db_password)
    embedded = EmbeddedPostgres(settings.data_dir / "pg", settings.embedded_pg_port)
    port = embedded.running_port() or settings.embedded_pg_port
    return with_user(f"postgresql://127.0.0.1:{port}/", APP_ROLE, settings.app_db_password, database=DATABASE)


def build_plugin_host() -> PluginHost:
    """Every installed plugin: ``kyosei.plugins`` entry points plus the packages bundled in ``plugins/``."""
    from core.plugins import build_host
    from plugins import bundled_plugin_modules

    return build_host(bundled_plugin_modules())


def create_app(
    settings: Settings | None = None, *, app_database_url: str | None = None, plugin_host: PluginHost | None = None
) -> Litestar:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    database_url = app_database_url or _app_database_url(settings)
    # Plugins (docs/plugins.md): every installed plugin registers once, here; tenants enable them in the database.
    plugins = plugin_host or build_plugin_host()

    @asynccontextmanager
    async def resources(app: Litestar) -> AsyncIterator[None]:
        # Both pools keep every connection they open (no overflow): an overflow connection is closed when it is
        # returned, so beyond the pool size every request paid for a new connection, its backend's start and all
        # its statements prepared again. At 50 users that made a list request cost ~6× the CPU (app and
        # PostgreSQL) it costs at 10 (docs/benchmarks.md, issue 23). Same ceilings as before (10 + 10, 5 + 5).
        engine = create_engine(database_url, pool_size=20, max_overflow=0)
        # A second, small pool for what a request reads or writes outside its own transaction while it may already
        # hold a connection of the first: the plugin host (enablement, error reports) and the web sessions (flash
        # messages). With one shared pool, 20 requests each holding a connection and each waiting for a second
        # one deadlocked the app at 50 concurrent users (docs/benchmarks.md, finding 1). Nothing here ever waits
        # for the request pool, so the two pools cannot wait on each other.
        control = create_engine(database_url, pool_size=10, max_overflow=0)
        http = httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
        app.state.engine = engine
        app.state.control_engine = control
        app.state.sessions = session_factory(engine)
        plugins.attach(session_factory(control))  # per-tenant enablement and error reports live in the database
        app.state.session_store = SessionStore(
            control,
            SessionTimeouts(
                idle=dt.timedelta(minutes=settings.session_idle_minutes),
                absolute=dt.timedelta(hours=settings.session_absolute_hours),
            ),
        )
        app.state.idp = IdentityProvider(
            settings.keycloak_url or f"http://127.0.0.1:{settings.keycloak_port}",
            settings.keycloak_realm,
            settings.oidc_client_id,
            settings.oidc_client_secret,
            http,
        )
        # Start-up objects (routes, templates, plugin modules) never die: moving them out of the collector's reach
        # removes the full collections that made about one request in a hundred ~110 ms slower
        # (docs/benchmarks.md, finding 4).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await http.aclose()
            await engine.dispose()
            await control.dispose()

    from core.routes import route_handlers
    from ui.errors import exception_handlers, unexpected_exception_handler
    from ui.page import address_bar_middleware, page_context
    from ui.templating import add_template_directory, static_files_router, template_config

    # Plugins: their template folders (searched after ui/templates), their pages under /plugins/<name>/ (404 for
    # tenants that did not enable them), and the page shell for those pages.
    for folder in plugins.template_dirs():
        add_template_directory(folder)
    plugins.page_context = page_context

    return KyoseiApp(
        route_handlers=[healthz, readyz, static_files_router(), *route_handlers(),
                        *plugins.route_handlers(unexpected_exception_handler)],
        # Outermost first: the request id exists before authentication logs anything.
        # The request guard refuses oversized, slow and non-text requests before anything reads them.
        middleware=[request_id_middleware, security_headers_middleware, request_guard_middleware, address_bar_middleware,
                    authentication_middleware],
        lifespan=[resources],
        dependencies={"db": Provide(provide_db_session), "plugins": Provide(provide_plugins, sync_to_thread=False)},
        state=State({"settings": settings, "plugins": plugins, "request_limits": RequestLimits(
            settings.max_body_bytes, settings.max_fields, settings.body_timeout_seconds)}),
        request_max_body_size=settings.max_body_bytes,
        multipart_form_part_limit=settings.max_fields,
        template_config=template_config(),
        exception_handlers=exception_handlers(),
        openapi_config=OpenAPIConfig(title="Kyosei API", version="0.1.0", path="/api/schema"),
        debug=False,
    )
