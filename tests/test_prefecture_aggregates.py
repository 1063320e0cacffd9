"""Counts across municipalities: only through the prefecture's SQL function, small counts shown 「5未満」, and a
prefecture user never opens a case."""

from __future__ import annotations

import re

import asyncpg
import pytest

from tests.db import fetch
from tests.isolation import _grant_unit_of_work
from tests.sessions import login, open_session

FY = 2030  # a year no other test uses


def test_the_one_suppression_rule_in_sql_and_on_screen(database_urls):
    from core.prefecture.aggregates import display_count

    rows = fetch(database_urls.app, "SELECT n, prefecture_suppress(n) AS shown FROM generate_series(0, 6) AS n")
    assert {r["n"]: r["shown"] for r in rows} == {0: 0, 1: None, 2: None, 3: None, 4: None, 5: 5, 6: 6}
    assert [display_count(v) for v in (None, 0, 5, 12345)] == ["5未満", "0", "5", "12,345"]


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


def test_small_counts_are_suppressed_per_municipality_and_totals_are_exact(client, database_urls):
    _caseload(database_urls, "394017", 3)  # 中土佐町: 3 → 「5未満」
    _caseload(database_urls, "392049", 7)  # 南国市: 7
    login(client, open_session(database_urls, "390003", ("prefecture-admin",)))
    page = client.get(f"/prefecture/aggregates?fiscal_year={FY}&metric=caseload")
    assert page.status_code == 200
    rows = dict(re.findall(r'<tr data-code="(\d{6})">(.*?)</tr>', page.text, re.S))
    nakatosa_cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', rows["394017"])
    nankoku_cells = re.findall(r'<td class="num[^"]*">([^<]*)</td>', rows["392049"])
    assert nakatosa_cells[1] == "5未満" and nakatosa_cells[-1] == "5未満"  # May, and the year
    assert nankoku_cells[1] == "7" and nankoku_cells[-1] == "7"
    assert "3" not in nakatosa_cells
    assert re.search(r'id="grand-total">10<', page.text)
    assert "<svg" in page.text and "5未満" in page.text


def test_every_metric_has_a_source_and_the_page_does_not_claim_missing_data(client, database_urls):
    from core.prefecture.aggregates import METRICS

    assert all(metric.source for metric in METRICS.values())
    login(client, open_session(database_urls, "390003", ("prefecture-admin",)))
    page = client.get(f"/prefecture/aggregates?fiscal_year={FY}&metric=consultations")
    assert page.status_code == 200 and "まだ登録されていない" not in page.text


def test_the_aggregate_function_refuses_anyone_but_the_prefecture(database_urls):
    from infra.database.provision import connect
    from tests.conftest import run

    async def as_tenant(tenant):
        conn = await connect(database_urls.app)
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
                return await conn.fetch("SELECT * FROM prefecture_monthly_aggregates($1)", FY)
        finally:
            await conn.close()

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        run(as_tenant("394017"))
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        run(as_tenant(""))
    assert run(as_tenant("390003"))  # the prefecture gets rows (sums only)


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
