"""Where plugins extend a case: answers to extra intake fields, and completed extra workflow steps.

- ``support_case.extras``: the answers to the fields a tenant's plugins add to the intake form
  (``kyosei_extra_intake_fields``), keyed by the field's name. A JSON object, never anything else.
- ``case_workflow_step``: one row each time a plugin's extra step (``kyosei_extra_workflow_steps``, e.g. 課長決裁)
  is completed on a case, append-only like the status history, so who approved what stays on record.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from alembic import op

from core.tenancy.ddl import tenant_table

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE support_case ADD COLUMN extras JSONB NOT NULL DEFAULT '{}'::jsonb")
    op.execute("ALTER TABLE support_case ADD CONSTRAINT ck_support_case_extras_object "
               "CHECK (jsonb_typeof(extras) = 'object')")
    op.execute(
        """
CREATE TABLE case_workflow_step (
    tenant_id VARCHAR(6) NOT NULL,
    case_id UUID NOT NULL,
    step_code VARCHAR(60) NOT NULL,
    at_status VARCHAR(20) NOT NULL,
    completed_by VARCHAR(64) NOT NULL,
    completed_by_name VARCHAR(100),
    completed_at TIMESTAMP WITH TIME ZONE NOT NULL,
    id UUID NOT NULL,
    CONSTRAINT pk_case_workflow_step PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_case_workflow_step_tenant_id_case_id_support_case
        FOREIGN KEY (tenant_id, case_id) REFERENCES support_case (tenant_id, id)
)
        """
    )
    op.execute("CREATE INDEX ix_case_workflow_step_tenant_id_case_id ON case_workflow_step (tenant_id, case_id)")
    tenant_table("case_workflow_step", "SELECT, INSERT")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS case_workflow_step")
    op.execute("ALTER TABLE support_case DROP COLUMN IF EXISTS extras")
