"""In Chromium: the prefecture sends the 実態調査, a municipality without an account answers through its one-time
link, a tenant reviews its pre-filled answers and sends them, and the prefecture sees both."""

from __future__ import annotations

import time

import pytest

from tests.browser_checks import assert_accessible, assert_journey_page
from tests.conftest import keycloak_login

pytestmark = [pytest.mark.slow, pytest.mark.keycloak, pytest.mark.browser]


def test_survey_sent_answered_by_link_and_by_a_tenant_and_seen_by_the_prefecture(page, browser, live_app):
    title = f"包括的支援体制実態調査（ブラウザ確認 {time.time_ns()}）"
    keycloak_login(page, live_app, "pref.admin")
    # the pages of issue 17 owe what every journey page owes (issue 19): WCAG 2.0 AA, the same look by menu
    for path in ("/prefecture/support", "/prefecture/grants/plans", "/prefecture/surveys"):
        assert_journey_page(page, live_app, path)
    page.goto(f"{live_app}/prefecture/surveys")
    page.fill("#f-title", title)
    assert "令和" in page.inner_text("#f-fiscal_year")  # 年度 chosen as 和暦
    page.click("button:has-text('作成')")
    page.wait_for_selector("#standard-items-form")
    survey_url = page.url
    page.click("#standard-items-form button")
    page.wait_for_selector("text=標準の調査項目を9問追加しました。")
    page.check("#send-form input[value='394017']")
    page.click("#send-form button[type=submit]")
    page.wait_for_selector("#link-form")
    page.select_option("#f-link_code", "393649")  # 大川村: no account
    page.click("#link-form button[type=submit]")
    link = page.inner_text("#new-link-url").strip()

    # 大川村 answers through the link, with no account (a browser of its own)
    okawa = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo").new_page()
    try:
        okawa.goto(link)
        assert_accessible(okawa, "the survey answered by link")
        okawa.fill("#f-responder", "大川村 健康福祉課")
        fields = okawa.locator("#answer-form [name^='q-']")
        okawa.select_option(f"#{fields.nth(0).get_attribute('id')}", "検討中")
        okawa.fill(f"#{fields.nth(1).get_attribute('id')}", "12")
        okawa.fill(f"#{fields.nth(8).get_attribute('id')}", "大川村からの要望：研修の機会")
        okawa.click("#answer-form button[type=submit]")
        okawa.wait_for_selector("text=回答を受け付けました")
    finally:
        okawa.context.close()

    # 中土佐町's tenant admin reviews the figures filled in from its own records and sends them
    nakatosa = browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo").new_page()
    try:
        keycloak_login(nakatosa, live_app, "nakatosa.admin")
        nakatosa.goto(f"{live_app}/survey")
        nakatosa.click(f"text={title}")
        nakatosa.wait_for_selector("#prefill-note")
        assert_accessible(nakatosa, "a tenant's pre-filled survey")
        assert nakatosa.locator(".prefilled").count() >= 7
        consultations = nakatosa.locator("#answer-form [name^='q-']").nth(1)
        assert consultations.input_value().isdigit()  # a figure to check, not a blank to count again
        nakatosa.fill(f"#{nakatosa.locator('#answer-form [name^=q-]').nth(8).get_attribute('id')}",
                      "中土佐町からの要望：手引書の改訂")
        nakatosa.click("button:has-text('提出する')")
        nakatosa.wait_for_selector("text=提出済み")
    finally:
        nakatosa.context.close()

    page.goto(survey_url)
    assert_accessible(page, "the survey's answers")
    assert "2 / 2 団体" in page.inner_text("h2:has-text('回答状況')")
    body = page.inner_text("main")
    assert "大川村からの要望：研修の機会" in body and "中土佐町からの要望：手引書の改訂" in body
