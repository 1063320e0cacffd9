"""重層的支援体制整備事業実施計画 (社会福祉法第106条の5): one municipality's plan per 年度, in versions.

``implementation_plan``: every save is a new version (append-only for the app role: INSERT and SELECT, plus the
UPDATE that marks a version as sent to the prefecture). ``sections`` holds the text the municipality writes (体制,
各事業の実施方法, 目標, 実績 …, keys in ``core.plans.SECTIONS``); ``figures`` the counts of the 年度 as the system
had them when the version was saved, so the printed plan and what the prefecture reads never drift apart.

The prefecture reads the plans sent to it through ``implementation_plans_sent(fiscal_year)``, a SECURITY DEFINER
function that answers only while the prefecture's tenant is bound (the same narrow path as 0008's spending sums).

Revision ID: 0018c
Revises: 0018b
Create Date: 2026-11-30
"""

from alembic import op

from core.tenancy.ddl import app_role, tenant_table

revision = "0018c"
down_revision = "0018b"
branch_labels = None
depends_on = None

PREFECTURE = "390003"


def upgrade() -> None:
    op.execute(
        """
CREATE TABLE implementation_plan (
    tenant_id VARCHAR(6) NOT NULL,
    id UUID NOT NULL,
    fiscal_year SMALLINT NOT NULL,
    version SMALLINT NOT NULL,
    sections JSONB NOT NULL DEFAULT '{}'::jsonb,
    figures JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_by VARCHAR(64) NOT NULL,
    created_by_name VARCHAR(100),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    sent_at TIMESTAMP WITH TIME ZONE,
    sent_by VARCHAR(64),
    CONSTRAINT pk_implementation_plan PRIMARY KEY (tenant_id, id),
    CONSTRAINT ck_implementation_plan_year CHECK (fiscal_year BETWEEN 2000 AND 2100),
    CONSTRAINT ck_implementation_plan_sections_object CHECK (jsonb_typeof(sections) = 'object'),
    CONSTRAINT ck_implementation_plan_figures_object CHECK (jsonb_typeof(figures) = 'object')
)
        """
    )
    op.execute("CREATE UNIQUE INDEX uq_implementation_plan_tenant_id_fiscal_year_version "
               "ON implementation_plan (tenant_id, fiscal_year, version)")
    tenant_table("implementation_plan", "SELECT, INSERT, UPDATE (sent_at, sent_by)")
    op.execute(
        f"CREATE POLICY prefecture_reads_sent ON implementation_plan FOR SELECT TO CURRENT_USER "
        f"USING (current_setting('app.tenant_id', true) = '{PREFECTURE}')"
    )
    op.execute(
        f"""
        CREATE FUNCTION implementation_plans_sent(p_fiscal_year integer)
        RETURNS TABLE (tenant_id varchar, fiscal_year smallint, version smallint, sections jsonb, figures jsonb,
                       sent_at timestamptz)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT DISTINCT ON (p.tenant_id) p.tenant_id::varchar, p.fiscal_year, p.version, p.sections, p.figures,
                 p.sent_at
          FROM implementation_plan p
          WHERE current_setting('app.tenant_id', true) = '{PREFECTURE}'
            AND p.fiscal_year = p_fiscal_year AND p.sent_at IS NOT NULL
          ORDER BY p.tenant_id, p.sent_at DESC
        $$
        """
    )
    op.execute("REVOKE ALL ON FUNCTION implementation_plans_sent(integer) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION implementation_plans_sent(integer) TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS implementation_plans_sent(integer)")
    op.execute("DROP TABLE IF EXISTS implementation_plan")
