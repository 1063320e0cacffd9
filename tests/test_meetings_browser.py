"""中土佐町's chain of meetings for one household, in Chromium through the real Keycloak login (issue #6).

consultation (intake with consent at /cases/new) → コア会議 picks the household and lists its issues (a member
picked by name from the staff directory, secrecy acknowledged) → 安心生活応援ネットワーク会議 reviews the case with
the agencies and agrees the plan (支援決定) → the core meeting's progress check lists the open case.

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


def _prepare_support(urls, case_id: str) -> None:
    """Between the meetings: consent scope covering the network meeting, an assessment and a plan."""
    from core.cases import service as cases
    from core.cases.schemas import today
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


def test_nakatosa_chain_for_one_household_in_the_browser(page, live_app, nakatosa_ready, database_urls):
    keycloak_login(page, live_app, "nakatosa.yamamoto", audit=True)

    # 1. a consultation: intake with consent to share
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

    # 2. コア会議 (held as a 支援会議): a member picked by name, secrecy acknowledged, the household's issues listed
    tomorrow = dt.datetime.combine(dt.date.today() + dt.timedelta(days=1), dt.time(9, 30))
    core_id = _schedule(page, live_app, "core_meeting", tomorrow, "中土佐町社会福祉協議会")
    assert "支援会議（社会福祉法第106条の6）として開催します" in page.inner_text("main")
    page.fill("#mm-search", "なかむら")
    # other tests may list namesakes: pick the demo user by the user name shown next to the name
    page.wait_for_selector("#staff-options label:has-text('中村 健'):has-text('nakatosa.staff2')")
    page.check("#staff-options label:has-text('nakatosa.staff2') input[type=radio]")
    page.select_option("#mm-role", "required")
    page.select_option("#mm-duty", "coordinator_d")
    page.click("#member-form button:has-text('参加者を追加')")
    member_row = "#members tbody tr:has-text('中村 健')"
    page.wait_for_selector(member_row)
    assert "コーディネーターD" in page.inner_text(member_row) and "（外部）" not in page.inner_text(member_row)
    page.click(f"{member_row} button:has-text('確認を記録')")
    page.wait_for_selector(f"{member_row} >> text=確認済")
    _put_on_agenda(page, case_id, case_number, "母の介護（未申請）、本人のひきこもり、収入なし")
    _decide(page, case_number, "refer_next", "ネットワーク会議で支援を検討", "次の会議で検討")

    assert_journey_page(page, live_app, f"/meetings/{core_id}")

    # 3. 安心生活応援ネットワーク会議: the agency's worker joins (typed: no account), the plan is agreed
    network_id = _schedule(page, live_app, "network_meeting", tomorrow + dt.timedelta(days=7), "中土佐町役場")
    # before the consent covers this meeting the case cannot go on its agenda, and the page says why
    page.fill("#a-search", "くれ いちろう")
    page.check(f"#case-options input[name=case_id][value='{case_id}']")
    page.fill("#a-issues", "支援の分担を決める")
    page.click("#agenda button:has-text('議題に追加')")
    assert_refusal_visible(page, "同意")
    assert page.url.endswith(f"/meetings/{network_id}")
    assert page.reload().status == 200
    _prepare_support(database_urls, case_id)
    page.fill("#mm-name", "地域包括 担当者")
    page.fill("#mm-org", "中土佐町地域包括支援センター")
    page.click("#member-form button:has-text('参加者を追加')")
    page.wait_for_selector("#members tbody tr:has-text('地域包括 担当者（外部）')")
    _put_on_agenda(page, case_id, case_number, "支援の分担を決める")
    _decide(page, case_number, "plan_agreed", "包括: 介護申請の支援、社協: 居場所への参加", "プランに合意（支援決定）")
    assert "支援決定" in page.inner_text(f"#agenda tbody tr:has-text('{case_number}') td:nth-child(3)")

    # 4. the core meeting's progress check lists the open case with the network meeting's decision
    page.click("nav.site-nav >> text=コア会議 進捗確認")
    page.wait_for_selector("h1:has-text('進捗確認')")  # the meeting page also has the case's row: wait for the new page
    row = page.wait_for_selector(f"section:has(h2:has-text('継続中のケース')) tbody tr:has-text('{case_number}')")
    assert "支援決定" in row.inner_text() and "プランに合意（支援決定）" in row.inner_text()
    assert row.query_selector("a[href^='/meetings/']").get_attribute("href") == f"/meetings/{network_id}"
    assert_journey_page(page, live_app, page.url.removeprefix(live_app))
    for path in ("/meetings", f"/meetings/{network_id}", f"/meetings/{network_id}/minutes"):
        assert_journey_page(page, live_app, path)

    members = run(owner_fetch(database_urls.owner, NAKATOSA, "SELECT name, user_sub, confidentiality_ack_at "
                              "FROM meeting_member WHERE meeting_id = $1::uuid", core_id))
    picked = next(m for m in members if m["name"] == "中村 健")
    from infra.keycloak.realm import stable_id

    assert picked["user_sub"] == stable_id("user", "nakatosa.staff2") and picked["confidentiality_ack_at"]


def test_choosing_a_municipality_lists_the_user_in_its_staff_directory(page, live_app, database_urls):
    from infra.keycloak.realm import stable_id

    started = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    keycloak_login(page, live_app, "multi.sato")
    page.click("text=中土佐町")
    page.wait_for_url(f"{live_app}/")
    rows = run(owner_fetch(database_urls.owner, NAKATOSA, "SELECT display_name, last_seen_at FROM staff_directory "
                           "WHERE user_sub = $1", stable_id("user", "multi.sato")))
    assert rows and rows[0]["display_name"] == "佐藤 誠" and rows[0]["last_seen_at"] >= started
