"""A pytest plugin for plugin authors: an app with *your* plugin enabled for one tenant, on a real PostgreSQL.

Use it from your plugin's tests: ``pytest_plugins = ["core.plugins.testing"]`` in your top-level ``conftest.py``
(or import the two fixtures, ``kyosei_database`` and ``kyosei_plugin_app``, into a test module)::

    def test_my_nav_entry(kyosei_plugin_app):
        plugin_app = kyosei_plugin_app(my_plugin, tenant_id="394017")
        with plugin_app.client(roles=("staff",)) as client:
            assert "わたしのページ" in client.get("/").text

What the fixture does: starts a throwaway embedded PostgreSQL 18 once per test session (or reuses the
``database_urls`` fixture of Kyosei's own suite), migrates and seeds it, registers your plugin object (a module
with ``PLUGIN``), approves its version, enables it for ``tenant_id`` with ``settings``, and removes every trace of
it when the test ends. ``plugin_app.client(roles=…, tenant_id=…)`` is a Litestar ``TestClient`` logged in as a
user of that tenant (a real server-side session, no Keycloak needed).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

DEFAULT_TENANT = "394017"  # 中土佐町, one of the demo tenants


def _run(coro):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@pytest.fixture(scope="session")
def kyosei_database(request, tmp_path_factory):
    """(settings, DatabaseUrls) of a migrated, seeded database: Kyosei's own fixtures when present, else a new one."""
    try:
        urls = request.getfixturevalue("database_urls")
        settings = request.getfixturevalue("settings")
        yield settings, urls
        return
    except pytest.FixtureLookupError:
        pass
    from core import migrate
    from core.settings import Settings
    from infra.database.embedded import EmbeddedPostgres, free_port
    from infra.database.provision import provision_embedded
    from tenants.seed import seed_demo_tenants, seed_registry

    server = EmbeddedPostgres(tmp_path_factory.mktemp("kyosei-pg") / "data", free_port())
    server.start()
    try:
        urls = _run(provision_embedded(server.superuser_url, "plugin-test-password"))
        migrate.upgrade(urls)
        _run(seed_registry(urls.owner))
        _run(seed_demo_tenants(urls.owner))
        env = {"KYOSEI_ENV": "test", "KYOSEI_DATA_DIR": str(tmp_path_factory.mktemp("kyosei-data")),
               "KYOSEI_PG_PORT": str(server.port), "LOG_FORMAT": "json"}
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            settings = Settings.from_env()
        finally:
            for k, v in old.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        yield settings, urls
    finally:
        server.destroy()


def open_test_session(urls, tenant_id: str, roles: tuple[str, ...], display_name: str = "試験 太郎",
                      username: str | None = None) -> tuple[str, str]:
    """A real server-side login session for a test user; returns (raw session id, CSRF token)."""
    from core.auth.oidc import scoped_roles
    from core.auth.sessions import NewSession, SessionStore, SessionTimeouts
    from core.database import create_engine, utc_now

    async def create():
        engine = create_engine(urls.app, pool_size=1)
        try:
            store = SessionStore(engine, SessionTimeouts(dt.timedelta(minutes=30), dt.timedelta(hours=10)))
            sub = str(uuid.uuid4())
            return await store.create(NewSession(
                user_sub=sub, username=username or f"plugin-test-{sub[:8]}", display_name=display_name,
                organizations=[tenant_id], tenant_id=tenant_id, roles=scoped_roles(tenant_id, roles), keycloak_sid=None,
                id_token="not-a-real-id-token", refresh_token=None,
                access_expires_at=utc_now() + dt.timedelta(hours=1),
            ))
        finally:
            await engine.dispose()

    return _run(create())


@dataclass
class PluginTestApp:
    app: Any
    urls: Any
    tenant_id: str
    plugin_names: list[str] = field(default_factory=list)

    @property
    def host(self):
        return self.app.state.plugins

    @contextlib.contextmanager
    def client(self, roles: tuple[str, ...] = ("staff",), tenant_id: str | None = None,
               username: str | None = None) -> Iterator[Any]:
        """A TestClient logged in as a user of ``tenant_id`` (default: the plugin's tenant) with ``roles``.

        The CSRF token is sent on every request (header ``X-CSRF-Token``) and kept as ``client.csrf``.
        """
        from litestar.testing import TestClient

        raw, csrf = open_test_session(self.urls, tenant_id or self.tenant_id, roles, username=username)
        with TestClient(app=self.app) as client:
            client.cookies.set("kyosei_session", raw)
            client.headers["X-CSRF-Token"] = csrf
            client.csrf = csrf
            yield client


@pytest.fixture()
def kyosei_plugin_app(kyosei_database):
    """Factory: ``kyosei_plugin_app(plugin, tenant_id="394017", settings=None, timeout=2.0, enable=True)``.

    ``plugin`` is your plugin module (or a list of them). Returns a ``PluginTestApp``.
    """
    from core import app as composition
    from core.plugins import build_host
    from core.plugins import operator

    settings, urls = kyosei_database
    made: list[str] = []

    def make(plugin, tenant_id: str = DEFAULT_TENANT, *, settings_values: dict | None = None,
             timeout: float = 2.0, enable: bool = True, entry_points: bool = False) -> PluginTestApp:
        plugins = plugin if isinstance(plugin, (list, tuple)) else [plugin]
        host = build_host((), entry_points=entry_points, extra=plugins, timeout=timeout)
        names = [p.PLUGIN.name for p in plugins if p.PLUGIN.name in host.plugins]
        for name in names:
            made.append(name)
            _run(operator.approve(urls.owner, host.plugins[name].info))
            if enable:
                _run(operator.set_enabled(urls.owner, tenant_id, name, True, settings_values))
        app = composition.create_app(settings, app_database_url=urls.app, plugin_host=host)
        return PluginTestApp(app=app, urls=urls, tenant_id=tenant_id, plugin_names=names)

    yield make
    for name in made:
        _run(operator.forget(urls.owner, name))
