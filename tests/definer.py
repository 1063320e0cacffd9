"""Every SECURITY DEFINER function, attacked: how to call it, and what it must do for whom.

A SECURITY DEFINER function runs as the schema owner, past the app role's grants, so each one is a door in the
wall. For each, tests/test_security_definer.py checks that ``search_path`` is pinned and that, called as the app
role, it refuses while bound to a municipality (the one whose rows it would read, and another one), while bound to
nothing (a fresh connection: the setting is NULL, not '') and while bound to the empty string, and that it works
for the prefecture (so the refusal is the function's own, not a broken call).

A refusal is the function's own ``42501`` error or an empty result; a row of NULL totals is not a refusal.

When a migration adds a SECURITY DEFINER function, add a ``DefinerProbe`` here (or, for a trigger function, a
line in ``TRIGGER_FUNCTIONS`` with the walled statement that exercises it). An unlisted function fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

TENANT_A, TENANT_B, PREFECTURE = "394017", "392049", "390003"


@dataclass(frozen=True)
class DefinerProbe:
    call: str  # SQL; {name} placeholders are filled from the world (see prepare_world)
    # What the prefecture's call must show so the probe is known to reach tenant B's rows (checked as a substring
    # of the rows' text); None: it must merely succeed.
    prefecture_sees: str | None = TENANT_B
    note: str = ""


PROBES: dict[str, DefinerProbe] = {
    "onboard_tenant(character varying)": DefinerProbe(
        "SELECT onboard_tenant('{not_a_tenant}')", prefecture_sees="created"),
    "set_tenant_status(character varying,character varying)": DefinerProbe(
        f"SELECT set_tenant_status('{TENANT_B}', 'suspended')", prefecture_sees="active"),
    "survey_send(uuid,character varying[])": DefinerProbe(
        f"SELECT survey_send('{{draft_survey}}', ARRAY['{TENANT_B}']::varchar[])", prefecture_sees="1"),
    "survey_responses(uuid)": DefinerProbe("SELECT * FROM survey_responses('{survey}')"),
    "survey_answers(uuid)": DefinerProbe("SELECT * FROM survey_answers('{survey}')"),
    "plugin_usage()": DefinerProbe("SELECT * FROM plugin_usage()"),
    "plugin_error_overview()": DefinerProbe("SELECT * FROM plugin_error_overview()"),
    "grant_spending_by_municipality(integer)": DefinerProbe("SELECT * FROM grant_spending_by_municipality({year})"),
    "prefecture_monthly_aggregates(integer)": DefinerProbe("SELECT * FROM prefecture_monthly_aggregates({year})"),
}

# Trigger functions cannot be called; the statement shown (run as tenant A, naming tenant B) must be refused.
TRIGGER_FUNCTIONS: dict[str, str] = {
    "audit_event_chain()": f"INSERT INTO audit_event (tenant_id, actor_sub, action, object_type) "
                           f"VALUES ('{TENANT_B}', 'intruder', 'read', 'case')",
    "plugin_bump_generation()": f"INSERT INTO tenant_plugin (tenant_id, plugin_name, changed_by) "
                                f"VALUES ('{TENANT_B}', 'nankoku', 'intruder')",
}

# Who calls: None is a fresh, never-bound connection (current_setting(..., true) is NULL there).
REFUSING_BINDINGS: tuple[str | None, ...] = (None, "", TENANT_A, TENANT_B)

async def definer_functions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT p.oid::regprocedure::text AS signature, p.prorettype = 'trigger'::regtype AS is_trigger,
               p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute,
               pg_get_functiondef(p.oid) AS definition
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.prosecdef
        ORDER BY 1
        """
    )


def static_problems(functions) -> list[str]:
    """Registration, pinned search_path, no EXECUTE for PUBLIC."""
    problems = []
    for f in functions:
        sig = f["signature"]
        if sig not in PROBES and sig not in TRIGGER_FUNCTIONS:
            problems.append(f"{sig}: SECURITY DEFINER function without a probe; add a DefinerProbe to tests/definer.py")
        if not any(c == "search_path=public, pg_temp" for c in (f["proconfig"] or ())):
            problems.append(f"{sig}: search_path not pinned to 'public, pg_temp' (got {f['proconfig']})")
        if f["public_may_execute"] and not f["is_trigger"]:
            problems.append(f"{sig}: EXECUTE not revoked from PUBLIC")
    listed = {f["signature"] for f in functions}
    problems += [f"{sig}: listed in tests/definer.py but not SECURITY DEFINER (or gone)"
                 for sig in [*PROBES, *TRIGGER_FUNCTIONS] if sig not in listed]
    return problems


async def prepare_world(conn: asyncpg.Connection, grant_year: int) -> dict[str, str]:
    """Tenant B's rows each function could reach, written as the superuser inside the caller's transaction (B's
    spending in ``grant_year`` is committed beforehand through the grants service)."""
    survey = await conn.fetchval(
        "INSERT INTO prefecture_survey (id, title, fiscal_year, status, created_by) "
        "VALUES (gen_random_uuid(), '定義者関数の試験', 2029, 'sent', 'definer-probe') RETURNING id::text")
    draft = await conn.fetchval(
        "INSERT INTO prefecture_survey (id, title, fiscal_year, status, created_by) "
        "VALUES (gen_random_uuid(), '定義者関数の試験（未送付）', 2029, 'draft', 'definer-probe') RETURNING id::text")
    for survey_id in (survey, draft):
        await conn.execute("INSERT INTO prefecture_survey_question (id, survey_id, position, kind, label) "
                           "VALUES (gen_random_uuid(), $1::uuid, 1, 'number', '窓口の数')", survey_id)
    await conn.execute("INSERT INTO survey_recipient (tenant_id, survey_id, submitted_at) VALUES ($1, $2::uuid, now())",
                       TENANT_B, survey)
    await conn.execute("INSERT INTO survey_answer (tenant_id, survey_id, question_id, value) "
                       "SELECT $1, survey_id, id, '3' FROM prefecture_survey_question WHERE survey_id = $2::uuid",
                       TENANT_B, survey)
    await conn.execute("INSERT INTO tenant_plugin (tenant_id, plugin_name, changed_by) VALUES ($1, 'nakatosa', 'probe') "
                       "ON CONFLICT DO NOTHING", TENANT_B)
    await conn.execute(
        "INSERT INTO plugin_error (tenant_id, id, plugin_name, plugin_version, hook, kind, exc_type, location) "
        "VALUES ($1, gen_random_uuid(), 'nakatosa', '1.0.0', 'kyosei_nav_entries', 'exception', 'RuntimeError', 'x.py:1')",
        TENANT_B)
    not_a_tenant = await conn.fetchval(
        "SELECT code FROM municipality WHERE code <> $1 AND code NOT IN (SELECT tenant_id FROM tenant) ORDER BY code "
        "LIMIT 1", PREFECTURE)
    return {"survey": survey, "draft_survey": draft, "year": str(grant_year), "not_a_tenant": not_a_tenant}


@dataclass
class Outcome:
    refused: bool
    text: str
    error: str | None = None
    rows: list = field(default_factory=list)


async def call_as(conn: asyncpg.Connection, app_role: str, binding: str | None, sql: str) -> Outcome:
    """``sql`` as the app role bound to ``binding``, inside a savepoint that is rolled back (no side effect stays)."""
    tx = conn.transaction()
    await tx.start()
    try:
        await conn.execute(f'SET LOCAL ROLE "{app_role}"')
        if binding is not None:
            await conn.execute("SELECT set_config('app.tenant_id', $1, true)", binding)
        try:
            rows = await conn.fetch(sql)
        except asyncpg.PostgresError as exc:
            own = exc.sqlstate == "42501" and "row-level security" not in str(exc)
            return Outcome(refused=own, text="", error=f"{exc.sqlstate} {exc}")
        text = "\n".join(str(tuple(r.values())) for r in rows)
        return Outcome(refused=not rows, text=text, rows=rows)
    finally:
        await tx.rollback()


async def probe_problems(conn: asyncpg.Connection, app_role: str, world: dict[str, str]) -> list[str]:
    """Each probe as every refusing binding, then as the prefecture. Unbound calls go first, before anything on
    this connection has set app.tenant_id (after that the setting reads '' rather than NULL)."""
    problems = []
    for binding in REFUSING_BINDINGS:
        for sig, probe in PROBES.items():
            outcome = await call_as(conn, app_role, binding, probe.call.format(**world))
            if not outcome.refused:
                who = {None: "unbound", "": "bound to ''"}.get(binding, f"bound to {binding}")
                problems.append(f"{sig} {who}: not refused ({outcome.error or outcome.text[:200]})")
    for sig, probe in PROBES.items():
        outcome = await call_as(conn, app_role, PREFECTURE, probe.call.format(**world))
        if outcome.error or (probe.prefecture_sees and probe.prefecture_sees not in outcome.text):
            problems.append(f"{sig} as the prefecture: expected {probe.prefecture_sees!r} in the answer, got "
                            f"{outcome.error or outcome.text[:200]!r} (the probe does not reach tenant B's rows)")
    for sig, statement in TRIGGER_FUNCTIONS.items():
        outcome = await call_as(conn, app_role, TENANT_A, statement)
        if outcome.error is None or "row-level security" not in outcome.error:
            problems.append(f"{sig}: tenant A's statement for tenant B was not refused by the wall ({outcome.error})")
        direct = await call_as(conn, app_role, TENANT_A, f"SELECT ({sig})::text")
        if direct.error is None:
            problems.append(f"{sig}: callable directly")
    return problems
