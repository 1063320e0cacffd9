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


@pytest.fixture()
def app(settings: Settings, database_urls: DatabaseUrls):
    from core.app import create_app

    return create_app(settings, app_database_url=database_urls.app)


@pytest.fixture()
def client(app):
    from litestar.testing import TestClient

    with TestClient(app=app) as client:
        yield client


def run(coro):
    return asyncio.run(coro)


PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def staff_session(database_urls):
    from tests.sessions import open_session

    return open_session(database_urls, "394017", ("staff", "coordinator"))
