"""Fault drills: the database goes away or turns read-only while the service is running.

Users get a clear Japanese 503 (never a 500), nothing is half-written, and the service recovers by itself.
"""

import asyncio

import pytest

from infra.database.provision import DATABASE, connect
from tests.sessions import login, open_session


def superuser(pg_server, sql: str):
    async def go():
        # The maintenance database, not kyosei: a read-only kyosei would refuse to be switched back.
        conn = await connect(pg_server.superuser_url)
        try:
            return await conn.execute(sql)
        finally:
            await conn.close()

    return asyncio.run(go())


def test_postgres_restart_gives_clean_errors_then_recovers_without_restarting_the_app(client, database_urls, pg_server):
    login(client, open_session(database_urls))
    assert client.get("/").status_code == 200
    pg_server.stop()
    try:
        assert client.get("/readyz").status_code == 503
        page = client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 503
        assert "データベース" in page.text
        api = client.get("/api/registry/")
        assert api.status_code == 503
        assert api.headers["content-type"].startswith("application/problem+json")
    finally:
        pg_server.start()
    assert client.get("/readyz").status_code == 200
    assert client.get("/").status_code == 200


@pytest.fixture()
def read_only_database(pg_server):
    superuser(pg_server, f"ALTER DATABASE {DATABASE} SET default_transaction_read_only = on")
    superuser(pg_server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'kyosei_app'")
    try:
        yield
    finally:
        superuser(pg_server, f"ALTER DATABASE {DATABASE} RESET default_transaction_read_only")
        superuser(pg_server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'kyosei_app'")


@pytest.fixture()
def session_made_while_writable(database_urls):
    return open_session(database_urls)


def test_read_only_database_refuses_writes_clearly_and_keeps_data(
    client, session_made_while_writable, read_only_database
):
    session = login(client, session_made_while_writable)
    response = client.post(
        "/auth/logout", headers={"X-CSRF-Token": session.csrf, "Accept": "text/html"}, follow_redirects=False
    )
    assert response.status_code == 503
    assert "読み取り専用" in response.text
    # Reading still works, and the session was not half-removed: the user is still logged in.
    assert client.get("/", follow_redirects=False).status_code == 200
