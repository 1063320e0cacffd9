"""Counts across municipalities: only through the prefecture's SQL function, protected by primary and
complementary suppression on the page, the CSV, the chart and the API alike, and a prefecture user never opens a
case."""

from __future__ import annotations

import datetime as dt
import re

import asyncpg
import pytest

from core import wareki
from tests.conftest import saved_as
from tests.isolation import _grant_unit_of_work
from tests.sessions import login, open_session

FY = 2030  # a year no other test uses


def test_small_counts_are_hidden_in_sql_and_every_hidden_cell_has_one_label(database_urls):
    from core.prefecture.aggregates import display_count
    from tests.db import fetch

    rows = fetch(database_urls.app, "SELECT n, prefecture_suppress(n) AS shown FROM generate_series(0, 6) AS n")
    assert {r["n"]: r["shown"] for r in rows} == {0: 0, 1: None, 2: None, 3: None, 4: None, 5: 5, 6: 6}
    assert [display_count(v) for v in (None, 0, 5, 12345)] == ["秘匿", "0", "5", "12,345"]


def _caseload(urls, tenant_id, count, month="2030-05"):
    from core.grants import service
    from core.grants.models import GrantFiscalYear
    from sqlalchemy import select

    async def work(session):
        year = await session.scalar(select(GrantFiscalYear).where(GrantFiscalYear.fiscal_year == FY))
        year = year or await service.create_year(session, {"fiscal_year": FY})
        await service.add_entry(session, service.LEDGERS["caseload"], year.id,
                                {"period_month": month, "business": "outreach", "field": "poverty", "count": count})

    _grant_unit_of_work(urls, tenant_id, work)


def _cells(page_text: str) -> dict[str, list[str]]:
    rows = dict(re.findall(r'<tr data-code="(\d{6})">(.*?)</tr>', page_text, re.S))
    return {code: re.findall(r'<td class="num[^"]*">([^<]*)</td>', row) for code, row in rows.items()}


def test_small_counts_and_what_would_give_them_back_are_hidden_on_page_csv_chart_and_api(client, database_urls):
    _caseload(database_urls, "394017", 3)  # 中土佐町 May: 3 (primary)
    _caseload(database_urls, "394017", 27, month="2030-11")  # 中土佐町 November: 27
    _caseload(database_urls, "392049", 7)  # 南国市 May: 7
    _caseload(database_urls, "392049", 40, month="2030-11")
    _caseload(database_urls, "392014", 2, month="2030-06")  # 高知市: a 年度計 of 2 (its bar must not show a length)
    login(client, open_session(database_urls, "390003", ("prefecture-admin",)))
    page = client.get(f"/prefecture/aggregates?fiscal_year={FY}&metric=caseload")
    assert page.status_code == 200
    cells = _cells(page.text)
    nakatosa, nankoku = cells["394017"], cells["392049"]
    assert nakatosa[1] == "秘匿" and "3" not in nakatosa
    # Complementary: 中土佐町's November (or 年度計) and 南国市's May are hidden too, or 3 = 30 − 27 = 10 − 7.
    assert nankoku[1] == "秘匿"
    assert "秘匿" in (nakatosa[7], nakatosa[-1])
    assert "5未満" not in page.text  # a hidden cell does not say whether it is small
    assert cells["392014"][-1] == "秘匿"
    chart_row = re.search(r'>高知市</text>\s*<rect class="([^"]+)"', page.text).group(1)
    assert chart_row == "bar bar--suppressed"  # the chart draws it as hidden, not as a length

    # The checker over what the page published: nothing can be narrowed below the threshold.
    from core.prefecture.aggregates import METRICS, months_of, table_relations
    from core.prefecture.disclosure import leaks
    from core.prefecture.service import municipalities

    codes = [m.code for m in municipalities()]
    months = months_of(FY)
    published = {}
    for code in codes:
        row = cells[code]
        for month, shown in zip(months, row[:-1]):
            published[(code, month)] = None if shown == "秘匿" else int(shown.replace(",", ""))
        published[(code, None)] = None if row[-1] == "秘匿" else int(row[-1].replace(",", ""))
    foot = re.search(r"<tfoot>(.*?)</tfoot>", page.text, re.S).group(1)
    totals = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', foot)
    for key, shown in zip([*months, None], totals):
        published[(None, key)] = None if shown == "秘匿" else int(shown.replace(",", ""))
    hidden = {k for k, v in published.items() if v is None}
    assert len(hidden) >= 4
    assert leaks(published, hidden, table_relations(METRICS["caseload"], codes, months)) == []

    csv = client.get(f"/prefecture/aggregates.csv?fiscal_year={FY}&metric=caseload")
    assert csv.status_code == 200 and csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert saved_as(csv).startswith("対応件数（交付金台帳）_") and saved_as(csv).endswith("年度）.csv")
    line = next(row for row in csv.text.splitlines() if row.startswith("394017,"))
    assert line.split(",")[2:] == nakatosa

    api = client.get(f"/api/prefecture/aggregates?fiscal_year={FY}&metric=caseload").json()
    row = next(m for m in api["municipalities"] if m["tenant_id"] == "394017")
    assert row["months"][f"{FY}-05"] == {"value": None, "suppressed": True}
    assert [None if v["suppressed"] else v["value"] for v in row["months"].values()] == [
        published[("394017", m)] for m in months]
    bad = client.get("/api/prefecture/aggregates?metric=nope")
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")


def test_the_aggregate_function_refuses_anyone_but_the_prefecture(database_urls):
    from infra.database.provision import connect
    from tests.conftest import run

    async def as_tenant(tenant):
        conn = await connect(database_urls.app)
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
                return await conn.fetch("SELECT * FROM prefecture_counts($1)", FY)
        finally:
            await conn.close()

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        run(as_tenant("394017"))
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        run(as_tenant(""))
    assert run(as_tenant("390003"))  # the prefecture gets counts (never a row of a municipality)


def test_a_prefecture_user_never_opens_a_case(app, client, database_urls):
    case_routes = sorted({route.path for route in app.routes
                          if route.path.startswith(("/cases", "/api/cases")) and "GET" in getattr(route, "methods", ())})
    if not case_routes:
        pytest.skip("no /cases or /api/cases routes in this build yet (the cases domain is built in parallel)")
    login(client, open_session(database_urls, "390003", ("prefecture-admin", "staff", "coordinator", "auditor")))
    any_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
    for path in case_routes:
        concrete = re.sub(r"\{[^}]+\}", any_id, path)
        response = client.get(concrete, follow_redirects=False)
        assert response.status_code in (403, 404), f"{concrete} answered {response.status_code} to the prefecture"


AGREE_FY = 2036  # no other test writes programme sessions in this 年度
NANKOKU = "392049"


def test_the_grant_report_and_the_prefecture_page_give_the_same_participants_and_hubs(client, database_urls):
    """参加者数 is distinct people (not attendances) and 拠点数 community hubs (not every hub), on both sides."""
    from core.grants.counts import implementation_counts
    from core.programs import service as programs
    from core.programs.eligibility import Applicant
    from core.programs.schemas import AttendanceInput, EnrolmentInput, parse_slot
    from tests.test_programs_service import hub_and_program, in_tenant

    async def work(s):
        _, study = await hub_and_program(s, "学びの場")  # participation: its hub is not a 地域づくり hub
        await programs.add_slot(s, study.id, parse_slot({"weekdays": "2", "start_time": "10:00", "end_time": "12:00"}))
        await programs.generate_sessions(s, study.id, dt.date(AGREE_FY, 6, 1), dt.date(AGREE_FY, 7, 31))
        people = [await programs.enrol(s, study.id, EnrolmentInput(f"参加者{i}", "", None, dt.date(AGREE_FY, 5, 1),
                                                                   Applicant())) for i in range(7)]
        sessions = await programs.list_sessions(s, study.id)
        june = [x for x in sessions if x.held_on.month == 6]
        july = [x for x in sessions if x.held_on.month == 7]
        await programs.record_attendance(s, june[0].id, AttendanceInput({p.id for p in people[:6]}, 0))
        await programs.record_attendance(s, june[1].id, AttendanceInput({p.id for p in people[:5]}, 0))
        await programs.record_attendance(s, july[0].id, AttendanceInput({p.id for p in people[1:7]}, 0))
        for name in ("あったかふれあいセンター", "集いの場", "サロン"):
            _, place = await hub_and_program(s, name, kind="community")
            await programs.add_slot(s, place.id, parse_slot({"weekdays": "3", "start_time": "13:00",
                                                              "end_time": "15:00"}))
            await programs.generate_sessions(s, place.id, dt.date(AGREE_FY, 6, 1), dt.date(AGREE_FY, 6, 30))
        return await implementation_counts(s, AGREE_FY)

    report = in_tenant(database_urls, NANKOKU, work)
    assert report["participation_participants"] == 7  # 17 attendances, 7 people
    assert report["community_hubs"] == 3  # the participation programme's hub is not counted

    # The 実施計画 page counts the same 年度 the same way (令和18年度: April 2036 – March 2037, months from 4月).
    login(client, open_session(database_urls, NANKOKU, ("staff",)))
    plan = client.get(f"/programs/counts?year={AGREE_FY}").text
    assert "令和18年度" in plan and f'<td data-key="participation_participants">{report["participation_participants"]}</td>' in plan
    assert plan.index("month=4\"") < plan.index("month=1\"")

    login(client, open_session(database_urls, "390003", ("prefecture-admin",)))
    for metric, key in (("participation", "participation_participants"), ("hubs", "community_hubs")):
        api = client.get(f"/api/prefecture/aggregates?fiscal_year={AGREE_FY}&metric={metric}").json()
        row = next(m for m in api["municipalities"] if m["tenant_id"] == NANKOKU)
        assert row["total"] == {"value": report[key], "suppressed": False}, metric


def test_every_metric_as_the_api_publishes_it_passes_the_checker(client, database_urls):
    """Over the demo tenants' data (and whatever the session wrote): what the API publishes cannot be narrowed."""
    from core.prefecture.aggregates import METRICS, months_of, table_relations
    from core.prefecture.disclosure import leaks
    from core.wareki import fiscal_year_of

    login(client, open_session(database_urls, "390003", ("prefecture-admin",)))
    for fiscal_year in {fiscal_year_of(wareki.today()), FY}:
        months = months_of(fiscal_year)
        for key, metric in METRICS.items():
            api = client.get(f"/api/prefecture/aggregates?fiscal_year={fiscal_year}&metric={key}").json()
            published = {}
            for row in api["municipalities"]:
                for month, figure in zip(months, row["months"].values()):
                    published[(row["tenant_id"], month)] = figure["value"]
                published[(row["tenant_id"], None)] = row["total"]["value"]
            for month, figure in zip(months, api["month_totals"].values()):
                published[(None, month)] = figure["value"]
            published[(None, None)] = api["total"]["value"]
            hidden = {k for k, v in published.items() if v is None}
            codes = [row["tenant_id"] for row in api["municipalities"]]
            assert leaks(published, hidden, table_relations(metric, codes, months)) == [], (fiscal_year, key)
