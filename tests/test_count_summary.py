"""count_summary (migration 0019y): after every kind of write, the summary equals the direct count.

The summary is recounted at commit by the very count functions of migration 0015; these tests write cases, plans,
programmes at hubs, sessions, enrolments, attendances, caseload and spending (insert, update, delete, a 年度
changed), commit, and compare every metric of every 年度 touched with the function's own answer, month by month and
for the 年度. They also check that what reads the summary (the prefecture's table, the grant report's count) moves
with it, and that a count read in the writing transaction itself is live.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import delete, text, update

from core import counts
from core.cases import service as cases
from core.cases.models import SupportCase, SupportPlan
from core.grants.counts import implementation_counts
from core.programs.models import Attendance, Enrolment, Hub, Program, ProgramSession
from tests.cases_support import intake_body, principal, unit_of_work
from tests.db import fetch

TENANT = "393631"  # 土佐町: made a tenant here; no other test writes there
FUNCTIONS = {
    "consultations": "count_consultations_received", "plans": "count_support_plans",
    "participation": "count_participation_participants", "hubs": "count_community_hubs",
    "community_participants": "count_community_participants", "caseload": "count_grant_caseload",
    "spending": "sum_grant_spending",
}
THIS_YEAR, LAST_YEAR = 2026, 2025  # 年度: April 2026 – March 2027 and the one before
BUSINESS = "consultation"


def _differences(urls, tenant: str, fiscal_year: int) -> dict:
    """{(metric, month): (summary, direct)} where they differ; month 0 is the 年度."""
    first, last = counts.fiscal_year_period(fiscal_year)
    summary = {(r["metric"], r["month"]): r["value"] for r in fetch(
        urls.app, "SELECT metric, month, value FROM count_summary WHERE fiscal_year = $1", fiscal_year, tenant=tenant)}
    direct = {}
    for metric, function in FUNCTIONS.items():
        for r in fetch(urls.app, f"SELECT coalesce(extract(month FROM month)::int, 0) AS month, value "
                                 f"FROM {function}($1, $2)", first, last, tenant=tenant):
            direct[(metric, r["month"])] = r["value"]
    return {k: (summary.get(k), direct.get(k)) for k in summary.keys() | direct.keys() if summary.get(k) != direct.get(k)}


def _assert_same(urls, *years: int) -> None:
    for year in years:
        assert _differences(urls, TENANT, year) == {}, year


def _summary(urls, metric: str, fiscal_year: int, month: int = 0) -> int | None:
    rows = fetch(urls.app, "SELECT value FROM count_summary WHERE metric = $1 AND fiscal_year = $2 AND month = $3",
                 metric, fiscal_year, month, tenant=TENANT)
    return rows[0]["value"] if rows else None


def _setup(urls):
    fetch(urls.owner, "INSERT INTO tenant (tenant_id) VALUES ($1) ON CONFLICT DO NOTHING", TENANT)


def test_cases_and_plans_inserted_moved_and_deleted(database_urls):
    _setup(database_urls)
    who = principal(TENANT)
    made = [unit_of_work(database_urls, TENANT, lambda s: cases.create_intake(
        s, intake_body(received_on=f"2026-0{m}-10"), who)) for m in (5, 5, 6)]
    assert _summary(database_urls, "consultations", THIS_YEAR, 5) == 2
    assert _summary(database_urls, "consultations", THIS_YEAR) == 3
    _assert_same(database_urls, THIS_YEAR)

    async def move_to_last_year(session):  # a 受付日 corrected into the previous 年度
        await session.execute(update(SupportCase).where(SupportCase.id == made[0].id)
                              .values(received_on=dt.date(2026, 3, 31)))

    unit_of_work(database_urls, TENANT, move_to_last_year)
    assert _summary(database_urls, "consultations", THIS_YEAR) == 2
    assert _summary(database_urls, "consultations", LAST_YEAR, 3) == 1
    _assert_same(database_urls, THIS_YEAR, LAST_YEAR)

    async def plans(session):
        for case in made:
            session.add(SupportPlan(case_id=case.id, version=1, goals="目標", recorded_by=who.sub,
                                    created_at=dt.datetime(2026, 7, 1, 1, tzinfo=dt.UTC)))

    unit_of_work(database_urls, TENANT, plans)
    assert _summary(database_urls, "plans", THIS_YEAR, 7) == 3
    _assert_same(database_urls, THIS_YEAR)

    async def drop_a_plan(session):
        await session.execute(delete(SupportPlan).where(SupportPlan.case_id == made[1].id))

    unit_of_work(database_urls, TENANT, drop_a_plan)
    assert _summary(database_urls, "plans", THIS_YEAR, 7) == 2
    _assert_same(database_urls, THIS_YEAR)


def test_hubs_sessions_enrolments_and_attendances(database_urls):
    _setup(database_urls)
    ids: dict[str, uuid.UUID] = {}

    async def build(session):
        for n, kind in enumerate(("community", "community", "participation")):
            hub = Hub(name=f"集計テスト拠点{n}", kind="ibasho")
            session.add(hub)
            await session.flush()
            program = Program(hub_id=hub.id, name=f"集計テスト{n}", kind=kind)
            session.add(program)
            await session.flush()
            ids[f"hub{n}"], ids[f"program{n}"] = hub.id, program.id
            for day in (dt.date(2026, 6, 3), dt.date(2026, 6, 10)):
                ps = ProgramSession(program_id=program.id, held_on=day, start_time=dt.time(10), end_time=dt.time(11),
                                    anonymous_headcount=2)
                session.add(ps)
                await session.flush()
                ids[f"session{n}-{day.day}"] = ps.id
            enrolment = Enrolment(program_id=program.id, person_name=f"参加 太郎{n}", person_kana="さんか たろう",
                                  enrolled_on=dt.date(2026, 5, 1), enrolled_by="tests")
            session.add(enrolment)
            await session.flush()
            ids[f"enrolment{n}"] = enrolment.id
            for day in (3, 10):
                session.add(Attendance(session_id=ids[f"session{n}-{day}"], enrolment_id=enrolment.id))

    unit_of_work(database_urls, TENANT, build)
    assert _summary(database_urls, "hubs", THIS_YEAR) == 2  # two 地域づくり hubs; the 参加支援 one is not counted
    assert _summary(database_urls, "participation", THIS_YEAR) == 1
    assert _summary(database_urls, "community_participants", THIS_YEAR, 6) == 4 * 2 + 4  # headcounts + attendances
    _assert_same(database_urls, THIS_YEAR)

    async def change(session):
        # one hub's sessions cancelled: the hub is no longer counted, nor its people
        await session.execute(update(ProgramSession).where(ProgramSession.program_id == ids["program1"])
                              .values(status="cancelled", cancel_reason="講師の都合"))
        # an attendance removed, a session moved into the previous 年度
        await session.execute(delete(Attendance).where(Attendance.session_id == ids["session0-3"]))
        await session.execute(update(ProgramSession).where(ProgramSession.id == ids["session0-10"])
                              .values(held_on=dt.date(2026, 2, 10)))
        # the 参加支援 programme becomes 地域づくり; its enrolment is now someone else
        await session.execute(update(Program).where(Program.id == ids["program2"]).values(kind="community"))
        await session.execute(update(Enrolment).where(Enrolment.id == ids["enrolment2"]).values(person_name="別人"))

    unit_of_work(database_urls, TENANT, change)
    assert _summary(database_urls, "hubs", THIS_YEAR) == 2  # hub 0 (June 3) and hub 2 (now 地域づくり)
    assert _summary(database_urls, "participation", THIS_YEAR) is None  # no 参加支援 programme held
    assert _summary(database_urls, "hubs", LAST_YEAR, 2) == 1
    _assert_same(database_urls, THIS_YEAR, LAST_YEAR)

    async def remove(session):  # a programme's attendances, sessions, enrolments and the programme, then its hub
        await session.execute(delete(Attendance).where(Attendance.enrolment_id == ids["enrolment2"]))
        await session.execute(delete(ProgramSession).where(ProgramSession.program_id == ids["program2"]))
        await session.execute(delete(Enrolment).where(Enrolment.id == ids["enrolment2"]))
        await session.execute(delete(Program).where(Program.id == ids["program2"]))
        await session.execute(delete(Hub).where(Hub.id == ids["hub2"]))

    unit_of_work(database_urls, TENANT, remove)
    assert _summary(database_urls, "hubs", THIS_YEAR) == 1
    _assert_same(database_urls, THIS_YEAR, LAST_YEAR)


def test_caseload_and_spending(database_urls):
    _setup(database_urls)
    rows = fetch(database_urls.app, "SELECT count(*) AS n FROM grant_caseload_count", tenant=TENANT)
    assert rows[0]["n"] == 0
    from core.grants.models import GrantCaseloadCount, GrantExpenditure, GrantFiscalYear

    async def ledgers(session):
        year = GrantFiscalYear(fiscal_year=THIS_YEAR, scheme="integrated")
        session.add(year)
        await session.flush()
        entry = {"fiscal_year_id": year.id, "business": BUSINESS, "recorded_by": "tests"}
        session.add(GrantCaseloadCount(**entry, period_month=dt.date(2026, 8, 1), field="elderly", count=12))
        session.add(GrantExpenditure(**entry, field=None, category="委託料", amount=50_000, voucher_number="T-1",
                                     voucher_date=dt.date(2026, 9, 30), payee="テスト", description="テスト"))

    unit_of_work(database_urls, TENANT, ledgers)
    assert _summary(database_urls, "caseload", THIS_YEAR, 8) == 12
    assert _summary(database_urls, "spending", THIS_YEAR) == 50_000
    _assert_same(database_urls, THIS_YEAR)


def test_readers_take_the_summary_and_a_writer_sees_its_own_count(database_urls):
    _setup(database_urls)
    first, last = counts.fiscal_year_period(THIS_YEAR)

    async def report(session):
        return (await implementation_counts(session, THIS_YEAR))["consultations_received"]

    before = unit_of_work(database_urls, TENANT, report)
    assert before == (_summary(database_urls, "consultations", THIS_YEAR) or 0)

    async def write_then_count(session):
        await cases.create_intake(session, intake_body(received_on="2026-10-01"), principal(TENANT))
        # the recount comes at commit; within this transaction the count is live and includes the new case
        return await counts.consultations_received(session, first, last)

    assert unit_of_work(database_urls, TENANT, write_then_count) == before + 1
    assert unit_of_work(database_urls, TENANT, report) == before + 1

    # the summary is what the reports read: a summary row put out of line (as only the owner can) shows there
    fetch(database_urls.owner, "UPDATE count_summary SET value = value + 1000 WHERE metric = 'consultations' "
          "AND fiscal_year = $1 AND month = 0", THIS_YEAR, tenant=TENANT)
    try:
        assert unit_of_work(database_urls, TENANT, report) == before + 1001

        async def prefecture_total(session):
            return (await session.execute(text(
                "SELECT value FROM prefecture_counts(:fy) WHERE metric = 'consultations' AND tenant_id = :t "
                "AND month IS NULL"), {"fy": THIS_YEAR, "t": TENANT})).scalar()

        assert unit_of_work(database_urls, "390003", prefecture_total) == before + 1001
    finally:
        fetch(database_urls.owner, "UPDATE count_summary SET value = value - 1000 WHERE metric = 'consultations' "
              "AND fiscal_year = $1 AND month = 0", THIS_YEAR, tenant=TENANT)
    _assert_same(database_urls, THIS_YEAR)


def test_the_prefecture_asking_for_some_metrics_gets_exactly_their_rows_of_the_whole_answer(database_urls):
    """prefecture_counts(年度, metrics) (migration 0025) reads only those metrics' summary rows: what it returns is
    the whole answer's rows of those metrics, cell for cell, suppressed as there, and nothing of any other."""
    _setup(database_urls)
    unit_of_work(database_urls, TENANT, lambda s: cases.create_intake(
        s, intake_body(received_on="2026-07-07"), principal(TENANT)))

    def asked(*metrics: str) -> list[tuple]:
        sql = ("SELECT metric, tenant_id, month, value FROM prefecture_counts($1, $2::text[])" if metrics
               else "SELECT metric, tenant_id, month, value FROM prefecture_counts($1)")
        args = (THIS_YEAR, list(metrics)) if metrics else (THIS_YEAR,)
        return sorted((tuple(r) for r in fetch(database_urls.app, sql, *args, tenant="390003")), key=str)

    whole = asked()
    assert {"consultations", TENANT, 7} <= {v for r in whole for v in (r[0], r[1], r[2] and r[2].month)}
    for chosen in [("consultations",), ("plans", "spending"), tuple(FUNCTIONS)]:
        assert asked(*chosen) == [r for r in whole if r[0] in chosen], chosen
    assert asked("no such metric") == []


def test_the_app_cannot_write_a_summary(database_urls):
    import asyncpg
    import pytest

    _setup(database_urls)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        fetch(database_urls.app, "UPDATE count_summary SET value = 0", tenant=TENANT)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        fetch(database_urls.app, "DELETE FROM count_summary_stale", tenant=TENANT)


def test_the_recount_function_is_a_trigger_only_and_a_mark_stays_in_its_municipality(database_urls):
    """count_summary_refresh is SECURITY DEFINER (it writes summaries the app may not): the app may not execute it
    (PostgreSQL runs it only as the trigger of a mark), its search_path is pinned, and the app can mark (so make recount) only its own municipality's counts."""
    import asyncpg
    import pytest

    _setup(database_urls)
    [row] = fetch(database_urls.owner, """
        SELECT p.prosecdef, p.proconfig, has_function_privilege($1::text, p.oid, 'EXECUTE') AS app_may_call
        FROM pg_proc p WHERE p.proname = 'count_summary_refresh'""", database_urls.app_role)
    assert row["prosecdef"] and row["proconfig"] == ["search_path=public, pg_temp"] and not row["app_may_call"]
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # row-level security: another municipality's mark
        fetch(database_urls.app, "INSERT INTO count_summary_stale VALUES ('392049', 'consultations', 2026)",
              tenant=TENANT)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # bound to nobody: no mark at all
        fetch(database_urls.app, "INSERT INTO count_summary_stale VALUES ($1, 'consultations', 2026)", TENANT)
