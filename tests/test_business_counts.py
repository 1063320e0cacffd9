"""The five 事業 on records: a case, a meeting, a programme and an activity each say which 事業 they belong to,
and the counts per 年度 follow them (a record of two 事業 counts under both; another 年度 is not counted)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.cases.schemas import ValidationFailed
from core.wareki import fiscal_year_of, today
from tests.cases_support import intake_body, principal, unit_of_work

TENANT = "394017"


def test_counts_per_business_and_fiscal_year_follow_the_records(database_urls):
    from core.cases import service as cases
    from core.grants.counts import business_counts
    from core.meetings import service as meetings
    from core.meetings.kinds import CORE_KINDS
    from core.programs import service as programs
    from core.programs.schemas import parse_slot

    year = fiscal_year_of(today())
    kinds = {k.code: k for k in CORE_KINDS}

    async def work(s):
        before = await business_counts(s, year)
        await cases.create_intake(s, intake_body(businesses=["outreach"]), principal(TENANT))
        await cases.create_intake(s, intake_body(lead_business="multi_agency"), principal(TENANT))
        starts = dt.datetime.combine(dt.date(year, 5, 1), dt.time(10))
        await meetings.create_meeting(s, {"kind": "multilayer_meeting", "starts_at": starts.isoformat(),
                                          "place": "役場"}, kinds)
        await meetings.create_meeting(s, {"kind": "support_meeting", "starts_at": starts.replace(year=year + 2).isoformat(),
                                          "place": "役場"}, kinds)  # another 年度
        hub = await programs.create_hub(s, {"name": "事業別の拠点", "kind": "attaka_fureai", "area": "久礼",
                                            "address": "", "description": ""})
        program = await programs.create_program(s, {
            "hub_id": hub.id, "name": "事業別の居場所", "kind": "community", "field": "elderly", "purpose": "",
            "target_group": "", "content": "", "drop_in": True, "min_age": None, "max_age": None, "capacity": None,
            "businesses": ["community", "participation"]})
        await programs.add_slot(s, program.id, parse_slot({"weekdays": ["2"], "start_time": "10:00",
                                                           "end_time": "12:00", "band_label": ""}))
        await programs.generate_sessions(s, program.id, dt.date(year, 6, 1), dt.date(year, 6, 30))
        await programs.add_activity(s, {"name": "事業別の子ども食堂", "field": "child", "area": "久礼", "started_by": "",
                                        "started_on": dt.date(year, 4, 10), "origin_hub_id": None,
                                        "origin_program_id": None, "grew_from_id": None, "description": ""})
        return before, await business_counts(s, year)

    before, after = unit_of_work(database_urls, TENANT, work)
    gained = {kind: {b: after[kind][b] - before[kind][b] for b in after[kind]} for kind in after}
    assert gained["cases"] == {"consultation": 1, "participation": 0, "community": 0, "outreach": 1, "multi_agency": 1}
    assert gained["meetings"] == {"consultation": 0, "participation": 0, "community": 0, "outreach": 0, "multi_agency": 1}
    assert gained["programmes"]["community"] == 1 and gained["programmes"]["participation"] == 1
    assert gained["activities"]["community"] == 1 and sum(gained["activities"].values()) == 1


def test_an_unknown_business_is_refused_in_japanese(database_urls):
    from core.cases import service as cases

    async def work(s):
        await cases.create_intake(s, intake_body(businesses=["welfare"]), principal(TENANT))

    with pytest.raises(ValidationFailed) as refused:
        unit_of_work(database_urls, TENANT, work)
    assert refused.value.errors[0]["field"] == "businesses" and "包括的相談支援事業" in refused.value.errors[0]["message"]


def test_a_meeting_and_a_programme_take_their_business_from_the_forms(client, database_urls):
    from tests.sessions import login, open_session

    session = login(client, open_session(database_urls, TENANT, ("staff", "coordinator", "tenant-admin")))
    page = client.get("/meetings", headers={"accept": "text/html"})
    assert page.status_code == 200 and 'name="businesses"' in page.text
    created = client.post("/meetings", headers={"accept": "text/html"}, follow_redirects=False, data={
        "csrf_token": session.csrf, "kind": "support_meeting", "businesses": "outreach",
        "starts_at": f"{today().isoformat()}T10:00", "place": "役場 2階"})
    assert created.status_code == 303, created.text[:500]
    detail = client.get(created.headers["location"], headers={"accept": "text/html"}).text
    assert "アウトリーチ等を通じた継続的支援事業" in detail
    refused = client.post("/meetings", headers={"accept": "text/html"}, data={
        "csrf_token": session.csrf, "kind": "support_meeting", "businesses": "welfare",
        "starts_at": f"{today().isoformat()}T10:00", "place": "役場"})
    assert refused.status_code == 422 and "事業は次から選んでください" in refused.text
