"""Against the real Keycloak: roles are per municipality (organization groups), a logged-out session's bearer
token is refused at once, and logging out leaves no htmx history in the tab (issue #16)."""

from __future__ import annotations

import httpx
import jwt
import pytest

from infra.keycloak.realm import WEB_CLIENT_ID, WEB_CLIENT_SECRET
from tests.conftest import DEMO_PASSWORD, keycloak_login
from tests.db import fetch

pytestmark = [pytest.mark.slow, pytest.mark.keycloak]

NAKATOSA, NANKOKU = "394017", "392049"


def bearer(live_app, token, path, tenant=None):
    headers = {"Authorization": f"Bearer {token}"}
    if tenant:
        headers["X-Kyosei-Tenant"] = tenant
    return httpx.get(f"{live_app}{path}", headers=headers)


def test_multi_sato_is_tenant_admin_in_nakatosa_and_only_staff_in_nankoku(live_app, keycloak_admin):
    token = keycloak_admin.password_grant("multi.sato", DEMO_PASSWORD, scope="openid organization:*")["access_token"]
    assert bearer(live_app, token, "/api/cases/access-grants", NAKATOSA).status_code == 200
    refused = bearer(live_app, token, "/api/cases/access-grants", NANKOKU)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert bearer(live_app, token, "/api/admin/staff", NAKATOSA).status_code == 200
    assert bearer(live_app, token, "/api/admin/staff", NANKOKU).status_code == 403


def test_multi_sato_in_nankoku_gets_403_on_the_admin_pages(page, live_app):
    keycloak_login(page, live_app, "multi.sato")
    page.click("text=南国市")
    page.wait_for_url(f"{live_app}/")
    assert "団体管理者" not in page.inner_text("header")
    for path in ("/admin/staff", "/admin/break-glass", "/cases/access-log"):
        assert page.goto(f"{live_app}{path}").status == 403, path


def _token_of_browser_session(database_urls, keycloak, username: str) -> str:
    """An access token of the browser's Keycloak session (same ``sid``), as an API client of that login has."""
    row = fetch(database_urls.owner, "SELECT refresh_token FROM web_session WHERE username = $1 "
                                     "ORDER BY created_at DESC LIMIT 1", username)[0]
    response = httpx.post(f"{keycloak.issuer}/protocol/openid-connect/token", data={
        "grant_type": "refresh_token", "refresh_token": row["refresh_token"]}, auth=(WEB_CLIENT_ID, WEB_CLIENT_SECRET))
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def test_logout_ends_the_bearer_token_of_that_session_and_the_htmx_history(page, live_app, database_urls, keycloak):
    keycloak_login(page, live_app, "nakatosa.staff2")
    token = _token_of_browser_session(database_urls, keycloak, "nakatosa.staff2")
    assert bearer(live_app, token, "/api/registry/").status_code == 200
    page.click("a[href='/cases']")
    page.wait_for_url(f"{live_app}/cases**")
    assert page.evaluate("sessionStorage.getItem('htmx-history-cache')") is None  # nothing kept while working
    page.evaluate("sessionStorage.setItem('htmx-history-cache', '[{\"url\": \"/cases/x\"}]')")  # an older page's

    page.click("form[action='/auth/logout'] button")
    page.wait_for_selector("#username")  # Keycloak's login page: the Keycloak session is over
    assert bearer(live_app, token, "/api/registry/").status_code == 401  # not yet expired, but logged out
    page.goto(f"{live_app}/healthz")
    assert page.evaluate("sessionStorage.getItem('htmx-history-cache')") is None


def test_a_keycloak_side_logout_ends_the_bearer_token_too(page, live_app, database_urls, keycloak, keycloak_admin):
    keycloak_login(page, live_app, "kochi.suzuki")
    token = _token_of_browser_session(database_urls, keycloak, "kochi.suzuki")
    assert bearer(live_app, token, "/api/registry/").status_code == 200
    keycloak_admin.logout_user(keycloak_admin.find_user("kochi.suzuki")["id"])  # back-channel logout to the app
    assert bearer(live_app, token, "/api/registry/").status_code == 401


def test_a_plugin_role_is_an_organization_group_that_counts_only_in_its_municipality(keycloak_admin):
    from core.auth.oidc import roles_of

    org = keycloak_admin.find_organization(NAKATOSA)["id"]
    user = keycloak_admin.find_user("multi.sato")["id"]
    group = keycloak_admin.ensure_organization_group(org, "coordinator_a", "coordinator")  # コーディネーターA
    keycloak_admin.join_organization_group(org, group, user)
    try:
        token = keycloak_admin.password_grant("multi.sato", DEMO_PASSWORD, scope="openid organization:*")["access_token"]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert roles_of(claims, "kyosei-web", NAKATOSA) >= {"coordinator_a", "coordinator", "tenant-admin", "staff"}
        assert roles_of(claims, "kyosei-web", NANKOKU) == {"staff"}
    finally:
        keycloak_admin.leave_organization_group(org, group, user)


def test_move_roles_turns_realm_wide_roles_into_the_members_organization_groups(keycloak_admin):
    from infra.keycloak.admin import move_client_roles_into_organization_groups

    sakawa = keycloak_admin.find_organization("394025")["id"]  # 佐川町: no other test uses it
    user = keycloak_admin.ensure_user("legacy.admin", "legacy.admin@sakawa.example", "旧", "管理者")
    keycloak_admin.add_member(sakawa, user)
    keycloak_admin.grant_client_roles(user, roles=["staff", "tenant-admin", "vendor"])
    assert move_client_roles_into_organization_groups(keycloak_admin, ["394025"]) == 2
    assert keycloak_admin.member_groups(sakawa, user) == {"staff", "tenant-admin"}
    assert keycloak_admin.client_roles_of(user) & {"staff", "tenant-admin", "vendor"} == {"vendor"}
    assert move_client_roles_into_organization_groups(keycloak_admin, ["394025"]) == 0  # idempotent
