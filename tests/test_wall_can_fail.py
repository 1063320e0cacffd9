"""The wall's checks can fail: each breach is made on purpose inside a transaction that is rolled back, and the
same check tests/test_tenant_wall.py runs on the real schema must name it. Where the breach is a real leak, the
test also shows the leak (tenant A, as the app role, sees tenant B's case) so the check is not guarding a dummy.
"""

from __future__ import annotations

import pytest

from tests.conftest import run
from tests.test_tenant_wall import GLOBAL_TABLES
from tests.wall import policy_problems, rolled_back, superuser_database_url

TENANT_A, TENANT_B = "394017", "392049"


@pytest.fixture(scope="module")
def b_case(database_urls):
    from core.cases import service as cases
    from tests.cases_support import intake_body, principal, unit_of_work

    return unit_of_work(database_urls, TENANT_B, lambda s: cases.create_intake(s, intake_body(), principal(TENANT_B))).id


async def _b_cases_seen_by_a(conn, app_role: str, case_id) -> int:
    """Inside the caller's transaction: as the app role bound to tenant A, how many of B's cases are visible."""
    await conn.execute(f'SET LOCAL ROLE "{app_role}"')
    await conn.execute("SELECT set_config('app.tenant_id', $1, true)", TENANT_A)
    seen = await conn.fetchval("SELECT count(*) FROM support_case WHERE id = $1", case_id)
    await conn.execute("RESET ROLE")
    return seen


BREACHES = {
    "second permissive policy USING (true)": (
        "CREATE POLICY widen ON support_case FOR SELECT USING (true)", "second permissive policy", True),
    "second permissive policy for the app role": (
        "CREATE POLICY widen ON support_case TO {app} USING (tenant_id IS NOT NULL)", "second permissive policy", True),
    "owner-only policy opened to every role": (
        "ALTER POLICY prefecture_counts ON support_case TO PUBLIC", "instead of the owner", False),
    "the survey links' owner-only policy opened to every role": (
        "ALTER POLICY survey_link ON survey_invitation TO PUBLIC", "survey_invitation: policy survey_link applies to",
        False),
    "an owner-only prefecture path loosened to USING (true)": (
        "ALTER POLICY prefecture_reads_sent ON implementation_plan USING (true)",
        "implementation_plan: policy prefecture_reads_sent USING is", False),
    "WITH CHECK loosened": (
        "ALTER POLICY tenant_wall ON support_case WITH CHECK (true)", "WITH CHECK is", False),
    "USING loosened": (
        "ALTER POLICY tenant_wall ON support_case USING (tenant_id IS NOT NULL)", "USING is", True),
    "tenant policy for the app role only": (
        "ALTER POLICY tenant_wall ON support_case TO {app}", "instead of every role", False),
    "row-level security not forced": (
        "ALTER TABLE support_case NO FORCE ROW LEVEL SECURITY", "not forced", False),
    "row-level security disabled": (
        "ALTER TABLE support_case DISABLE ROW LEVEL SECURITY", "not enabled", False),
    "new tenant table without a policy": (
        "CREATE TABLE breach_notes (tenant_id varchar(6) NOT NULL, note text)", "breach_notes: no tenant_wall", False),
    "app role may bypass RLS": ("ALTER ROLE {app} BYPASSRLS", "BYPASSRLS", True),
    "the name-search role may read more of a person than the name keys": (
        "GRANT SELECT (name, birth_date, address) ON person TO kyosei_name_search",
        "kyosei_name_search may use ['person.address (SELECT)', 'person.birth_date (SELECT)', 'person.name (SELECT)']",
        False),
    "app role made a member of the name-search role": (
        "GRANT kyosei_name_search TO {app}", "is a member of kyosei_name_search", False),
    "app role made a member of the schema owner": (
        "GRANT kyosei_owner TO {app}", "is a member of kyosei_owner", False),
    "a view over a tenant table with its owner's rights": (
        "CREATE VIEW every_case AS SELECT id, tenant_id FROM support_case",
        "every_case: view without security_invoker", False),
    "a materialized view of a tenant table": (
        "CREATE MATERIALIZED VIEW case_copy AS SELECT id, tenant_id FROM support_case",
        "case_copy: materialized view", False),
}


@pytest.mark.parametrize("breach", list(BREACHES))
def test_the_policy_check_names_each_breach(database_urls, pg_server, b_case, breach):
    sql, named, leaks = BREACHES[breach]
    app = database_urls.app_role

    async def go():
        async with rolled_back(superuser_database_url(pg_server.superuser_url)) as conn:
            assert await _b_cases_seen_by_a(conn, app, b_case) == 0  # the wall holds before the breach
            await conn.execute(sql.format(app=app))
            seen = await _b_cases_seen_by_a(conn, app, b_case)
            return seen, await policy_problems(conn, app, GLOBAL_TABLES)

    seen, problems = run(go())
    assert any(named in p for p in problems), problems
    if leaks:
        assert seen == 1, "the breach should really let tenant A see tenant B's case"


def test_an_app_role_in_the_name_search_role_reads_every_tenants_names(database_urls, pg_server, b_case):
    """Why the membership breach above matters: the app role, bound to A, may not take the name-search role; once
    it is a member, it does and reads the name keys of B's households past the wall (that role's policies are
    USING (true); ``household_member_keys`` since migration 0026). The grant is committed for the app role's own
    connection to see it, and revoked at once."""
    import asyncpg

    from infra.database.provision import connect

    app, su = database_urls.app_role, superuser_database_url(pg_server.superuser_url)

    async def b_names_seen_by_a() -> int:
        conn = await connect(database_urls.app)
        try:
            async with conn.transaction():
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", TENANT_A)
                await conn.execute("SET LOCAL ROLE kyosei_name_search")
                return await conn.fetchval("SELECT count(*) FROM household_member_keys WHERE tenant_id = $1",
                                           TENANT_B)
        finally:
            await conn.close()

    async def go():
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await b_names_seen_by_a()
        owner = await connect(su)
        try:
            await owner.execute(f'GRANT kyosei_name_search TO "{app}"')
            try:
                return await b_names_seen_by_a()
            finally:
                await owner.execute(f'REVOKE kyosei_name_search FROM "{app}"')
        finally:
            await owner.close()

    assert run(go()) > 0


def test_a_view_that_reads_as_its_caller_is_not_named(database_urls, pg_server):
    """security_invoker: the view reads with the app role's rights, so the wall applies to it as to the table."""
    app = database_urls.app_role

    async def go():
        async with rolled_back(superuser_database_url(pg_server.superuser_url)) as conn:
            await conn.execute("CREATE VIEW open_cases WITH (security_invoker = true) AS "
                               "SELECT id, tenant_id FROM support_case WHERE status <> 'closed'")
            return await policy_problems(conn, app, GLOBAL_TABLES)

    assert run(go()) == []
