"""Tenant registry: municipalities and tenants (both global), and the extensions the schema relies on.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.tenancy.ddl import global_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # pg_trgm is a trusted extension: the database owner may create it. Used for kana/kanji partial name search.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        "municipality",
        sa.Column("code", sa.String(6), primary_key=True),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("kana", sa.String(80), nullable=False),
        sa.Column("romaji", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.CheckConstraint("code ~ '^[0-9]{6}$'", name="code_format"),
        sa.CheckConstraint("kind IN ('city','town','village','prefecture')", name="kind"),
    )
    global_table("municipality")
    op.create_table(
        "tenant",
        sa.Column("tenant_id", sa.String(6), sa.ForeignKey("municipality.code"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False, server_default="active"),
        sa.Column("onboarded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('active','suspended','offboarded')", name="status"),
    )
    global_table("tenant")


def downgrade() -> None:
    op.drop_table("tenant")
    op.drop_table("municipality")
