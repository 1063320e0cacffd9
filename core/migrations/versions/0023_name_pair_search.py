"""name search by a two-character key: ``household_ids_by_member_name_pair(key)``, served by a GIN index of pairs.

Why. Most surnames are two kanji (高橋, 山本), and a coordinator types just that. pg_trgm makes no trigram of a
two-character key inside ``%…%``, so the trigram lookup of 0019x cannot serve it: the search walked the newest cases
of the municipality, comparing their members' keys until a page was full, 18–27 ms of database work per search in
高知市 at scale 1.0 and p95 ≈ 116 ms at 10 coordinators on 2 cores (docs/benchmarks.md, issue 23). pg_bigm, the
usual answer for Japanese, is not in the embedded server's contrib set.

What it adds.

- ``name_key_pairs(key)``: the distinct runs of two characters of a search key (``たかはし`` → たか, かは, はし), IMMUTABLE so
  it can be indexed; of a key shorter than two characters, none.
- ``ix_person_tenant_id_name_pairs``: GIN over ``(tenant_id, name_key_pairs(name_key) || name_key_pairs(kana_key))``
  (btree_gin, as 0016's trigram indexes). A person whose name or kana key contains the key ``高橋`` has the pair 高橋
  in that array, and the other way round: for a key of exactly two characters, ``@> ARRAY[key]`` is the whole
  match, no recheck needed.
- ``household_ids_by_member_name_pair(key)``: as ``household_ids_by_member_name_key`` (0019x), SECURITY DEFINER,
  owned by ``kyosei_name_search`` (whose one policy per table is constant true, so the array condition may be an
  index condition), applies the bound municipality itself, refuses without one (42501), returns household ids
  only; the caller reads the cases through RLS and the visibility rule as before. A key that is not two characters
  gives nothing: longer keys are the trigram lookup's, shorter ones walk the cases.

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-30
"""

from alembic import op

from core.tenancy.ddl import (BOUND_TENANT, REFUSE_UNLESS_BOUND, app_role, hand_over_function,
                              name_search_role_usable)
from infra.database.provision import NAME_SEARCH_ROLE

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

FUNCTION = "household_ids_by_member_name_pair(text)"

PAIRS = r"""
CREATE FUNCTION name_key_pairs(p_key text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT substr(p_key, i, 2)), '{}')
  FROM generate_series(1, char_length(p_key) - 1) AS i
$$
"""

INDEX = ("CREATE INDEX ix_person_tenant_id_name_pairs ON person USING gin "
         "(tenant_id, (name_key_pairs(name_key) || name_key_pairs(kana_key)))")

CREATE = r"""
CREATE FUNCTION household_ids_by_member_name_pair(p_key text) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp ROWS 200 AS $$
DECLARE
  """ + BOUND_TENANT + r"""
BEGIN
  """ + REFUSE_UNLESS_BOUND + r"""
  IF p_key IS NULL OR char_length(p_key) <> 2 THEN
    RETURN;
  END IF;
  -- The expression is written as the index's, so the planner matches it.
  RETURN QUERY
    SELECT DISTINCT m.household_id FROM public.person p
    JOIN public.household_membership m ON m.tenant_id = p.tenant_id AND m.person_id = p.id
    WHERE p.tenant_id = bound AND m.tenant_id = bound
      AND (public.name_key_pairs(p.name_key) || public.name_key_pairs(p.kana_key)) @> ARRAY[p_key];
END $$
"""


def upgrade() -> None:
    op.execute(PAIRS)
    op.execute(INDEX)
    op.execute(CREATE)
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {app_role()}")
    if not name_search_role_usable(NAME_SEARCH_ROLE):
        op.execute(f"DO $$ BEGIN RAISE WARNING 'role {NAME_SEARCH_ROLE} is missing: two-character name search "
                   "works, without its index (see docs/text.md)'; END $$")
        return
    # The role already reads the key columns and holds its constant-true policies (0019x).
    hand_over_function(FUNCTION, NAME_SEARCH_ROLE)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
    op.execute("DROP INDEX IF EXISTS ix_person_tenant_id_name_pairs")
    op.execute("DROP FUNCTION IF EXISTS name_key_pairs(text)")
