"""The checks behind tests/test_tenant_wall.py, as functions of one connection so a test can break the schema
inside a transaction, run the same check and see it fail (tests/test_wall_can_fail.py).

Policy rule, read from ``pg_policies`` (PostgreSQL's own rendering of each policy):
- a tenant table (one with ``tenant_id``) has RLS enabled and forced, and exactly one policy that applies to every
  role: ``tenant_wall``, permissive, FOR ALL, TO PUBLIC, with USING and WITH CHECK both exactly the tenant predicate;
- any other policy on it is listed in ``OWNER_ONLY_POLICIES``: it applies to the schema owner only (the role that
  owns the SECURITY DEFINER functions), never to the app role, reads only while the prefecture is bound (or, for
  the listed exception below, as stated there), and has the listed command; restrictive policies only narrow and
  are allowed;
- the app role is neither superuser, nor BYPASSRLS, nor owner of any table, nor a member of a role that owns
  tables or definer functions (it could ``SET ROLE`` to it and take the owner-only paths, or the name-search role's
  ``USING (true)``, outside the functions).
A new table is picked up by the query itself: nothing to register unless it needs an owner-only policy.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import asyncpg

from infra.database.provision import DATABASE, connect, with_user

# PostgreSQL's rendering of core/tenancy/ddl.py TENANT_PREDICATE (what pg_policies shows for it).
TENANT_PREDICATE = "((tenant_id)::text = current_setting('app.tenant_id'::text, true))"
PREFECTURE_PREDICATE = "(current_setting('app.tenant_id'::text, true) = '390003'::text)"

# (table, policy) -> command of an owner-only policy: the prefecture's narrow path into tenant rows, used only by
# SECURITY DEFINER functions that refuse unless the prefecture is bound (tests/definer.py calls each of them).
# Add a row here when a migration adds such a policy; anything else on a tenant table fails the check.
OWNER_ONLY_POLICIES: dict[tuple[str, str], str] = {
    ("grant_caseload_count", "prefecture_counts"): "SELECT",
    ("grant_expenditure", "prefecture_aggregate"): "SELECT",
    ("grant_fiscal_year", "prefecture_aggregate"): "SELECT",
    # implementation_plans_sent (0018c): the latest version each municipality sent, for the prefecture's 実施計画 view.
    ("implementation_plan", "prefecture_reads_sent"): "SELECT",
    ("plugin_error", "plugin_overview"): "SELECT",
    ("tenant_plugin", "plugin_overview"): "SELECT",
    ("program", "prefecture_counts"): "SELECT",
    ("program_attendance", "prefecture_counts"): "SELECT",
    ("program_enrolment", "prefecture_counts"): "SELECT",  # prefecture_counts (0015): distinct participants
    ("program_session", "prefecture_counts"): "SELECT",
    ("support_case", "prefecture_counts"): "SELECT",
    ("support_plan", "prefecture_counts"): "SELECT",
    ("survey_answer", "prefecture_path"): "SELECT",
    ("survey_recipient", "prefecture_path"): "ALL",
}

# Owner-only policies whose USING is not the prefecture binding, with the USING they must have and why.
# survey_invitation holds only the prefecture's rows (a CHECK constraint); survey_link_open / survey_link_answer are
# called by a person with no account (nothing is bound) and each finds only the one invitation whose token hash
# matches — tests/definer.py calls both with a right and a wrong token under every binding. (Binding the prefecture
# inside the functions instead would need ``ALTER FUNCTION … SET app.tenant_id``, which PostgreSQL refuses the
# schema owner for a custom setting.)
OWNER_ONLY_USING: dict[tuple[str, str], str] = {
    ("survey_invitation", "survey_link"): "true",
}
OWNER_ONLY_POLICIES[("survey_invitation", "survey_link")] = "ALL"
OWNER_ONLY_POLICIES[("count_summary", "prefecture_counts")] = "SELECT"  # prefecture_counts() reads the summaries

# Policies of the one role that owns the name-search functions (migrations 0019x, 0023, 0026): ``kyosei_name_search``
# has no login, no BYPASSRLS, may read only the households' member keys, and its ``USING (true)`` is what lets the
# planner use the indexes inside ``household_ids_by_member_name_key`` and ``…_pair`` (which apply the tenant predicate
# themselves and return only household ids that the caller then reads through the wall).
NAME_SEARCH_ROLE = "kyosei_name_search"
NAME_SEARCH_POLICIES: dict[tuple[str, str], str] = {
    ("household_member_keys", "name_search"): "SELECT",  # since migration 0026; person and memberships before
}
# The only columns it may read (its policies are USING (true): any other column granted is every tenant's).
NAME_SEARCH_COLUMNS: dict[str, set[str]] = {
    "household_member_keys": {"tenant_id", "household_id", "keys"},
}


def superuser_database_url(superuser_url: str) -> str:
    """The superuser on Kyosei's database (it can SET ROLE to the app role inside one transaction)."""
    return with_user(superuser_url, "postgres", database=DATABASE)


@asynccontextmanager
async def rolled_back(url: str):
    """One connection inside one transaction that is always rolled back: for breaking the schema on purpose."""
    conn = await connect(url)
    try:
        tx = conn.transaction()
        await tx.start()
        try:
            yield conn
        finally:
            await tx.rollback()
    finally:
        await conn.close()


async def policy_problems(conn: asyncpg.Connection, app_role: str, global_tables=()) -> list[str]:
    """Every way a tenant table's policies could let a tenant see or write another's rows (empty: none)."""
    tables = await conn.fetch(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner) AS owner
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
          AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                      AND NOT a.attisdropped)
          AND NOT (c.relname = ANY ($1::text[]))
        ORDER BY c.relname
        """,
        list(global_tables),
    )
    policies = await conn.fetch(
        "SELECT tablename, policyname, permissive, roles::text[] AS roles, cmd, qual, with_check "
        "FROM pg_policies WHERE schemaname = 'public'"
    )
    by_table: dict[str, list] = {}
    for p in policies:
        by_table.setdefault(p["tablename"], []).append(p)
    problems = []
    for t in tables:
        name, owner = t["relname"], t["owner"]
        if not t["relrowsecurity"]:
            problems.append(f"{name}: row-level security not enabled")
        if not t["relforcerowsecurity"]:
            problems.append(f"{name}: row-level security not forced (the owner and its functions bypass it)")
        if owner == app_role:
            problems.append(f"{name}: owned by the app role {app_role}")
        walls = [p for p in by_table.get(name, []) if p["policyname"] == "tenant_wall"]
        if not walls:
            problems.append(f"{name}: no tenant_wall policy")
        for p in by_table.get(name, []):
            problems.extend(_policy_problems(name, p, owner))
    # A view runs with its owner's rights (the owner-only paths, or a superuser's none at all) unless it is
    # security_invoker; a materialized view or a foreign table has no row-level security. None is needed today.
    for r in await conn.fetch(
            "SELECT c.relname, c.relkind::text AS relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND (c.relkind IN ('m', 'f') OR (c.relkind = 'v' AND NOT coalesce("
            "'security_invoker=true' = ANY (c.reloptions) OR 'security_invoker=on' = ANY (c.reloptions), false))) "
            "ORDER BY 1"):
        kind = {"v": "view without security_invoker", "m": "materialized view", "f": "foreign table"}[r["relkind"]]
        problems.append(f"{r['relname']}: {kind} (reads past the tenant wall)")
    role = await conn.fetchrow("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = $1", app_role)
    if role is None or role["rolsuper"] or role["rolbypassrls"]:
        problems.append(f"app role {app_role}: superuser or BYPASSRLS (or missing)")
    search = await conn.fetchrow("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = $1",
                                 NAME_SEARCH_ROLE)
    if search is not None and (search["rolsuper"] or search["rolbypassrls"] or search["rolcanlogin"]):
        problems.append(f"{NAME_SEARCH_ROLE}: superuser, BYPASSRLS or able to log in")
    if search is not None:
        readable = {r["table_name"] for r in await conn.fetch(
            "SELECT DISTINCT table_name FROM information_schema.role_table_grants WHERE grantee = $1",
            NAME_SEARCH_ROLE)}
        if readable - {t for t, _ in NAME_SEARCH_POLICIES}:
            problems.append(f"{NAME_SEARCH_ROLE} may read {sorted(readable)}, more than the name keys")
        # column grants (what 0019x gives) are not table grants: read them, table-wide grants show per column too
        columns = await conn.fetch(
            "SELECT table_name, column_name, privilege_type FROM information_schema.column_privileges "
            "WHERE grantee = $1 AND table_schema = 'public'", NAME_SEARCH_ROLE)
        beyond = sorted(f"{c['table_name']}.{c['column_name']} ({c['privilege_type']})" for c in columns
                        if c["privilege_type"] != "SELECT"
                        or c["column_name"] not in NAME_SEARCH_COLUMNS.get(c["table_name"], ()))
        if beyond:
            problems.append(f"{NAME_SEARCH_ROLE} may use {beyond}, more than the name keys")
    owners = {t["owner"] for t in tables} | {r["owner"] for r in await conn.fetch(
        "SELECT DISTINCT pg_get_userbyid(p.proowner) AS owner FROM pg_proc p JOIN pg_namespace n "
        "ON n.oid = p.pronamespace WHERE n.nspname = 'public' AND p.prosecdef")}
    for owner in sorted(owners - {app_role}):
        if await conn.fetchval("SELECT pg_has_role($1, $2, 'MEMBER')", app_role, owner):
            problems.append(f"app role {app_role} is a member of {owner}, which owns walled tables or definer "
                            "functions: it could SET ROLE past the wall")
    return problems


def _policy_problems(table: str, p, owner: str) -> list[str]:
    label = f"{table}: policy {p['policyname']}"
    if p["permissive"] == "RESTRICTIVE":
        return []  # ANDed with the others: it can only narrow what the tenant policy lets through
    if p["policyname"] == "tenant_wall":
        wrong = []
        if p["cmd"] != "ALL":
            wrong.append(f"applies to {p['cmd']} only")
        if list(p["roles"]) != ["public"]:
            wrong.append(f"applies to {p['roles']} instead of every role")
        if p["qual"] != TENANT_PREDICATE:
            wrong.append(f"USING is {p['qual']!r}")
        if p["with_check"] != TENANT_PREDICATE:
            wrong.append(f"WITH CHECK is {p['with_check']!r}")
        return [f"{label} {w}" for w in wrong]
    if (table, p["policyname"]) in NAME_SEARCH_POLICIES:
        wrong = []
        if list(p["roles"]) != [NAME_SEARCH_ROLE]:
            wrong.append(f"applies to {p['roles']} instead of {NAME_SEARCH_ROLE} only")
        if p["cmd"] != NAME_SEARCH_POLICIES[(table, p["policyname"])]:
            wrong.append(f"applies to {p['cmd']} instead of SELECT")
        if p["qual"] != "true" or p["with_check"] is not None:
            wrong.append(f"USING is {p['qual']!r}, WITH CHECK {p['with_check']!r}")
        return [f"{label} {w}" for w in wrong]
    expected_cmd = OWNER_ONLY_POLICIES.get((table, p["policyname"]))
    if expected_cmd is None:
        return [f"{label} is a second permissive policy (widens the tenant wall); list it in tests/wall.py "
                "OWNER_ONLY_POLICIES only if it is an owner-only path for SECURITY DEFINER functions"]
    wrong = []
    if list(p["roles"]) != [owner]:
        wrong.append(f"applies to {p['roles']} instead of the owner {owner} only")
    if p["cmd"] != expected_cmd:
        wrong.append(f"applies to {p['cmd']} instead of {expected_cmd}")
    using = OWNER_ONLY_USING.get((table, p["policyname"]), PREFECTURE_PREDICATE)
    if p["qual"] != using:
        wrong.append(f"USING is {p['qual']!r}")
    if p["with_check"] not in (None, using):
        wrong.append(f"WITH CHECK is {p['with_check']!r}")
    return [f"{label} {w}" for w in wrong]
