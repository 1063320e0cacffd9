"""Vendors log in through the real Keycloak as members of 高知県 with the vendor role only, reach the vendor seat
and see no municipality's data; ``kyosei plugins vendor-user`` seats an account the same way."""

from __future__ import annotations

import pytest

from tests.browser_checks import assert_accessible
from tests.conftest import keycloak_login, run

pytestmark = [pytest.mark.slow, pytest.mark.keycloak]


@pytest.mark.browser
def test_vendor_kimura_reaches_the_vendor_seat_through_the_real_login(page, live_app, database_urls):
    from core.plugins import operator
    from tenants.seed import DEMO_VENDOR

    run(operator.add_vendor_user(database_urls.owner, DEMO_VENDOR[1], DEMO_VENDOR[0]))
    keycloak_login(page, live_app, "vendor.kimura")
    assert "所属団体が登録されていません" not in page.inner_text("body")
    page.click("nav >> text=事業者ページ")
    page.wait_for_url(f"{live_app}/vendor/plugins")
    assert_accessible(page, "/vendor/plugins")  # WCAG 2.0 AA, as every journey page (issue 19)
    body = page.inner_text("main")
    assert "中土佐町" in body or "nakatosa" in body  # the bundled plugins of vendor kyosei and who runs them
    for path in ("/cases", "/meetings", "/prefecture", "/admin/plugins"):
        response = page.goto(f"{live_app}{path}")
        assert response.status in (403, 404), (path, response.status)
    response = page.request.get(f"{live_app}/api/cases")
    assert response.status in (401, 403) or response.json().get("items") == []


def test_vendor_user_command_seats_an_account_in_the_prefecture_with_the_vendor_role_only(keycloak_admin):
    from tenants.registry import PREFECTURE_CODE
    from tenants.vendors import VendorSeatRefused, seat_vendor_account

    user_id = keycloak_admin.ensure_user("vendor.new@example.jp", "vendor.new@example.jp", "新規", "事業者",
                                         password="Vendor-new-2026!")
    keycloak_admin.grant_client_roles(user_id, roles=["staff"])
    try:
        changes = seat_vendor_account(keycloak_admin, "vendor.new@example.jp")
        assert len(changes) == 3, changes
        assert [o["alias"] for o in keycloak_admin.user_organizations(user_id)] == [PREFECTURE_CODE]
        assert keycloak_admin.client_roles_of(user_id) == {"vendor"}
        assert seat_vendor_account(keycloak_admin, "vendor.new@example.jp") == []  # idempotent

        with pytest.raises(VendorSeatRefused, match="394017"):
            seat_vendor_account(keycloak_admin, "nakatosa.staff2")  # a municipality's staff account
        assert "vendor" not in keycloak_admin.client_roles_of(keycloak_admin.find_user("nakatosa.staff2")["id"])
        with pytest.raises(VendorSeatRefused, match="いません"):
            seat_vendor_account(keycloak_admin, "no.such.vendor")
    finally:
        keycloak_admin.delete_user(user_id)
