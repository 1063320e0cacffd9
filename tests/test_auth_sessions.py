"""The door, without a browser: who gets in, with which tenant, and what an unsafe request must carry.

Login itself goes through the real Keycloak in tests/test_keycloak_login.py; here sessions are opened the way the
callback opens them.
"""

import asyncio

from litestar.testing import TestClient

from core.app import create_app
from infra.database.provision import connect
from tests.sessions import login, open_session


def test_pages_redirect_to_login_and_the_api_answers_401(client):
    page = client.get("/", follow_redirects=False)
    assert page.status_code in (302, 303)
    assert page.headers["location"].startswith("/auth/login?next=")
    api = client.get("/api/registry/")
    assert api.status_code == 401
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["title"] == "ログインが必要です"


def test_htmx_request_without_login_is_told_where_to_go(client):
    response = client.get("/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 401
    assert response.headers["hx-redirect"] == "/auth/login"


def test_home_shows_the_municipality_and_the_user(client, database_urls):
    login(client, open_session(database_urls, "394017", ("staff", "coordinator"), display_name="山本 花子"))
    page = client.get("/")
    assert page.status_code == 200
    assert "中土佐町" in page.text
    assert "山本 花子" in page.text


def test_unknown_cookie_is_cleared(client):
    client.cookies.set("kyosei_session", "forged-value")
    response = client.get("/", follow_redirects=False)
    assert response.status_code in (302, 303)
    assert "kyosei_session=" in response.headers.get("set-cookie", "")


def test_logout_needs_the_csrf_token_and_ends_the_session(client, database_urls):
    session = login(client, open_session(database_urls))
    refused = client.post("/auth/logout", follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still logged in
    done = client.post("/auth/logout", data={"csrf_token": session.csrf}, follow_redirects=False)
    assert done.status_code in (302, 303)
    # The old cookie no longer opens anything.
    client.cookies.set("kyosei_session", session.raw)
    assert client.get("/", follow_redirects=False).status_code in (302, 303)


def test_csrf_token_in_the_htmx_header_is_accepted(client, database_urls):
    session = login(client, open_session(database_urls))
    response = client.post("/auth/logout", headers={"X-CSRF-Token": session.csrf}, follow_redirects=False)
    assert response.status_code in (302, 303)


def test_csrf_token_of_another_session_is_refused(client, database_urls):
    other = open_session(database_urls)
    login(client, open_session(database_urls))
    response = client.post("/auth/logout", headers={"X-CSRF-Token": other.csrf}, follow_redirects=False)
    assert response.status_code == 403


def test_tenant_header_cannot_switch_tenant(client, database_urls):
    login(client, open_session(database_urls, "394017"))
    response = client.get("/api/registry/", headers={"X-Kyosei-Tenant": "392049"})
    assert response.status_code == 403
    assert response.json()["title"] == "この団体のデータにはアクセスできません"


def test_user_of_two_organizations_chooses_and_cannot_choose_a_third(client, database_urls):
    session = login(
        client, open_session(database_urls, tenant_id=None, organizations=("394017", "392049"), display_name="佐藤 誠")
    )
    assert client.get("/", follow_redirects=False).headers["location"] == "/auth/tenant"
    choice = client.get("/auth/tenant")
    assert "中土佐町" in choice.text and "南国市" in choice.text
    refused = client.post("/auth/tenant", data={"tenant_id": "392014", "csrf_token": session.csrf}, follow_redirects=False)
    assert refused.status_code == 403
    chosen = client.post("/auth/tenant", data={"tenant_id": "392049", "csrf_token": session.csrf}, follow_redirects=False)
    assert chosen.status_code in (302, 303)
    assert "南国市" in client.get("/").text


def test_suspended_tenant_ends_the_session_with_a_clear_page(client, database_urls):
    async def set_status(status):
        conn = await connect(database_urls.owner)
        try:
            await conn.execute("INSERT INTO tenant (tenant_id) VALUES ('393011') ON CONFLICT DO NOTHING")
            await conn.execute("UPDATE tenant SET status = $1 WHERE tenant_id = '393011'", status)
        finally:
            await conn.close()

    asyncio.run(set_status("active"))
    login(client, open_session(database_urls, "393011"))
    assert client.get("/").status_code == 200
    asyncio.run(set_status("suspended"))
    page = client.get("/")
    assert page.status_code == 403
    assert "利用が停止されています" in page.text


def test_login_with_keycloak_down_shows_a_japanese_503(settings, database_urls):
    import dataclasses

    down = dataclasses.replace(settings, keycloak_url="http://127.0.0.1:9")
    with TestClient(app=create_app(down, app_database_url=database_urls.app)) as client:
        page = client.get("/auth/login", follow_redirects=False)
    assert page.status_code == 503
    assert "認証サーバーに接続できません" in page.text


def test_open_redirect_after_login_is_refused():
    from core.auth.routes import _safe_return_to

    assert _safe_return_to("/cases?q=1") == "/cases?q=1"
    for evil in ("https://evil.example", "//evil.example", "/\\evil.example", None, ""):
        assert _safe_return_to(evil) == "/"


def test_existing_session_keeps_working_while_keycloak_is_down(settings, database_urls):
    """Tokens due for refresh while Keycloak is unreachable: the local session goes on until its own timeouts."""
    import dataclasses
    import datetime as dt

    from core.auth.sessions import hash_id
    from core.database import utc_now

    session = open_session(database_urls, "394017")

    async def make_refresh_due():
        conn = await connect(database_urls.owner)
        try:
            await conn.execute(
                "UPDATE web_session SET refresh_token = 'r', access_expires_at = $2 WHERE id_hash = $1",
                hash_id(session.raw), utc_now() - dt.timedelta(minutes=1),
            )
        finally:
            await conn.close()

    asyncio.run(make_refresh_due())
    down = dataclasses.replace(settings, keycloak_url="http://127.0.0.1:9")
    with TestClient(app=create_app(down, app_database_url=database_urls.app)) as client:
        login(client, session)
        assert client.get("/").status_code == 200


def test_idle_session_expires(client, database_urls):
    import datetime as dt

    from core.auth.sessions import hash_id
    from core.database import utc_now

    session = login(client, open_session(database_urls, "394017"))

    async def age():
        conn = await connect(database_urls.owner)
        try:
            await conn.execute("UPDATE web_session SET last_seen_at = $2 WHERE id_hash = $1",
                               hash_id(session.raw), utc_now() - dt.timedelta(hours=2))
        finally:
            await conn.close()

    asyncio.run(age())
    assert client.get("/", follow_redirects=False).status_code in (302, 303)
