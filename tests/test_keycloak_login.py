"""Staff log in through the real Keycloak login page in Debian's Chromium (Playwright)."""

import httpx
import pytest

from tests.conftest import keycloak_login

pytestmark = [pytest.mark.slow, pytest.mark.keycloak, pytest.mark.browser]


def test_nakatosa_user_logs_in_sees_her_municipality_and_logs_out(page, live_app):
    keycloak_login(page, live_app, "nakatosa.yamamoto")
    assert page.url.rstrip("/") == live_app
    assert "中土佐町" in page.inner_text("header")
    assert "山本 花子" in page.inner_text("header")
    cookie = next(c for c in page.context.cookies() if c["name"] == "kyosei_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    page.click("form[action='/auth/logout'] button")
    page.wait_for_selector("#username")  # back on Keycloak's login page
    assert "/realms/kochi/" in page.url

    # The old session cookie no longer opens any page.
    old = httpx.get(f"{live_app}/", cookies={"kyosei_session": cookie["value"]}, follow_redirects=False)
    assert old.status_code in (302, 303)
    assert old.headers["location"].startswith("/auth/login")


def test_user_of_two_municipalities_picks_one(page, live_app):
    keycloak_login(page, live_app, "multi.sato")
    assert page.url.endswith("/auth/tenant")
    page.click("text=南国市")
    page.wait_for_url(f"{live_app}/")
    assert "南国市" in page.inner_text("header")


def test_user_of_no_municipality_gets_a_clear_refusal(page, live_app):
    keycloak_login(page, live_app, "nobody.ito")
    assert "所属団体が登録されていません" in page.content()


def test_keycloak_side_logout_ends_the_local_session(page, live_app, keycloak_admin):
    keycloak_login(page, live_app, "nankoku.tanaka")
    assert "南国市" in page.inner_text("header")
    user = keycloak_admin.find_user("nankoku.tanaka")
    keycloak_admin.logout_user(user["id"])  # Keycloak calls /auth/backchannel-logout
    page.goto(f"{live_app}/")
    page.wait_for_selector("#username")
