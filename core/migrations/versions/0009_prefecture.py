"""prefecture: the prefecture console (県の管理) — onboarding and status functions, roadmap board, 実態調査 survey,
back-office schedule, and the counts-only aggregate functions.

Why SECURITY DEFINER functions rather than grants: the app role may only SELECT on ``tenant``. Onboarding and
suspension need to write that one table, but only on behalf of the prefecture. A function owned by the owner role
checks ``app.tenant_id = '390003'`` (set per transaction from the authenticated session, never from input) and
does exactly one narrow thing; a plain INSERT/UPDATE grant would let any code path of any tenant change any
tenant's status. The same reasoning gives the prefecture its read path to survey answers and monthly counts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.tenancy.ddl import app_role, tenant_table

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PREFECTURE = "390003"
IS_PREFECTURE = f"current_setting('app.tenant_id', true) = '{PREFECTURE}'"

# Global tables the prefecture writes and everyone may read (no personal data, no tenant rows).
PREFECTURE_TABLES = (
    "prefecture_survey",
    "prefecture_survey_question",
    "roadmap_phase",
    "roadmap_plan",
    "backoffice_event",
)

FUNCTIONS = (
    "onboard_tenant(varchar)",
    "set_tenant_status(varchar, varchar)",
    "survey_send(uuid, varchar[])",
    "survey_responses(uuid)",
    "survey_answers(uuid)",
    "prefecture_suppress(bigint)",
    "prefecture_monthly_aggregates(integer)",
)


def _prefecture_writes(table: str) -> None:
    """Everyone reads; only a transaction bound to the prefecture writes. Not FORCEd: the owner seeds them."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY everyone_reads ON {table} FOR SELECT USING (true)")
    op.execute(f"CREATE POLICY prefecture_writes ON {table} FOR ALL USING ({IS_PREFECTURE}) WITH CHECK ({IS_PREFECTURE})")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {app_role()}")


def _refuse_unless_prefecture() -> str:
    return (
        f"IF NOT {IS_PREFECTURE} THEN "
        "RAISE EXCEPTION 'only the prefecture (390003) may call this' USING ERRCODE = '42501'; END IF;"
    )


def upgrade() -> None:
    # -- roadmap board (ロードマップ) --------------------------------------------------------------------------
    op.create_table(
        "roadmap_phase",
        sa.Column("municipality_code", sa.String(6), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("phase", sa.String(20), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("municipality_code", "fiscal_year", name="pk_roadmap_phase"),
        sa.CheckConstraint("phase IN ('not_started','considering','preparation','implementation')", name="phase"),
        sa.CheckConstraint("fiscal_year BETWEEN 2000 AND 2100", name="fiscal_year"),
    )
    op.create_table(
        "roadmap_plan",
        sa.Column("municipality_code", sa.String(6), primary_key=True),
        sa.Column("revision_fiscal_year", sa.SmallInteger(), nullable=True),
        sa.Column("updated_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint("revision_fiscal_year IS NULL OR revision_fiscal_year BETWEEN 2000 AND 2100", name="year"),
    )

    # -- back-office schedule (後方支援事業 年間スケジュール) ------------------------------------------------------
    op.create_table(
        "backoffice_event",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("participants", sa.Text(), nullable=False, server_default=""),
        sa.Column("materials", sa.Text(), nullable=False, server_default=""),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('block_meeting','survey','four_party','info_exchange','seminar','guide','visit','other')",
            name="kind",
        ),
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates"),
    )
    op.create_index("ix_backoffice_event_fiscal_year_starts_on", "backoffice_event", ["fiscal_year", "starts_on"])

    # -- 実態調査 survey: questionnaire (global) and per-tenant delivery and answers (tenant rows) -----------------
    op.create_table(
        "prefecture_survey",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False, server_default="draft"),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('draft','sent','closed')", name="status"),
    )
    op.create_table(
        "prefecture_survey_question",
        sa.Column("id", sa.Uuid(), primary_key=True),
        sa.Column("survey_id", sa.Uuid(), sa.ForeignKey("prefecture_survey.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("label", sa.String(300), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("required", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.CheckConstraint("kind IN ('text','number','choice')", name="kind"),
    )
    op.create_index("ix_prefecture_survey_question_survey_id", "prefecture_survey_question", ["survey_id", "position"])
    for table in PREFECTURE_TABLES:
        _prefecture_writes(table)

    # Tenant rows. No foreign key to the global questionnaire: an offboarding archive holds tenant rows only and
    # must restore into a database that has never seen the prefecture's surveys.
    op.create_table(
        "survey_recipient",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("survey_id", sa.Uuid(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "survey_id", name="pk_survey_recipient"),
    )
    # The tenant may only mark its own delivery as submitted; the prefecture adds deliveries through survey_send.
    tenant_table("survey_recipient", "SELECT, UPDATE (submitted_at, submitted_by)")
    op.create_table(
        "survey_answer",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("survey_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False, server_default=""),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "survey_id", "question_id", name="pk_survey_answer"),
        # Only a municipality the survey was sent to can answer it.
        sa.ForeignKeyConstraint(
            ["tenant_id", "survey_id"], ["survey_recipient.tenant_id", "survey_recipient.survey_id"],
            name="fk_survey_answer_recipient", ondelete="CASCADE",
        ),
    )
    tenant_table("survey_answer", "SELECT, INSERT, UPDATE")

    # The prefecture's narrow path into these tenant rows: policies for the owner role only (the role running this
    # migration, which owns the SECURITY DEFINER functions below). The app role gains nothing from them.
    op.execute(
        f"CREATE POLICY prefecture_path ON survey_recipient TO CURRENT_USER USING ({IS_PREFECTURE}) "
        f"WITH CHECK ({IS_PREFECTURE})"
    )
    op.execute(f"CREATE POLICY prefecture_path ON survey_answer FOR SELECT TO CURRENT_USER USING ({IS_PREFECTURE})")
    op.execute(
        f"CREATE POLICY prefecture_counts ON grant_caseload_count FOR SELECT TO CURRENT_USER USING ({IS_PREFECTURE})"
    )

    # -- functions --------------------------------------------------------------------------------------------
    op.execute(
        f"""
        CREATE FUNCTION onboard_tenant(p_code varchar) RETURNS varchar
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE previous varchar;
        BEGIN
          {_refuse_unless_prefecture()}
          IF p_code = '{PREFECTURE}' OR NOT EXISTS (SELECT 1 FROM municipality WHERE code = p_code) THEN
            RAISE EXCEPTION 'no such municipality: %', p_code USING ERRCODE = '22023';
          END IF;
          SELECT status INTO previous FROM tenant WHERE tenant_id = p_code FOR UPDATE;
          IF previous IS NULL THEN
            INSERT INTO tenant (tenant_id, status) VALUES (p_code, 'active');
            RETURN 'created';
          ELSIF previous = 'offboarded' THEN
            UPDATE tenant SET status = 'active', status_changed_at = now() WHERE tenant_id = p_code;
            RETURN 'reactivated';
          END IF;
          RETURN 'already';
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION set_tenant_status(p_code varchar, p_status varchar) RETURNS varchar
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE previous varchar;
        BEGIN
          {_refuse_unless_prefecture()}
          IF p_code = '{PREFECTURE}' THEN
            RAISE EXCEPTION 'the prefecture cannot change its own status' USING ERRCODE = '22023';
          END IF;
          IF p_status NOT IN ('active', 'suspended') THEN
            RAISE EXCEPTION 'status % is set by offboarding only', p_status USING ERRCODE = '22023';
          END IF;
          SELECT status INTO previous FROM tenant WHERE tenant_id = p_code FOR UPDATE;
          IF previous IS NULL OR previous = 'offboarded' THEN
            RAISE EXCEPTION 'not a tenant: %', p_code USING ERRCODE = '22023';
          END IF;
          IF previous <> p_status THEN
            UPDATE tenant SET status = p_status, status_changed_at = now() WHERE tenant_id = p_code;
          END IF;
          RETURN previous;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION survey_send(p_survey uuid, p_codes varchar[]) RETURNS integer
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE added integer;
        BEGIN
          {_refuse_unless_prefecture()}
          IF NOT EXISTS (SELECT 1 FROM prefecture_survey WHERE id = p_survey AND status <> 'closed') THEN
            RAISE EXCEPTION 'no open survey %', p_survey USING ERRCODE = '22023';
          END IF;
          INSERT INTO survey_recipient (tenant_id, survey_id)
            SELECT t.tenant_id, p_survey FROM tenant t
            WHERE t.tenant_id = ANY (p_codes) AND t.status = 'active' AND t.tenant_id <> '{PREFECTURE}'
            ON CONFLICT DO NOTHING;
          GET DIAGNOSTICS added = ROW_COUNT;
          UPDATE prefecture_survey SET status = 'sent', sent_at = coalesce(sent_at, now()) WHERE id = p_survey;
          RETURN added;
        END $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION survey_responses(p_survey uuid)
        RETURNS TABLE (tenant_id varchar, sent_at timestamptz, submitted_at timestamptz)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT r.tenant_id::varchar, r.sent_at, r.submitted_at FROM survey_recipient r
          WHERE {IS_PREFECTURE} AND r.survey_id = p_survey ORDER BY r.tenant_id
        $$
        """
    )
    # Answers of submitted deliveries only: a draft in progress stays the municipality's own.
    op.execute(
        f"""
        CREATE FUNCTION survey_answers(p_survey uuid)
        RETURNS TABLE (tenant_id varchar, question_id uuid, value text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT a.tenant_id::varchar, a.question_id, a.value FROM survey_answer a
          JOIN survey_recipient r ON r.tenant_id = a.tenant_id AND r.survey_id = a.survey_id
          WHERE {IS_PREFECTURE} AND a.survey_id = p_survey AND r.submitted_at IS NOT NULL
          ORDER BY a.tenant_id, a.question_id
        $$
        """
    )
    # Small-count suppression, the one rule: any count from 1 to 4 leaves the database as NULL (shown 「5未満」).
    op.execute(
        """
        CREATE FUNCTION prefecture_suppress(p_count bigint) RETURNS bigint
        LANGUAGE sql IMMUTABLE AS $$
          SELECT CASE WHEN p_count BETWEEN 1 AND 4 THEN NULL ELSE p_count END
        $$
        """
    )
    # Monthly figures per municipality for one 年度 (April–March). Counts are suppressed here; spending is yen.
    # Sources at this revision: grant_expenditure (spending) and grant_caseload_count (caseload). Consultations,
    # plans, participation and hubs have no table yet (cases/programs are placeholders at 0004/0007): the caller
    # shows zeros for them until a later migration replaces this function with one that reads those tables.
    op.execute(
        f"""
        CREATE FUNCTION prefecture_monthly_aggregates(p_fiscal_year integer)
        RETURNS TABLE (tenant_id varchar, metric varchar, month date, value bigint)
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE first_day date := make_date(p_fiscal_year, 4, 1);
        BEGIN
          {_refuse_unless_prefecture()}
          -- One row per (municipality, month), per municipality (month NULL: the 年度), per month (tenant NULL:
          -- all municipalities) and the grand total; each count is suppressed on its own.
          RETURN QUERY
            SELECT e.tenant_id::varchar, 'spending'::varchar, date_trunc('month', e.voucher_date)::date,
                   sum(e.amount)::bigint
            FROM grant_expenditure e
            WHERE e.voucher_date >= first_day AND e.voucher_date < first_day + interval '1 year'
            GROUP BY GROUPING SETS ((e.tenant_id, date_trunc('month', e.voucher_date)), (e.tenant_id),
                                    (date_trunc('month', e.voucher_date)), ());
          RETURN QUERY
            SELECT c.tenant_id::varchar, 'caseload'::varchar, c.period_month,
                   prefecture_suppress(sum(c.count)::bigint)
            FROM grant_caseload_count c
            WHERE c.period_month >= first_day AND c.period_month < first_day + interval '1 year'
            GROUP BY GROUPING SETS ((c.tenant_id, c.period_month), (c.tenant_id), (c.period_month), ());
        END $$
        """
    )
    for signature in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {app_role()}")

    from core.prefecture.seed import seed_statements

    for statement, params in seed_statements():
        op.get_bind().execute(sa.text(statement), params)


def downgrade() -> None:
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.execute("DROP POLICY IF EXISTS prefecture_counts ON grant_caseload_count")
    for table in ("survey_answer", "survey_recipient", "prefecture_survey_question", "prefecture_survey",
                  "backoffice_event", "roadmap_plan", "roadmap_phase"):
        op.drop_table(table)
