"""``household_ids_by_member_name_key`` (migration 0019x): the SECURITY DEFINER lookup behind a coordinator's name
search in the case list.

It must refuse without a bound municipality, give one municipality nothing of another's, give nothing but ids, and
leave visibility to the ordinary query (a staff member still finds only the cases they work on). It exists so the
trigram index serves the pattern under row-level security: the plan of its statement, run as its owner, has the
pattern in the index condition (the app role's own statement does not).
"""

from __future__ import annotations

import asyncpg
import pytest

from core.cases import search, service
from infra.database.provision import DATABASE, NAME_SEARCH_ROLE, connect, with_database
from tests.cases_support import intake_body, principal, unit_of_work
from tests.conftest import run
from tests.db import fetch

HOME, OTHER = "394017", "392049"
NAME, KANA = "鍋島 千鶴子", "なべしま ちづこ"  # no other test uses this name
PATTERN = "%なべしま%"


def _intake(urls, tenant: str) -> dict[str, str]:
    member = {"name": NAME, "kana": KANA, "birth_date": "1950-02-03", "sex": "female"}

    async def work(session):
        case = await service.create_intake(session, intake_body(members=[member]), principal(tenant))
        return {"person": str(case.person_id), "household": str(case.household_id)}

    return unit_of_work(urls, tenant, work)


async def _call(url: str, tenant: str | None, pattern: str):
    conn = await connect(url)
    try:
        async with conn.transaction():
            if tenant is not None:
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
            return [str(r[0]) for r in await conn.fetch("SELECT * FROM household_ids_by_member_name_key($1)", pattern)]
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def people(database_urls):
    return {HOME: _intake(database_urls, HOME), OTHER: _intake(database_urls, OTHER)}


def test_it_gives_only_the_bound_municipality_s_households(database_urls, people):
    assert run(_call(database_urls.app, HOME, PATTERN)) == [people[HOME]["household"]]
    assert run(_call(database_urls.app, OTHER, PATTERN)) == [people[OTHER]["household"]]
    # the prefecture holds no people, and the function does not look beyond the bound municipality
    assert run(_call(database_urls.app, "390003", PATTERN)) == []


@pytest.mark.parametrize("tenant", [None, ""])
def test_it_refuses_without_a_bound_municipality(database_urls, people, tenant):
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        run(_call(database_urls.app, tenant, PATTERN))


def test_it_is_owned_by_a_role_that_can_do_nothing_else(database_urls):
    [row] = fetch(database_urls.owner, """
        SELECT pg_get_userbyid(p.proowner) AS owner, p.prosecdef, p.proconfig, r.rolcanlogin, r.rolsuper,
               r.rolbypassrls, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_call
        FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE p.proname = 'household_ids_by_member_name_key'""")
    assert row["owner"] == NAME_SEARCH_ROLE and row["prosecdef"]
    assert "search_path=public, pg_temp" in row["proconfig"]  # pinned like every definer function (tests/definer.py)
    assert not (row["rolcanlogin"] or row["rolsuper"] or row["rolbypassrls"] or row["public_may_call"])
    # it may read four columns of person, three of household_membership, and nothing else of the schema
    granted = fetch(database_urls.owner, """
        SELECT table_name, column_name FROM information_schema.column_privileges
        WHERE grantee = $1 ORDER BY 1, 2""", NAME_SEARCH_ROLE)
    assert {(r["table_name"], r["column_name"]) for r in granted} == {
        ("person", "id"), ("person", "kana_key"), ("person", "name_key"), ("person", "tenant_id"),
        ("household_membership", "household_id"), ("household_membership", "person_id"),
        ("household_membership", "tenant_id")}


def test_inside_the_function_the_trigram_index_takes_the_pattern(database_urls, pg_server, people):
    """The reason for the function: as its owner, ``LIKE`` is an index condition; as the app role, a filter."""
    # Without the function's tenant predicate, so that only the trigram indexes can serve the pattern (on the small
    # test data the primary key would otherwise win): what matters is whether LIKE may enter an index condition.
    statement = "EXPLAIN (COSTS OFF) SELECT p.id FROM person p WHERE p.kana_key LIKE '%なべしま%'"

    async def plan(role: str) -> str:
        conn = await connect(with_database(pg_server.superuser_url, DATABASE))
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', '394017', true)")
                # a test database is small: keep the planner off the sequential and primary-key scans
                await conn.execute("SET LOCAL enable_seqscan = off")
                await conn.execute("SET LOCAL enable_indexscan = off")
                await conn.execute(f"SET LOCAL ROLE {role}")
                return "\n".join(r[0] for r in await conn.fetch(statement))
        finally:
            await conn.close()

    def pattern_in_index_condition(plan_text: str) -> bool:
        return any("Index Cond" in line and "~~" in line for line in plan_text.splitlines())

    inside = run(plan(NAME_SEARCH_ROLE))
    assert pattern_in_index_condition(inside), inside
    walled = run(plan(database_urls.app_role))
    assert not pattern_in_index_condition(walled) and "~~" in walled, walled


def test_search_still_applies_visibility(database_urls, people):
    """A staff member who works on no case of that person does not find it by name; a coordinator does, by a name
    of any length and by the case number."""

    async def work(session):
        staff = await search.search_cases(session, principal(HOME, ("staff",)), search.CaseQuery(q="なべしま"))
        found = {}
        # four kana (the lookup), two kanji (too short for trigrams: the member keys), the case number in part
        number = (await search.search_cases(session, principal(HOME), search.CaseQuery(q="ナベシマ"))).rows[0]
        for q in ("ナベシマ", "鍋島", number.case.case_number[-6:]):
            rows = (await search.search_cases(session, principal(HOME), search.CaseQuery(q=q, limit=200))).rows
            found[q] = {str(r.person.id) for r in rows}
        return [r.person.id for r in staff.rows], found

    staff_found, coordinator_found = unit_of_work(database_urls, HOME, work)
    assert staff_found == []
    assert all(people[HOME]["person"] in found for found in coordinator_found.values()), coordinator_found
    assert coordinator_found["ナベシマ"] == {people[HOME]["person"]}
