"""中土佐町's chain of meetings for one household, in Chromium through the real Keycloak login (issues #6, #15).

the 推進員 seats A–E are set → consultation (intake at /cases/new) → コア会議 (held as a 支援会議) is seated
automatically (A leads, D and E required), the coordinator acknowledges secrecy herself and records an external
member's oral acknowledgement as chair, picks the household and refers it on (the kind offers no プラン合意) →
consent, assessment and plan → 安心生活応援ネットワーク会議 is seated (C leads) with the household carried onto its
agenda → the plan is agreed → the town's tenant admin records 支援決定 (who and when) → the case page shows the
flow stage → the core meeting's 進捗確認 lists the case with the person's name and the date of the decision.

The consent scope, assessment and plan are recorded through the cases service between the meetings (the case
page's own forms are tested with the cases); every meeting step is done in the browser. Pages are hx-boosted, so
each step waits for what the step must show (a text, a URL), never for a fixed time.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.browser_checks import assert_journey_page, assert_refusal_visible
from tests.conftest import keycloak_login, run
from tests.test_meetings_pages import NAKATOSA, owner_fetch, set_nakatosa

pytestmark = [pytest.mark.slow, pytest.mark.keycloak, pytest.mark.browser]

MEETING_URL = re.compile(r"/meetings/[0-9a-f-]{36}$")


@pytest.fixture()
def nakatosa_ready(database_urls):
    """The Nakatosa plugin enabled (as the demo seed does) and the demo users in the staff directory."""
    from tenants.seed import seed_demo_staff

    set_nakatosa(database_urls, True)
    run(seed_demo_staff(database_urls.owner))
    run(owner_fetch(database_urls.owner, NAKATOSA, "DELETE FROM meeting_seat RETURNING duty_role"))  # B stays empty


def _prepare_support(urls, case_id: str) -> None:
    """Between the meetings: consent scope covering the network meeting, an assessment and a plan."""
    from core.cases import service as cases
    from core.wareki import today
    from tests.cases_support import unit_of_work

    async def work(session):
        case = await cases.get_case(session, case_id, for_update=True)
        agency = await cases.create_agency(session, {"name": "中土佐町地域包括支援センター（ブラウザ試験）",
                                                     "field": "elderly"})
        await cases.record_consent(session, case, {
            "given_on": today().isoformat(), "purpose": "安心生活応援ネットワーク会議での支援の検討",
            "agency_ids": [str(agency.id)], "meeting_kinds": ["network_meeting", "multilayer_meeting"],
            "method": "written"})
        members = await cases.household_members(session, case.household_id)
        await cases.add_assessment(session, case, {"assessed_on": today().isoformat(), "items": [
            {"person_id": str(members[1].person.id), "field": "elderly", "problem": "要介護認定が未申請"}]})
        await cases.create_plan(session, case, {"goals": "介護サービスの利用と本人の居場所づくり",
                                                "review_on": (today() + dt.timedelta(days=30)).isoformat()})

    unit_of_work(urls, NAKATOSA, work, actor="browser-test-setup")


def _schedule(page, base: str, kind: str, when: dt.datetime, place: str) -> str:
    page.goto(f"{base}/meetings")
    page.select_option("#m-kind", kind)
    page.fill("#m-start", when.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#m-place", place)
    page.click("form[action='/meetings'] button[type=submit]")
    page.wait_for_function("() => /^\\/meetings\\/[0-9a-f-]{36}$/.test(location.pathname)")
    page.wait_for_selector("#members")
    return page.url.rsplit("/", 1)[-1]


def _put_on_agenda(page, case_id: str, case_number: str, issues: str) -> None:
    # picked like a person would: typing part of the name in kana, then choosing the case from the list
    page.fill("#a-search", "くれ いちろう")
    page.check(f"#case-options input[name=case_id][value='{case_id}']")
    page.fill("#a-issues", issues)
    page.click("#agenda button:has-text('議題に追加')")
    page.wait_for_selector(f"#agenda tbody tr:has-text('{case_number}')")


def _decide(page, case_number: str, decision: str, note: str, shown: str) -> None:
    row = f"#agenda tbody tr:has-text('{case_number}')"
    page.select_option(f"{row} select[name=decision]", decision)
    page.fill(f"{row} input[name=note]", note)
    page.click(f"{row} button:has-text('決定する')")
    page.wait_for_selector(f"{row} >> text={shown}")


def _seat_coordinators(page, base: str) -> None:
    """推進員の配置: A and C 山本 花子, D 中村 健, E 佐藤 誠 (B left empty)."""
    from infra.keycloak.realm import stable_id

    page.goto(f"{base}/meetings/seats")
    for code, username in (("coordinator_a", "nakatosa.yamamoto"), ("coordinator_c", "nakatosa.yamamoto"),
                           ("coordinator_d", "nakatosa.staff2"), ("coordinator_e", "multi.sato")):
        page.select_option(f"#seat-{code}", stable_id("user", username))
    page.click("form[action='/meetings/seats'] button[type=submit]")
    page.wait_for_selector("text=推進員の配置を保存しました。")


def test_nakatosa_chain_for_one_household_in_the_browser(page, live_app, nakatosa_ready, database_urls):
    keycloak_login(page, live_app, "nakatosa.yamamoto", audit=True)
    _seat_coordinators(page, live_app)

    # 1. a consultation
    page.goto(f"{live_app}/cases/new")
    page.fill("#f-members-0-name", "久礼 一郎")
    page.fill("#f-members-0-kana", "くれ いちろう")
    page.fill("#f-members-1-name", "久礼 トメ")
    page.fill("#f-members-1-kana", "くれ とめ")
    page.fill("#f-members-1-relationship", "母")
    page.check("#f-problems input[value=care]")
    page.check("#f-problems input[value=withdrawal]")
    page.fill("#f-summary", "母の介護が必要だが未申請。本人は長くひきこもっている。")
    page.check("input[name=consent_given][value=true]")
    page.click("form[action='/cases'] button[type=submit]")
    flash = page.wait_for_selector("text=/相談を受け付けました（ケース番号 .+）。/")
    case_number = re.search(r"ケース番号 (\S+)）", flash.inner_text()).group(1)
    page.wait_for_function("() => /^\\/cases\\/[0-9a-f-]{36}$/.test(location.pathname)")
    case_id = page.url.rsplit("/", 1)[-1]
    assert "同意前: アウトリーチ・支援会議の段階" in page.inner_text("#flow")

    # 2. コア会議 (held as a 支援会議), seated automatically; decisions are recorded on the meeting's day
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()
    core_id = _schedule(page, live_app, "core_meeting", dt.datetime.combine(today, dt.time(0, 30)),
                        "中土佐町社会福祉協議会")
    main = page.inner_text("main")
    assert "支援会議（社会福祉法第106条の6）として開催" in main and "守秘義務の確認がまだのため" in main
    seated = {role: page.inner_text(f"#members tbody tr:has-text('{role}')") for role in
              ("包括化推進員A", "包括化推進員D", "包括化推進員E")}
    assert "山本 花子" in seated["包括化推進員A"] and "進行（リーダー）" in seated["包括化推進員A"]
    assert "中村 健" in seated["包括化推進員D"] and "必須出席" in seated["包括化推進員D"]
    assert "佐藤 誠" in seated["包括化推進員E"] and "必須出席" in seated["包括化推進員E"]
    assert page.query_selector("#members tbody tr:has-text('中村 健') button") is None  # nobody acknowledges for him
    page.click("#members tbody tr:has-text('山本 花子') button:has-text('守秘義務を確認する')")
    page.wait_for_selector("#members tbody tr:has-text('山本 花子') >> text=確認済（本人が確認・令和")
    # an external member (no account): the chair records the oral acknowledgement with its date
    page.fill("#mm-name", "民生委員 高橋")
    page.fill("#mm-org", "中土佐町民生委員児童委員協議会")
    page.click("#member-form button:has-text('参加者を追加')")
    external = "#members tbody tr:has-text('民生委員 高橋（外部）')"
    page.wait_for_selector(external)
    page.select_option(f"{external} select[name=method]", "oral")
    page.click(f"{external} button:has-text('確認を記録')")
    page.wait_for_selector(f"{external} >> text=確認済（口頭・令和")
    # a refused form (no name) is shown in place, and a reload then shows the meeting, not a 405 at the form's URL
    page.click("#member-form button:has-text('参加者を追加')")
    assert_refusal_visible(page, "氏名")
    assert page.url == f"{live_app}/meetings/{core_id}"
    page.reload()
    page.wait_for_selector("#members")
    assert page.url == f"{live_app}/meetings/{core_id}" and "この操作はできません" not in page.inner_text("main")
    _put_on_agenda(page, case_id, case_number, "母の介護（未申請）、本人のひきこもり、収入なし")
    offered = page.eval_on_selector_all(f"#agenda tbody tr:has-text('{case_number}') select[name=decision] option",
                                        "options => options.map(o => o.value)")
    assert offered == ["info_shared", "outreach_roles", "consent_approach", "refer_next"]  # no plan, no closure
    _decide(page, case_number, "refer_next", "ネットワーク会議で支援を検討", "次回検討（次の会議へ）")

    assert_journey_page(page, live_app, f"/meetings/{core_id}")

    _prepare_support(database_urls, case_id)

    # 3. 安心生活応援ネットワーク会議: C leads; the household the core meeting picked is already on the agenda
    network_id = _schedule(page, live_app, "network_meeting", dt.datetime.combine(today, dt.time(1, 0)),
                           "中土佐町役場")
    assert "包括化推進員Bの担当者が決まっていない" in page.inner_text("main")
    assert "進行（リーダー）" in page.inner_text("#members tbody tr:has-text('包括化推進員C')")
    carried = f"#agenda tbody tr:has-text('{case_number}')"
    assert "前の会議から持ち越し" in page.inner_text(carried)
    assert "母の介護（未申請）、本人のひきこもり、収入なし" in page.inner_text(carried)
    _decide(page, case_number, "plan_agreed", "包括: 介護申請の支援、社協: 居場所への参加", "プランに合意")
    assert "支援決定待ち" in page.inner_text(carried) and "プラン作成" in page.inner_text(f"{carried} td:nth-child(3)")

    # 4. the municipality decides: the town's tenant admin records 支援決定, with who and when
    town = page.context.browser.new_context(locale="ja-JP", timezone_id="Asia/Tokyo").new_page()
    try:
        town.set_default_timeout(20000)
        keycloak_login(town, live_app, "nakatosa.admin")
        town.goto(f"{live_app}/meetings/{network_id}")
        town.click(f"{carried} button:has-text('支援決定を記録する')")
        town.wait_for_selector(f"{carried} >> text=支援決定: 中土佐 管理者（令和")
        assert "支援決定" in town.inner_text(f"{carried} td:nth-child(3)")
    finally:
        town.context.close()
    page.goto(f"{live_app}/cases/{case_id}")  # the case page shows the stage: support is next
    assert page.inner_text("#flow-current") == "支援"
    assert "中土佐 管理者" in page.inner_text("#flow") and "支援決定済みです" in page.inner_text("#flow-needed")

    # 5. the core meeting's 進捗確認: the open case with the person's name and the date of the last decision
    page.click("nav.site-nav >> text=コア会議 進捗確認")
    page.wait_for_selector("h1:has-text('進捗確認')")  # the meeting page also has the case's row: wait for the new page
    row = page.wait_for_selector(f"section:has(h2:has-text('継続中のケース')) tbody tr:has-text('{case_number}')")
    assert "久礼 一郎" in row.inner_text() and "支援決定" in row.inner_text()
    assert re.search(r"プランに合意（令和\d+年\d+月\d+日（\d{4}-\d{2}-\d{2}）", row.inner_text())
    assert row.query_selector("a[href^='/meetings/']").get_attribute("href") == f"/meetings/{network_id}"
    assert_journey_page(page, live_app, page.url.removeprefix(live_app))
    for path in ("/meetings", f"/meetings/{network_id}", f"/meetings/{network_id}/minutes", "/meetings/seats",
                 "/meetings/follow-up"):  # seats and follow-up: issue 15's pages
        assert_journey_page(page, live_app, path)

    members = run(owner_fetch(database_urls.owner, NAKATOSA, "SELECT name, user_sub, confidentiality_ack_method "
                              "FROM meeting_member WHERE meeting_id = $1::uuid", core_id))
    from infra.keycloak.realm import stable_id

    acks = {m["name"]: m["confidentiality_ack_method"] for m in members}
    assert acks == {"山本 花子": "self", "中村 健": None, "佐藤 誠": None, "民生委員 高橋": "oral"}
    assert {m["user_sub"] for m in members if m["name"] == "中村 健"} == {stable_id("user", "nakatosa.staff2")}


def test_choosing_a_municipality_lists_the_user_in_its_staff_directory(page, live_app, database_urls):
    from infra.keycloak.realm import stable_id

    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    keycloak_login(page, live_app, "multi.sato")
    page.click("text=中土佐町")
    page.wait_for_url(f"{live_app}/")
    rows = run(owner_fetch(database_urls.owner, NAKATOSA, "SELECT display_name, last_seen_at FROM staff_directory "
                           "WHERE user_sub = $1", stable_id("user", "multi.sato")))
    assert rows and rows[0]["display_name"] == "佐藤 誠" and rows[0]["last_seen_at"] >= started
