"""DDL for migrations: every table is either a tenant table behind the wall or a listed global table.

Use these in every migration that creates a table, so a new tenant table gets its policy in the same migration::

    op.create_table("household", sa.Column("tenant_id", ...), ...)
    tenant_table("household")

``tests/test_tenant_wall.py`` walks ``pg_catalog`` and fails on a table that skipped this.
"""

from __future__ import annotations

from alembic import context, op
from sqlalchemy import text

POLICY = "tenant_wall"

# The policy reads the transaction-local setting; missing (NULL) or empty matches no row: it fails closed.
TENANT_PREDICATE = "tenant_id = current_setting('app.tenant_id', true)"


# The first statement of every prefecture-only SECURITY DEFINER function. IS DISTINCT FROM, not ``NOT (… = …)``: on a
# connection that was never bound the setting is NULL, and ``IF NOT NULL`` would let the call through (0021).
REFUSE_UNLESS_PREFECTURE = (
    "IF current_setting('app.tenant_id', true) IS DISTINCT FROM '390003' THEN "
    "RAISE EXCEPTION 'only the prefecture (390003) may call this' USING ERRCODE = '42501'; END IF;"
)


# The first statements of a SECURITY DEFINER function that answers for the bound municipality alone (the name
# lookups, 0019x and 0023): it reads the binding itself, and refuses when there is none (42501).
BOUND_TENANT = "bound text := current_setting('app.tenant_id', true);"
REFUSE_UNLESS_BOUND = (
    "IF bound IS NULL OR bound = '' THEN "
    "RAISE EXCEPTION 'no municipality is bound' USING ERRCODE = '42501'; END IF;"
)


def app_role() -> str:
    """The application role migrations grant to (set by core/migrations/env.py from the configured URLs)."""
    return context.config.attributes.get("app_role", "kyosei_app")


def tenant_table(table: str, privileges: str = "SELECT, INSERT, UPDATE, DELETE") -> None:
    """ENABLE and FORCE row-level security on ``table`` with the tenant policy, then grant the app role."""
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY {POLICY} ON {table} USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})"
    )
    op.execute(f"GRANT {privileges} ON {table} TO {app_role()}")


def global_table(table: str, privileges: str = "SELECT") -> None:
    """A table shared by all tenants (must also be on the allow-list in tests/test_tenant_wall.py)."""
    op.execute(f"GRANT {privileges} ON {table} TO {app_role()}")


def drop_tenant_policy(table: str) -> None:
    op.execute(f"DROP POLICY IF EXISTS {POLICY} ON {table}")


def name_search_role_usable(role: str) -> bool:
    """Whether the migrating role may hand a name lookup to ``role`` (``kyosei_name_search``, made by provisioning;
    an external server's administrator may not have made it)."""
    return bool(op.get_bind().execute(text(
        "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :role) "
        "AND pg_has_role(current_user, :role, 'SET')"), {"role": role}).scalar())


def hand_over_function(function: str, role: str) -> None:
    """Make ``role`` the owner of ``function`` (a signature): a new owner needs CREATE on the schema at the moment it
    receives the function, not afterwards."""
    op.execute(f"GRANT CREATE ON SCHEMA public TO {role}")
    op.execute(f"ALTER FUNCTION {function} OWNER TO {role}")
    op.execute(f"REVOKE CREATE ON SCHEMA public FROM {role}")


def earlier_migration(filename: str):
    """The module of the migration in ``filename`` (next to the others in versions/), for a later migration that
    narrows or restores its SQL instead of writing it a second time."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "migrations" / "versions" / filename
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
