"""The prefecture onboards 田野町 through the wizard against the real Keycloak; its new admin logs in with the
one-time password, sets their own, and lands on 田野町's home. Suspension disables the real organization."""

from __future__ import annotations

import time

import pytest

from tests.browser_checks import assert_accessible, assert_journey_page
from tests.conftest import keycloak_login, run
from tests.db import fetch

pytestmark = [pytest.mark.slow, pytest.mark.keycloak]


@pytest.mark.browser
def test_prefecture_onboards_tano_and_its_admin_logs_in(page, live_app, keycloak_admin, database_urls):
    code, email = "393037", "admin@tano.example"
    keycloak_login(page, live_app, "pref.admin", audit=True)
    for path in ("/", "/prefecture", "/prefecture/roadmap", "/prefecture/surveys", "/prefecture/schedule",
                 "/prefecture/aggregates", "/prefecture/grants", "/admin/plugins", "/prefecture/onboarding"):
        assert_journey_page(page, live_app, path)
    page.select_option("#f-code", code)
    page.fill("#f-admin_email", email)
    page.fill("#f-admin_name", "田野 一郎")
    started = time.perf_counter()
    page.click("#onboard-submit")
    page.wait_for_selector("#report-steps")
    print(f"\nonboarding 田野町 against the real Keycloak took {time.perf_counter() - started:.2f}s (budget 5s)")
    steps = page.locator("#report-steps li")
    outcomes = {steps.nth(i).get_attribute("data-step"): steps.nth(i).get_attribute("data-outcome")
                for i in range(steps.count())}
    assert "failed" not in outcomes.values(), page.inner_text("#report-steps")
    assert outcomes["tenant"] == "done"
    password = page.inner_text("#temporary-password").strip()
    assert_accessible(page, "onboarding report")
    assert fetch(database_urls.owner, "SELECT status FROM tenant WHERE tenant_id = $1", code)[0]["status"] == "active"

    page.context.clear_cookies()  # leave as the prefecture; the new admin logs in on the same browser
    page.goto(f"{live_app}/")
    page.fill("#username", email)
    page.click("#kc-login")
    page.fill("#password", password)
    page.click("#kc-login")
    page.wait_for_selector("#password-new")  # Keycloak: the temporary password must be replaced
    assert_accessible(page, "Keycloak: new password")
    page.fill("#password-new", "Tano-kyosei-2026!")
    page.fill("#password-confirm", "Tano-kyosei-2026!")
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{live_app}/**")
    body = page.inner_text("body")
    assert "田野町" in body
    assert "実態調査の回答" in body  # a tenant admin's navigation
    assert_journey_page(page, live_app, "/")


def test_suspension_disables_the_real_keycloak_organization_and_resume_enables_it(keycloak, keycloak_admin, database_urls):
    from tenants.directory import KeycloakDirectory
    from tenants.lifecycle import prefecture_unit_of_work
    from tenants.onboarding import onboard
    from tenants.suspension import change_status

    code = "394271"  # 三原村

    async def step(fn, *args):
        with KeycloakDirectory(keycloak.base_url) as directory:
            async with prefecture_unit_of_work(database_urls.app, "slow-test") as session:
                return await fn(session, directory, code, *args)

    onboarded = run(step(onboard, "admin@mihara.example"))
    assert onboarded.ok, [s.line() for s in onboarded.steps]
    org_id = keycloak_admin.find_organization(code)["id"]

    suspended = run(step(change_status, "suspended"))
    assert suspended.ok and suspended.step("organization").outcome.value == "done"
    assert keycloak_admin.get_organization(org_id)["enabled"] is False
    assert suspended.step("sessions").detail.startswith("1人")

    again = run(step(change_status, "suspended"))
    assert again.step("tenant").outcome.value == "already"
    resumed = run(step(change_status, "active"))
    assert resumed.ok and keycloak_admin.get_organization(org_id)["enabled"] is True
    assert fetch(database_urls.owner, "SELECT status FROM tenant WHERE tenant_id = $1", code)[0]["status"] == "active"
