"""``household_ids_by_member_name_key`` (migration 0019x) and ``household_ids_by_member_name_pair`` (0023), both
reading ``household_member_keys`` since 0026: the SECURITY DEFINER lookups behind a coordinator's name search in the
case list (a key of three characters or more, and of two).

They must refuse without a bound municipality, give one municipality nothing of another's, give nothing but ids, and
leave visibility to the ordinary query (a staff member still finds only the cases they work on). They exist so an
index serves the key under row-level security: the plan of their statement, run as their owner, has the key in the
index condition (the app role's own statement does not).
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
# each lookup with what it is given for the surname: the LIKE pattern of a longer key, or a two-character key
LOOKUPS = {"household_ids_by_member_name_key": PATTERN, "household_ids_by_member_name_pair": "鍋島"}


def _intake(urls, tenant: str) -> dict[str, str]:
    member = {"name": NAME, "kana": KANA, "birth_date": "1950-02-03", "sex": "female"}

    async def work(session):
        case = await service.create_intake(session, intake_body(members=[member]), principal(tenant))
        return {"person": str(case.person_id), "household": str(case.household_id)}

    return unit_of_work(urls, tenant, work)


async def _call(url: str, tenant: str | None, pattern: str, function: str = "household_ids_by_member_name_key"):
    conn = await connect(url)
    try:
        async with conn.transaction():
            if tenant is not None:
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant)
            return [str(r[0]) for r in await conn.fetch(f"SELECT * FROM {function}($1)", pattern)]
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def people(database_urls):
    return {HOME: _intake(database_urls, HOME), OTHER: _intake(database_urls, OTHER)}


@pytest.mark.parametrize("function", LOOKUPS)
def test_it_gives_only_the_bound_municipality_s_households(database_urls, people, function):
    key = LOOKUPS[function]
    assert run(_call(database_urls.app, HOME, key, function)) == [people[HOME]["household"]]
    assert run(_call(database_urls.app, OTHER, key, function)) == [people[OTHER]["household"]]
    # the prefecture holds no people, and the function does not look beyond the bound municipality
    assert run(_call(database_urls.app, "390003", key, function)) == []


def test_the_pair_lookup_takes_two_characters_of_name_or_kana_and_nothing_else(database_urls, people):
    household = people[HOME]["household"]
    pair = "household_ids_by_member_name_pair"
    # any two characters in a row of the name's or the kana's key (鍋島千鶴子, なべしまちづこ)
    for key in ("鍋島", "千鶴", "なべ", "ちづ"):
        assert household in run(_call(database_urls.app, HOME, key, pair)), key
    # not two in a row, or across the name and the kana: no match; a key of another length is not this lookup's
    for key in ("鍋千", "島な", "鍋島千", "鍋", ""):
        assert household not in run(_call(database_urls.app, HOME, key, pair)), key


@pytest.mark.parametrize("function", LOOKUPS)
@pytest.mark.parametrize("tenant", [None, ""])
def test_it_refuses_without_a_bound_municipality(database_urls, people, tenant, function):
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        run(_call(database_urls.app, tenant, LOOKUPS[function], function))


@pytest.mark.parametrize("function", LOOKUPS)
def test_it_is_owned_by_a_role_that_can_do_nothing_else(database_urls, function):
    [row] = fetch(database_urls.owner, """
        SELECT pg_get_userbyid(p.proowner) AS owner, p.prosecdef, p.proconfig, r.rolcanlogin, r.rolsuper,
               r.rolbypassrls, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_call
        FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner WHERE p.proname = $1""", function)
    assert row["owner"] == NAME_SEARCH_ROLE and row["prosecdef"]
    assert "search_path=public, pg_temp" in row["proconfig"]  # pinned like every definer function (tests/definer.py)
    assert not (row["rolcanlogin"] or row["rolsuper"] or row["rolbypassrls"] or row["public_may_call"])
    # it may read three columns of household_member_keys (migration 0026), and nothing else of the schema
    granted = fetch(database_urls.owner, """
        SELECT table_name, column_name FROM information_schema.column_privileges
        WHERE grantee = $1 ORDER BY 1, 2""", NAME_SEARCH_ROLE)
    assert {(r["table_name"], r["column_name"]) for r in granted} == {
        ("household_member_keys", "household_id"), ("household_member_keys", "keys"),
        ("household_member_keys", "tenant_id")}


# Each lookup's condition alone, without the function's tenant predicate, so that only its index can serve it (on the
# small test data the primary key would otherwise win), and the operator that shows the condition in a plan line.
INDEXED_CONDITIONS = {
    "trigram": ("k.keys LIKE '%なべしま%'", "~~"),
    "pairs": ("name_key_pairs(k.keys) @> ARRAY['鍋島']", "@>"),
}


@pytest.mark.parametrize("index", INDEXED_CONDITIONS)
def test_inside_the_function_the_index_takes_the_key(database_urls, pg_server, people, index):
    """The reason for the functions: as their owner, the key is an index condition; as the app role, a filter."""
    condition, operator = INDEXED_CONDITIONS[index]
    statement = f"EXPLAIN (COSTS OFF) SELECT k.household_id FROM household_member_keys k WHERE {condition}"

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

    def key_in_index_condition(plan_text: str) -> bool:
        return any("Index Cond" in line and operator in line for line in plan_text.splitlines())

    inside = run(plan(NAME_SEARCH_ROLE))
    assert key_in_index_condition(inside), inside
    walled = run(plan(database_urls.app_role))
    assert not key_in_index_condition(walled) and operator in walled, walled


def test_search_still_applies_visibility(database_urls, people):
    """A staff member who works on no case of that person does not find it by name; a coordinator does, by a name
    of any length and by the case number."""

    async def work(session):
        staff = await search.search_cases(session, principal(HOME, ("staff",)), search.CaseQuery(q="なべしま"))
        found = {}
        # four kana (the trigram lookup), two kanji (the pair lookup), the case number in part
        number = (await search.search_cases(session, principal(HOME), search.CaseQuery(q="ナベシマ"))).rows[0]
        for q in ("ナベシマ", "鍋島", number.case.case_number[-6:]):
            rows = (await search.search_cases(session, principal(HOME), search.CaseQuery(q=q, limit=200))).rows
            found[q] = {str(r.person.id) for r in rows}
        return [r.person.id for r in staff.rows], found

    staff_found, coordinator_found = unit_of_work(database_urls, HOME, work)
    assert staff_found == []
    assert all(people[HOME]["person"] in found for found in coordinator_found.values()), coordinator_found
    assert coordinator_found["ナベシマ"] == {people[HOME]["person"]}
