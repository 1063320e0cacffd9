"""What the isolation suite needs to know about each route parameter: how to name another tenant's object.

Every path parameter of every route (read from the app, plugin routes included) needs a maker here, or the suite
fails naming the route. A maker is ``fn(urls, tenant_id)`` registered with ``@object_maker("name", …)`` and
returns either one id (used for every name it is registered for) or a dict ``{name: id}`` of objects that belong
together: the member *of* that meeting, the consent *of* that case. ``tenant_world`` calls each maker once per
tenant, so the ids a route receives are consistent and the tenant wall, not an id mismatch, decides the answer.

Unsafe routes get a valid body from ``BODIES`` (see tests/matrix.py for how they are used) so the handler's lookup
runs; a route that answers 400/422 without its lookup reaching the database fails the suite asking for one.
"""

from __future__ import annotations

import datetime as dt
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

Maker = Callable[[DatabaseUrls, str], "str | dict[str, str]"]

# parameter name -> maker of an object of a given tenant (created through the services, as that tenant)
OBJECT_MAKERS: dict[str, Maker] = {}


def object_maker(*param_names: str):
    def register(fn):
        for name in param_names:
            OBJECT_MAKERS[name] = fn
        return fn

    return register


def tenant_world(urls: DatabaseUrls, tenant_id: str) -> dict[str, str]:
    """One object per parameter name for ``tenant_id``, each maker called once (so grouped ids belong together)."""
    world: dict[str, str] = {}
    made: dict[int, object] = {}
    for name, make in OBJECT_MAKERS.items():
        if id(make) not in made:
            made[id(make)] = make(urls, tenant_id)
        result = made[id(make)]
        if isinstance(result, dict):
            if name not in result:
                raise KeyError(f"maker {make.__name__} is registered for {name!r} but did not return it")
            world[name] = str(result[name])
        else:
            world[name] = str(result)
    return world


def is_tenantless(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in TENANTLESS_ROUTES)


# Names and readings only this tenant's rows carry: the leak detector looks for them in the other tenant's answers
# (tests/matrix.py also collects every tenant-only text value from the database, so this is a floor, not a list).
_DIGIT_KANJI, _DIGIT_KANA = "〇一二三四五六七八九", "アイウエオカキクケコ"


def person_name(tenant_id: str) -> str:
    return "隔" + "".join(_DIGIT_KANJI[int(d)] for d in tenant_id) + " 花子"


def person_kana(tenant_id: str) -> str:
    return "カク" + "".join(_DIGIT_KANA[int(d)] for d in tenant_id) + " ハナコ"


def label(tenant_id: str, what: str) -> str:
    return f"{what}（隔離{tenant_id}）"


def detector_floor(tenant_id: str, world: dict[str, str]) -> set[str]:
    """What the leak detector must count among ``tenant_id``'s markers (tests/matrix.py ``foreign_markers``) or the
    matrix cannot pass: the person (name, kana, phone), the case's household address and summary, a label of each
    domain and the ids of the tenant's own rows. A marker rule that drops any of them has gone too far."""
    texts = {person_name(tenant_id), person_kana(tenant_id), "0889-00-" + tenant_id[-4:],
             *(label(tenant_id, what) for what in ("高知県内の住所", "介護と就労の相談", "拠点", "紹介先", "職員",
                                                   "居場所づくり委託"))}
    ids = {world[name] for name in ("case_id", "household_id", "agency_id", "consent_id", "referral_id", "hub_id",
                                    "program_id", "expenditure_id", "grant_id", "plan_id", "meeting_id")}
    return texts | ids


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
    if year is not None and year.is_closed:  # an earlier sweep (its own objects in the path) may have closed it
        year = await service.reopen_year(session, year.id, {"reason": "隔離テストの準備"})
    return year or await service.create_year(session, {"fiscal_year": _GRANT_YEAR})


@object_maker("year_id", "budget_line_id", "expenditure_id", "time_entry_id", "caseload_id")
def make_grant_ledgers(urls: DatabaseUrls, tenant_id: str) -> dict[str, str]:
    """A 年度 and one entry of each ledger in it."""
    from core.grants import service

    entries = {
        "budget_line": {"business": "community", "category": "委託料", "amount": 300_000},
        "expenditure": {"business": "community", "field": "child", "category": "委託料", "amount": 120_000,
                        "voucher_number": "B-1", "voucher_date": "2029-05-01", "payee": label(tenant_id, "社会福祉協議会"),
                        "description": label(tenant_id, "居場所づくり委託")},
        "time_entry": {"staff_label": label(tenant_id, "推進員"), "period_month": "2029-05", "business": "consultation",
                       "field": "elderly", "minutes": 60},
        "caseload": {"period_month": "2029-05", "business": "outreach", "field": "poverty", "count": 3},
    }

    async def work(session):
        year = await _grant_year(session)
        ids = {"year_id": str(year.id)}
        for key, values in entries.items():
            ids[f"{key}_id"] = str((await service.add_entry(session, service.LEDGERS[key], year.id, values)).id)
        return ids

    return _grant_unit_of_work(urls, tenant_id, work)


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


def _case_body(tenant_id: str) -> dict:
    from tests.cases_support import intake_body

    return intake_body(tags=["isolation"], summary=label(tenant_id, "介護と就労の相談"), members=[
        {"name": person_name(tenant_id), "kana": person_kana(tenant_id), "birth_date": "1970-04-01", "sex": "female",
         "address": label(tenant_id, "高知県内の住所"), "phone": "0889-00-" + tenant_id[-4:]},
    ])


@object_maker("case_id", "household_id", "person_id", "agency_id", "consent_id", "referral_id")
def make_case(urls: DatabaseUrls, tenant_id: str) -> dict[str, str]:
    """A case with its household and person (本人), an agency, the case's consent naming that agency, and a referral
    to it. (No route has a person in its path; ``person_id`` goes into the forms and JSON bodies that name one.)"""
    from core.cases import service
    from tests.cases_support import principal

    async def work(session):
        case = await service.create_intake(session, _case_body(tenant_id), principal(tenant_id))
        agency = await service.create_agency(session, {"name": label(tenant_id, "紹介先")})
        consent = await service.record_consent(session, case, {"given_on": "2025-04-01", "purpose": label(tenant_id, "情報共有"),
                                                               "agency_ids": [str(agency.id)]})
        referral = await service.refer(session, case, {"to_agency_id": str(agency.id), "reason": label(tenant_id, "紹介")})
        return {"case_id": str(case.id), "household_id": str(case.household_id), "person_id": str(case.person_id),
                "agency_id": str(agency.id),
                "consent_id": str(consent.id), "referral_id": str(referral.id)}

    return _case_work(urls, tenant_id, work)


# -- programs (事業・拠点) ------------------------------------------------------------------------------------------


def _programs_work(urls: DatabaseUrls, tenant_id: str, work):
    return _grant_unit_of_work(urls, tenant_id, work)


@object_maker("hub_id", "program_id", "program_session_id")
def make_program(urls: DatabaseUrls, tenant_id: str) -> dict[str, str]:
    """A hub, a programme held there, and a session of that programme."""
    from core.programs import service

    async def work(session):
        hub = await service.create_hub(session, {"name": label(tenant_id, "拠点"), "kind": "attaka_fureai"})
        program = await service.create_program(session, {"hub_id": hub.id, "name": label(tenant_id, "事業"),
                                                         "kind": "community", "drop_in": True})
        await service.add_slot(session, program.id, {"weekdays": [2], "start_time": dt.time(10), "end_time": dt.time(12)})
        await service.generate_sessions(session, program.id, dt.date(2031, 1, 6), dt.date(2031, 1, 12))
        first = (await service.list_sessions(session, program.id))[0]
        return {"hub_id": str(hub.id), "program_id": str(program.id), "program_session_id": str(first.id)}

    return _programs_work(urls, tenant_id, work)


@object_maker("activity_id")
def make_community_activity(urls: DatabaseUrls, tenant_id: str) -> str:
    from core.programs import service

    async def work(session):
        return str((await service.add_activity(session, {"name": label(tenant_id, "居場所")})).id)

    return _programs_work(urls, tenant_id, work)


# -- printed case forms and 実施計画 (issue 22) --------------------------------------------------------------------


@object_maker("form_file")
def make_case_form_name(urls: DatabaseUrls, tenant_id: str) -> str:
    return "intake.pdf"  # names a form, not an object: tenant B's case (case_id) is what must stay out of reach


@object_maker("plan_id")
def make_implementation_plan(urls: DatabaseUrls, tenant_id: str) -> str:
    from core.grants import implementation_plan

    async def work(session):
        plan = await implementation_plan.save(session, 2029, {"policy": "隔離テストの実施計画"})
        return str(plan.id)

    return _grant_unit_of_work(urls, tenant_id, work)


import tests.meetings_isolation  # noqa: E402,F401  (meeting_id, member_id, item_id)


# Parameters that name no tenant's object when the *prefecture* asks: its own surveys and schedule, the public
# registry and roadmap. The prefecture is given harmless values for them (an unknown id, a municipality that is no
# tenant) so a sweep as the prefecture cannot close, send or delete anything, and its answers are not judged by
# status (they are still scanned for tenant data).
PREFECTURE_OWNED: dict[str, str] = {
    "survey_id": "00000000-0000-7000-8000-00000000beef",
    "event_id": "00000000-0000-7000-8000-00000000cafe",
    "entry_id": "00000000-0000-7000-8000-00000000f00d",  # 後方支援記録: the prefecture's own log
    "code": "393649",
    "year": "2021",
}

# (method, path as the app names it) -> body maker of ``world`` (the ids the request is about): a body the route
# accepts for its own tenant, so the handler gets as far as looking its objects up. Needed only where a route
# answers 400/422 before any lookup reaches the database (tests/matrix.py says which).
BODIES: dict[tuple[str, str], Callable[[dict[str, str]], dict]] = {}
BODIES[("POST", "/api/programs/{program_id:str}/enrolments")] = lambda w: {
    "person_name": "試験 太郎", "person_kana": "しけん たろう", "case_id": w["case_id"]}
BODIES[("POST", "/admin/staff/{user_id:str}/retirement")] = lambda w: {"confirm": "yes"}
# A valid activity but for its links, each naming the other tenant's object under a field name of its own: the
# activity must be refused, not saved pointing at them (tests/test_isolation.py shows the matrix would see it).
BODIES[("POST", "/community/activities")] = lambda w: {
    "name": "越境テストの活動", "origin_hub_id": w["hub_id"], "origin_program_id": w["program_id"],
    "grew_from_id": w["activity_id"]}


# -- tenant admin pages (issue #16) --------------------------------------------------------------------------------


@object_maker("grant_id")
def make_break_glass_grant(urls: DatabaseUrls, tenant_id: str) -> str:
    """A break-glass opening (緊急閲覧) of tenant B, what the review queue names."""
    from core.cases import service
    from tests.cases_support import principal

    async def work(session):
        case = await service.create_intake(session, _case_body(tenant_id), principal(tenant_id))
        grant = await service.break_glass(session, principal(tenant_id, ("staff",)), case.id, label(tenant_id, "緊急閲覧"))
        return str(grant.id)

    return _case_work(urls, tenant_id, work)


@object_maker("user_id")
def make_staff_member(urls: DatabaseUrls, tenant_id: str) -> str:
    """A member of tenant B's staff directory (the staff pages name people by their Keycloak id)."""
    import uuid

    from sqlalchemy.dialects.postgresql import insert

    from core.auth.staff_directory import StaffEntry
    from core.text_rules import search_key

    sub = str(uuid.uuid4())

    async def work(session):
        name = label(tenant_id, "職員")
        await session.execute(insert(StaffEntry).values(tenant_id=tenant_id, user_sub=sub, username="isolation",
                                                        display_name=name, display_name_key=search_key(name)))
        return sub

    return _case_work(urls, tenant_id, work)


@object_maker("entry_id")
def make_support_log_entry(urls: DatabaseUrls, tenant_id: str) -> str:
    from core.prefecture import service

    async def work(session):
        entry = await service.add_support_entry(session, {
            "municipality_code": tenant_id, "kind": "visit", "held_on": "2029-05-01", "topic": "隔離テスト用の訪問",
            "follow_up": "資料を送る"}, "isolation-suite")
        return str(entry.id)

    return _prefecture_unit_of_work(urls, work)
