"""Shared fixtures: one real embedded PostgreSQL per test session, migrated and seeded like production."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.settings import Settings
from infra.database.embedded import EmbeddedPostgres, free_port
from infra.database.provision import DatabaseUrls, provision_embedded


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory) -> Iterator[EmbeddedPostgres]:
    """A throwaway PostgreSQL 18 cluster on a free port (or the server in TEST_DATABASE_URL's place: not supported)."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg") / "data", free_port())
    server.start()
    try:
        yield server
    finally:
        server.destroy()


@pytest.fixture(scope="session")
def database_urls(pg_server: EmbeddedPostgres) -> DatabaseUrls:
    from core import migrate
    from tenants.seed import seed_demo_tenants, seed_registry

    urls = asyncio.run(provision_embedded(pg_server.superuser_url, "test-app-password"))
    migrate.upgrade(urls)
    asyncio.run(seed_registry(urls.owner))
    asyncio.run(seed_demo_tenants(urls.owner))
    return urls


@pytest.fixture(scope="session")
def settings(tmp_path_factory, pg_server: EmbeddedPostgres) -> Settings:
    env = {
        "KYOSEI_ENV": "test",
        "KYOSEI_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "KYOSEI_PG_PORT": str(pg_server.port),
        "LOG_FORMAT": "json",
    }
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        return Settings.from_env()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="module")
def app(settings: Settings, database_urls: DatabaseUrls):
    """One app per test module: building one registers ~1,500 route handlers (0.5–0.7 s), and ``client`` gives
    each test its own TestClient (its own cookies, start-up and shut-down) over it. Everything the app keeps
    between requests lives in PostgreSQL (sessions, plugin enablement behind its generation counter)."""
    from core.app import create_app

    return create_app(settings, app_database_url=database_urls.app)


@pytest.fixture()
def client(app):
    from litestar.testing import TestClient

    with TestClient(app=app) as client:
        yield client


def run(coro):
    """asyncio.run, also from inside a browser test (where Playwright's loop occupies this thread)."""
    from core.plugins.testing import run_to_completion

    return run_to_completion(coro)


def saved_as(response) -> str:
    """The Japanese name a browser saves a download under (RFC 6266 ``filename*``, core/documents/download.py);
    the ASCII ``filename`` must be there too, for older clients."""
    from urllib.parse import unquote

    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.split('"')[1].isascii(), disposition
    return unquote(disposition.split("filename*=UTF-8''", 1)[1])


PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def staff_session(database_urls):
    from tests.sessions import open_session

    return open_session(database_urls, "394017", ("staff", "coordinator"))


# -- real Keycloak and a live app (slow tests) -----------------------------------------------------------------
DEMO_PASSWORD = "kyosei-demo"


@pytest.fixture(scope="session")
def keycloak():
    """One real Keycloak 26 per test session, in-memory store, free ports, realm kochi imported."""
    from infra.keycloak.admin import KeycloakAdmin, seed_demo_memberships
    from infra.keycloak.server import KeycloakServer

    server = KeycloakServer(free_port())
    server.start()
    try:
        server.wait_ready(timeout=240)
        with KeycloakAdmin(server.base_url) as admin:
            admin.add_test_client_with_password_grant()
            seed_demo_memberships(admin)  # roles per municipality live in organization groups
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def keycloak_admin(keycloak):
    from infra.keycloak.admin import KeycloakAdmin

    with KeycloakAdmin(keycloak.base_url) as admin:
        yield admin


@pytest.fixture(scope="session")
def live_app(keycloak, keycloak_admin, settings, database_urls):
    """The real app over HTTP on a free port, talking to the real Keycloak."""
    import dataclasses

    from core.app import create_app
    from tests.live import serve

    port = free_port()
    live_settings = dataclasses.replace(
        settings, keycloak_url=keycloak.base_url, public_url=f"http://127.0.0.1:{port}", port=port
    )
    keycloak_admin.set_backchannel_logout_url(f"{live_settings.public_url}/auth/backchannel-logout")
    with serve(create_app(live_settings, app_database_url=database_urls.app), port) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Module-scoped: Playwright's sync API keeps an event loop running on this thread while it is open, which
    would make every later ``asyncio.run`` in the session fail."""
    from playwright.sync_api import sync_playwright

    from tests.live import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser):
    # 1280×800: the desktop size the screenshots for review are taken at (python -m infra.screenshots)
    context = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(20000)
    try:
        yield page
    finally:
        context.close()


def keycloak_login(page, base_url: str, username: str, password: str = DEMO_PASSWORD, *, audit: bool = False) -> None:
    """Through the real Keycloak login page: username first, then password (organizations are enabled).

    ``audit``: run axe-core (WCAG 2.0 AA) on both login steps too (tests/browser_checks.py)."""
    from tests.browser_checks import assert_accessible, screenshot

    page.goto(f"{base_url}/")
    if audit:
        assert_accessible(page, "Keycloak login: username step")
        screenshot(page, "keycloak-username")
    page.fill("#username", username)
    page.click("#kc-login")
    page.wait_for_selector("#password")
    if audit:
        assert_accessible(page, "Keycloak login: password step")
        screenshot(page, "keycloak-password")
    page.fill("#password", password)
    page.click("#kc-login")
    page.wait_for_url(f"{base_url}/**")
