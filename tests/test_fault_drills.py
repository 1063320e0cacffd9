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


def test_a_double_click_that_loses_the_race_for_a_row_is_told_so_not_a_server_error(settings, database_urls):
    """Six 「年度を登録」 at once for the same 年度 (a double click, a reload): each checks that the 年度 is new, all
    insert, the unique key lets one through. The others were 500s; now 409 in Japanese (or the form's own 422 when
    they came late enough to see the first), and exactly one 年度 is stored. 2063 is a 年度 no other test registers
    (2046 was test_grants_pages's, which failed when this drill ran first)."""
    import concurrent.futures

    import httpx

    from core.app import create_app
    from infra.database.embedded import free_port
    from tests.db import fetch
    from tests.live import serve

    session = open_session(database_urls, "394017", ("staff", "tenant-admin"))

    def register(url: str) -> tuple[int, str]:
        with httpx.Client(base_url=url, cookies={"kyosei_session": session.raw}, timeout=60) as browser:
            answer = browser.post("/grants/years", data={"csrf_token": session.csrf, "fiscal_year": "2063"},
                                  headers={"accept": "text/html"}, follow_redirects=False)
            return answer.status_code, answer.text

    with serve(create_app(settings, app_database_url=database_urls.app), free_port()) as url:
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(register, [url] * 6))
    statuses = sorted(status for status, _ in answers)
    assert statuses.count(303) == 1 and set(statuses) <= {303, 409, 422}, statuses
    assert all("同じ操作が同時に行われました" in text for status, text in answers if status == 409)
    assert fetch(database_urls.owner, "SELECT count(*) FROM grant_fiscal_year WHERE fiscal_year = 2063",
                 tenant="394017")[0][0] == 1


def test_a_connection_lost_under_the_session_lookup_is_a_clear_503_not_a_server_error(client, database_urls,
                                                                                     monkeypatch):
    import asyncpg

    from core.auth.sessions import SessionStore

    login(client, open_session(database_urls))

    async def lost(self, raw):
        raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation")

    monkeypatch.setattr(SessionStore, "load", lost)
    page = client.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 503 and "データベース" in page.text and page.headers["retry-after"] == "5"
    api = client.get("/api/cases")
    assert api.status_code == 503 and api.headers["content-type"].startswith("application/problem+json")
