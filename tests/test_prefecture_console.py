"""The prefecture console: who may enter, onboarding (idempotent, step list), suspend and resume, pages render."""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import run
from tests.db import fetch
from tests.sessions import login, open_session

PREFECTURE = "390003"
PAGES = ["/prefecture", "/prefecture/tenants", "/prefecture/onboarding", "/prefecture/roadmap",
         "/prefecture/surveys", "/prefecture/schedule", "/prefecture/aggregates"]


@pytest.fixture()
def directory(app, keycloak, settings):
    """The real Keycloak of the test session, reached as the app reaches it (the ``kyosei-admin`` service
    account); logouts are noted on the way through so a test can say whom suspension logged out."""
    from tenants.directory import KeycloakDirectory

    class NotingDirectory(KeycloakDirectory):
        logged_out: list[str] = []

        def logout_user(self, user_id: str) -> None:
            super().logout_user(user_id)
            self.logged_out.append(user_id)

    real = NotingDirectory(keycloak.base_url, settings.keycloak_realm, settings.admin_client_id,
                           settings.admin_client_secret, timeout=10)
    real.logged_out = []
    before = app.state.get("identity_directory")
    app.state.identity_directory = real
    yield real
    app.state.identity_directory = before  # the app is the module's: the tests after this one get theirs back
    real.close()


@pytest.fixture()
def prefecture(database_urls):
    return open_session(database_urls, PREFECTURE, ("prefecture-admin",), display_name="高知 県子")


def tenant_status(urls, code):
    rows = fetch(urls.owner, "SELECT status FROM tenant WHERE tenant_id = $1", code)
    return rows[0]["status"] if rows else None


def test_only_the_prefecture_admin_enters_the_console(client, database_urls):
    for tenant, roles in (("394017", ("staff", "tenant-admin", "coordinator", "auditor")),
                          (PREFECTURE, ("staff",)), ("392049", ("prefecture-admin",))):
        login(client, open_session(database_urls, tenant, roles))
        for page in PAGES:
            response = client.get(page, headers={"Accept": "text/html"})
            assert response.status_code == 403, (tenant, roles, page)
            assert "県の管理画面は、高知県の県管理者だけが利用できます" in response.text


def test_every_console_page_renders_in_japanese_for_the_prefecture_admin(client, prefecture):
    login(client, prefecture)
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 200, page
        assert 'lang="ja"' in response.text
        assert "県の管理" in response.text  # the navigation entry


@pytest.mark.slow
@pytest.mark.keycloak
def test_onboarding_creates_the_tenant_and_reports_already_there_when_repeated(client, prefecture, directory, database_urls):
    code = "393045"  # 安田町
    login(client, prefecture)
    page = client.get("/prefecture/onboarding")
    assert f'value="{code}"' in page.text  # offered: no tenant yet
    started = time.perf_counter()
    first = client.post("/prefecture/onboarding", data={"code": code, "admin_email": "Admin@Yasuda.example",
                                                        "admin_name": "安田 一郎", "csrf_token": prefecture.csrf})
    elapsed = time.perf_counter() - started
    print(f"\nonboarding through the wizard took {elapsed:.3f}s (budget 5s)")
    assert first.status_code == 200
    assert "すべての手順が完了しました" in first.text
    outcomes = dict(re.findall(r'data-step="(\w+)" data-outcome="(\w+)"', first.text))
    # the realm already carries an organization per municipality; onboarding finds it and adds to it
    assert outcomes == {"registry": "done", "tenant": "done", "organization": "already", "roles": "already",
                        "admin": "done", "membership": "done", "plugins": "skipped"}
    password = re.search(r'id="temporary-password">([^<]+)<', first.text).group(1)
    assert len(password) == 16
    assert tenant_status(database_urls, code) == "active"
    user = directory.find_user("admin@yasuda.example")
    assert user["requiredActions"] == ["UPDATE_PASSWORD"]
    org = directory.find_organization(code)
    # roles of this municipality only: its organization groups, not realm-wide client roles
    assert directory.member_groups(org["id"], user["id"]) >= {"tenant-admin", "staff"}
    assert not directory.client_roles_of(user["id"]) & {"tenant-admin", "staff"}
    assert user["id"] in {m["id"] for m in directory.members(org["id"])}

    again = client.post("/prefecture/onboarding", data={"code": code, "admin_email": "admin@yasuda.example",
                                                        "csrf_token": prefecture.csrf})
    outcomes = dict(re.findall(r'data-step="(\w+)" data-outcome="(\w+)"', again.text))
    assert outcomes == {"registry": "done", "tenant": "already", "organization": "already", "roles": "already",
                        "admin": "already", "membership": "already", "plugins": "skipped"}
    assert "temporary-password" not in again.text  # shown once only
    assert f'value="{code}"' not in client.get("/prefecture/onboarding").text  # no longer offered


@pytest.mark.slow
@pytest.mark.keycloak
def test_onboarding_refuses_the_prefecture_and_codes_outside_kochi(client, prefecture, directory):
    login(client, prefecture)
    for code in ("390003", "131016", "12345x"):
        response = client.post("/prefecture/onboarding", data={"code": code, "admin_email": "a@b.example",
                                                               "csrf_token": prefecture.csrf})
        assert response.status_code == 422
        assert "field-error" in response.text


def test_the_app_role_cannot_onboard_unless_bound_to_the_prefecture(database_urls):
    import asyncpg

    async def attempt():
        from infra.database.provision import connect

        conn = await connect(database_urls.app)
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', '394017', true)")
                await conn.fetchval("SELECT onboard_tenant('393070')")
        finally:
            await conn.close()

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        run(attempt())
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        fetch(database_urls.app, "INSERT INTO tenant (tenant_id) VALUES ('393070')")
    assert tenant_status(database_urls, "393070") is None


@pytest.mark.slow
@pytest.mark.keycloak
def test_suspending_blocks_the_tenants_users_and_resuming_restores_them(client, prefecture, directory, database_urls):
    code = "393053"  # 北川村
    login(client, prefecture)
    client.post("/prefecture/onboarding", data={"code": code, "admin_email": "admin@kitagawa.example",
                                                "csrf_token": prefecture.csrf})
    villager = open_session(database_urls, code, ("staff", "tenant-admin"))
    login(client, villager)
    assert client.get("/").status_code == 200

    login(client, prefecture)
    report = client.post(f"/prefecture/tenants/{code}/suspend", data={"csrf_token": prefecture.csrf})
    assert report.status_code == 200 and "利用停止" in report.text
    assert tenant_status(database_urls, code) == "suspended"
    assert directory.find_organization(code)["enabled"] is False
    admin_id = directory.find_user("admin@kitagawa.example")["id"]
    assert admin_id in directory.logged_out  # the organization's members were logged out of Keycloak

    login(client, villager)
    refused = client.get("/", follow_redirects=False)
    assert refused.status_code in (302, 303) and "reason=suspended" in refused.headers["location"]
    page = client.get(refused.headers["location"])
    assert "利用が停止されています" in page.text and "データは保持されています" in page.text

    login(client, prefecture)
    assert "利用停止中" in client.get("/prefecture/tenants").text
    client.post(f"/prefecture/tenants/{code}/resume", data={"csrf_token": prefecture.csrf})
    assert tenant_status(database_urls, code) == "active"
    assert directory.find_organization(code)["enabled"] is True
    login(client, open_session(database_urls, code, ("staff",)))
    assert client.get("/").status_code == 200


@pytest.mark.slow
@pytest.mark.keycloak
def test_the_prefecture_cannot_suspend_itself_or_a_municipality_that_is_no_tenant(client, prefecture, directory, database_urls):
    login(client, prefecture)
    for code in (PREFECTURE, "393061"):
        response = client.post(f"/prefecture/tenants/{code}/suspend", data={"csrf_token": prefecture.csrf},
                               follow_redirects=False)
        assert response.status_code == 303
    assert tenant_status(database_urls, PREFECTURE) == "active"
    assert tenant_status(database_urls, "393061") is None


def test_a_municipality_without_a_plugin_of_its_own_starts_with_none():
    from tenants.onboarding import default_plugins_for

    assert default_plugins_for("393037") == []


@pytest.mark.slow
@pytest.mark.keycloak
def test_onboarding_enables_the_municipalitys_approved_default_plugins(client, prefecture, directory, database_urls,
                                                                        monkeypatch):
    """A municipality with a bundled plugin of its own starts with it enabled — once the prefecture approved it;
    a re-run never switches back on a plugin the municipality has switched off."""
    import tenants.onboarding as onboarding
    from core.plugins import operator
    from plugins import nakatosa

    code, waiting = "394050", "394076"  # 梼原町, 日高村: no tenant yet
    monkeypatch.setattr(onboarding, "MUNICIPALITY_PLUGINS",
                        {code: ("nakatosa",), waiting: ("not_yet_approved",)})
    run(operator.approve(database_urls.owner, nakatosa.PLUGIN))
    login(client, prefecture)

    def onboard(c):
        page = client.post("/prefecture/onboarding", data={"code": c, "admin_email": f"admin@{c}.example",
                                                           "csrf_token": prefecture.csrf})
        return dict(re.findall(r'data-step="(\w+)" data-outcome="(\w+)"', page.text)), page.text

    def enabled(c):
        rows = fetch(database_urls.owner, "SELECT plugin_name, enabled FROM tenant_plugin WHERE tenant_id = $1", c,
                     tenant=c)
        return {r["plugin_name"]: r["enabled"] for r in rows}

    outcomes, _ = onboard(code)
    assert outcomes["plugins"] == "done"
    assert enabled(code) == {"nakatosa": True}

    run(operator.set_enabled(database_urls.owner, code, "nakatosa", False))
    outcomes, _ = onboard(code)
    assert outcomes["plugins"] == "already" and enabled(code) == {"nakatosa": False}

    outcomes, text = onboard(waiting)
    assert outcomes["plugins"] == "skipped" and "県の承認待ち" in text
    assert enabled(waiting) == {}


def test_the_console_speaks_to_prefecture_staff(client, database_urls):
    """No command lines, no documentation paths, no product names of the plumbing; 年度 are chosen as 和暦."""
    login(client, open_session(database_urls, "390003", ("prefecture-admin",)))
    for path in ("/prefecture/tenants", "/prefecture/onboarding", "/prefecture/roadmap", "/prefecture/schedule",
                 "/prefecture/surveys", "/prefecture/aggregates", "/prefecture/support"):
        page = client.get(path)
        assert page.status_code == 200, path
        for word in ("Keycloak", "kyosei ", "docs/", "<code>", "西暦"):
            assert word not in page.text, (path, word)
    for path in ("/prefecture/surveys", "/prefecture/aggregates", "/prefecture/schedule", "/prefecture/support"):
        select = re.search(r'<select id="f-(?:fy|fiscal_year)" name="fiscal_year">(.*?)</select>', client.get(path).text, re.S)
        assert select and "令和" in select.group(1), path
