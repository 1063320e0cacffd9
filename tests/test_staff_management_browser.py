"""Staff management in the browser against the real Keycloak (issue #16): a new municipality's first admin is
guided from the home page to invite a staff member, who logs in and sees only their own cases; a retired member
cannot log in and is no longer pickable."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.browser_checks import assert_accessible, assert_journey_page
from tests.cases_support import intake_body, principal, unit_of_work
from tests.conftest import run

pytestmark = [pytest.mark.slow, pytest.mark.keycloak, pytest.mark.browser]

OCHI = "394033"  # 越知町: no other test onboards it
NEW_PASSWORD = "Ochi-staff-2026!"


def first_login(page, base_url: str, username: str, password: str) -> None:
    """Keycloak's two-step login, then the required password change of a one-time password."""
    page.goto(f"{base_url}/")
    page.fill("#username", username)
    page.click("#kc-login")
    page.fill("#password", password)
    page.click("#kc-login")
    page.wait_for_selector("input[name='password-new']")
    page.fill("input[name='password-new']", NEW_PASSWORD)
    page.fill("input[name='password-confirm']", NEW_PASSWORD)
    page.click("[type=submit]")
    page.wait_for_url(f"{base_url}/**")


@pytest.fixture(scope="module")
def ochi_admin(keycloak, settings, database_urls):
    """越知町 onboarded as the prefecture would: tenant row, organization, role groups, first admin."""
    from tenants.directory import KeycloakDirectory
    from tenants.lifecycle import prefecture_unit_of_work
    from tenants.onboarding import onboard

    async def go():
        with KeycloakDirectory(keycloak.base_url, settings.keycloak_realm, settings.admin_client_id,
                               settings.admin_client_secret) as directory:
            async with prefecture_unit_of_work(database_urls.app, "test") as session:
                return await onboard(session, directory, OCHI, "admin@ochi.example")

    report = run(go())
    assert report.ok and report.temporary_password
    return "admin@ochi.example", report.temporary_password


def _case_for(database_urls, sub: str, name: str) -> str:
    async def work(session):
        from core.cases import service

        body = intake_body(members=[{"name": name, "kana": "おち たろう", "birth_date": "1970-01-01"}])
        return (await service.create_intake(session, body, principal(OCHI, ("staff",), sub=sub))).case_number

    return unit_of_work(database_urls, OCHI, work)


def test_the_first_admin_invites_a_staff_member_who_sees_only_their_cases(page, browser, live_app, ochi_admin,
                                                                          database_urls):
    username, password = ochi_admin
    first_login(page, live_app, username, password)
    assert "越知町" in page.inner_text("header")
    assert_accessible(page, "home of a new municipality's first admin")
    # the home page's setup card (issue 19's cards, #16's rule) guides a lone first admin there
    page.click("#today-setup a[href='/admin/staff']")
    page.wait_for_url(f"{live_app}/admin/staff")
    assert_accessible(page, "/admin/staff")
    page.fill("#f-family_name", "越知")
    page.fill("#f-given_name", "花子")
    page.fill("#f-email", "hanako@ochi.example")
    page.click("#invite button[type=submit]")
    page.wait_for_selector("#temporary-password")
    temporary = page.inner_text("#temporary-password").strip()
    assert re.fullmatch(r"[A-Za-z0-9]{16}", temporary)
    assert_accessible(page, "/admin/staff showing a one-time password")
    row = page.locator("tr[data-user='hanako@ochi.example']")
    assert "越知 花子" in row.inner_text()

    # one case received by 花子 (she is its assignee), one by somebody else
    sub = run(_sub_of(database_urls, "hanako@ochi.example"))
    mine = _case_for(database_urls, sub, "越知 自分")
    other = _case_for(database_urls, None, "越知 他人")

    staff_page = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo").new_page()
    try:
        first_login(staff_page, live_app, "hanako@ochi.example", temporary)
        header = staff_page.inner_text("header")
        assert "越知 花子" in header and "団体管理者" not in header
        staff_page.goto(f"{live_app}/cases")
        listing = staff_page.inner_text("main")
        assert mine in listing and other not in listing
        assert_accessible(staff_page, "/cases of a newly invited member")
        assert staff_page.goto(f"{live_app}/admin/staff").status == 403
    finally:
        staff_page.context.close()


async def _sub_of(urls, username: str) -> str:
    from tests.db import owner_fetch

    rows = await owner_fetch(urls.owner, OCHI, "SELECT user_sub FROM staff_directory WHERE username = $1", username)
    return rows[0]["user_sub"]


def test_a_retired_member_cannot_log_in_and_is_not_pickable(page, browser, live_app, ochi_admin, database_urls,
                                                            keycloak_admin):
    username, _ = ochi_admin
    admin_id = keycloak_admin.find_user(username)["id"]
    keycloak_admin.set_password(admin_id, NEW_PASSWORD)  # whether or not the first test changed it
    keycloak_admin.request("PUT", f"/users/{admin_id}", json={**keycloak_admin._get(f"/users/{admin_id}"),
                                                                 "requiredActions": []})
    page.goto(f"{live_app}/")
    page.fill("#username", username)
    page.click("#kc-login")
    page.fill("#password", NEW_PASSWORD)
    page.click("#kc-login")
    page.wait_for_url(f"{live_app}/**")
    page.goto(f"{live_app}/admin/staff")
    page.fill("#f-family_name", "越知")
    page.fill("#f-given_name", "退職予定")
    page.fill("#f-email", "leaving@ochi.example")
    page.click("#invite button[type=submit]")
    page.wait_for_selector("#temporary-password")
    temporary = page.inner_text("#temporary-password").strip()
    assert "leaving@ochi.example" in page.request.get(f"{live_app}/cases/staff-picker?q=退職予定").text()

    row = page.locator("tr[data-user='leaving@ochi.example']")
    row.locator("input[name=roles][value=auditor]").check()  # a role given in this municipality only
    row.locator("text=役割を保存").click()
    page.wait_for_selector("text=役割を更新しました")
    org = keycloak_admin.find_organization(OCHI)["id"]
    leaving = keycloak_admin.find_user("leaving@ochi.example")["id"]
    assert keycloak_admin.member_groups(org, leaving) == {"staff", "auditor"}
    assert not keycloak_admin.client_roles_of(leaving) & {"staff", "auditor"}

    row = page.locator("tr[data-user='leaving@ochi.example']")
    row.locator("input[name=confirm]").check()
    row.locator("text=退職にする").click()
    page.wait_for_selector("text=退職として記録しました")
    assert page.locator("tr[data-user='leaving@ochi.example'] input[name=confirm]").count() == 0
    assert "leaving@ochi.example" not in page.request.get(f"{live_app}/cases/staff-picker?q=退職予定").text()
    assert keycloak_admin.find_user("leaving@ochi.example")["enabled"] is False

    other = browser.new_context(locale="ja-JP").new_page()
    try:
        other.goto(f"{live_app}/")
        other.fill("#username", "leaving@ochi.example")
        other.click("#kc-login")
        other.wait_for_load_state()
        if other.locator("#password").count():  # Keycloak may ask for the password before refusing
            other.fill("#password", temporary)
            other.click("#kc-login")
            other.wait_for_load_state()
        assert other.url.startswith(keycloak_admin.base_url)  # never back at the app: the account is disabled
        assert other.locator("input[name='password-new']").count() == 0
    finally:
        other.context.close()
    assert httpx.get(f"{live_app}/healthz").status_code == 200
    # the admin pages of issue 16 owe what every journey page owes (issue 19): WCAG 2.0 AA, the same look by menu
    for path in ("/admin/staff", "/admin/break-glass", "/admin/audit", "/admin/audit?person=越知"):
        assert_journey_page(page, live_app, path)
