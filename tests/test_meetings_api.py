"""The meetings JSON API (/api/meetings): the same rules as the pages, as problem+json with Japanese messages.

- a 重層的支援会議 refuses a case without a consent covering it: 409 with the reason, audited, nothing stored;
  it agrees the plan, and 支援決定 is recorded by the deciding role (403 for anyone else);
- a 支援会議 refuses プラン合意 and 終結 (409, the rule named);
- 支援会議 minutes (GET and PUT) are 404 for a staff member who is not a member, and each attempt is audited; a
  member sees them only after acknowledging secrecy themselves (403 before);
- members are staff from the staff directory (the name comes from there) or typed external participants;
- any body, of any shape, is a 4xx with field messages, never a 500 (schemathesis in negative mode as well).
"""

from __future__ import annotations

import re

import datetime as dt
import os
import uuid

import pytest

from core.cases import service as cases
from core.wareki import today
from tests.cases_support import intake_body, principal, unit_of_work
from tests.conftest import run
from tests.pdf_support import pdf_text
from tests.test_meetings_pages import NAKATOSA, NANKOKU, logged_in, owner_fetch

PROBLEM = "application/problem+json"
NEGATIVE_EXAMPLES = int(os.environ.get("KYOSEI_FUZZ_EXAMPLES", "6"))  # `make fuzz` raises it, as for test_api_fuzz


def _case(urls, *, consent_kinds: tuple[str, ...] | None = None, planned: bool = False) -> str:
    """A case of 中土佐町; with ``consent_kinds`` a consent covering those meeting kinds; ``planned``: an
    assessment and a plan too (so a meeting can agree the plan)."""
    who = principal(NAKATOSA)

    async def work(session):
        case = await cases.create_intake(session, intake_body(consent_given=consent_kinds is not None), who)
        if consent_kinds is not None:
            agency = await cases.create_agency(session, {"name": f"会議API試験機関{uuid.uuid4().hex[:6]}",
                                                         "field": "elderly"})
            await cases.record_consent(session, case, {
                "given_on": today().isoformat(), "purpose": "会議での支援の検討", "agency_ids": [str(agency.id)],
                "meeting_kinds": list(consent_kinds), "method": "written"})
        if planned:
            members = await cases.household_members(session, case.household_id)
            await cases.add_assessment(session, case, {"assessed_on": today().isoformat(), "items": [
                {"person_id": str(members[1].person.id), "field": "elderly", "problem": "要介護認定が未申請"}]})
            await cases.create_plan(session, case, {"goals": "介護サービスの利用",
                                                    "review_on": (today() + dt.timedelta(days=5)).isoformat()})
        return str(case.id)

    return unit_of_work(urls, NAKATOSA, work, actor=who.sub)


def _staff(urls, tenant=NAKATOSA, name="会議 同僚", kana="かいぎ どうりょう") -> str:
    from core.auth.staff_directory import StaffEntry

    sub = str(uuid.uuid4())

    async def work(session):
        session.add(StaffEntry(user_sub=sub, display_name=name, kana=kana, username=f"api.{sub[:8]}"))

    unit_of_work(urls, tenant, work)
    return sub


def _audit(urls, actor: str, object_id: str) -> list[str]:
    rows = run(owner_fetch(urls.owner, NAKATOSA, "SELECT action, object_type FROM audit_event "
                           "WHERE tenant_id = $1 AND actor_sub = $2 AND object_id = $3", NAKATOSA, actor, object_id))
    return [r["action"] for r in rows]


TODAY = dt.datetime.now(dt.timezone(dt.timedelta(hours=9))).date()
HELD = f"{TODAY.isoformat()}T00:30"  # decisions are recorded on or after the meeting's day


def _meeting(client, kind="multilayer_meeting", **body) -> dict:
    response = client.post("/api/meetings", json={"kind": kind, "starts_at": HELD, "place": "役場", **body})
    assert response.status_code == 201, response.text
    return response.json()


def _acknowledge(client, meeting: dict) -> None:
    mine = next(m for m in meeting["members"] if m["user_sub"] == client.sub)
    assert client.post(f"/api/meetings/{meeting['id']}/members/{mine['id']}/acknowledgement").status_code == 200


def test_multilayer_meeting_over_the_api_refuses_a_case_without_consent_and_agrees_a_plan(app, database_urls):
    refused_case = _case(database_urls)
    ready_case = _case(database_urls, consent_kinds=("multilayer_meeting",), planned=True)
    colleague = _staff(database_urls)
    with logged_in(app, database_urls, roles=("staff", "coordinator")) as client:
        reference = client.get("/api/meetings/reference").json()
        assert {"support_meeting", "multilayer_meeting"} <= {k["code"] for k in reference["kinds"]}
        meeting = _meeting(client, title="重層的支援会議（12月）", ends_at=f"{TODAY.isoformat()}T11:30+09:00")
        assert meeting["members"][0]["user_sub"] == client.sub and meeting["members"][0]["member_role"] == "leader"
        assert meeting["requires_consent"] and not meeting["confidential"]
        mid = meeting["id"]

        refused = client.post(f"/api/meetings/{mid}/agenda", json={"case_id": refused_case, "issues": "8050"})
        assert refused.status_code == 409 and refused.headers["content-type"].startswith(PROBLEM)
        assert refused.json()["detail"] == ("「重層的支援会議」の議題にできません: "
                                            "本人の情報共有への同意が記録されていません。同意を得て記録してから共有してください。")
        assert "denied" in _audit(database_urls, client.sub, refused_case)

        staff = client.post(f"/api/meetings/{mid}/members", json={"user_sub": colleague, "name": "名前は名簿から",
                                                                  "member_role": "required"})
        assert staff.status_code == 201 and staff.json()["name"] == "会議 同僚"
        again = client.post(f"/api/meetings/{mid}/members", json={"user_sub": colleague})
        assert again.status_code == 422 and "すでにこの会議の参加者です" in again.json()["errors"][0]["message"]
        external = client.post(f"/api/meetings/{mid}/members", json={"name": "包括 担当", "organisation": "地域包括支援センター"})
        assert external.status_code == 201 and external.json()["user_sub"] is None

        item = client.post(f"/api/meetings/{mid}/agenda", json={"case_id": ready_case, "issues": "支援分担の決定"})
        assert item.status_code == 201, item.text
        assert item.json()["case_status"] == "planning" and "範囲内" in item.json()["sharing_basis"]
        decided = client.post(f"/api/meetings/{mid}/agenda/{item.json()['id']}/decision",
                              json={"decision": "plan_agreed", "note": "包括: 介護申請、社協: 居場所"})
        assert decided.status_code == 200, decided.text
        assert decided.json()["case_status"] == "planning" and decided.json()["decision_label"] == "プランに合意"
        again = client.post(f"/api/meetings/{mid}/agenda/{item.json()['id']}/decision", json={"decision": "closed",
                                                                                          "note": "x"})
        assert again.status_code == 409 and "決定済み" in again.json()["detail"]
        support = f"/api/meetings/{mid}/agenda/{item.json()['id']}/support-decision"
        not_mine = client.post(support, json={})
        assert not_mine.status_code == 403 and "団体管理者" in not_mine.json()["detail"]

    def waiting_on_home(client) -> int:  # the deciding person's home page says how many plans wait for them
        found = re.search(r"支援決定を待っているケースが(\d+)件あります", client.get("/", headers={"accept": "text/html"}).text)
        return int(found.group(1)) if found else 0

    with logged_in(app, database_urls, roles=("staff", "tenant-admin")) as municipality:
        before = waiting_on_home(municipality)
        assert before >= 1
        decided = municipality.post(support, json={"note": "町として支援を決定"})
        assert decided.status_code == 200, decided.text
        assert waiting_on_home(municipality) == before - 1
        assert decided.json()["case_status"] == "decided" and decided.json()["support_decided_by"] == municipality.sub
        assert decided.json()["support_decided_by_name"] and decided.json()["support_decided_at"]
    with logged_in(app, database_urls, roles=("staff", "coordinator")) as client:
        detail = client.get(f"/api/meetings/{mid}").json()
        assert [m["name"] for m in detail["members"]][1:] == ["会議 同僚", "包括 担当"]
        assert [a["case_id"] for a in detail["agenda"]] == [ready_case]  # the refused case was never stored
        assert detail["runs_as"] == "multilayer_meeting" and "plan_agreed" in detail["decisions"]
        since, until = TODAY.replace(day=1), (TODAY.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
        assert mid in [m["id"] for m in client.get("/api/meetings", params={"from": since.isoformat(),
                                                                          "to": until.isoformat()}).json()]
        assert ready_case in [c["id"] for c in client.get("/api/meetings/follow-up", params={"within_days": "30"}).json()]
        progress = {c["id"]: c for c in client.get("/api/meetings/progress").json()["cases"]}
        assert progress[ready_case]["last_decision"] == "plan_agreed" and progress[ready_case]["last_meeting_id"] == mid


def test_support_meeting_minutes_over_the_api_are_404_for_a_non_member_and_audited(app, database_urls):
    with logged_in(app, database_urls, roles=("staff",)) as member:
        meeting = _meeting(member, kind="support_meeting", place=None, online_url="https://meet.example.jp/k")
        mid = meeting["id"]
        assert meeting["confidential"] and meeting["access"] == "limited"
        before = member.put(f"/api/meetings/{mid}/minutes", json={"minutes": "確認前"})
        assert before.status_code == 403 and "守秘義務の確認を記録した参加者だけ" in before.json()["detail"]
        ack = member.post(f"/api/meetings/{mid}/members/{meeting['members'][0]['id']}/acknowledgement")
        assert ack.status_code == 200 and ack.json()["confidentiality_ack_method"] == "self"
        assert ack.json()["confidentiality_ack_on"] == TODAY.isoformat()
        saved = member.put(f"/api/meetings/{mid}/minutes", json={"minutes": "母の介護申請を支援する。"})
        assert saved.status_code == 200 and saved.json()["updated_by"] == member.sub
        assert member.get(f"/api/meetings/{mid}/minutes").json()["minutes"] == "母の介護申請を支援する。"

    with logged_in(app, database_urls, roles=("staff",)) as outsider:
        for response in (outsider.get(f"/api/meetings/{mid}/minutes"), outsider.get(f"/api/meetings/{mid}"),
                         outsider.put(f"/api/meetings/{mid}/minutes", json={"minutes": "上書き"})):
            assert response.status_code == 404 and response.headers["content-type"].startswith(PROBLEM)
            assert response.json()["title"] == "見つかりません" and "母の介護" not in response.text
        assert mid not in [m["id"] for m in outsider.get("/api/meetings").json()]
        assert _audit(database_urls, outsider.sub, mid).count("denied") == 3

    with logged_in(app, database_urls, roles=("staff", "coordinator")) as coordinator:  # not a member: not bound
        limited = coordinator.get(f"/api/meetings/{mid}/minutes")
        assert limited.status_code == 403 and "母の介護" not in limited.text
        assert coordinator.get(f"/api/meetings/{mid}").json()["access"] == "limited"
    with logged_in(app, database_urls, tenant_id=NANKOKU, roles=("staff", "coordinator")) as other:
        assert other.get(f"/api/meetings/{mid}/minutes").status_code == 404


@pytest.mark.parametrize(("method", "path", "body", "field", "fragment"), [
    ("POST", "/api/meetings", {}, "kind", "会議の種類を選んでください"),
    ("POST", "/api/meetings", {"kind": "support_meeting"}, "starts_at", "開始日時を入力してください"),
    ("POST", "/api/meetings", {"kind": ["support_meeting"], "starts_at": 20261201, "place": {"a": 1}}, "kind", "会議の種類"),
    ("POST", "/api/meetings", {"kind": "support_meeting", "starts_at": "0001-01-01T00:00", "place": "x"}, "starts_at", "2000年から2100年"),
    ("POST", "/api/meetings", {"kind": "support_meeting", "starts_at": "2026-12-01T10:00", "place": "a\x00b"}, "place", "制御文字"),
    ("POST", "/api/meetings", {"kind": "support_meeting", "starts_at": "2026-12-01T10:00"}, "place", "場所かオンライン"),
    ("POST", "{meeting}/members", {"name": "外部 太郎"}, "organisation", "所属機関を入力"),
    ("POST", "{meeting}/members", {"user_sub": "no-such-person"}, "user_sub", "職員名簿にない職員です"),
    ("POST", "{meeting}/members", {"name": 3, "organisation": True, "member_role": ["leader"]}, "name", "文字で入力"),
    ("POST", "{meeting}/agenda", {}, "case_id", "議題にするケースを指定"),
    ("POST", "{meeting}/agenda", {"case_id": 12}, "case_id", "形式が正しくありません"),
    ("PUT", "{meeting}/minutes", {"minutes": ["x"]}, "minutes", "文字で入力"),
    ("PUT", "{meeting}/minutes", {}, "minutes", "議事録（minutes）を指定"),
    ("GET", "/api/meetings?from=2026-13-01", None, "from", "令和7年4月1日"),
    ("GET", "/api/meetings/follow-up?within_days=-1", None, "within_days", "0〜365"),
    ("GET", "/api/meetings/staff-directory?q=a%00", None, "q", "制御文字"),
])
def test_bad_input_is_a_japanese_field_message(app, database_urls, method, path, body, field, fragment):
    with logged_in(app, database_urls, roles=("staff", "coordinator")) as client:
        if "{meeting}" in path:
            path = path.replace("{meeting}", f"/api/meetings/{_meeting(client)['id']}")
        response = client.request(method, path, json=body)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith(PROBLEM)
        errors = response.json()["errors"]
        assert any(e["field"] == field and fragment in e["message"] for e in errors), errors


def test_malformed_json_csrf_roles_and_unknown_decisions(app, database_urls):
    case_id = _case(database_urls)
    with logged_in(app, database_urls, roles=("staff", "coordinator")) as client:
        meeting = _meeting(client, kind="support_meeting")
        mid = meeting["id"]
        _acknowledge(client, meeting)
        bad = client.post("/api/meetings", content=b"{not json", headers={"content-type": "application/json"})
        assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "body"
        item = client.post(f"/api/meetings/{mid}/agenda", json={"case_id": case_id}).json()
        unknown = client.post(f"/api/meetings/{mid}/agenda/{item['id']}/decision", json={"decision": "adjourned"})
        assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "decision"
        for code, label in (("closed", "終結"), ("plan_agreed", "プランに合意")):
            refused = client.post(f"/api/meetings/{mid}/agenda/{item['id']}/decision", json={"decision": code})
            assert refused.status_code == 409 and refused.headers["content-type"].startswith(PROBLEM)
            assert refused.json()["detail"].startswith(f"支援会議（社会福祉法第106条の6）では「{label}」は決められません。")
        assert _audit(database_urls, client.sub, mid).count("denied") == 2
        assert client.get(f"/api/meetings/{uuid.uuid4()}").status_code == 404
        assert client.get(f"/api/meetings/{mid}/members/{uuid.uuid4()}/acknowledgement").status_code == 405
        assert client.post(f"/api/meetings/{mid}/members/{uuid.uuid4()}/acknowledgement").status_code == 404
        del client.headers["X-CSRF-Token"]
        assert client.post("/api/meetings", json={"kind": "support_meeting"}).status_code == 403
    with logged_in(app, database_urls, roles=("tenant-admin",)) as admin:
        assert admin.get("/api/meetings").status_code == 403
    with logged_in(app, database_urls, tenant_id="390003", roles=("prefecture-admin", "staff")) as prefecture:
        assert prefecture.get("/api/meetings").status_code == 403


def test_staff_directory_search_over_the_api_stays_in_the_tenant(app, database_urls):
    sub = _staff(database_urls, name="検索 用子", kana="けんさく ようこ")
    other = _staff(database_urls, tenant=NANKOKU, name="検索 他市", kana="けんさく たし")
    with logged_in(app, database_urls, roles=("staff",)) as client:
        found = client.get("/api/meetings/staff-directory", params={"q": "ケンサク"}).json()
        assert sub in [p["user_sub"] for p in found] and other not in [p["user_sub"] for p in found]
        assert client.get("/api/meetings/staff-directory").json() == []


def test_no_input_makes_the_meetings_api_fail_even_outside_the_schema(app, database_urls, settings):
    """schemathesis over the meetings operations in negative mode (bodies and parameters that break the schema)."""
    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error

    from core.app import create_app
    from infra.database.embedded import free_port
    from tests.live import serve
    from tests.sessions import open_session

    session = open_session(database_urls, NAKATOSA, ("staff", "coordinator"))
    headers = {"Cookie": f"kyosei_session={session.raw}", "X-CSRF-Token": session.csrf}
    with serve(create_app(settings, app_database_url=database_urls.app), free_port()) as url:
        schema = schemathesis.openapi.from_url(f"{url}/api/schema/openapi.json").include(path_regex="^/api/meetings")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) == 17
        exercised = []
        for operation in operations:

            @given(case=operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
            @hypothesis_settings(max_examples=NEGATIVE_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
                                 derandomize=True)
            def exercise(case):
                response = case.call(base_url=url, headers=headers)
                case.validate_response(response, checks=[not_a_server_error])

            try:
                exercise()
            except Unsatisfiable:
                continue  # nothing in this operation can break the schema (no parameters, no body)
            exercised.append(f"{operation.method.upper()} {operation.path}")
        assert len(exercised) >= 14, exercised


def test_staff_outside_a_case_cannot_put_it_on_an_agenda_until_they_state_a_reason(app, database_urls):
    """The agenda shows a case's number and status to the meeting: only people who may see the case put it there
    (coordinators, its staff and agencies, or someone who opened it with a reason, audited)."""
    case_id = _case(database_urls)  # received by another staff member
    with logged_in(app, database_urls, roles=("staff",)) as outsider:
        meeting = _meeting(outsider, kind="support_meeting")
        _acknowledge(outsider, meeting)
        refused = outsider.post(f"/api/meetings/{meeting['id']}/agenda", json={"case_id": case_id})
        assert refused.status_code == 403
        assert "担当者・関係機関の職員・コーディネーター" in refused.json()["detail"]
        assert outsider.get(f"/api/meetings/{meeting['id']}").json()["agenda"] == []
        assert "denied" in _audit(database_urls, outsider.sub, case_id)
        assert outsider.post(f"/api/cases/{case_id}/access", json={"reason": "支援会議で検討するため"}).status_code == 201
        added = outsider.post(f"/api/meetings/{meeting['id']}/agenda", json={"case_id": case_id})
        assert added.status_code == 201, added.text


def test_seats_over_the_api_are_set_by_coordinators_and_seat_the_next_meeting(app, database_urls):
    from tests.test_meetings_pages import set_nakatosa

    set_nakatosa(database_urls, True)
    holder = _staff(database_urls, name="推進 員子", kana="すいしん いんこ")
    with logged_in(app, database_urls, roles=("staff",)) as staff:
        assert "coordinator_e" in [s["duty_role"] for s in staff.get("/api/meetings/seats").json()]
        refused = staff.put("/api/meetings/seats", json={"coordinator_e": holder})
        assert refused.status_code == 403 and "推進員の配置を変更できる" in refused.json()["detail"]
    with logged_in(app, database_urls, roles=("staff", "coordinator")) as client:
        bad = client.put("/api/meetings/seats", json={"coordinator_z": holder, "coordinator_e": 3})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "coordinator_z"
        unknown = client.put("/api/meetings/seats", json={"coordinator_e": "no-such-person"})
        assert unknown.status_code == 422 and "職員名簿にない職員です" in unknown.json()["errors"][0]["message"]
        seats = {s["duty_role"]: s for s in client.put("/api/meetings/seats", json={"coordinator_e": holder}).json()}
        assert seats["coordinator_e"]["display_name"] == "推進 員子" and seats["coordinator_e"]["label"] == "包括化推進員E"
        core = _meeting(client, kind="core_meeting")
        seated = next(m for m in core["members"] if m["user_sub"] == holder)
        assert (seated["member_role"], seated["duty_role_label"]) == ("required", "包括化推進員E")
        freed = {s["duty_role"]: s for s in client.put("/api/meetings/seats", json={"coordinator_e": None}).json()}
        assert freed["coordinator_e"]["user_sub"] is None


def test_reading_a_meeting_s_agenda_is_an_audited_read_of_each_case_on_it(app, database_urls):
    """The agenda shows each case with the issues written about it: whoever reads it (here a member of the meeting
    who is not on the case) leaves a READ of that case on the trail."""
    ready_case = _case(database_urls, consent_kinds=("multilayer_meeting",), planned=True)
    member = _staff(database_urls)
    with logged_in(app, database_urls, roles=("staff", "coordinator")) as client:
        mid = _meeting(client)["id"]
        assert client.post(f"/api/meetings/{mid}/members", json={"user_sub": member}).status_code == 201
        assert client.post(f"/api/meetings/{mid}/agenda", json={"case_id": ready_case, "issues": "介護の分担"}
                           ).status_code == 201
    with logged_in(app, database_urls, roles=("staff",), sub=member) as reader:
        detail = reader.get(f"/api/meetings/{mid}").json()
        assert [a["issues"] for a in detail["agenda"]] == ["介護の分担"]
        assert "read" in _audit(database_urls, reader.sub, ready_case)


def _shared_case(urls, worker: str) -> str:
    """A case of 中土佐町 whose consent covers 重層的支援会議 and shares 基本情報・プラン (not 支援経過) with an agency
    where ``worker`` works."""
    who = principal(NAKATOSA)

    async def work(session):
        case = await cases.create_intake(session, intake_body(consent_given=True), who)
        agency = await cases.create_agency(session, {"name": f"会議範囲試験機関{uuid.uuid4().hex[:6]}",
                                                     "field": "elderly"})
        await cases.add_agency_staff(session, agency, {"user_sub": worker, "display_name": "機関 職員"})
        await cases.record_consent(session, case, {
            "given_on": today().isoformat(), "purpose": "会議での支援の検討", "agency_ids": [str(agency.id)],
            "purposes": ["information_sharing", "multilayer_meeting"], "items": ["plan"],
            "meeting_kinds": ["multilayer_meeting"], "method": "written"})
        await cases.share_with_agency(session, case, agency.id)
        return str(case.id)

    return unit_of_work(urls, NAKATOSA, work, actor=who.sub)


def test_a_multilayer_meeting_shows_an_agenda_case_only_to_who_may_read_it(app, database_urls):
    """Any staff member of the town may open a 重層的支援会議, not every case on it. Its members, coordinators and
    tenant admins read each item whole; others read a case as the case page lets them (an agency under a consent
    for 基本情報・プラン: the number and status, not the issues and decision note, which are 支援経過); anyone else
    sees 「閲覧権限のないケース」 — on the page and in the API alike, and no READ of the case is recorded for them."""
    worker = _staff(database_urls, name="機関 職員", kana="きかん しょくいん")
    colleague = _staff(database_urls)
    case_id = _shared_case(database_urls, worker)
    with logged_in(app, database_urls, roles=("staff", "coordinator")) as chair:
        mid = _meeting(chair)["id"]
        assert chair.post(f"/api/meetings/{mid}/members", json={"user_sub": colleague}).status_code == 201
        item = chair.post(f"/api/meetings/{mid}/agenda", json={"case_id": case_id, "issues": "借金の整理と母の介護"})
        assert item.status_code == 201, item.text
        number = item.json()["case_number"]
        decided = chair.post(f"/api/meetings/{mid}/agenda/{item.json()['id']}/decision",
                             json={"decision": "info_shared", "note": "督促状は包括が確認する"})
        assert decided.status_code == 200, decided.text
    texts = ("借金の整理と母の介護", "督促状は包括が確認する")

    def read_as(sub=None, roles=("staff",)):
        with logged_in(app, database_urls, roles=roles, sub=sub) as reader:
            body = reader.get(f"/api/meetings/{mid}")
            page = reader.get(f"/meetings/{mid}")
            pdf = reader.get(f"/meetings/{mid}/minutes.pdf")
            assert body.status_code == 200 and page.status_code == 200 and pdf.status_code == 200
            return reader.sub, body.json()["agenda"][0], page.text + pdf_text(pdf.content)

    outsider, seen, page = read_as()  # the page and the minutes PDF
    assert not any(t in page for t in texts) and number not in page and case_id not in page
    assert "閲覧権限のないケース" in page
    assert [seen.get(k) for k in ("case_id", "case_number", "case_status", "issues", "decision_note",
                                  "sharing_basis")] == [None] * 6
    assert seen["case_readable"] is False and seen["decision"] == "info_shared"
    assert "read" not in _audit(database_urls, outsider, case_id)

    _, seen, page = read_as(worker)  # the agency: 基本情報・プラン
    assert seen["case_readable"] and seen["case_number"] == number and seen["case_status"] == "intake"
    assert seen["issues"] is None and seen["decision_note"] is None
    assert number in page and not any(t in page for t in texts)

    for sub, roles in ((colleague, ("staff",)), (None, ("staff", "tenant-admin")), (None, ("staff", "coordinator"))):
        _, seen, page = read_as(sub, roles)  # a member who is not on the case, the deciding role, the 事務局
        assert (seen["issues"], seen["decision_note"]) == texts and all(t in page for t in texts)
