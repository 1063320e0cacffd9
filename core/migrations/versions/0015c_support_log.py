"""後方支援 log: the prefecture's support to each municipality (訪問支援, 助言, 情報交換会, 四者協議).

The prefecture's own rows (tenant 390003, behind the wall like any tenant table; a municipality does not read the
prefecture's notes about it). The roadmap board reads the latest entry and the open follow-ups from here.

Revision ID: 0015c
Revises: 0015b
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from core.tenancy.ddl import tenant_table

revision = "0015c"
down_revision = "0015b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "support_log_entry",
        sa.Column("tenant_id", sa.String(6), nullable=False, server_default="390003"),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("municipality_code", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("fiscal_year", sa.SmallInteger, nullable=False),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("content", sa.Text, nullable=False, server_default=""),
        sa.Column("follow_up", sa.Text, nullable=False, server_default=""),
        sa.Column("follow_up_due", sa.Date),
        sa.Column("follow_up_done_at", sa.DateTime(timezone=True)),
        sa.Column("phase_after", sa.String(20)),
        sa.Column("created_by", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint("tenant_id = '390003'", name="support_log_entry_is_the_prefectures"),
        sa.CheckConstraint("kind IN ('visit', 'advice', 'info_exchange', 'four_party')", name="support_log_entry_kind"),
    )
    op.create_index("ix_support_log_entry_municipality", "support_log_entry",
                    ["tenant_id", "municipality_code", "held_on"])
    tenant_table("support_log_entry")


def downgrade() -> None:
    op.drop_table("support_log_entry")
