"""Server-side login sessions and OIDC login attempts (global tables, looked up before a tenant is known).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.tenancy.ddl import global_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_session",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_sub", sa.String(64), nullable=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("organizations", postgresql.ARRAY(sa.String(6)), nullable=False),
        sa.Column("tenant_id", sa.String(6), sa.ForeignKey("tenant.tenant_id", ondelete="CASCADE"), nullable=True),
        sa.Column("roles", postgresql.ARRAY(sa.String(40)), nullable=False),
        sa.Column("keycloak_sid", sa.String(64), nullable=True),
        sa.Column("id_token", sa.Text(), nullable=False),
        sa.Column("refresh_token", sa.Text(), nullable=True),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("flashes", postgresql.JSONB(), nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_web_session_user_sub", "web_session", ["user_sub"])
    op.create_index("ix_web_session_keycloak_sid", "web_session", ["keycloak_sid"])
    global_table("web_session", "SELECT, INSERT, UPDATE, DELETE")
    op.create_table(
        "oidc_login",
        sa.Column("state", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("code_verifier", sa.String(128), nullable=False),
        sa.Column("return_to", sa.String(512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    global_table("oidc_login", "SELECT, INSERT, DELETE")


def downgrade() -> None:
    op.drop_table("oidc_login")
    op.drop_table("web_session")
