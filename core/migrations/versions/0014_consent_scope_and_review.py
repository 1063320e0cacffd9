"""Consent read at read time, break-glass review, retired staff, logged-out Keycloak sessions (issue #16).

- ``consent.purposes``: the purpose codes (``core.cases.consent_purposes``); consents recorded before, whose
  purpose was free text, get ``information_sharing`` (関係機関との情報共有) and keep the text as a note.
- ``consent.items``: 相談内容 and アセスメント are separate items now; a consent that allowed the old combined item
  allows both.
- ``break_glass_review`` (tenant table, append-only): the tenant admin's 妥当 / 要確認 with a note for each
  緊急閲覧 (``case_access_grant`` stays append-only; the newest review of a grant counts).
- ``staff_directory.retired_at``: a retired member is kept for history and no longer pickable.
- ``ended_keycloak_session`` (global): the ``sid`` of Keycloak sessions that were logged out, so a bearer token
  issued for such a session is refused before it expires (rows older than a day are pruned: tokens live 5 min).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.tenancy.ddl import global_table, tenant_table

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("consent", sa.Column("purposes", postgresql.ARRAY(sa.String(40)), nullable=False,
                                       server_default=sa.text("'{}'::varchar[]")))
    op.execute("UPDATE consent SET purposes = ARRAY['information_sharing']::varchar[]")
    op.alter_column("consent", "purpose", server_default="")
    op.execute("UPDATE consent SET items = array_append(items, 'assessment') "
               "WHERE 'consultation' = ANY(items) AND NOT 'assessment' = ANY(items)")

    op.create_table(
        "break_glass_review",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("grant_id", sa.Uuid(), nullable=False),
        sa.Column("verdict", sa.String(20), nullable=False),
        sa.Column("note", sa.String(1000), nullable=True),
        sa.Column("reviewed_by", sa.String(64), nullable=False),
        sa.Column("reviewed_by_name", sa.String(100), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_break_glass_review"),
        sa.ForeignKeyConstraint(["tenant_id", "grant_id"], ["case_access_grant.tenant_id", "case_access_grant.id"],
                                name="fk_break_glass_review_grant"),
        sa.CheckConstraint("verdict IN ('appropriate', 'needs_check')", name="ck_break_glass_review_verdict"),
    )
    op.create_index("ix_break_glass_review_tenant_id_grant_id", "break_glass_review", ["tenant_id", "grant_id"])
    tenant_table("break_glass_review", "SELECT, INSERT")

    op.add_column("staff_directory", sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "ended_keycloak_session",
        sa.Column("sid", sa.String(64), primary_key=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    global_table("ended_keycloak_session", "SELECT, INSERT, UPDATE, DELETE")


def downgrade() -> None:
    op.drop_table("ended_keycloak_session")
    op.drop_column("staff_directory", "retired_at")
    op.drop_table("break_glass_review")
    op.execute("UPDATE consent SET items = array_remove(items, 'assessment')")
    op.alter_column("consent", "purpose", server_default=None)
    op.drop_column("consent", "purposes")
