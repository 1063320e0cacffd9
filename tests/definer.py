"""Every SECURITY DEFINER function, attacked: how to call it, and what it must do for whom.

A SECURITY DEFINER function runs as the schema owner, past the app role's grants, so each one is a door in the
wall. For each, tests/test_security_definer.py checks that ``search_path`` is pinned and EXECUTE is not public, then
calls it as the app role under every binding — a fresh connection (the setting is NULL, not ''), the empty string,
tenant A, tenant B and the prefecture — and checks it against who it is for (``Audience``):

- ``PREFECTURE`` (most): refused for everyone but the prefecture, whose answer reaches tenant B's rows (so the
  refusal is the function's own, not a broken call);
- ``BOUND_TENANT`` (the audit trail's readers): answers the bound tenant about its own rows only — bound to B it
  reaches B's marker rows, bound to A, the prefecture, '' or nothing it does not;
- ``LINK_HOLDER`` (the one-time survey links, answered without an account): whoever holds the link's secret gets its
  one invitation whatever the binding, and a wrong secret gets nothing under any binding (``refused_call``).

A refusal is an error with one of the probe's ``refusals`` SQLSTATEs (the function's own, never the wall's
row-level-security error) or an empty result; a row of NULL totals is not a refusal.

When a migration adds a SECURITY DEFINER function, add a ``DefinerProbe`` here (or, for a trigger function, a
line in ``TRIGGER_FUNCTIONS`` with the walled statement that exercises it). An unlisted function fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import asyncpg

TENANT_A, TENANT_B, PREFECTURE = "394017", "392049", "390003"

# Who calls: None is a fresh, never-bound connection (current_setting(..., true) is NULL there). Unbound goes first,
# before anything on the probing connection has set app.tenant_id (after that the setting reads '' rather than NULL).
BINDINGS: tuple[str | None, ...] = (None, "", TENANT_A, TENANT_B, PREFECTURE)


class Audience(Enum):
    PREFECTURE = (PREFECTURE,)
    BOUND_TENANT = (TENANT_B,)  # the probe's marker rows are B's: only B bound may reach them
    LINK_HOLDER = BINDINGS  # the secret is the key, not the binding

    @property
    def answered(self) -> tuple[str | None, ...]:
        return self.value


@dataclass(frozen=True)
class DefinerProbe:
    call: str  # SQL; {name} placeholders are filled from the world (see prepare_world)
    # What an answered call must show so the probe is known to reach tenant B's rows (checked as a substring of the
    # rows' text, which must not be empty); None: any non-empty answer.
    sees: str | None = TENANT_B
    audience: Audience = Audience.PREFECTURE
    # The call every binding must be refused; None: ``call`` itself, for the bindings outside the audience.
    refused_call: str | None = None
    refusals: tuple[str, ...] = ("42501",)  # SQLSTATEs of the function's own refusal


PROBES: dict[str, DefinerProbe] = {
    "onboard_tenant(character varying)": DefinerProbe(
        "SELECT onboard_tenant('{not_a_tenant}')", sees="created"),
    "set_tenant_status(character varying,character varying)": DefinerProbe(
        f"SELECT set_tenant_status('{TENANT_B}', 'suspended')", sees="active"),
    "survey_send(uuid,character varying[])": DefinerProbe(
        f"SELECT survey_send('{{draft_survey}}', ARRAY['{TENANT_B}']::varchar[])", sees="1"),
    "survey_responses(uuid)": DefinerProbe("SELECT * FROM survey_responses('{survey}')"),
    "survey_answers(uuid)": DefinerProbe("SELECT * FROM survey_answers('{survey}')"),
    "plugin_usage()": DefinerProbe("SELECT * FROM plugin_usage()"),
    "plugin_error_overview()": DefinerProbe("SELECT * FROM plugin_error_overview()"),
    "grant_spending_by_municipality(integer)": DefinerProbe("SELECT * FROM grant_spending_by_municipality({year})"),
    "prefecture_counts(integer,text[])": DefinerProbe("SELECT * FROM prefecture_counts({year})"),
    "implementation_plans_sent(integer)": DefinerProbe("SELECT * FROM implementation_plans_sent({year})"),
    "audit_events_read(text[],text[],text[],timestamp with time zone,timestamp with time zone,integer)": DefinerProbe(
        "SELECT * FROM audit_events_read(NULL, ARRAY['{audit_actor}'], NULL, NULL, NULL, 10)",
        audience=Audience.BOUND_TENANT),
    # The name search (0019x) answers the bound municipality's households only: B's marker name reaches B's household
    # when B is bound, nothing for A or the prefecture, and an unbound or '' call is refused (42501).
    "household_ids_by_member_name_key(text)": DefinerProbe(
        "SELECT * FROM household_ids_by_member_name_key('%{b_name_key}%')", sees="{b_household}",
        audience=Audience.BOUND_TENANT),
    # Its two-character sibling (0023), by two characters of the same marker name.
    "household_ids_by_member_name_pair(text)": DefinerProbe(
        "SELECT * FROM household_ids_by_member_name_pair('{b_name_pair}')", sees="{b_household}",
        audience=Audience.BOUND_TENANT),
    # B's chain has a length no other binding's chain has (prepare_world makes sure): a row with it is B's status.
    "audit_chain_status()": DefinerProbe(
        "SELECT * FROM audit_chain_status() WHERE rows_checked = {b_audit_rows}", sees=None,
        audience=Audience.BOUND_TENANT),
    "survey_link_open(character varying)": DefinerProbe(
        "SELECT * FROM survey_link_open('{link_token}')", sees="{link_code}", audience=Audience.LINK_HOLDER,
        refused_call="SELECT * FROM survey_link_open('{link_token}x')"),
    "survey_link_answer(character varying,jsonb,character varying)": DefinerProbe(
        "SELECT survey_link_answer('{link_token}', '{{}}'::jsonb, '定義者関数の試験')", sees="{link_code}",
        audience=Audience.LINK_HOLDER, refusals=("P0002",),  # 'unknown survey link'
        refused_call="SELECT survey_link_answer('{link_token}x', '{{}}'::jsonb, '定義者関数の試験')"),
}

# Trigger functions cannot be called; the statement shown (run as tenant A, naming tenant B) must be refused.
TRIGGER_FUNCTIONS: dict[str, str] = {
    "audit_event_chain()": f"INSERT INTO audit_event (tenant_id, actor_sub, action, object_type) "
                           f"VALUES ('{TENANT_B}', 'intruder', 'read', 'case')",
    "plugin_bump_generation()": f"INSERT INTO tenant_plugin (tenant_id, plugin_name, changed_by) "
                                f"VALUES ('{TENANT_B}', 'nankoku', 'intruder')",
    # the recount at commit (0019y) is fired by a mark: A cannot mark B's count as stale
    "count_summary_refresh()": f"INSERT INTO count_summary_stale (tenant_id, metric, fiscal_year) "
                               f"VALUES ('{TENANT_B}', 'consultations', 2029)",
}

async def definer_functions(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch(
        """
        SELECT p.oid::regprocedure::text AS signature, p.prorettype = 'trigger'::regtype AS is_trigger,
               p.proconfig, has_function_privilege('public', p.oid, 'EXECUTE') AS public_may_execute,
               pg_get_functiondef(p.oid) AS definition
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')  -- any schema a migration made
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
    await conn.execute(
        "INSERT INTO implementation_plan (tenant_id, id, fiscal_year, version, created_by, created_at, sent_at, sent_by) "
        "SELECT $1::varchar, gen_random_uuid(), $2::smallint, coalesce(max(version), 0) + 1, 'definer-probe', now(), "
        "now(), 'definer-probe' "
        "FROM implementation_plan WHERE tenant_id = $1::varchar AND fiscal_year = $2::smallint", TENANT_B, grant_year)
    # B's marker rows in the audit trail; B's chain is then made longer than A's and the prefecture's. The chain
    # trigger runs as the owner and must see B's last row to link the new ones, but binding B here would bind the
    # whole transaction (the unbound probes need the setting never set): the owner is let past the wall for these
    # inserts only, and the table is forced again before any probe runs (all inside the rolled-back transaction).
    audit_actor = "definer-probe"
    await conn.execute("ALTER TABLE audit_event NO FORCE ROW LEVEL SECURITY")
    counts = dict(await conn.fetch(
        "SELECT tenant_id, count(*) FROM audit_event WHERE tenant_id = ANY($1::varchar[]) GROUP BY tenant_id",
        [TENANT_A, TENANT_B, PREFECTURE]))
    await conn.execute(
        "INSERT INTO audit_event (tenant_id, actor_sub, action, object_type) "
        "SELECT $1, $2, 'read', 'case' FROM generate_series(1, $3)",
        TENANT_B, audit_actor, max(1, max(counts.get(TENANT_A, 0), counts.get(PREFECTURE, 0)) - counts.get(TENANT_B, 0) + 1))
    await conn.execute("ALTER TABLE audit_event FORCE ROW LEVEL SECURITY")
    b_audit_rows = await conn.fetchval("SELECT count(*) FROM audit_event WHERE tenant_id = $1", TENANT_B)
    # A one-time link to the sent survey for a municipality without an account (only its hash is stored).
    link_token = f"definer-probe-{survey}"
    await conn.execute(
        "INSERT INTO survey_invitation (tenant_id, id, survey_id, municipality_code, token_hash, created_by) "
        "VALUES ($1, gen_random_uuid(), $2::uuid, $3, encode(sha256(convert_to($4, 'UTF8')), 'hex'), 'definer-probe')",
        PREFECTURE, survey, not_a_tenant, link_token)
    # a resident of B only: a name key no other tenant's person has, in a household of B's
    b_name_key = "ていぎしゃかんすうのしけん"
    b_household = await conn.fetchval(
        "INSERT INTO household (tenant_id, id, label) VALUES ($1, gen_random_uuid(), '定義者関数の試験世帯') RETURNING id::text",
        TENANT_B)
    person = await conn.fetchval(
        "INSERT INTO person (tenant_id, id, name, kana, name_key, kana_key) "
        "VALUES ($1, gen_random_uuid(), '定義者 試験', 'ていぎしゃ かんすうのしけん', $2, $2) RETURNING id", TENANT_B, b_name_key)
    await conn.execute("INSERT INTO household_membership (tenant_id, id, household_id, person_id, relationship, valid_from) "
                       "VALUES ($1, gen_random_uuid(), $2::uuid, $3, '本人', current_date)", TENANT_B, b_household, person)
    return {"survey": survey, "draft_survey": draft, "year": str(grant_year), "not_a_tenant": not_a_tenant,
            "b_name_key": b_name_key, "b_name_pair": b_name_key[2:4], "b_household": b_household,
            "audit_actor": audit_actor, "b_audit_rows": str(b_audit_rows), "link_token": link_token,
            "link_code": not_a_tenant}


@dataclass
class Outcome:
    refused: bool
    text: str
    error: str | None = None
    rows: list = field(default_factory=list)


async def call_as(conn: asyncpg.Connection, app_role: str, binding: str | None, sql: str,
                  refusals: tuple[str, ...] = ("42501",)) -> Outcome:
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
            own = exc.sqlstate in refusals and "row-level security" not in str(exc)
            return Outcome(refused=own, text="", error=f"{exc.sqlstate} {exc}")
        text = "\n".join(str(tuple(r.values())) for r in rows)
        return Outcome(refused=not rows, text=text, rows=rows)
    finally:
        await tx.rollback()


def _who(binding: str | None) -> str:
    return {None: "unbound", "": "bound to ''", PREFECTURE: "as the prefecture"}.get(binding, f"bound to {binding}")


async def probe_problems(conn: asyncpg.Connection, app_role: str, world: dict[str, str]) -> list[str]:
    """Each probe under every binding (in ``BINDINGS`` order): refused where it must be, reaching tenant B's rows
    (or the link's invitation) where it answers."""
    problems = []
    for binding in BINDINGS:
        for sig, probe in PROBES.items():
            answered = binding in probe.audience.answered
            if probe.refused_call is not None or not answered:
                sql = (probe.refused_call or probe.call).format(**world)
                outcome = await call_as(conn, app_role, binding, sql, probe.refusals)
                if not outcome.refused:
                    problems.append(f"{sig} {_who(binding)}: not refused ({outcome.error or outcome.text[:200]})")
            if answered:
                outcome = await call_as(conn, app_role, binding, probe.call.format(**world), probe.refusals)
                sees = probe.sees.format(**world) if probe.sees else None
                if outcome.error or outcome.refused or (sees and sees not in outcome.text):
                    problems.append(f"{sig} {_who(binding)}: expected {sees or 'rows'!r} in the answer, got "
                                    f"{outcome.error or outcome.text[:200]!r} (the probe does not reach its rows)")
    for sig, statement in TRIGGER_FUNCTIONS.items():
        outcome = await call_as(conn, app_role, TENANT_A, statement)
        if outcome.error is None or "row-level security" not in outcome.error:
            problems.append(f"{sig}: tenant A's statement for tenant B was not refused by the wall ({outcome.error})")
        direct = await call_as(conn, app_role, TENANT_A, f"SELECT ({sig})::text")
        if direct.error is None:
            problems.append(f"{sig}: callable directly")
    return problems
