"""Prefecture aggregates read the cases and programmes too: consultations, plans, participation, hubs.

0009 wrote ``prefecture_monthly_aggregates`` when only the grant tables existed. This revision lets the function's
owner read those tenant tables while (and only while) the transaction is bound to the prefecture, and redefines
the function to return counts only (each suppressed on its own: 1–4 become NULL).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from alembic import op

from core.tenancy.ddl import app_role

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

IS_PREFECTURE = "current_setting('app.tenant_id', true) = '390003'"
COUNTED_TABLES = ("support_case", "support_plan", "program", "program_session", "program_attendance")

FUNCTION = f"""
CREATE OR REPLACE FUNCTION prefecture_monthly_aggregates(p_fiscal_year integer)
RETURNS TABLE (tenant_id varchar, metric varchar, month date, value bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE first_day date := make_date(p_fiscal_year, 4, 1);
BEGIN
  IF NOT {IS_PREFECTURE} THEN
    RAISE EXCEPTION 'only the prefecture (390003) may call this' USING ERRCODE = '42501';
  END IF;
  RETURN QUERY
    SELECT e.tenant_id::varchar, 'spending'::varchar, date_trunc('month', e.voucher_date)::date, sum(e.amount)::bigint
    FROM grant_expenditure e
    WHERE e.voucher_date >= first_day AND e.voucher_date < first_day + interval '1 year'
    GROUP BY GROUPING SETS ((e.tenant_id, date_trunc('month', e.voucher_date)), (e.tenant_id),
                            (date_trunc('month', e.voucher_date)), ());
  RETURN QUERY
    SELECT c.tenant_id::varchar, 'caseload'::varchar, c.period_month, prefecture_suppress(sum(c.count)::bigint)
    FROM grant_caseload_count c
    WHERE c.period_month >= first_day AND c.period_month < first_day + interval '1 year'
    GROUP BY GROUPING SETS ((c.tenant_id, c.period_month), (c.tenant_id), (c.period_month), ());
  -- 相談受付件数: intakes received in the month.
  RETURN QUERY
    SELECT s.tenant_id::varchar, 'consultations'::varchar, date_trunc('month', s.received_on)::date,
           prefecture_suppress(count(*)::bigint)
    FROM support_case s
    WHERE s.received_on >= first_day AND s.received_on < first_day + interval '1 year'
    GROUP BY GROUPING SETS ((s.tenant_id, date_trunc('month', s.received_on)), (s.tenant_id),
                            (date_trunc('month', s.received_on)), ());
  -- 支援プラン作成件数: plans made in the month (Japan time).
  RETURN QUERY
    SELECT p.tenant_id::varchar, 'plans'::varchar, date_trunc('month', p.created_at AT TIME ZONE 'Asia/Tokyo')::date,
           prefecture_suppress(count(*)::bigint)
    FROM support_plan p
    WHERE (p.created_at AT TIME ZONE 'Asia/Tokyo')::date >= first_day
      AND (p.created_at AT TIME ZONE 'Asia/Tokyo')::date < first_day + interval '1 year'
    GROUP BY GROUPING SETS ((p.tenant_id, date_trunc('month', p.created_at AT TIME ZONE 'Asia/Tokyo')),
                            (p.tenant_id), (date_trunc('month', p.created_at AT TIME ZONE 'Asia/Tokyo')), ());
  -- 参加支援 参加者数: attendances at participation programmes' sessions held in the month.
  RETURN QUERY
    SELECT a.tenant_id::varchar, 'participation'::varchar, date_trunc('month', ps.held_on)::date,
           prefecture_suppress(count(*)::bigint)
    FROM program_attendance a
    JOIN program_session ps ON ps.tenant_id = a.tenant_id AND ps.id = a.session_id
    JOIN program pr ON pr.tenant_id = ps.tenant_id AND pr.id = ps.program_id
    WHERE pr.kind = 'participation' AND ps.status <> 'cancelled'
      AND ps.held_on >= first_day AND ps.held_on < first_day + interval '1 year'
    GROUP BY GROUPING SETS ((a.tenant_id, date_trunc('month', ps.held_on)), (a.tenant_id),
                            (date_trunc('month', ps.held_on)), ());
  -- 地域づくり 拠点数: hubs that held at least one session in the month (a hub is not a person: no suppression).
  RETURN QUERY
    SELECT pr.tenant_id::varchar, 'hubs'::varchar, date_trunc('month', ps.held_on)::date,
           count(DISTINCT pr.hub_id)::bigint
    FROM program_session ps
    JOIN program pr ON pr.tenant_id = ps.tenant_id AND pr.id = ps.program_id
    WHERE ps.status <> 'cancelled' AND ps.held_on >= first_day AND ps.held_on < first_day + interval '1 year'
    GROUP BY GROUPING SETS ((pr.tenant_id, date_trunc('month', ps.held_on)), (pr.tenant_id),
                            (date_trunc('month', ps.held_on)), ());
END $$
"""


def upgrade() -> None:
    for table in COUNTED_TABLES:
        # Applies to the owner only (the role running this migration, which owns the function): the app role
        # gains nothing, and the owner sees these rows only while bound to the prefecture, inside the function.
        op.execute(
            f"CREATE POLICY prefecture_counts ON {table} FOR SELECT TO CURRENT_USER USING ({IS_PREFECTURE})"
        )
    op.execute(FUNCTION)
    op.execute("REVOKE ALL ON FUNCTION prefecture_monthly_aggregates(integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION prefecture_monthly_aggregates(integer) TO {app_role()}")


def downgrade() -> None:
    for table in COUNTED_TABLES:
        op.execute(f"DROP POLICY IF EXISTS prefecture_counts ON {table}")
