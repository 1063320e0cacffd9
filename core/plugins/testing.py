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

Data for your tests, one call each (fixture ``kyosei_data``, a ``TestData``)::

    def test_my_list(kyosei_plugin_app, kyosei_data):
        plugin_app = kyosei_plugin_app(my_plugin, tenant_id="394203")   # any Kochi municipality code
        worker = kyosei_data.staff("394203", roles=("staff",), name="高橋 一郎")
        case = kyosei_data.case("394203", assignee=worker, name="山田 太郎", kana="やまだ たろう")
        kyosei_data.consent("394203", case, purpose="participation_support")
        with plugin_app.client(user=worker) as client:
            assert "山田 太郎" in client.get("/plugins/my_plugin/").text

A code that is not a Kochi municipality is refused at once with ``UnknownMunicipality`` (the message names the
code); a municipality that is not a tenant yet becomes one (a test database only).
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


class UnknownMunicipality(ValueError):
    """A tenant code that is not one of Kochi's 34 municipalities."""


def _municipality(code: str):
    from tenants.registry import InvalidLocalGovernmentCode, find

    try:
        municipality = find(code)
    except InvalidLocalGovernmentCode as exc:
        raise UnknownMunicipality(f"{code!r} is not a Kochi municipality code: {exc}") from None
    if municipality.is_prefecture:
        raise UnknownMunicipality(f"{code} is the prefecture, not a municipality: plugins run for municipalities")
    return municipality


def ensure_tenant(urls, code: str) -> str:
    """Make ``code`` (any Kochi municipality) a tenant of the test database; returns the code."""
    _municipality(code)

    async def insert():
        import asyncpg

        conn = await asyncpg.connect(urls.owner)
        try:
            await conn.execute("INSERT INTO tenant (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING", code)
        finally:
            await conn.close()

    run_to_completion(insert())
    return code


def run_to_completion(coro):
    """asyncio.run, also from inside a browser test (where Playwright's loop occupies this thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def unit_of_work(urls, tenant_id: str, work, actor: str = "plugin-test-data"):
    """Run ``await work(session)`` in one committed transaction of ``tenant_id`` as the app role (RLS applies), with
    ``actor`` as the audit trail's actor: how test data is made the way the pages would make it."""
    from core.audit.trail import bind_actor
    from core.database import create_engine, session_factory
    from core.tenancy.context import tenant_scope

    async def go():
        engine = create_engine(urls.app, pool_size=1)
        try:
            with tenant_scope(tenant_id):
                bind_actor(actor)
                async with session_factory(engine)() as session, session.begin():
                    return await work(session)
        finally:
            await engine.dispose()

    return run_to_completion(go())


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
        urls = run_to_completion(provision_embedded(server.superuser_url, "plugin-test-password"))
        migrate.upgrade(urls)
        run_to_completion(seed_registry(urls.owner))
        run_to_completion(seed_demo_tenants(urls.owner))
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
                      username: str | None = None, sub: str | None = None) -> tuple[str, str]:
    """A real server-side login session for a test user, made by the app's own session store (what the login
    callback does after Keycloak); returns (raw session id, CSRF token)."""
    from core.auth.oidc import scoped_roles
    from core.auth.sessions import NewSession, SessionStore, SessionTimeouts
    from core.database import create_engine, utc_now

    async def create():
        engine = create_engine(urls.app, pool_size=1)
        try:
            store = SessionStore(engine, SessionTimeouts(dt.timedelta(minutes=30), dt.timedelta(hours=10)))
            user_sub = sub or str(uuid.uuid4())
            return await store.create(NewSession(
                user_sub=user_sub, username=username or f"plugin-test-{user_sub[:8]}", display_name=display_name,
                organizations=[tenant_id], tenant_id=tenant_id, roles=scoped_roles(tenant_id, roles),
                keycloak_sid=None,
                id_token="not-a-real-id-token", refresh_token=None,
                access_expires_at=utc_now() + dt.timedelta(hours=1),
            ))
        finally:
            await engine.dispose()

    return run_to_completion(create())


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
               username: str | None = None, user: StaffUser | None = None) -> Iterator[Any]:
        """A TestClient logged in as a user of ``tenant_id`` (default: the plugin's tenant) with ``roles``, or as
        ``user`` (from ``kyosei_data.staff()``: their tenant, roles and id, so their assignments count).

        The CSRF token is sent on every request (header ``X-CSRF-Token``) and kept as ``client.csrf``.
        """
        from litestar.testing import TestClient

        if user is not None:
            raw, csrf = open_test_session(self.urls, user.tenant_id, user.roles, display_name=user.name,
                                          username=user.username, sub=user.sub)
        else:
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
        ensure_tenant(urls, tenant_id)
        plugins = plugin if isinstance(plugin, (list, tuple)) else [plugin]
        host = build_host((), entry_points=entry_points, extra=plugins, timeout=timeout)
        names = [p.PLUGIN.name for p in plugins if p.PLUGIN.name in host.plugins]
        for name in names:
            made.append(name)
            run_to_completion(operator.approve(urls.owner, host.plugins[name].info))
            if enable:
                run_to_completion(operator.set_enabled(urls.owner, tenant_id, name, True, settings_values))
        app = composition.create_app(settings, app_database_url=urls.app, plugin_host=host)
        return PluginTestApp(app=app, urls=urls, tenant_id=tenant_id, plugin_names=names)

    yield make
    for name in made:
        run_to_completion(operator.forget(urls.owner, name))


# -- test data, one call each ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StaffUser:
    """A staff member of one municipality, as a login session would carry them."""

    tenant_id: str
    sub: str
    name: str
    username: str
    roles: tuple[str, ...]


class TestData:
    """Tenants, staff, households, cases and consents, written through Kyosei's own services (the same rules,
    audit entries and tenant wall as the pages). Returned ids are strings."""

    __test__ = False  # not a test class, whatever pytest thinks of its name

    def __init__(self, urls) -> None:
        self.urls = urls

    def _work(self, tenant_id: str, work, actor: str = "plugin-test-data"):
        return unit_of_work(self.urls, tenant_id, work, actor)

    def tenant(self, code: str) -> str:
        """Make ``code`` a tenant (any Kochi municipality code); ``UnknownMunicipality`` otherwise."""
        return ensure_tenant(self.urls, code)

    def staff(self, tenant_id: str, roles: tuple[str, ...] = ("staff",), name: str = "試験 職員",
              kana: str | None = None) -> StaffUser:
        """A staff member with ``roles`` in ``tenant_id``, listed in its staff directory (pickable by name)."""
        from core.auth.staff_directory import record_sign_in
        from core.database import create_engine

        self.tenant(tenant_id)
        sub = str(uuid.uuid4())
        user = StaffUser(tenant_id=tenant_id, sub=sub, name=name, username=f"staff-{sub[:8]}", roles=tuple(roles))

        async def listed():
            engine = create_engine(self.urls.app, pool_size=1)
            try:
                await record_sign_in(engine, tenant_id, sub=sub, username=user.username, display_name=name, kana=kana)
            finally:
                await engine.dispose()

        run_to_completion(listed())
        return user

    def case(self, tenant_id: str, *, assignee: StaffUser | None = None, name: str = "山田 太郎",
             kana: str = "やまだ たろう", members: list[dict] | None = None, fields: tuple[str, ...] = ("elderly",),
             received_on: dt.date | None = None, extras: dict | None = None) -> str:
        """An intake (相談受付) with a new household: 本人 ``name``/``kana`` plus ``members``; ``assignee``
        becomes 主担当. Returns the case id."""
        from core.auth.principal import Principal
        from core.cases import service
        from core.wareki import today

        self.tenant(tenant_id)
        worker = assignee or self.staff(tenant_id, roles=("staff",))
        principal = Principal(sub=worker.sub, username=worker.username, display_name=worker.name,
                              tenant_id=tenant_id, tenant_name=None, roles=frozenset(worker.roles) | {"staff"})
        body = {"received_on": (received_on or today()).isoformat(), "receiving_staff": worker.name,
                "route": "counter", "members": [{"name": name, "kana": kana}, *(members or [])],
                "fields": list(fields), "extras": extras or {}}

        async def work(session):
            return str((await service.create_intake(session, body, principal)).id)

        return self._work(tenant_id, work, actor=worker.sub)

    def consent(self, tenant_id: str, case_id: str, *, purpose: str, given_on: dt.date | None = None,
                expires_on: dt.date | None = None, meeting_kinds: tuple[str, ...] = ("multilayer_meeting",),
                items: tuple[str, ...] = ()) -> str:
        """A consent of the case's 本人 for ``purpose`` (a purpose code of ``core.plugin_data.consent_purposes()``
        or a plugin's), valid from ``given_on`` (default: today) to ``expires_on``. Returns the consent id."""
        from core.cases import service
        from core.wareki import today

        data = {"given_on": (given_on or today()).isoformat(), "purposes": [purpose],
                "meeting_kinds": list(meeting_kinds), "items": list(items), "method": "written"}
        if expires_on is not None:
            data["expires_on"] = expires_on.isoformat()

        async def work(session):
            case = await service.get_case(session, case_id)
            return str((await service.record_consent(session, case, data)).id)

        return self._work(tenant_id, work)

    def revoke(self, tenant_id: str, consent_id: str, reason: str = "本人の申し出") -> None:
        """Revoke a consent (撤回) today."""
        from core.cases import service

        async def work(session):
            await service.revoke_consent(session, await service.get_consent(session, consent_id), {"reason": reason})

        self._work(tenant_id, work)

    def close(self, tenant_id: str, case_id: str, reason: str = "支援の終結") -> None:
        """Close a case (終結) with a reason."""
        from core.cases import service

        async def work(session):
            await service.transition(session, case_id, "closed", reason)

        self._work(tenant_id, work)

    def audit_reads(self, tenant_id: str, object_id: str) -> list[dict]:
        """The READ entries of the audit trail for one object (read as the owner: the app role cannot read it)."""

        async def fetch():
            import asyncpg

            conn = await asyncpg.connect(self.urls.owner)
            try:  # the owner is behind the wall too (FORCE ROW LEVEL SECURITY): bind the tenant first
                await conn.execute("SELECT set_config('app.tenant_id', $1, false)", tenant_id)
                rows = await conn.fetch(
                    "SELECT actor_sub, reason FROM audit_event WHERE tenant_id = $1 AND object_id = $2"
                    " AND action = 'read' ORDER BY seq", tenant_id, object_id)
                return [dict(r) for r in rows]
            finally:
                await conn.close()

        return run_to_completion(fetch())


@pytest.fixture()
def kyosei_data(kyosei_database) -> TestData:
    """``TestData`` on the test database: tenants, staff, cases and consents in one call each."""
    return TestData(kyosei_database[1])
