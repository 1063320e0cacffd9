"""One definition per count: SQL functions the tenant's reports and the prefecture's aggregates both call.

Each ``count_*`` function is SECURITY INVOKER: called by the application in a tenant's transaction, row-level
security limits it to that tenant (the grant reports, the 実施計画 figures); called from inside
``prefecture_counts`` (SECURITY DEFINER, owner bound to 390003) the owner's ``prefecture_counts`` policies let it
see every tenant's rows — and only the counts leave. Every function returns one row per (tenant, month) and one
per tenant for the whole period (month NULL), because a count of distinct people is not the sum of its months.

``prefecture_counts`` replaces ``prefecture_monthly_aggregates``: per metric, one row per (municipality, month),
per municipality (the 年度), per month (all municipalities) and the grand total, each count of people from 1 to 4
already NULL (``prefecture_suppress``, primary suppression: small counts never leave the database). The
complementary suppression needs the whole table and is done by core/prefecture/disclosure.py on what this returns,
before any page, CSV, chart or API shows it.

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-30
"""

from alembic import op

from core.tenancy.ddl import app_role

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

IS_PREFECTURE = "current_setting('app.tenant_id', true) = '390003'"
# Tables 0010 did not open to the owner-while-bound-to-the-prefecture: needed for distinct people and 延べ人数.
NEWLY_COUNTED = ("program_enrolment",)

SETTINGS = "LANGUAGE sql STABLE SECURITY INVOKER SET search_path = public, pg_temp"
RETURNS = "RETURNS TABLE (tenant_id varchar, month date, value bigint)"
HELD = "ps.status = 'scheduled' AND ps.held_on BETWEEN p_first AND p_last"

COUNTS = {
    # 相談受付件数: cases received (received_on) in the period.
    "count_consultations_received": """
        SELECT s.tenant_id::varchar, date_trunc('month', s.received_on)::date, count(*)::bigint
        FROM support_case s WHERE s.received_on BETWEEN p_first AND p_last
        GROUP BY GROUPING SETS ((s.tenant_id, date_trunc('month', s.received_on)), (s.tenant_id))""",
    # 支援プラン作成件数: plans created in the period (Japan time).
    "count_support_plans": """
        SELECT p.tenant_id::varchar, date_trunc('month', p.created_at AT TIME ZONE 'Asia/Tokyo')::date,
               count(*)::bigint
        FROM support_plan p WHERE (p.created_at AT TIME ZONE 'Asia/Tokyo')::date BETWEEN p_first AND p_last
        GROUP BY GROUPING SETS ((p.tenant_id, date_trunc('month', p.created_at AT TIME ZONE 'Asia/Tokyo')),
                                (p.tenant_id))""",
    # 参加支援 参加者数: distinct people (the linked case, else name and kana) who attended at least one held
    # session of a 参加支援 programme in the period.
    "count_participation_participants": f"""
        SELECT a.tenant_id::varchar, date_trunc('month', ps.held_on)::date,
               count(DISTINCT coalesce(e.case_id::text, e.person_name || '|' || e.person_kana))::bigint
        FROM program_attendance a
        JOIN program_session ps ON ps.tenant_id = a.tenant_id AND ps.id = a.session_id
        JOIN program pr ON pr.tenant_id = ps.tenant_id AND pr.id = ps.program_id
        JOIN program_enrolment e ON e.tenant_id = a.tenant_id AND e.id = a.enrolment_id
        WHERE pr.kind = 'participation' AND {HELD}
        GROUP BY GROUPING SETS ((a.tenant_id, date_trunc('month', ps.held_on)), (a.tenant_id))""",
    # 地域づくり 拠点数: distinct hubs where at least one 地域づくり session was held in the period.
    "count_community_hubs": f"""
        SELECT pr.tenant_id::varchar, date_trunc('month', ps.held_on)::date, count(DISTINCT pr.hub_id)::bigint
        FROM program_session ps
        JOIN program pr ON pr.tenant_id = ps.tenant_id AND pr.id = ps.program_id
        WHERE pr.kind = 'community' AND {HELD}
        GROUP BY GROUPING SETS ((pr.tenant_id, date_trunc('month', ps.held_on)), (pr.tenant_id))""",
    # 地域づくり 参加者数 (延べ人数): attendances of enrolled people plus anonymous headcounts of held sessions.
    "count_community_participants": f"""
        WITH held AS (
          SELECT ps.tenant_id, ps.id, ps.held_on, ps.anonymous_headcount
          FROM program_session ps JOIN program pr ON pr.tenant_id = ps.tenant_id AND pr.id = ps.program_id
          WHERE pr.kind = 'community' AND {HELD}
        ), heads AS (
          SELECT h.tenant_id, h.held_on, h.anonymous_headcount::bigint AS n FROM held h
          UNION ALL
          SELECT h.tenant_id, h.held_on, 1 FROM held h
          JOIN program_attendance a ON a.tenant_id = h.tenant_id AND a.session_id = h.id
        )
        SELECT tenant_id::varchar, date_trunc('month', held_on)::date, sum(n)::bigint FROM heads
        GROUP BY GROUPING SETS ((tenant_id, date_trunc('month', held_on)), (tenant_id))
        HAVING sum(n) > 0""",
    # 対応件数（交付金台帳）: the caseload ledger's counts of the months in the period.
    "count_grant_caseload": """
        SELECT c.tenant_id::varchar, c.period_month, sum(c.count)::bigint
        FROM grant_caseload_count c WHERE c.period_month BETWEEN p_first AND p_last
        GROUP BY GROUPING SETS ((c.tenant_id, c.period_month), (c.tenant_id))""",
    # 交付金 支出額 (yen, not a count of people): vouchers dated in the period.
    "sum_grant_spending": """
        SELECT e.tenant_id::varchar, date_trunc('month', e.voucher_date)::date, sum(e.amount)::bigint
        FROM grant_expenditure e WHERE e.voucher_date BETWEEN p_first AND p_last
        GROUP BY GROUPING SETS ((e.tenant_id, date_trunc('month', e.voucher_date)), (e.tenant_id))""",
}

# metric key of the prefecture's table → the count function (PLACES: not a count of people, never suppressed)
PLACES = ("hubs", "spending")
METRIC_FUNCTIONS = {
    "consultations": "count_consultations_received",
    "plans": "count_support_plans",
    "participation": "count_participation_participants",
    "hubs": "count_community_hubs",
    "community_participants": "count_community_participants",
    "caseload": "count_grant_caseload",
    "spending": "sum_grant_spending",
}

PREFECTURE_COUNTS = """
CREATE FUNCTION prefecture_counts(p_fiscal_year integer)
RETURNS TABLE (metric varchar, tenant_id varchar, month date, value bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  first_day date := make_date(p_fiscal_year, 4, 1);
  last_day date := make_date(p_fiscal_year + 1, 3, 31);
BEGIN
  IF NOT %(is_prefecture)s THEN
    RAISE EXCEPTION 'only the prefecture (390003) may call this' USING ERRCODE = '42501';
  END IF;
  %(queries)s
END $$
"""


def upgrade() -> None:
    for table in NEWLY_COUNTED:
        op.execute(f"CREATE POLICY prefecture_counts ON {table} FOR SELECT TO CURRENT_USER USING ({IS_PREFECTURE})")
    for name, body in COUNTS.items():
        op.execute(f"CREATE FUNCTION {name}(p_first date, p_last date) {RETURNS} {SETTINGS} AS $${body}$$")
        op.execute(f"REVOKE ALL ON FUNCTION {name}(date, date) FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {name}(date, date) TO {app_role()}")
    queries = "\n  ".join(_metric_query(metric, function) for metric, function in METRIC_FUNCTIONS.items())
    op.execute(PREFECTURE_COUNTS % {"is_prefecture": IS_PREFECTURE, "queries": queries})
    op.execute("REVOKE ALL ON FUNCTION prefecture_counts(integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION prefecture_counts(integer) TO {app_role()}")
    op.execute("DROP FUNCTION IF EXISTS prefecture_monthly_aggregates(integer)")


def _metric_query(metric: str, function: str) -> str:
    """The four groupings of one metric. Month totals and the grand total are sums over municipalities (a person is
    counted within one municipality, so distinct counts add up across them); an empty group gives no row (0)."""
    shown = "c.value" if metric in PLACES else "prefecture_suppress(c.value)"
    summed = "sum(c.value)::bigint" if metric in PLACES else "prefecture_suppress(sum(c.value)::bigint)"
    return f"""RETURN QUERY
    WITH c AS (SELECT * FROM {function}(first_day, last_day))
    SELECT '{metric}'::varchar, c.tenant_id, c.month, {shown} FROM c
    UNION ALL SELECT '{metric}'::varchar, NULL::varchar, c.month, {summed} FROM c WHERE c.month IS NOT NULL
      GROUP BY c.month
    UNION ALL SELECT '{metric}'::varchar, NULL::varchar, NULL::date, {summed} FROM c WHERE c.month IS NULL
      HAVING count(*) > 0;"""


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS prefecture_counts(integer)")
    for name in COUNTS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}(date, date)")
    for table in NEWLY_COUNTED:
        op.execute(f"DROP POLICY IF EXISTS prefecture_counts ON {table}")
    # The old aggregate function comes back with 0010 on a full downgrade; downgrading to 0012 alone leaves the
    # prefecture without aggregates until upgraded again.
