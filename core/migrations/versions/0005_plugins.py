"""plugins: approved plugin versions, vendor seats, per-tenant enablement and settings, contained-error reports.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.tenancy.ddl import app_role, global_table, tenant_table

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PREFECTURE = "390003"
BOUND_TO_PREFECTURE = f"current_setting('app.tenant_id', true) = '{PREFECTURE}'"


def upgrade() -> None:
    # -- global: the catalog of plugin versions and the prefecture's decision on each -----------------------------
    op.create_table(
        "plugin_version",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("vendor", sa.String(80), nullable=False),
        sa.Column("api_versions", postgresql.ARRAY(sa.String(10)), nullable=False),
        sa.Column("description_ja", sa.String(500), nullable=False, server_default=""),
        sa.Column("status", sa.String(10), nullable=False, server_default="pending"),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("name", "version", name="pk_plugin_version"),
        sa.CheckConstraint("status IN ('pending', 'approved', 'revoked')", name="ck_plugin_version_status"),
    )
    # Everyone may read the catalog; only a transaction bound to the prefecture may approve or revoke. RLS is
    # ENABLEd but not FORCEd: the owner (the CLI) decides without a tenant.
    op.execute("ALTER TABLE plugin_version ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY plugin_version_read ON plugin_version FOR SELECT USING (true)")
    op.execute(
        f"CREATE POLICY plugin_version_decide ON plugin_version FOR ALL USING ({BOUND_TO_PREFECTURE}) "
        f"WITH CHECK ({BOUND_TO_PREFECTURE})"
    )
    global_table("plugin_version", "SELECT, INSERT, UPDATE")

    op.create_table(
        "plugin_vendor_user",
        sa.Column("username", sa.String(120), nullable=False),
        sa.Column("vendor", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("username", "vendor", name="pk_plugin_vendor_user"),
    )
    global_table("plugin_vendor_user")

    op.create_table(
        "plugin_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_plugin_generation"),
        sa.CheckConstraint("id = 1", name="ck_plugin_generation_one_row"),
    )
    op.execute("INSERT INTO plugin_generation (id, generation) VALUES (1, 0)")
    global_table("plugin_generation")

    # -- tenant: enablement + settings, and contained failures ----------------------------------------------------
    op.create_table(
        "tenant_plugin",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("plugin_name", sa.String(40), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("settings", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("changed_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "plugin_name", name="pk_tenant_plugin"),
        sa.CheckConstraint("jsonb_typeof(settings) = 'object'", name="ck_tenant_plugin_settings_object"),
    )
    # No DELETE: disabling keeps the row (and the tenant's settings) with enabled = false.
    tenant_table("tenant_plugin", "SELECT, INSERT, UPDATE")

    op.create_table(
        "plugin_error",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plugin_name", sa.String(40), nullable=False),
        sa.Column("plugin_version", sa.String(40), nullable=False),
        sa.Column("hook", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("exc_type", sa.String(120), nullable=False),
        sa.Column("location", sa.String(300), nullable=False),
        sa.Column("occurrences", sa.BigInteger(), nullable=False, server_default="1"),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_plugin_error"),
        sa.CheckConstraint("kind IN ('exception', 'timeout', 'bad_result')", name="ck_plugin_error_kind"),
    )
    op.create_index(
        "uq_plugin_error_tenant_id_failure", "plugin_error",
        ["tenant_id", "plugin_name", "plugin_version", "hook", "kind", "exc_type", "location"], unique=True,
    )
    tenant_table("plugin_error", "SELECT, INSERT, UPDATE")

    # -- every instance notices changes: a statement trigger bumps the one generation counter ---------------------
    op.execute(
        """
        CREATE FUNCTION plugin_bump_generation() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        BEGIN
          UPDATE plugin_generation SET generation = generation + 1 WHERE id = 1;
          RETURN NULL;
        END $$
        """
    )
    for table in ("tenant_plugin", "plugin_version"):
        op.execute(
            f"CREATE TRIGGER {table}_generation AFTER INSERT OR UPDATE OR DELETE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION plugin_bump_generation()"
        )

    # -- the prefecture's (and vendor seat's) narrow view across tenants: who runs what, and what failed ----------
    # Same pattern as grants (0008): a policy for the owner only, read by SECURITY DEFINER functions that return
    # no personal data and answer only while the prefecture's tenant is bound.
    for table in ("tenant_plugin", "plugin_error"):
        op.execute(f"CREATE POLICY plugin_overview ON {table} FOR SELECT TO CURRENT_USER USING ({BOUND_TO_PREFECTURE})")
    op.execute(
        f"""
        CREATE FUNCTION plugin_usage()
        RETURNS TABLE (plugin_name varchar, tenant_id varchar, enabled boolean, changed_at timestamptz)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT p.plugin_name::varchar, p.tenant_id::varchar, p.enabled, p.changed_at
          FROM tenant_plugin p WHERE {BOUND_TO_PREFECTURE}
          ORDER BY p.plugin_name, p.tenant_id
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION plugin_error_overview()
        RETURNS TABLE (tenant_id varchar, plugin_name varchar, plugin_version varchar, hook varchar, kind varchar,
                       exc_type varchar, location varchar, occurrences bigint, last_at timestamptz)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT e.tenant_id::varchar, e.plugin_name::varchar, e.plugin_version::varchar, e.hook::varchar,
                 e.kind::varchar, e.exc_type::varchar, e.location::varchar, e.occurrences, e.last_at
          FROM plugin_error e WHERE {BOUND_TO_PREFECTURE}
          ORDER BY e.last_at DESC
        $$
        """
    )
    for function in ("plugin_usage()", "plugin_error_overview()"):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS plugin_error_overview()")
    op.execute("DROP FUNCTION IF EXISTS plugin_usage()")
    op.drop_table("plugin_error")
    op.drop_table("tenant_plugin")
    op.execute("DROP FUNCTION IF EXISTS plugin_bump_generation() CASCADE")
    op.drop_table("plugin_generation")
    op.drop_table("plugin_vendor_user")
    op.drop_table("plugin_version")
