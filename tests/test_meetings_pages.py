"""Meeting pages: 支援会議 minutes are 404 for a non-member (audited DENIED) and hidden from a member until they
acknowledge secrecy themselves, the consent refusal and the rule-table refusal on the page, Nakatosa's kinds, seats
and roles only while its plugin is enabled, and nothing of one tenant reaching another."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import uuid

import pytest

from core.cases import service as cases
from tests.cases_support import intake_body, principal, unit_of_work
from tests.conftest import run
from tests.db import owner_fetch

NAKATOSA, NANKOKU = "394017", "392049"
TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()  # decisions are recorded on or after the day
# Until the lead registers MeetingsController in core.routes.route_handlers, meetings_app appends it.


@pytest.fixture()
def meetings_app(settings, database_urls, monkeypatch):
    import core.routes
    from core.app import create_app
    from ui.meetings.controller import MeetingsController

    original = core.routes.route_handlers
    if not any(h is MeetingsController for h in original()):
        monkeypatch.setattr(core.routes, "route_handlers", lambda: [*original(), MeetingsController])
    return create_app(settings, app_database_url=database_urls.app)


@contextlib.contextmanager
def logged_in(app, urls, tenant_id=NAKATOSA, roles=("staff",), sub=None, display_name="山本 花子"):
    from litestar.testing import TestClient

    from tests.sessions import open_session

    session = open_session(urls, tenant_id, roles, sub=sub, display_name=display_name)
    with TestClient(app=app) as client:
        client.cookies.set("kyosei_session", session.raw)
        client.headers["X-CSRF-Token"] = session.csrf
        client.sub = session.sub
        yield client


def set_nakatosa(urls, enabled: bool) -> None:
    import plugins.nakatosa as nakatosa
    from core.plugins import operator

    run(operator.approve(urls.owner, nakatosa.PLUGIN))
    run(operator.set_enabled(urls.owner, NAKATOSA, "nakatosa", enabled))


def _meeting_id(response) -> str:
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def _programme(urls, name: str) -> str:
    """An active programme never held yet (no sessions), at a hub of its own."""
    from core.programs import service as programs

    async def work(session):
        hub = await programs.create_hub(session, {"name": "進捗ページの拠点", "kind": "attaka_fureai", "area": "久礼",
                                                  "address": "", "description": ""})
        return str((await programs.create_program(session, {
            "hub_id": hub.id, "name": name, "kind": "community", "field": "elderly", "purpose": "",
            "target_group": "", "content": "", "drop_in": True, "min_age": None, "max_age": None, "capacity": None,
            "businesses": ["community"]})).id)

    return unit_of_work(urls, NAKATOSA, work)


def _case(urls, tenant=NAKATOSA, receiver: str | None = None, **override) -> str:
    """A case received (so assigned as 主担当) by ``receiver``, or by a staff member of its own."""
    who = principal(tenant, sub=receiver)

    async def work(session):
        return str((await cases.create_intake(session, intake_body(**override), who)).id)

    return unit_of_work(urls, tenant, work, actor=who.sub)


def test_support_meeting_minutes_are_404_for_a_non_member_and_audited(meetings_app, database_urls):
    member_sub = str(uuid.uuid4())
    case_id = _case(database_urls, receiver=member_sub, consent_given=False)
    with logged_in(meetings_app, database_urls, roles=("staff",), sub=member_sub) as member:
        meeting_id = _meeting_id(member.post("/meetings/", data={
            "kind": "support_meeting", "starts_at": f"{TODAY.isoformat()}T00:30", "place": "役場"}, follow_redirects=False))
        page = member.get(f"/meetings/{meeting_id}")  # the one who scheduled it is its first member
        assert page.status_code == 200 and "守秘義務の確認がまだのため" in page.text
        assert "支援会議（社会福祉法第106条の6）（" not in page.text  # the kind's label is no longer doubled
        # before acknowledging: no cases, no minutes (403, the rule named)
        refused = member.post(f"/meetings/{meeting_id}/agenda", data={"case_id": case_id}, follow_redirects=False)
        assert refused.status_code == 403 and "守秘義務の確認を記録した参加者だけ" in refused.text
        assert member.get(f"/meetings/{meeting_id}/minutes").status_code == 403
        ack = re.search(r'action="(/meetings/[^"]+/acknowledge)"', page.text).group(1)
        assert member.post(ack, follow_redirects=False).status_code == 303
        page = member.get(f"/meetings/{meeting_id}")
        assert "確認済（本人が確認・令和" in page.text and "守秘義務の確認がまだ" not in page.text
        assert member.post(f"/meetings/{meeting_id}/agenda", data={"case_id": case_id, "issues": "8050"},
                           follow_redirects=False).status_code == 303
        item = re.search(r'action="(/meetings/[^"]+/decision)"', member.get(f"/meetings/{meeting_id}").text).group(1)
        closing = member.post(item, data={"decision": "closed", "note": "転居"}, follow_redirects=False)
        assert closing.status_code == 409  # a 支援会議 never closes a case: the page says which rule
        assert "支援会議（社会福祉法第106条の6）では「終結」は決められません" in closing.text
        assert member.post(f"/meetings/{meeting_id}/minutes", data={"minutes": "母の介護申請を支援する。"},
                           follow_redirects=False).status_code == 303
        assert "母の介護申請を支援する。" in member.get(f"/meetings/{meeting_id}/minutes").text
        pdf = member.get(f"/meetings/{meeting_id}/minutes.pdf")
        assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"

    with logged_in(meetings_app, database_urls, roles=("staff",)) as outsider:
        for path in (f"/meetings/{meeting_id}", f"/meetings/{meeting_id}/minutes",
                     f"/meetings/{meeting_id}/minutes.pdf"):
            response = outsider.get(path)
            assert response.status_code == 404 and "母の介護申請" not in response.text
        assert outsider.post(f"/meetings/{meeting_id}/minutes", data={"minutes": "x"}).status_code == 404
        assert meeting_id not in outsider.get(f"/meetings/?month={TODAY.strftime('%Y-%m')}").text
        outsider_sub = outsider.sub
    rows = run(owner_fetch(database_urls.owner, NAKATOSA,
                           "SELECT action FROM audit_event WHERE tenant_id = $1 AND actor_sub = $2 AND object_id = $3",
                           NAKATOSA, outsider_sub, meeting_id))
    assert [r["action"] for r in rows].count("denied") == 4

    with logged_in(meetings_app, database_urls, roles=("staff", "coordinator")) as coordinator:  # not a member
        assert coordinator.get(f"/meetings/{meeting_id}").status_code == 200
        minutes = coordinator.get(f"/meetings/{meeting_id}/minutes")
        assert minutes.status_code == 403 and "母の介護申請を支援する。" not in minutes.text


def test_multilayer_meeting_page_refuses_a_non_consenting_case_with_the_reason(meetings_app, database_urls):
    case_id = _case(database_urls, consent_given=False)
    with logged_in(meetings_app, database_urls, roles=("staff", "coordinator")) as client:
        meeting_id = _meeting_id(client.post("/meetings/", data={
            "kind": "multilayer_meeting", "starts_at": "2026-12-04T14:00", "online_url": "https://meet.example.jp/a"},
            follow_redirects=False))
        refused = client.post(f"/meetings/{meeting_id}/agenda", data={"case_id": case_id}, follow_redirects=False)
        assert refused.status_code == 409
        assert "本人の情報共有への同意が記録されていません" in refused.text
        assert case_id not in client.get(f"/meetings/{meeting_id}").text


def test_nakatosa_kinds_and_roles_only_while_enabled_and_never_for_another_tenant(meetings_app, database_urls, settings):
    set_nakatosa(database_urls, True)
    run(owner_fetch(database_urls.owner, NAKATOSA, "DELETE FROM meeting_seat RETURNING duty_role"))  # nobody seated
    try:
        with logged_in(meetings_app, database_urls, roles=("staff", "coordinator")) as client:
            index = client.get("/meetings/")
            assert index.status_code == 200
            assert all(k in index.text for k in ("コア会議", "安心生活応援ネットワーク会議", "地域づくり・資源開発会議"))
            meeting_id = _meeting_id(client.post("/meetings/", data={
                "kind": "core_meeting", "starts_at": "2026-12-05T09:30", "place": "中土佐町社協"}, follow_redirects=False))
            page = client.get(f"/meetings/{meeting_id}")
            assert "コア会議（支援会議（社会福祉法第106条の6）として開催）" in page.text
            assert "包括化推進員A・包括化推進員D・包括化推進員Eの担当者が決まっていない" in page.text  # no seat holders yet
            seats = client.get("/meetings/seats").text
            assert "包括化推進員E" in seats and "地域包括支援センター統括ケアマネ" in seats
            programme = _programme(database_urls, "進捗ページの居場所")
            progress = client.get("/meetings/progress")
            assert progress.status_code == 200 and progress.text.count("事業の記録には担当者の項目がありません") == 1
            row = re.search(rf'<tr><td><a href="/programs/{programme}">進捗ページの居場所</a>.*?</tr>', progress.text, re.S)
            assert row and "進捗ページの拠点" in row.group(0) and "実施の記録なし" in row.group(0)
        with logged_in(meetings_app, database_urls, tenant_id=NANKOKU, roles=("staff", "coordinator")) as other:
            index = other.get("/meetings/?month=2026-12")
            assert "コア会議" not in index.text and meeting_id not in index.text
            assert other.get(f"/meetings/{meeting_id}").status_code == 404
            assert other.get(f"/meetings/{meeting_id}/minutes").status_code == 404
        set_nakatosa(database_urls, False)
        from core.app import create_app

        fresh = create_app(settings, app_database_url=database_urls.app)  # a new instance: no enablement cache
        with logged_in(fresh, database_urls, roles=("staff", "coordinator")) as client:
            index = client.get("/meetings/")
            assert index.status_code == 200
            # the kinds offered and the 種類 column (a meeting's own title, typed or defaulted when it was held, is
            # the municipality's record and stays as written)
            offered = re.search(r'<select id="m-kind".*?</select>', index.text, re.S).group(0)
            kind_cells = re.findall(r"<td>[^<]*</td>\s*<td><a href=\"/meetings/", index.text)
            assert not re.search("コア会議|安心生活応援ネットワーク会議|地域づくり・資源開発会議", offered + "".join(kind_cells))
            assert "重層的支援会議" in offered
            page = client.get(f"/meetings/{meeting_id}")  # the kind is gone: treated as confidential
            assert page.status_code == 200 and "包括化推進員A" not in page.text
            assert client.post("/meetings/", data={"kind": "core_meeting", "starts_at": "2026-12-06T10:00",
                                                   "place": "役場"}, follow_redirects=False).status_code == 422
            core_ok = client.post("/meetings/", data={"kind": "support_meeting", "starts_at": "2026-12-06T10:00",
                                                      "place": "役場"}, follow_redirects=False)
            assert core_ok.status_code == 303
    finally:
        set_nakatosa(database_urls, True)


def test_demo_seed_fills_nakatosa_s_seats_so_a_new_core_meeting_is_seated(meetings_app, database_urls):
    from infra.keycloak.realm import stable_id
    from tenants.seed import seed_demo_seats, seed_demo_staff

    set_nakatosa(database_urls, True)
    run(owner_fetch(database_urls.owner, NAKATOSA, "DELETE FROM meeting_seat RETURNING duty_role"))
    run(seed_demo_staff(database_urls.owner))
    try:
        with logged_in(meetings_app, database_urls, roles=("staff", "coordinator")) as client:
            # a seat the town already set is kept by the seed
            kept = client.post("/meetings/seats", data={"coordinator_b": stable_id("user", "multi.sato")},
                               follow_redirects=False)
            assert kept.status_code == 303
            assert run(seed_demo_seats(database_urls.owner)) == 4
            assert run(seed_demo_seats(database_urls.owner)) == 0  # idempotent
            seats = client.get("/meetings/seats").text
            for code, username in (("coordinator_a", "nakatosa.yamamoto"), ("coordinator_b", "multi.sato"),
                                   ("coordinator_e", "multi.sato")):
                assert re.search(rf'id="seat-{code}".*?<option value="{stable_id("user", username)}" selected>',
                                 seats, re.S), code
            meeting_id = _meeting_id(client.post("/meetings/", data={
                "kind": "core_meeting", "starts_at": "2026-12-07T09:30", "place": "中土佐町社協"}, follow_redirects=False))
            page = client.get(f"/meetings/{meeting_id}").text
            assert "担当者が決まっていない" not in page
            members = re.search(r'id="members".*?</table>', page, re.S).group(0)
            for name in ("山本 花子", "中村 健", "佐藤 誠"):
                assert name in members, name
    finally:
        run(owner_fetch(database_urls.owner, NAKATOSA, "DELETE FROM meeting_seat RETURNING duty_role"))


def test_agenda_picker_finds_the_users_open_cases_by_kana_or_number_only(meetings_app, database_urls):
    mine_sub = str(uuid.uuid4())
    mine = _case(database_urls, receiver=mine_sub, members=[
        {"name": "議題 選子", "kana": "ぎだい えらこ", "birth_date": "1950-01-01", "relationship": "本人"}])
    theirs = _case(database_urls, members=[
        {"name": "議題 他子", "kana": "ぎだい たこ", "birth_date": "1950-01-01", "relationship": "本人"}])
    with logged_in(meetings_app, database_urls, roles=("staff",), sub=mine_sub) as staff:
        options = staff.get("/meetings/case-options", params={"cq": "ギダイ"}, headers={"HX-Request": "true"}).text
        assert f'value="{mine}"' in options and "ぎだい えらこ" in options
        assert theirs not in options and "他子" not in options  # not on that case's team
        number = staff.get(f"/api/cases/{mine}").json()["case_number"]
        assert f'value="{mine}"' in staff.get("/meetings/case-options", params={"cq": number}).text
        assert "見つかりません" in staff.get("/meetings/case-options", params={"cq": "存在しない名前"}).text


def test_seats_are_set_by_coordinators_from_the_staff_directory_only(meetings_app, database_urls):
    from tests.test_meetings_api import _staff

    set_nakatosa(database_urls, True)
    holder = _staff(database_urls, name="席 保持者", kana="せき ほじしゃ")
    with logged_in(meetings_app, database_urls, roles=("staff",)) as staff:
        seats = staff.get("/meetings/seats").text  # readable, not changeable
        assert "包括化推進員D" in seats and "<select" not in seats
        refused = staff.post("/meetings/seats", data={"coordinator_d": holder}, follow_redirects=False)
        assert refused.status_code == 403 and "推進員の配置を変更できるのは" in refused.text
    with logged_in(meetings_app, database_urls, roles=("staff", "coordinator")) as coordinator:
        unknown = coordinator.post("/meetings/seats", data={"coordinator_d": "no-such-person"}, follow_redirects=False)
        assert unknown.status_code == 422 and "職員名簿にない職員です" in unknown.text
        assert coordinator.post("/meetings/seats", data={"coordinator_d": holder}, follow_redirects=False).status_code == 303
        assert f'<option value="{holder}" selected>席 保持者' in coordinator.get("/meetings/seats").text
        meeting_id = _meeting_id(coordinator.post("/meetings/", data={
            "kind": "core_meeting", "starts_at": f"{TODAY.isoformat()}T00:30", "place": "社協"}, follow_redirects=False))
        row = re.search(r"<tr><td>席 保持者.*?</tr>", coordinator.get(f"/meetings/{meeting_id}").text, re.S).group(0)
        assert "包括化推進員D" in row and "必須出席" in row
    with logged_in(meetings_app, database_urls, tenant_id=NANKOKU, roles=("staff", "coordinator")) as other:
        assert "席 保持者" not in other.get("/meetings/seats").text


def test_a_household_waiting_for_consent_shows_no_issues_on_the_next_meeting_s_page(meetings_app, database_urls):
    """コア会議 (支援会議) refers a household on without consent: the ネットワーク会議 (重層的支援会議) lists it as waiting,
    with the reason, but not the issues discussed under the 支援会議's secrecy."""
    import plugins.nakatosa as nakatosa
    from core.meetings import decisions, service
    from core.meetings.kinds import merge

    set_nakatosa(database_urls, True)
    coordinator = principal(NAKATOSA, roles=("staff", "coordinator"))
    case_id = _case(database_urls, receiver=coordinator.sub, consent_given=False)
    kinds = merge(nakatosa.kyosei_meeting_kinds(NAKATOSA))
    roles = {r.code: r for r in nakatosa.kyosei_roles(NAKATOSA)}
    rules = decisions.rules_for(kinds["core_meeting"], nakatosa.kyosei_meeting_kind_rules(NAKATOSA))
    when = dt.datetime.combine(TODAY, dt.time(0, 5), dt.timezone(dt.timedelta(hours=9)))

    async def refer(session):
        core = (await service.schedule(session, {"kind": "core_meeting", "starts_at": when, "place": "社協"},
                                       kinds, roles, coordinator)).meeting
        mine = next(m for m in await service.members(session, core.id) if m.user_sub == coordinator.sub)
        await service.acknowledge_confidentiality(session, core, mine.id, coordinator)
        item = await service.add_agenda_item(session, core, kinds["core_meeting"], case_id, "秘密の課題（借金と通院）",
                                             principal=coordinator)
        await service.decide(session, core, rules, item.id, "refer_next", None, coordinator)

    unit_of_work(database_urls, NAKATOSA, refer, actor=coordinator.sub)
    with logged_in(meetings_app, database_urls, roles=("staff", "coordinator"), sub=coordinator.sub) as client:
        network = _meeting_id(client.post("/meetings/", data={
            "kind": "network_meeting", "starts_at": f"{TODAY.isoformat()}T00:10", "place": "役場"},
            follow_redirects=False))
        waiting = re.search(r'<ul id="waiting">.*?</ul>', client.get(f"/meetings/{network}").text, re.S).group(0)
        assert "同意" in waiting and "秘密の課題" not in waiting
    number = run(owner_fetch(database_urls.owner, NAKATOSA, "SELECT case_number FROM support_case WHERE id = $1::uuid",
                             uuid.UUID(case_id)))[0]["case_number"]
    assert number in waiting
    with logged_in(meetings_app, database_urls, roles=("staff",)) as outsider:  # neither on the case nor in the meeting
        page = outsider.get(f"/meetings/{network}")
        assert page.status_code == 200 and number not in page.text and 'id="waiting"' not in page.text

    async def close(session):  # a closed case is carried no more: later tests of the chain see only their own
        await cases.transition(session, case_id, "closed", "試験の後始末")

    unit_of_work(database_urls, NAKATOSA, close)


def test_a_refused_meeting_form_is_shown_by_htmx_and_a_reload_shows_the_meeting(client, database_urls):
    """The meeting's forms posted without htmx so a refusal would be seen; the address bar then kept the POST URL
    (/meetings/{id}/members, …/decision) and a reload or Enter there answered 405 「この操作はできません」. Boosted,
    a refused form comes back as the meeting page that kyosei.js shows (its summary, or data-refusal for a
    decision/acknowledgement/finalisation refusal) with HX-Push-Url: false, so the address stays the meeting's."""
    from tests.isolation import tenant_world
    from tests.meetings_isolation import MEETING_ORGANISER
    from tests.sessions import login, open_session

    own = tenant_world(database_urls, "394017")
    session = login(client, open_session(database_urls, "394017", ("staff", "coordinator", "tenant-admin"),
                                         sub=MEETING_ORGANISER))
    meeting = own["meeting_id"]
    page = client.get(f"/meetings/{meeting}", headers={"accept": "text/html"}).text
    posting = [f for f in re.findall(r"<form\b[^>]*>", page) if 'method="post"' in f and "/auth/logout" not in f]
    assert posting and not [f for f in posting if 'hx-boost="false"' in f]
    htmx = {"accept": "text/html", "HX-Request": "true", "HX-Boosted": "true"}
    invalid = client.post(f"/meetings/{meeting}/members", data={"csrf_token": session.csrf, "user_sub": "nobody"},
                          headers=htmx)
    assert 'id="form-errors"' in invalid.text and invalid.headers["hx-push-url"] == "false"
    refused = client.post(f"/meetings/{meeting}/agenda/{own['item_id']}/support-decision",
                          data={"csrf_token": session.csrf}, headers=htmx)
    assert refused.status_code == 409 and "data-refusal" in refused.text and refused.headers["hx-push-url"] == "false"
