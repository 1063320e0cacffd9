"""name search under row-level security: ``household_ids_by_member_name_key(pattern)``, served by trigram indexes.

Why a function. Under row-level security PostgreSQL evaluates a query's own conditions only after the policy's,
unless their operators are LEAKPROOF; ``LIKE`` (``textlike``) is not, so ``name_key LIKE '%…%'`` may not become a
condition of the trigram index scan (migration 0016's ``ix_person_tenant_id_name_key_trgm``). The planner reads
every person of the tenant through the index's ``tenant_id`` column and filters them: 52,581 people in 高知市 at
scale 1.0 (docs/benchmarks.md). Marking ``textlike`` LEAKPROOF would change a built-in for the whole cluster and needs
a superuser; it is not done.

What it does. ``household_ids_by_member_name_key`` (SECURITY DEFINER) returns the ids of the **bound**
municipality's households with a member (past or present) whose ``name_key`` or ``kana_key`` matches a LIKE pattern
(``core.text_rules.like_pattern`` of a search key). It applies the tenant predicate itself, refuses when no
municipality is bound (42501), and returns nothing but ids: the caller then reads the cases through the ordinary
RLS-protected query, where the visibility rules (``core.cases.service.visible_clause``) apply as before. It only
narrows the candidates. (Household ids rather than people's: one lookup of the memberships inside the function
instead of one index probe per matching person in the caller's plan, 1,061 of them for たかはし in 高知市.)

Who owns it. The owner role is itself behind the wall (FORCE ROW LEVEL SECURITY), so a definer function owned by it
would plan exactly like the app's query. It is owned by ``kyosei_name_search`` (created by provisioning,
``infra/database/provision.py``: NOLOGIN, no superuser, no BYPASSRLS), which may read four columns of ``person``
(``tenant_id, id, name_key, kana_key``) and three of ``household_membership`` (``tenant_id, household_id,
person_id``), each with one policy, ``name_search``, FOR SELECT ``USING (true)``. A policy
that is constant true is folded away by the planner, so inside the function ``LIKE`` is an index condition. Only the
owner can act as that role (membership with SET, no INHERIT), and the owner can lift RLS on its own tables anyway:
no one gains a read they did not have. Where the role does not exist (an external server whose administrator has not
created it), the function stays owned by the owner: still correct, behind the wall, but as slow as before; the
migration says so in a warning.

Revision ID: 0019x
Revises: 0016
Create Date: 2026-11-30
"""

from alembic import op
from sqlalchemy import text

from core.tenancy.ddl import (BOUND_TENANT, REFUSE_UNLESS_BOUND, app_role, hand_over_function,
                              name_search_role_usable)
from infra.database.provision import NAME_SEARCH_ROLE

revision = "0019x"
down_revision = "0016"
branch_labels = None
depends_on = None

FUNCTION = "household_ids_by_member_name_key(text)"
READS = {"person": "tenant_id, id, name_key, kana_key", "household_membership": "tenant_id, household_id, person_id"}

CREATE = r"""
CREATE FUNCTION household_ids_by_member_name_key(p_pattern text) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 200 AS $$
DECLARE
  """ + BOUND_TENANT + r"""
BEGIN
  """ + REFUSE_UNLESS_BOUND + r"""
  IF p_pattern IS NULL OR p_pattern = '' THEN
    RETURN;
  END IF;
  -- EXECUTE: planned with the pattern's value every time, so pg_trgm sees which trigrams the pattern has.
  RETURN QUERY EXECUTE
    'SELECT DISTINCT m.household_id FROM public.person p '
    'JOIN public.household_membership m ON m.tenant_id = p.tenant_id AND m.person_id = p.id '
    'WHERE p.tenant_id = $1 AND m.tenant_id = $1 '
    'AND (p.name_key LIKE $2 ESCAPE ''\'' OR p.kana_key LIKE $2 ESCAPE ''\'')'
    USING bound, p_pattern;
END $$
"""


def upgrade() -> None:
    op.execute(CREATE)
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {app_role()}")
    if not name_search_role_usable(NAME_SEARCH_ROLE):
        op.execute(f"DO $$ BEGIN RAISE WARNING 'role {NAME_SEARCH_ROLE} is missing: name search works, without the "
                   "trigram index (see docs/text.md)'; END $$")
        return
    op.execute(f"GRANT USAGE ON SCHEMA public TO {NAME_SEARCH_ROLE}")
    for table, columns in READS.items():
        op.execute(f"GRANT SELECT ({columns}) ON {table} TO {NAME_SEARCH_ROLE}")
        # Constant true: the planner folds the policy away, so the function's LIKE may become an index condition.
        op.execute(f"CREATE POLICY name_search ON {table} FOR SELECT TO {NAME_SEARCH_ROLE} USING (true)")
    hand_over_function(FUNCTION, NAME_SEARCH_ROLE)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
    for table in READS:
        op.execute(f"DROP POLICY IF EXISTS name_search ON {table}")
    if op.get_bind().execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": NAME_SEARCH_ROLE}).scalar():
        for table in READS:
            op.execute(f"REVOKE ALL ON {table} FROM {NAME_SEARCH_ROLE}")
        op.execute(f"REVOKE ALL ON SCHEMA public FROM {NAME_SEARCH_ROLE}")
