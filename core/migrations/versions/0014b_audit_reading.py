"""Reading the audit trail in the app, for the tenant's auditors and admins (issue #16).

The app role still cannot SELECT ``audit_event`` (0003: it may only append). Two functions, SECURITY DEFINER and
owned by the migration role, read the bound tenant's rows only (``app.tenant_id``, the same setting the wall
uses; no setting, no rows):

- ``audit_events_read(object_ids, actors, actions, since, until, max_rows)``: rows newest first, each filter
  optional (NULL); the viewer's search and CSV;
- ``audit_chain_status()``: rows checked and the first ``seq`` whose hash, link or numbering is wrong (NULL when
  intact) — what ``kyosei audit verify`` does, for one tenant, computed with the trigger's own canonical text.

Revision ID: 0014b
Revises: 0014
Create Date: 2026-11-30
"""

from alembic import op

from core.tenancy.ddl import app_role

revision = "0014b"
down_revision = "0014"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION audit_events_read(object_ids text[], actors text[], actions text[],
                                          since timestamptz, until timestamptz, max_rows integer)
        RETURNS SETOF audit_event
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT * FROM audit_event e
          WHERE e.tenant_id = nullif(current_setting('app.tenant_id', true), '')
            AND (object_ids IS NULL OR e.object_id = ANY(object_ids))
            AND (actors IS NULL OR e.actor_sub = ANY(actors))
            AND (actions IS NULL OR e.action = ANY(actions))
            AND (since IS NULL OR e.occurred_at >= since)
            AND (until IS NULL OR e.occurred_at < until)
          ORDER BY e.seq DESC
          LIMIT greatest(1, least(coalesce(max_rows, 500), 10000))
        $$
        """
    )
    op.execute(
        f"""
        CREATE FUNCTION audit_chain_status(OUT rows_checked bigint, OUT first_broken_seq bigint)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          WITH chain AS (
            SELECT e.seq, e.hash, e.prev_hash,
                   encode(sha256(convert_to(audit_event_canonical(e), 'UTF8')), 'hex') AS recomputed,
                   lag(e.hash) OVER (ORDER BY e.seq) AS previous_hash,
                   lag(e.seq) OVER (ORDER BY e.seq) AS previous_seq
            FROM audit_event e
            WHERE e.tenant_id = nullif(current_setting('app.tenant_id', true), '')
          )
          SELECT count(*),
                 min(seq) FILTER (WHERE recomputed <> hash
                                     OR prev_hash <> coalesce(previous_hash, '{GENESIS}')
                                     OR seq <> coalesce(previous_seq, 0) + 1)
          FROM chain
        $$
        """
    )
    for function in ("audit_events_read(text[], text[], text[], timestamptz, timestamptz, integer)",
                     "audit_chain_status()"):
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {app_role()}")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS audit_chain_status()")
    op.execute("DROP FUNCTION IF EXISTS audit_events_read(text[], text[], text[], timestamptz, timestamptz, integer)")
