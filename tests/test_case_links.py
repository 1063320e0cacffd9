"""A case is linked only where the user may see it (issue #16): a programme enrolment names a case by its number,
visible to the user and with the consent purpose 参加支援; an assignee is picked from the staff directory."""

from __future__ import annotations

import datetime as dt

import pytest

from core.programs import service as programs
from core.wareki import today
from tests.cases_support import intake_body
from tests.db import fetch
from tests.sessions import as_user, list_in_directory, open_session
from tests.test_programs_service import in_tenant

NAKATOSA, NANKOKU = "394017", "392049"


def new_case(client, **consent) -> dict:
    case = client.post("/api/cases", json=intake_body()).json()
    if consent:
        assert client.post(f"/api/cases/{case['id']}/consents", json={
            "given_on": (today() - dt.timedelta(days=1)).isoformat(), "meeting_kinds": ["core_meeting"],
            **consent}).status_code == 201
    return case


@pytest.fixture()
def program(database_urls) -> str:
    async def make(s):
        hub = await programs.create_hub(s, {"name": "久礼の拠点", "kind": "venue"})
        return str((await programs.create_program(s, {"hub_id": hub.id, "name": "就労体験", "kind": "participation"})).id)

    return in_tenant(database_urls, NAKATOSA, make)


def enrol(client, program: str, case_ref: str | None, key: str = "case_number"):
    body = {"person_name": "山田 太郎", "person_kana": "やまだ たろう", "age": "50"}
    if case_ref is not None:
        body[key] = case_ref
    return client.post(f"/api/programs/{program}/enrolments", json=body)


def stored_links(urls, program: str) -> list:
    return [r["case_id"] for r in fetch(urls.owner, "SELECT case_id FROM program_enrolment WHERE program_id = $1::uuid",
                                        program, tenant=NAKATOSA)]


def test_enrolment_links_a_visible_case_by_number_only_with_consent_for_participation(client, database_urls, program):
    as_user(client, open_session(database_urls, NANKOKU, ("staff", "coordinator")))
    nankoku_case = new_case(client, purposes=["participation_support"])

    as_user(client, open_session(database_urls, NAKATOSA, ("staff", "coordinator")))
    without = new_case(client, purposes=["information_sharing"])
    linked = new_case(client, purposes=["information_sharing", "participation_support"])

    refusals = {
        "another municipality's case id": enrol(client, program, nankoku_case["id"], key="case_id"),
        "another municipality's case number": enrol(client, program, nankoku_case["case_number"]),
        "a made-up id": enrol(client, program, "0190a5c4-0000-7000-8000-000000000000", key="case_id"),
        "no consent for 参加支援": enrol(client, program, without["case_number"]),
    }
    for label, response in refusals.items():
        assert response.status_code == 422, label
        error = response.json()["errors"][0]
        assert error["field"] == "case_number", label
    assert "閲覧できるケースではありません" in refusals["another municipality's case id"].json()["errors"][0]["message"]
    assert "「参加支援」が含まれていません" in refusals["no consent for 参加支援"].json()["errors"][0]["message"]
    assert stored_links(database_urls, program) == []  # nothing half-written

    assert enrol(client, program, linked["case_number"]).status_code == 201
    assert [str(c) for c in stored_links(database_urls, program)] == [linked["id"]]


def test_a_staff_member_enrols_only_cases_they_may_see(client, database_urls, program):
    as_user(client, open_session(database_urls, NAKATOSA, ("staff", "coordinator")))
    case = new_case(client, purposes=["participation_support"])
    as_user(client, open_session(database_urls, NAKATOSA, ("staff",)))  # not on the case's team
    refused = enrol(client, program, case["case_number"])
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "case_number"


def test_the_enrolment_form_suggests_the_users_cases_by_name(client, database_urls, program):
    as_user(client, open_session(database_urls, NAKATOSA, ("staff", "coordinator")))
    case = new_case(client)
    options = client.get("/cases/case-picker", params={"case_number": "やまだ"}).text
    assert f'value="{case["case_number"]}"' in options
    page = client.get(f"/programs/{program}").text
    assert 'list="case-suggestions"' in page and 'name="case_number"' in page


def test_an_assignee_is_picked_from_the_directory_and_a_typed_id_is_refused(client, database_urls):
    colleague = open_session(database_urls, NAKATOSA, ("staff",), display_name="中村 健")
    list_in_directory(database_urls, colleague, "中村 健", "なかむら けん")
    as_user(client, open_session(database_urls, NAKATOSA, ("staff", "coordinator")))
    case = new_case(client)
    typed = client.post(f"/cases/{case['id']}/assignees", data={
        "csrf_token": client.headers["X-CSRF-Token"], "user_sub": "someone-typed-by-hand", "display_name": "誰か"})
    assert typed.status_code == 422 and "職員名簿から担当者を選んでください" in typed.text
    no_script = client.post(f"/cases/{case['id']}/assignees", data={  # a browser without JavaScript searches here
        "csrf_token": client.headers["X-CSRF-Token"], "q": "中村"})
    assert no_script.status_code == 422 and f'value="{colleague.sub}"' in no_script.text
    options = client.get("/cases/staff-picker", params={"q": "なかむら"}).text
    assert f'value="{colleague.sub}"' in options and "中村 健" in options
    picked = client.post(f"/cases/{case['id']}/assignees", data={
        "csrf_token": client.headers["X-CSRF-Token"], "user_sub": colleague.sub, "role": "main"},
        follow_redirects=False)
    assert picked.status_code == 303
    assert "中村 健" in [a["display_name"] for a in client.get(f"/api/cases/{case['id']}").json()["assignees"]]

