"""The database is the wall: every table is either behind row-level security or a listed global table."""

import asyncpg
import pytest

from tests.conftest import run
from tests.db import fetch
from tests.wall import policy_problems, rolled_back

# Tables shared by all tenants, each with the reason it may be global. Anything else must carry tenant_id.
GLOBAL_TABLES = {
    "alembic_version": "migration bookkeeping",
    "municipality": "the public registry of Kochi's municipalities (no personal data)",
    "tenant": "which municipalities are tenants and their status; read before a tenant is known (login)",
    "web_session": "login sessions, looked up by a hashed random id before the tenant is known",
    "oidc_login": "OIDC state/nonce/PKCE of logins in flight (no tenant yet)",
    "ended_keycloak_session": "sids of logged-out Keycloak sessions, checked before a bearer token's tenant is known",
    "grant_cost_share_rate": "national cost-share ratios of the grant per field and year (public reference data)",
    "grant_cost_share_reference": "the 交付要綱's cost-share ratios per 事業 × 分野 and year, with source (public reference data)",
    "plugin_version": "the prefecture's catalog of plugin versions and approvals (no tenant or personal data)",
    "plugin_vendor_user": "which login speaks for which plugin vendor in the vendor seat (set by the prefecture)",
    "plugin_generation": "one counter bumped on any plugin enablement change, so every instance refreshes its cache",
    "roadmap_phase": "prefecture roadmap: each municipality's phase per year (public planning facts, prefecture writes)",
    "roadmap_plan": "prefecture roadmap: 地域福祉計画 revision year per municipality (public planning facts)",
    "backoffice_event": "the prefecture's 後方支援事業 schedule (meetings, seminars; no tenant data)",
    "prefecture_survey": "実態調査 questionnaires written by the prefecture (questions only; answers are tenant rows)",
    "prefecture_survey_question": "questions of the prefecture's 実態調査 questionnaires (no answers, no personal data)",
}


def test_every_table_is_walled_or_a_listed_global_table(database_urls):
    tables = fetch(
        database_urls.owner,
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                       AND NOT a.attisdropped) AS has_tenant,
               (SELECT a.attnotnull FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id') AS tenant_not_null
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        ORDER BY c.relname
        """,
    )
    assert tables, "no tables found"
    problems = []
    for t in tables:
        name = t["relname"]
        if name in GLOBAL_TABLES:
            continue
        if t["has_tenant"]:
            if not t["tenant_not_null"]:
                problems.append(f"{name}: tenant_id is nullable")
        elif name not in GLOBAL_TABLES:
            problems.append(f"{name}: has no tenant_id and is not on the global allow-list")
    assert problems == []


def test_every_tenant_table_has_exactly_the_tenant_policy(database_urls):
    """USING and WITH CHECK exactly the tenant predicate, for every role, forced, and nothing permissive beside it
    except the listed owner-only paths of the prefecture's functions (rules: tests/wall.py)."""

    async def check():
        async with rolled_back(database_urls.owner) as conn:
            return await policy_problems(conn, database_urls.app_role, GLOBAL_TABLES)

    assert run(check()) == []


def test_tenant_id_leads_every_primary_key_and_index_of_tenant_tables(database_urls):
    rows = fetch(
        database_urls.owner,
        """
        SELECT i.indexrelid::regclass::text AS index, c.relname,
               (SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum = i.indkey[0]) AS first_col
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public'
          AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id')
        """,
    )
    offenders = [
        f"{r['index']} on {r['relname']}"
        for r in rows
        if r["first_col"] != "tenant_id" and r["relname"] not in GLOBAL_TABLES
    ]
    assert offenders == []


def test_the_policy_fails_closed_without_a_tenant(database_urls):
    # The app role, no app.tenant_id set: an insert into a tenant table is refused, a select sees nothing.
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        fetch(database_urls.app, "INSERT INTO audit_event (tenant_id, actor_sub, action, object_type) VALUES ('394017', 'x', 'read', 'case')")


def test_the_prefecture_cannot_read_a_single_case_row(database_urls):
    """Bound as 高知県 (390003), the app role sees no municipality's cases, even when it asks for them by tenant."""
    from tests.cases_support import intake_body, principal, unit_of_work
    from core.cases import service as cases

    case = unit_of_work(database_urls, "394017", lambda s: cases.create_intake(s, intake_body(), principal("394017")))

    async def as_prefecture(session):
        from sqlalchemy import text

        return (
            await session.execute(text("SELECT count(*) FROM support_case WHERE tenant_id = '394017' OR id = :id"), {"id": case.id})
        ).scalar(), (await session.execute(text("SELECT count(*) FROM person"))).scalar()

    assert unit_of_work(database_urls, "390003", as_prefecture) == (0, 0)
