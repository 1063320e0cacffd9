"""The plugin data interface (core.plugin_data) as a vendor uses it: a plugin page built only on the public API.

The worked example of docs/plugins.md (tests/plugin_fixtures/watch_list.py) lists the open cases a staff member may
see whose 本人 consented for one purpose. These tests show it hides what the user may not see, cases without
that consent (or with an expired or revoked one), closed cases and other municipalities' cases, and that every
case it shows is a READ in the audit trail with the plugin's name.
"""

from __future__ import annotations

import datetime as dt

import pytest

from core import wareki
from core.plugins.testing import UnknownMunicipality, kyosei_data, kyosei_database, kyosei_plugin_app  # noqa: F401
from tests.plugin_fixtures import watch_list

TOWN = "394114"  # 四万十町: not a demo tenant, a tenant made by the test helper
OTHER = "392049"  # 南国市


@pytest.fixture()
def town(kyosei_plugin_app, kyosei_data):
    plugin_app = kyosei_plugin_app(watch_list, tenant_id=TOWN)
    kyosei_plugin_app(watch_list, tenant_id=OTHER)  # enabled in both municipalities
    worker = kyosei_data.staff(TOWN, roles=("staff",), name="高橋 一郎", kana="たかはし いちろう")
    colleague = kyosei_data.staff(TOWN, roles=("staff",), name="西村 次郎")
    today = wareki.today()
    cases = {
        "mine_consented": kyosei_data.case(TOWN, assignee=worker, name="森田 春子", kana="もりた はるこ",
                                           members=[{"name": "森田 夏夫", "kana": "もりた なつお", "relationship": "夫"}]),
        "mine_no_consent": kyosei_data.case(TOWN, assignee=worker, name="川口 秋子", kana="かわぐち あきこ"),
        "mine_other_purpose": kyosei_data.case(TOWN, assignee=worker, name="石田 冬美", kana="いしだ ふゆみ"),
        "mine_expired": kyosei_data.case(TOWN, assignee=worker, name="岡本 雪子", kana="おかもと ゆきこ"),
        "colleagues": kyosei_data.case(TOWN, assignee=colleague, name="松本 桜", kana="まつもと さくら"),
    }
    kyosei_data.consent(TOWN, cases["mine_consented"], purpose="participation_support")
    kyosei_data.consent(TOWN, cases["mine_other_purpose"], purpose="disaster_evacuation")
    kyosei_data.consent(TOWN, cases["mine_expired"], purpose="participation_support",
                        given_on=today - dt.timedelta(days=400), expires_on=today - dt.timedelta(days=1))
    kyosei_data.consent(TOWN, cases["colleagues"], purpose="participation_support")
    elsewhere = kyosei_data.case(OTHER, name="南 国子", kana="みなみ くにこ")
    kyosei_data.consent(OTHER, elsewhere, purpose="participation_support")
    return plugin_app, worker, cases, elsewhere


def test_the_page_lists_only_visible_open_cases_with_a_valid_consent_for_the_purpose(town):
    plugin_app, worker, cases, _ = town
    with plugin_app.client(user=worker) as client:
        page = client.get("/plugins/watch_list/")
    assert page.status_code == 200, page.text
    assert "森田 春子（本人）" in page.text and "森田 夏夫（夫）" in page.text
    for hidden in ("川口 秋子", "石田 冬美", "岡本 雪子", "松本 桜", "南 国子"):
        assert hidden not in page.text
    assert "担当の開いているケース: 1件" in page.text


def test_a_coordinator_sees_every_consented_open_case_of_the_municipality_and_no_other(town, kyosei_data):
    plugin_app, _, _, _ = town
    coordinator = kyosei_data.staff(TOWN, roles=("staff", "coordinator"))
    with plugin_app.client(user=coordinator) as client:
        text = client.get("/plugins/watch_list/").text
    assert "森田 春子" in text and "松本 桜" in text
    assert "南 国子" not in text and "岡本 雪子" not in text and "川口 秋子" not in text


def test_every_case_shown_is_a_read_in_the_audit_trail_with_the_plugin_name(town, kyosei_data):
    plugin_app, worker, cases, _ = town
    before = kyosei_data.audit_reads(TOWN, cases["mine_consented"])
    with plugin_app.client(user=worker) as client:
        assert client.get("/plugins/watch_list/").status_code == 200
    after = kyosei_data.audit_reads(TOWN, cases["mine_consented"])
    assert after[len(before):] == [{"actor_sub": worker.sub, "reason": "plugin=watch_list"}]
    assert kyosei_data.audit_reads(TOWN, cases["mine_no_consent"]) == []  # not shown, not read


def test_a_revoked_consent_hides_the_case_at_once(town, kyosei_data):
    plugin_app, worker, cases, _ = town
    case_id = kyosei_data.case(TOWN, assignee=worker, name="取消 太郎", kana="とりけし たろう")
    consent_id = kyosei_data.consent(TOWN, case_id, purpose="participation_support")
    with plugin_app.client(user=worker) as client:
        assert "取消 太郎" in client.get("/plugins/watch_list/").text
        kyosei_data.revoke(TOWN, consent_id)
        assert "取消 太郎" not in client.get("/plugins/watch_list/").text


def test_a_closed_case_is_not_listed(town, kyosei_data):
    plugin_app, worker, _, _ = town
    case_id = kyosei_data.case(TOWN, assignee=worker, name="終結 花子", kana="しゅうけつ はなこ")
    kyosei_data.consent(TOWN, case_id, purpose="participation_support")
    kyosei_data.close(TOWN, case_id)
    with plugin_app.client(user=worker) as client:
        assert "終結 花子" not in client.get("/plugins/watch_list/").text


def test_the_other_municipality_sees_only_its_own_case(town):
    plugin_app, _, _, _ = town
    with plugin_app.client(roles=("staff", "coordinator"), tenant_id=OTHER) as client:
        text = client.get("/plugins/watch_list/").text
    assert "南 国子" in text and "森田 春子" not in text and "松本 桜" not in text


def test_paging_and_single_case_reads_follow_the_same_rules(town, kyosei_data):
    import asyncio

    from core.plugin_data import CaseData, CaseNotVisible
    from tests.cases_support import principal as make_principal, unit_of_work

    plugin_app, worker, cases, elsewhere = town
    me = make_principal(TOWN, roles=worker.roles, sub=worker.sub)

    async def read(session):
        data = CaseData(session, me, "watch_list")
        first = await data.open_cases(limit=2)
        second = await data.open_cases(offset=2, limit=2)
        visible = await data.case(cases["mine_no_consent"])
        refused = []
        for other in (cases["colleagues"], elsewhere, "not-a-uuid"):
            try:
                await data.case(other)
            except CaseNotVisible:
                refused.append(other)
        return first, second, visible, refused

    first, second, visible, refused = unit_of_work(plugin_app.urls, TOWN, read, actor=worker.sub)
    assert first.total == 4 and len(first.items) == 2 and first.has_next
    assert len(second.items) == 2 and not second.has_next
    assert {c.id for c in first.items} | {c.id for c in second.items} == {
        cases[k] for k in ("mine_consented", "mine_no_consent", "mine_other_purpose", "mine_expired")}
    assert visible.person.name == "川口 秋子" and visible.consents == ()
    assert len(refused) == 3
    with pytest.raises(ValueError):
        asyncio.run(CaseData(None, me, "x").open_cases(limit=1000))


def test_an_unknown_municipality_is_refused_with_a_clear_message(kyosei_data):
    with pytest.raises(UnknownMunicipality, match="392000"):
        kyosei_data.staff("392000")
    with pytest.raises(UnknownMunicipality, match="prefecture"):
        kyosei_data.tenant("390003")


def test_a_dashboard_card_loads_its_number_from_a_plugin_page(town):
    plugin_app, worker, _, _ = town
    with plugin_app.client(user=worker) as client:
        home = client.get("/").text
        assert 'hx-get="/plugins/watch_list/count"' in home
        assert "同意のある担当ケース 1件" in client.get("/plugins/watch_list/count").text


def test_agency_staff_read_only_the_items_their_consent_allows(town, kyosei_data):
    """A case shared with an agency under a consent for 基本情報 and プラン: the plugin gets the household, not the
    intake answers (相談内容), and not at all once the consent is revoked."""
    from core.cases import service
    from core.plugin_data import CaseData
    from tests.cases_support import principal as make_principal, unit_of_work

    plugin_app, worker, cases, _ = town
    agency_worker = kyosei_data.staff(TOWN, roles=("staff",), name="包括 職員")
    case_id = cases["mine_no_consent"]

    async def share(session):
        agency = await service.create_agency(session, {"name": "地域包括支援センター"})
        await service.add_agency_staff(session, agency, {"user_sub": agency_worker.sub, "display_name": "包括 職員"})
        case = await service.get_case(session, case_id)
        consent = await service.record_consent(session, case, {
            "given_on": wareki.today().isoformat(), "purposes": ["information_sharing"],
            "agency_ids": [str(agency.id)], "items": ["plan"]})
        await service.share_with_agency(session, case, agency.id)
        return str(consent.id)

    consent_id = unit_of_work(plugin_app.urls, TOWN, share, actor=worker.sub)
    me = make_principal(TOWN, roles=("staff",), sub=agency_worker.sub)

    async def read(session):
        data = CaseData(session, me, "watch_list")
        return await data.open_cases(limit=10)

    page = unit_of_work(plugin_app.urls, TOWN, read, actor=agency_worker.sub)
    assert [c.id for c in page.items] == [case_id]
    assert page.items[0].items == ("basic", "plan") and page.items[0].extras == {}
    assert page.items[0].person.name == "川口 秋子"
    kyosei_data.revoke(TOWN, consent_id)
    assert unit_of_work(plugin_app.urls, TOWN, read, actor=agency_worker.sub).total == 0
