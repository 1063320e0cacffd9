"""Every SECURITY DEFINER function: search_path pinned, EXECUTE not public, and each refuses a municipality (the
one whose rows it would read and another), an unbound caller and an empty binding, while the prefecture gets an
answer that reaches tenant B's rows (probes and rules: tests/definer.py). The checks can fail: a function with its
prefecture check removed, an unlisted function and a function without a pinned search_path are each caught."""

from __future__ import annotations

import pytest

from tests import definer
from tests.conftest import run
from tests.wall import rolled_back, superuser_database_url

CHECK = "current_setting('app.tenant_id', true) = '390003'"


@pytest.fixture(scope="module")
def b_spending(database_urls) -> int:
    """Tenant B spends in the grants year the isolation suite uses (the aggregate functions must reach it)."""
    from tests.isolation import _GRANT_YEAR, OBJECT_MAKERS

    OBJECT_MAKERS["expenditure_id"](database_urls, definer.TENANT_B)
    return _GRANT_YEAR


def _probe(pg_server, app_role: str, grant_year: int, breach=None):
    """Static and behavioural problems of every SECURITY DEFINER function, after ``breach(conn)`` if given."""

    async def go():
        async with rolled_back(superuser_database_url(pg_server.superuser_url)) as conn:
            if breach is not None:
                await breach(conn)
            functions = await definer.definer_functions(conn)
            world = await definer.prepare_world(conn, grant_year)
            return definer.static_problems(functions) + await definer.probe_problems(conn, app_role, world)

    return run(go())


def test_every_security_definer_function_refuses_everyone_but_the_prefecture(database_urls, pg_server, b_spending):
    assert _probe(pg_server, database_urls.app_role, b_spending) == []


async def _without_the_check(conn, signature: str):
    """Recreate ``signature`` exactly as it is, minus its prefecture check (what a careless migration might do)."""
    definition = await conn.fetchval("SELECT pg_get_functiondef($1::regprocedure)", signature)
    assert CHECK in definition or "IS DISTINCT FROM '390003'" in definition
    broken = (definition.replace(f"IF NOT {CHECK} THEN", "IF false THEN").replace(CHECK, "true")
              .replace("current_setting('app.tenant_id', true) IS DISTINCT FROM '390003'", "false"))
    assert broken != definition
    await conn.execute(broken)


@pytest.mark.parametrize("signature", [
    "grant_spending_by_municipality(integer)",  # SQL: filters rows by the check
    "set_tenant_status(character varying,character varying)",  # plpgsql: raises on the check
    "survey_send(uuid,character varying[])",
])
def test_a_function_without_its_prefecture_check_is_caught(database_urls, pg_server, b_spending, signature):
    problems = _probe(pg_server, database_urls.app_role, b_spending, lambda conn: _without_the_check(conn, signature))
    assert any(p.startswith(f"{signature} bound to {definer.TENANT_B}: not refused") for p in problems), problems


def test_an_unlisted_or_unpinned_function_is_caught(database_urls, pg_server, b_spending):
    async def breach(conn):
        await conn.execute("CREATE FUNCTION count_every_case() RETURNS bigint LANGUAGE sql SECURITY DEFINER "
                           "AS $$ SELECT count(*) FROM support_case $$")
        await conn.execute("ALTER FUNCTION plugin_usage() RESET search_path")

    problems = _probe(pg_server, database_urls.app_role, b_spending, breach)
    assert any(p.startswith("count_every_case(): SECURITY DEFINER function without a probe") for p in problems)
    assert any(p.startswith("count_every_case(): search_path not pinned") for p in problems)
    assert any(p.startswith("count_every_case(): EXECUTE not revoked from PUBLIC") for p in problems)
    assert any(p.startswith("plugin_usage(): search_path not pinned") for p in problems)


def test_a_link_function_that_answers_any_token_is_caught(database_urls, pg_server, b_spending):
    """The link functions answer without a binding; their only key is the token hash. Without it, a wrong token
    gets the invitation, under every binding."""
    signature = "survey_link_open(character varying)"
    match = "AND i.token_hash = encode(sha256(convert_to(p_token, 'UTF8')), 'hex')"

    async def breach(conn):
        definition = await conn.fetchval("SELECT pg_get_functiondef($1::regprocedure)", signature)
        assert match in definition
        await conn.execute(definition.replace(match, ""))

    problems = _probe(pg_server, database_urls.app_role, b_spending, breach)
    for who in ("unbound", f"bound to {definer.TENANT_A}", "as the prefecture"):
        assert any(p.startswith(f"{signature} {who}: not refused") for p in problems), problems


def test_a_definer_function_outside_the_public_schema_is_caught(database_urls, pg_server, b_spending):
    async def breach(conn):
        await conn.execute("CREATE SCHEMA reports")
        await conn.execute("CREATE FUNCTION reports.every_case() RETURNS bigint LANGUAGE sql SECURITY DEFINER "
                           "SET search_path = public, pg_temp AS $$ SELECT count(*) FROM support_case $$")

    problems = _probe(pg_server, database_urls.app_role, b_spending, breach)
    assert any(p.startswith("reports.every_case(): SECURITY DEFINER function without a probe") for p in problems)
