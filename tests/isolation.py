"""What the isolation suite needs to know about each route parameter: how to name another tenant's object.

When you add a route with a path parameter, register here how to create an object of tenant B that the
parameter can name. The suite in tests/test_isolation.py refuses to run a route it cannot fill, so a new route is
never silently left out.
"""

from __future__ import annotations

from collections.abc import Callable

from infra.database.provision import DatabaseUrls

# Routes that serve no tenant data at all (public facts or the login door), with the reason.
TENANTLESS_ROUTES: dict[str, str] = {
    "/healthz": "liveness probe",
    "/readyz": "readiness probe",
    "/static": "static assets",
    "/api/schema": "OpenAPI document",
    "/auth": "login door; acts only on the caller's own session",
    "/api/registry": "public registry of Kochi's municipalities",
    "/survey-link": "実態調査 answered by one-time link without an account: the link's secret is the only key",
}

# parameter name -> function(urls, tenant_id) returning the id of an object of that tenant (created via services)
OBJECT_MAKERS: dict[str, Callable[[DatabaseUrls, str], str]] = {}


def object_maker(*param_names: str):
    def register(fn):
        for name in param_names:
            OBJECT_MAKERS[name] = fn
        return fn

    return register


def is_tenantless(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in TENANTLESS_ROUTES)


# -- grants (交付金) -----------------------------------------------------------------------------------------------
_GRANT_YEAR = 2029  # a year no grants test uses for its own tenant B rows


def _grant_unit_of_work(urls: DatabaseUrls, tenant_id: str, work):
    from core.audit.trail import bind_actor
    from core.database import create_engine, session_factory
    from core.tenancy.context import tenant_scope
    from tests.conftest import run

    async def go():
        engine = create_engine(urls.app, pool_size=1)
        try:
            with tenant_scope(tenant_id):
                bind_actor("isolation-suite")
                async with session_factory(engine)() as session, session.begin():
                    return await work(session)
        finally:
            await engine.dispose()

    return run(go())


async def _grant_year(session):
    from sqlalchemy import select

    from core.grants import service
    from core.grants.models import GrantFiscalYear

    year = await session.scalar(select(GrantFiscalYear).where(GrantFiscalYear.fiscal_year == _GRANT_YEAR))
    return year or await service.create_year(session, {"fiscal_year": _GRANT_YEAR})


@object_maker("year_id")
def make_grant_year(urls: DatabaseUrls, tenant_id: str) -> str:
    async def work(session):
        return str((await _grant_year(session)).id)

    return _grant_unit_of_work(urls, tenant_id, work)


def _grant_entry_maker(ledger_key: str, values: dict):
    def make(urls: DatabaseUrls, tenant_id: str) -> str:
        from core.grants import service

        async def work(session):
            year = await _grant_year(session)
            return str((await service.add_entry(session, service.LEDGERS[ledger_key], year.id, values)).id)

        return _grant_unit_of_work(urls, tenant_id, work)

    return make


object_maker("budget_line_id")(_grant_entry_maker(
    "budget_line", {"business": "community", "category": "委託料", "amount": 300_000}))
object_maker("expenditure_id")(_grant_entry_maker(
    "expenditure", {"business": "community", "field": "child", "category": "委託料", "amount": 120_000,
                    "voucher_number": "B-1", "voucher_date": "2029-05-01", "payee": "南国市社会福祉協議会",
                    "description": "居場所づくり委託"}))
object_maker("time_entry_id")(_grant_entry_maker(
    "time_entry", {"staff_label": "推進員", "period_month": "2029-05", "business": "consultation",
                   "field": "elderly", "minutes": 60}))
object_maker("caseload_id")(_grant_entry_maker(
    "caseload", {"period_month": "2029-05", "business": "outreach", "field": "poverty", "count": 3}))


# -- prefecture console (県の管理) and 実態調査 ----------------------------------------------------------------------
# /prefecture/... answers 403 to every municipality; /survey/{survey_id} must be 404 for a survey not sent to A.
def _prefecture_unit_of_work(urls: DatabaseUrls, work):
    from tests.conftest import run
    from tenants.lifecycle import prefecture_unit_of_work

    async def go():
        async with prefecture_unit_of_work(urls.app, "isolation-suite") as session:
            return await work(session)

    return run(go())


@object_maker("code")
def make_municipality_code(urls: DatabaseUrls, tenant_id: str) -> str:
    return tenant_id  # the tenant itself: A's session must not suspend or resume B


@object_maker("year")
def make_roadmap_year(urls: DatabaseUrls, tenant_id: str) -> str:
    return "2021"


@object_maker("event_id")
def make_backoffice_event(urls: DatabaseUrls, tenant_id: str) -> str:
    from core.prefecture import service

    async def work(session):
        event = await service.add_event(session, {"kind": "other", "title": "隔離テスト用の予定", "starts_on": "2029-05-01"})
        return str(event.id)

    return _prefecture_unit_of_work(urls, work)


@object_maker("survey_id")
def make_survey_sent_to(urls: DatabaseUrls, tenant_id: str) -> str:
    """A survey delivered to ``tenant_id`` only, with one answer saved by that tenant."""
    from core.prefecture import service

    async def create(session):
        survey = await service.create_survey(session, {"title": "隔離テスト用の調査", "fiscal_year": "2029"}, "isolation")
        await service.add_question(session, survey, {"kind": "number", "label": "相談窓口の数"})
        await service.send_survey(session, survey, [tenant_id])
        return str(survey.id)

    survey_id = _prefecture_unit_of_work(urls, create)

    async def answer(session):
        await service.save_answers(session, survey_id, {}, "isolation", submit=False)

    _grant_unit_of_work(urls, tenant_id, answer)
    return survey_id


# -- cases (相談支援) ---------------------------------------------------------------------------------------------


def _case_work(urls: DatabaseUrls, tenant_id: str, work):
    from tests.cases_support import unit_of_work

    return unit_of_work(urls, tenant_id, work, actor="isolation-suite")


async def _isolation_case(session, tenant_id: str):
    from core.cases import service
    from tests.cases_support import intake_body, principal

    return await service.create_intake(session, intake_body(tags=["isolation"]), principal(tenant_id))


@object_maker("case_id")
def make_case(urls: DatabaseUrls, tenant_id: str) -> str:
    async def work(session):
        return str((await _isolation_case(session, tenant_id)).id)

    return _case_work(urls, tenant_id, work)


@object_maker("household_id")
def make_household(urls: DatabaseUrls, tenant_id: str) -> str:
    async def work(session):
        return str((await _isolation_case(session, tenant_id)).household_id)

    return _case_work(urls, tenant_id, work)


@object_maker("agency_id")
def make_agency(urls: DatabaseUrls, tenant_id: str) -> str:
    from core.cases import service

    async def work(session):
        return str((await service.create_agency(session, {"name": "隔離テスト機関"})).id)

    return _case_work(urls, tenant_id, work)


async def _consented_case(session, tenant_id: str):
    from core.cases import service

    case = await _isolation_case(session, tenant_id)
    agency = await service.create_agency(session, {"name": "隔離テスト紹介先"})
    consent = await service.record_consent(session, case, {"given_on": "2025-04-01", "purpose": "隔離テスト",
                                                           "agency_ids": [str(agency.id)]})
    return case, agency, consent


@object_maker("consent_id")
def make_consent(urls: DatabaseUrls, tenant_id: str) -> str:
    async def work(session):
        return str((await _consented_case(session, tenant_id))[2].id)

    return _case_work(urls, tenant_id, work)


@object_maker("referral_id")
def make_referral(urls: DatabaseUrls, tenant_id: str) -> str:
    from core.cases import service

    async def work(session):
        case, agency, _ = await _consented_case(session, tenant_id)
        return str((await service.refer(session, case, {"to_agency_id": str(agency.id), "reason": "隔離テスト"})).id)

    return _case_work(urls, tenant_id, work)


# -- programs (事業・拠点) ------------------------------------------------------------------------------------------


def _programs_work(urls: DatabaseUrls, tenant_id: str, work):
    return _grant_unit_of_work(urls, tenant_id, work)


async def _isolation_program(session):
    import datetime as dt

    from core.programs import service

    hub = await service.create_hub(session, {"name": "隔離テスト拠点", "kind": "attaka_fureai"})
    program = await service.create_program(session, {"hub_id": hub.id, "name": "隔離テスト事業", "kind": "community",
                                                     "drop_in": True})
    await service.add_slot(session, program.id, {"weekdays": [2], "start_time": dt.time(10), "end_time": dt.time(12)})
    await service.generate_sessions(session, program.id, dt.date(2031, 1, 6), dt.date(2031, 1, 12))
    return hub, program, (await service.list_sessions(session, program.id))[0]


@object_maker("hub_id")
def make_program_hub(urls: DatabaseUrls, tenant_id: str) -> str:
    async def work(session):
        return str((await _isolation_program(session))[0].id)

    return _programs_work(urls, tenant_id, work)


@object_maker("program_id")
def make_program(urls: DatabaseUrls, tenant_id: str) -> str:
    async def work(session):
        return str((await _isolation_program(session))[1].id)

    return _programs_work(urls, tenant_id, work)


@object_maker("program_session_id")
def make_program_session(urls: DatabaseUrls, tenant_id: str) -> str:
    async def work(session):
        return str((await _isolation_program(session))[2].id)

    return _programs_work(urls, tenant_id, work)


@object_maker("activity_id")
def make_community_activity(urls: DatabaseUrls, tenant_id: str) -> str:
    from core.programs import service

    async def work(session):
        return str((await service.add_activity(session, {"name": "隔離テストの居場所"})).id)

    return _programs_work(urls, tenant_id, work)


import tests.meetings_isolation  # noqa: E402,F401  (meeting_id, member_id, item_id)


@object_maker("entry_id")
def make_support_log_entry(urls: DatabaseUrls, tenant_id: str) -> str:
    from core.prefecture import service

    async def work(session):
        entry = await service.add_support_entry(session, {
            "municipality_code": tenant_id, "kind": "visit", "held_on": "2029-05-01", "topic": "隔離テスト用の訪問",
            "follow_up": "資料を送る"}, "isolation-suite")
        return str(entry.id)

    return _prefecture_unit_of_work(urls, work)
