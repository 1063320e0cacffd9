"""Prefecture aggregates count the municipalities' consultations with the same definition as the municipality's
own reports, without opening a case."""

import datetime as dt

from sqlalchemy import text

from core.cases import service as cases
from tests.cases_support import intake_body, principal, unit_of_work

TENANT = "393011"  # 東洋町: made a tenant here; no other test writes cases there


def consultations(urls, fiscal_year, month):
    async def read(session):
        rows = (await session.execute(
            text("SELECT tenant_id, month, value FROM prefecture_counts(:fy) WHERE metric = 'consultations'"),
            {"fy": fiscal_year},
        )).all()
        return {(r.tenant_id, r.month): r.value for r in rows}

    return unit_of_work(urls, "390003", read).get((TENANT, month), 0)


def test_consultations_are_counted_as_the_grant_report_counts_them(database_urls):
    from tests.db import fetch

    fetch(database_urls.owner, "INSERT INTO tenant (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING", TENANT)
    body = intake_body()
    received = dt.date.fromisoformat(body["received_on"])
    fiscal_year = received.year if received.month >= 4 else received.year - 1
    month = received.replace(day=1)
    before = consultations(database_urls, fiscal_year, month)
    assert before in (0, None)
    unit_of_work(database_urls, TENANT, lambda s: cases.create_intake(s, intake_body(), principal(TENANT)))
    assert consultations(database_urls, fiscal_year, month) is None  # 1: hidden before it leaves the database
    for _ in range(4):
        unit_of_work(database_urls, TENANT, lambda s: cases.create_intake(s, intake_body(), principal(TENANT)))
    assert consultations(database_urls, fiscal_year, month) == 5
    from core.grants.counts import implementation_counts

    report = unit_of_work(database_urls, TENANT, lambda s: implementation_counts(s, fiscal_year))
    year = unit_of_work(database_urls, "390003", lambda s: _year_total(s, fiscal_year))
    assert report["consultations_received"] == year


async def _year_total(session, fiscal_year):
    rows = await session.execute(text(
        "SELECT value FROM prefecture_counts(:fy) WHERE metric = 'consultations' AND tenant_id = :t AND month IS NULL"),
        {"fy": fiscal_year, "t": TENANT})
    return sum(r.value for r in rows)
