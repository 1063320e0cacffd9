"""staff_directory: who signs in for a tenant (職員名簿), so meeting members are picked by name (tenant table).

One row per (tenant, Keycloak sub), upserted at sign-in with the tenant bound (``core.auth.staff_directory``). The
member picker searches a few hundred rows of one tenant at most, so the primary key (tenant first) is the index.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

from core.tenancy.ddl import tenant_table

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_directory",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("user_sub", sa.String(64), nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("kana", sa.String(255), nullable=True),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "user_sub", name="pk_staff_directory"),
    )
    # No DELETE: a person who left stays resolvable for the meetings they sat in.
    tenant_table("staff_directory", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    op.drop_table("staff_directory")
