"""the coordinator's name lookups read ``household_member_keys`` (0024) through indexes of its own.

Why. ``household_ids_by_member_name_key`` (0019x) and ``household_ids_by_member_name_pair`` (0023) found the
matching people through their indexes on ``person`` and then each one's memberships: for たかはし in 高知市 at scale
1.0, 1,061 people and 1,061 membership probes to reach 486 households, about 9 ms on a quiet machine. A household's
members' keys are now one row, so the lookup is one index scan that yields the households themselves (0.5 ms).

What changes.

- Two GIN indexes on ``household_member_keys``, ``tenant_id`` leading (btree_gin): the keys' trigrams
  (``gin_trgm_ops``, for a key of three characters or more) and their two-character runs (``name_key_pairs(keys)``,
  for a key of two). The runs across the U+001F between two members' keys hold U+001F, which a search key never
  does, so they can match nothing.
- The two functions keep their names, arguments, results and rules (SECURITY DEFINER, the bound municipality
  applied inside, 42501 without one, household ids only, pinned ``search_path``) and read that table instead.
- Their owner ``kyosei_name_search`` may now read three columns of ``household_member_keys`` (``tenant_id,
  household_id, keys``) under a constant-true policy ``name_search``, and nothing of ``person`` or
  ``household_membership`` any more: it keeps only what the lookups read.
- ``ix_person_tenant_id_name_pairs`` (0023), which only the pair lookup used, is dropped: one index fewer to keep on
  every write of a person.

The old functions are dropped (the migrating owner owns the schema, so it may drop what ``kyosei_name_search``
owns) and the new ones created and handed over as in 0019x.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-01
"""

from alembic import op

from core.tenancy.ddl import app_role, earlier_migration, hand_over_function, name_search_role_usable
from infra.database.provision import NAME_SEARCH_ROLE

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

KEY = "household_ids_by_member_name_key(text)"
PAIR = "household_ids_by_member_name_pair(text)"
READS = {"household_member_keys": "tenant_id, household_id, keys"}
READ_BEFORE = {"person": "tenant_id, id, name_key, kana_key",
               "household_membership": "tenant_id, household_id, person_id"}
INDEXES = (
    "CREATE INDEX ix_household_member_keys_tenant_id_keys_trgm ON household_member_keys "
    "USING gin (tenant_id, keys gin_trgm_ops)",
    "CREATE INDEX ix_household_member_keys_tenant_id_pairs ON household_member_keys "
    "USING gin (tenant_id, name_key_pairs(keys))",
)


def _reading_member_keys(create: str, start: str, end: str, query: str) -> str:
    """``create`` (an earlier migration's CREATE FUNCTION) with its query, from ``start`` up to ``end``, replaced by
    ``query``: the refusal, the checks of the argument and the settings stay written once, in the earlier migration."""
    assert start in create and end in create, "the earlier lookup changed: rewrite it here again"
    return create[:create.index(start)] + query + create[create.index(end, create.index(start)):]


# signature → the migration that made it, where its query starts and ends there, and the query that replaces it
LOOKUPS = {
    # still EXECUTE: planned with the pattern's value every time, so pg_trgm sees which trigrams the pattern has
    KEY: ("0019x_name_search_function.py", "'SELECT DISTINCT", "USING bound",
          "'SELECT k.household_id FROM public.household_member_keys k '\n"
          "    'WHERE k.tenant_id = $1 AND k.keys LIKE $2 ESCAPE ''\\'''\n    "),
    # the expression is written as the index's, so the planner matches it
    PAIR: ("0023_name_pair_search.py", "SELECT DISTINCT", "END $$",
           "SELECT k.household_id FROM public.household_member_keys k\n"
           "    WHERE k.tenant_id = bound AND public.name_key_pairs(k.keys) @> ARRAY[p_key];\n"),
}


def _lookups(rewritten: bool) -> dict[str, str]:
    """signature → CREATE text: reading household_member_keys, or (not ``rewritten``) as the earlier migration had it."""
    out = {}
    for signature, (filename, start, end, query) in LOOKUPS.items():
        create = earlier_migration(filename).CREATE
        out[signature] = _reading_member_keys(create, start, end, query) if rewritten else create
    return out


def _install(functions: dict[str, str], reads: dict[str, str], gone: dict[str, str]) -> None:
    """Create ``functions`` (signature → CREATE text), grant the app role, and give them to ``kyosei_name_search``
    with read access to ``reads`` only (``gone``: what it read before, taken back)."""
    for signature, create in functions.items():
        op.execute(create)
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {app_role()}")
    if not name_search_role_usable(NAME_SEARCH_ROLE):
        op.execute(f"DO $$ BEGIN RAISE WARNING 'role {NAME_SEARCH_ROLE} is missing: name search works, without its "
                   "indexes (see docs/text.md)'; END $$")
        return
    for table in gone:
        op.execute(f"DROP POLICY IF EXISTS name_search ON {table}")
        op.execute(f"REVOKE ALL ON {table} FROM {NAME_SEARCH_ROLE}")
    for table, columns in reads.items():
        op.execute(f"GRANT SELECT ({columns}) ON {table} TO {NAME_SEARCH_ROLE}")
        # Constant true: the planner folds the policy away, so the function's condition may be an index condition.
        op.execute(f"CREATE POLICY name_search ON {table} FOR SELECT TO {NAME_SEARCH_ROLE} USING (true)")
    for signature in functions:
        hand_over_function(signature, NAME_SEARCH_ROLE)


def upgrade() -> None:
    for statement in INDEXES:
        op.execute(statement)
    op.execute("DROP INDEX IF EXISTS ix_person_tenant_id_name_pairs")
    for function in (KEY, PAIR):  # the schema's owner may drop what kyosei_name_search owns
        op.execute(f"DROP FUNCTION {function}")
    _install(_lookups(rewritten=True), READS, READ_BEFORE)


def downgrade() -> None:
    for function in (KEY, PAIR):  # the schema's owner may drop what kyosei_name_search owns
        op.execute(f"DROP FUNCTION {function}")
    op.execute(earlier_migration("0023_name_pair_search.py").INDEX)
    _install(_lookups(rewritten=False), READ_BEFORE, READS)
    op.execute("DROP INDEX IF EXISTS ix_household_member_keys_tenant_id_pairs")
    op.execute("DROP INDEX IF EXISTS ix_household_member_keys_tenant_id_keys_trgm")
