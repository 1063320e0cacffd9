"""Audit log: append-only for the app role, hash-chained per tenant by a trigger running as the owner.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.tenancy.ddl import tenant_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("actor_sub", sa.String(64), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("object_type", sa.String(60), nullable=False),
        sa.Column("object_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(64), nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq", name="pk_audit_event"),
        sa.CheckConstraint("tenant_id <> ''", name="ck_audit_event_tenant"),
    )
    op.create_index("ix_audit_event_tenant_id_object", "audit_event", ["tenant_id", "object_type", "object_id"])
    op.create_index("ix_audit_event_tenant_id_action", "audit_event", ["tenant_id", "action", "occurred_at"])
    # The canonical text of a row; audit verify (core/audit/chain.py) computes the same string in Python.
    op.execute(
        """
        CREATE FUNCTION audit_event_canonical(e audit_event) RETURNS text
        LANGUAGE sql IMMUTABLE AS $$
          SELECT concat_ws(E'\\x1f', e.tenant_id, e.seq::text,
                 to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                 e.actor_sub, e.action, e.object_type, coalesce(e.object_id, ''), coalesce(e.reason, ''),
                 coalesce(e.request_id, ''), e.prev_hash)
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION audit_event_chain() RETURNS trigger
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE last audit_event;
        BEGIN
          -- One writer per tenant at a time, so the chain never forks.
          PERFORM pg_advisory_xact_lock(hashtextextended('audit_event:' || NEW.tenant_id, 0));
          SELECT * INTO last FROM audit_event WHERE tenant_id = NEW.tenant_id ORDER BY seq DESC LIMIT 1;
          NEW.seq := coalesce(last.seq, 0) + 1;
          NEW.prev_hash := coalesce(last.hash, '{GENESIS}');
          NEW.occurred_at := date_trunc('microseconds', clock_timestamp());
          NEW.hash := encode(sha256(convert_to(audit_event_canonical(NEW), 'UTF8')), 'hex');
          RETURN NEW;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER audit_event_chain BEFORE INSERT ON audit_event FOR EACH ROW EXECUTE FUNCTION audit_event_chain()"
    )
    # Only INSERT: the app can add to the trail, never read, change or remove it (reads go through functions).
    tenant_table("audit_event", "INSERT")


def downgrade() -> None:
    op.drop_table("audit_event")
    op.execute("DROP FUNCTION IF EXISTS audit_event_chain()")
    op.execute("DROP FUNCTION IF EXISTS audit_event_canonical(audit_event)")
