"""grants (交付金): fiscal years, append-only ledgers, cost-share rates, and the prefecture's aggregate function.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.tenancy.ddl import app_role, global_table, tenant_table

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PREFECTURE = "390003"
LEDGERS = {  # table -> the signed quantity a reversal negates
    "grant_budget_line": "amount",
    "grant_expenditure": "amount",
    "grant_time_entry": "minutes",
    "grant_caseload_count": "count",
}


def _ledger(name: str, quantity: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fiscal_year_id", sa.Uuid(), nullable=False),
        sa.Column("business", sa.String(20), nullable=False),
        *columns,
        sa.Column("reverses_id", sa.Uuid(), nullable=True),
        sa.Column("corrects_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "fiscal_year_id"], ["grant_fiscal_year.tenant_id", "grant_fiscal_year.id"],
            name=f"fk_{name}_year",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "reverses_id"], [f"{name}.tenant_id", f"{name}.id"],
            name=f"fk_{name}_reverses",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "corrects_id"], [f"{name}.tenant_id", f"{name}.id"],
            name=f"fk_{name}_corrects",
        ),
        sa.CheckConstraint(
            f"(reverses_id IS NULL AND {quantity} >= 0) OR (reverses_id IS NOT NULL AND {quantity} <= 0)",
            name=f"ck_{name}_sign",
        ),
        sa.CheckConstraint("reverses_id IS NULL OR corrects_id IS NULL", name=f"ck_{name}_one_link"),
    )
    op.create_index(f"ix_{name}_tenant_id_fiscal_year_id", name, ["tenant_id", "fiscal_year_id"])
    op.create_index(f"uq_{name}_tenant_id_reverses_id", name, ["tenant_id", "reverses_id"], unique=True)
    op.create_index(f"uq_{name}_tenant_id_corrects_id", name, ["tenant_id", "corrects_id"], unique=True)
    op.execute(
        f"CREATE TRIGGER {name}_open_year BEFORE INSERT ON {name} "
        "FOR EACH ROW EXECUTE FUNCTION grant_refuse_closed_year()"
    )
    # Append-only for the app: a correction is a new row, never an UPDATE or DELETE.
    tenant_table(name, "SELECT, INSERT")


def upgrade() -> None:
    op.create_table(
        "grant_fiscal_year",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger(), nullable=False),
        sa.Column("scheme", sa.String(20), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("apportionment_rule", sa.String(60), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_grant_fiscal_year"),
        sa.UniqueConstraint("tenant_id", "fiscal_year", name="uq_grant_fiscal_year_tenant_id_fiscal_year"),
        sa.CheckConstraint("fiscal_year BETWEEN 2000 AND 2100", name="ck_grant_fiscal_year_year_range"),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_grant_fiscal_year_status"),
    )
    # No DELETE: a year is closed, never removed.
    tenant_table("grant_fiscal_year", "SELECT, INSERT, UPDATE")

    # A second wall behind the service's check: no ledger row lands in a closed year, whatever the code path.
    op.execute(
        """
        CREATE FUNCTION grant_refuse_closed_year() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM grant_fiscal_year y
                     WHERE y.tenant_id = NEW.tenant_id AND y.id = NEW.fiscal_year_id AND y.status = 'closed') THEN
            RAISE EXCEPTION 'grant fiscal year is closed' USING ERRCODE = 'check_violation';
          END IF;
          RETURN NEW;
        END $$
        """
    )

    _ledger(
        "grant_budget_line", "amount",
        sa.Column("field", sa.String(20), nullable=True),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
    )
    _ledger(
        "grant_expenditure", "amount",
        sa.Column("field", sa.String(20), nullable=True),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("voucher_number", sa.String(50), nullable=False),
        sa.Column("voucher_date", sa.Date(), nullable=False),
        sa.Column("payee", sa.String(200), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
    )
    _ledger(
        "grant_time_entry", "minutes",
        sa.Column("staff_label", sa.String(100), nullable=False),
        sa.Column("period_month", sa.Date(), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
    )
    _ledger(
        "grant_caseload_count", "count",
        sa.Column("period_month", sa.Date(), nullable=False),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
    )

    rates = op.create_table(
        "grant_cost_share_rate",
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("effective_from", sa.SmallInteger(), nullable=False),
        sa.Column("funding_stream", sa.String(200), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("prefecture", sa.Integer(), nullable=False),
        sa.Column("municipality", sa.Integer(), nullable=False),
        sa.Column("insurance", sa.Integer(), nullable=False),
        sa.Column("denominator", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("field", "effective_from", name="pk_grant_cost_share_rate"),
        sa.CheckConstraint(
            "state >= 0 AND prefecture >= 0 AND municipality >= 0 AND insurance >= 0 "
            "AND denominator > 0 AND state + prefecture + municipality + insurance = denominator",
            name="ck_grant_cost_share_rate_parts",
        ),
    )
    # Plausible defaults from FY2021 (令和3年度), when the programme started; later years add rows, not code.
    op.bulk_insert(
        rates,
        [
            {"field": "elderly", "effective_from": 2021, "state": 3850, "prefecture": 1925, "municipality": 1925,
             "insurance": 2300, "denominator": 10000,
             "funding_stream": "地域支援事業交付金（包括的支援事業・任意事業、1号保険料を含む）"},
            {"field": "disability", "effective_from": 2021, "state": 2, "prefecture": 1, "municipality": 1,
             "insurance": 0, "denominator": 4, "funding_stream": "地域生活支援事業費等補助金"},
            {"field": "child", "effective_from": 2021, "state": 1, "prefecture": 1, "municipality": 1,
             "insurance": 0, "denominator": 3, "funding_stream": "子ども・子育て支援交付金（利用者支援事業）"},
            {"field": "poverty", "effective_from": 2021, "state": 3, "prefecture": 0, "municipality": 1,
             "insurance": 0, "denominator": 4, "funding_stream": "生活困窮者自立相談支援事業費等国庫負担金"},
            {"field": "new_functions", "effective_from": 2021, "state": 2, "prefecture": 1, "municipality": 1,
             "insurance": 0, "denominator": 4, "funding_stream": "重層的支援体制整備事業交付金（新たな機能）"},
        ],
    )
    global_table("grant_cost_share_rate")

    # The prefecture's narrow path: sums per municipality, business and field, nothing else. The function runs
    # as its owner; a policy that applies to the owner only (TO CURRENT_USER, the role running this migration)
    # lets it see every tenant's rows while the prefecture's tenant is bound. The app role gains nothing.
    for table in ("grant_fiscal_year", "grant_expenditure"):
        op.execute(
            f"CREATE POLICY prefecture_aggregate ON {table} FOR SELECT TO CURRENT_USER "
            f"USING (current_setting('app.tenant_id', true) = '{PREFECTURE}')"
        )
    op.execute(
        f"""
        CREATE FUNCTION grant_spending_by_municipality(p_fiscal_year integer)
        RETURNS TABLE (tenant_id varchar, business varchar, field varchar, amount bigint)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT e.tenant_id::varchar, e.business::varchar, e.field::varchar, sum(e.amount)::bigint
          FROM grant_expenditure e
          JOIN grant_fiscal_year y ON y.tenant_id = e.tenant_id AND y.id = e.fiscal_year_id
          WHERE current_setting('app.tenant_id', true) = '{PREFECTURE}'
            AND y.fiscal_year = p_fiscal_year
          GROUP BY e.tenant_id, e.business, e.field
          ORDER BY e.tenant_id, e.business, e.field
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION grant_spending_by_municipality(integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION grant_spending_by_municipality(integer) TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS grant_spending_by_municipality(integer)")
    op.drop_table("grant_cost_share_rate")
    for table in ("grant_caseload_count", "grant_time_entry", "grant_expenditure", "grant_budget_line"):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS grant_refuse_closed_year()")
    op.drop_table("grant_fiscal_year")
