"""A tenant admin enters an expenditure through the form in Chromium and sees the report total change."""

from __future__ import annotations

import pytest

from tests.browser_checks import assert_accessible, assert_journey_page, assert_refusal_visible
from tests.conftest import keycloak_login

pytestmark = [pytest.mark.slow, pytest.mark.keycloak, pytest.mark.browser]


def test_expenditure_entered_in_the_form_changes_the_report_total(page, live_app):
    keycloak_login(page, live_app, "nakatosa.admin", audit=True)
    assert_journey_page(page, live_app, "/grants")
    page.goto(f"{live_app}/")
    page.click("nav.site-nav >> text=交付金")
    page.wait_for_selector("#f-fiscal_year")

    page.fill("#f-fiscal_year", "2052")
    page.click("button:has-text('登録する')")
    page.wait_for_selector("text=令和34年度（2052年度）を登録しました。")

    page.click("nav.sub-nav >> text=報告書")
    page.wait_for_selector("#actual-total")
    assert page.inner_text("#actual-total") == "0円"
    report_url = page.url

    page.click("nav.sub-nav >> text=支出")
    page.wait_for_selector("#entry-form form")
    page.select_option("#f-business", "consultation")
    page.select_option("#f-field", "elderly")
    page.fill("#f-category", "人件費")
    page.fill("#f-amount", "250,000")
    page.fill("#f-voucher_number", "R34-0042")
    page.fill("#f-voucher_date", "2052-06-01")
    page.fill("#f-payee", "中土佐町社会福祉協議会")
    page.fill("#f-description", "包括化推進員の人件費（6月分）")
    page.click("#entry-form button[type=submit]")
    page.wait_for_selector("text=支出を登録しました。")
    assert "250,000円" in page.inner_text("#ledger-total")

    page.goto(report_url)
    assert page.inner_text("#actual-total") == "250,000円"

    # A mistake in the form is answered on the same page, in Japanese, and nothing is written.
    page.click("nav.sub-nav >> text=支出")
    page.wait_for_selector("#entry-form form")
    page.fill("#f-amount", "12.5")
    page.click("#entry-form button[type=submit]")
    assert_refusal_visible(page, "支出額は0以上の整数")
    assert_accessible(page, "expenditure form with errors")
    assert page.reload().status == 200  # the address stayed on the ledger page
    page.goto(report_url)
    assert page.inner_text("#actual-total") == "250,000円"

    year = report_url.removeprefix(live_app).removesuffix("/reports")
    for path in (year, f"{year}/expenditures", f"{year}/budget-lines", f"{year}/apportionment", f"{year}/reports",
                 f"{year}/time-entries", "/grants/plans"):  # time study and 実施計画: issue 22's pages
        assert_journey_page(page, live_app, path)
