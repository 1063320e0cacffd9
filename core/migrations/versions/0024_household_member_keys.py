"""household_member_keys: each household's members' search keys in one text, kept by triggers.

Why. A staff member's name search (and a coordinator's of one character) compares the members of the households of
the cases they may see: for each of a busy staff member's ~300 cases, the memberships of its household and then
each member's person row, about 17 index and heap pages per case, 2.4 ms of PostgreSQL per search in 高知市 at scale
1.0 (docs/benchmarks.md, issue 23). With the household's keys in one row, the walk reads one row per case.

What it adds.

- ``household_member_keys (tenant_id, household_id, keys)``: ``keys`` is every member's (past or present, as the
  search has always matched) ``name_key`` and ``kana_key`` joined by U+001F. A search key never holds U+001F
  (``core.text_rules.search_key`` drops it with the other whitespace), so ``LIKE '%key%'`` cannot match across two
  members' keys. A tenant table behind the wall like any other; the app role may read and write it, and writes
  it only through the triggers below.
- ``household_member_keys_refresh(tenants, households)``: recomputes the rows of those households. Three statements
  on purpose: it makes the row if missing, locks the rows (in a fixed order), and only then computes, so under READ
  COMMITTED its computing statement sees a member added by a transaction that committed while it waited. One
  statement would compute from the snapshot taken before the wait and overwrite the other's member.
- Triggers, per statement with transition tables (one call for a bulk load, as the benchmark's COPY, not one per
  row): after INSERT and DELETE on ``household_membership`` for the households of those rows, after UPDATE for the
  households before and after of rows whose household or person changed (ending a membership changes no keys), and
  after UPDATE on ``person`` for the households of people whose keys changed. SECURITY
  INVOKER: they run as whoever wrote the rows, under the same wall (the app role bound to its municipality).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from core.tenancy.ddl import tenant_table

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

SEPARATOR = r"E'\x1f'"

REFRESH = rf"""
CREATE FUNCTION household_member_keys_refresh(p_tenants text[], p_households uuid[]) RETURNS void
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  INSERT INTO household_member_keys (tenant_id, household_id)
    SELECT DISTINCT h.tenant_id, h.id FROM unnest(p_tenants, p_households) AS u(tenant_id, household_id)
    JOIN household h ON h.tenant_id = u.tenant_id AND h.id = u.household_id  -- a household deleted is skipped
    ON CONFLICT (tenant_id, household_id) DO NOTHING;
  PERFORM 1 FROM household_member_keys k JOIN unnest(p_tenants, p_households) AS u(tenant_id, household_id)
    ON k.tenant_id = u.tenant_id AND k.household_id = u.household_id
    ORDER BY k.tenant_id, k.household_id FOR UPDATE OF k;
  UPDATE household_member_keys k SET keys = coalesce((
      SELECT string_agg(p.name_key || {SEPARATOR} || p.kana_key, {SEPARATOR} ORDER BY p.id)
      FROM household_membership m JOIN person p ON p.tenant_id = m.tenant_id AND p.id = m.person_id
      WHERE m.tenant_id = k.tenant_id AND m.household_id = k.household_id), '')
    FROM (SELECT DISTINCT tenant_id, household_id FROM unnest(p_tenants, p_households) AS u(tenant_id, household_id)) u
    WHERE k.tenant_id = u.tenant_id AND k.household_id = u.household_id;
END $$
"""


def _trigger_function(name: str, households: str) -> str:
    """A statement trigger's function: refresh the households that ``households`` (a query of tenant_id,
    household_id over the trigger's transition tables) names, if any."""
    return f"""
CREATE FUNCTION {name}() RETURNS trigger
LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
DECLARE tenants text[]; households uuid[];
BEGIN
  SELECT array_agg(tenant_id), array_agg(household_id) INTO tenants, households FROM ({households}) d;
  IF households IS NOT NULL THEN
    PERFORM household_member_keys_refresh(tenants, households);
  END IF;
  RETURN NULL;
END $$
"""


# One function for a membership added or removed: each of the two triggers names its transition table ``changed``.
MEMBERSHIP_CHANGED = _trigger_function(
    "household_member_keys_membership_changed", "SELECT DISTINCT tenant_id, household_id FROM changed")

# A membership changed in place: only a row whose household or person changed moves keys, to its household before
# and after. Ending a membership (``valid_to``, the common update: a move) changes no household's keys, since past
# members are found too, and recomputes nothing.
MEMBERSHIP_MOVED = _trigger_function("household_member_keys_membership_moved", """
    SELECT DISTINCT x.tenant_id, x.household_id FROM before_update o
    JOIN after_update n ON n.tenant_id = o.tenant_id AND n.id = o.id
    CROSS JOIN LATERAL (VALUES (o.tenant_id, o.household_id), (n.tenant_id, n.household_id)) AS x(tenant_id, household_id)
    WHERE (o.household_id, o.person_id) IS DISTINCT FROM (n.household_id, n.person_id)""")

PERSON_RENAMED = _trigger_function("household_member_keys_person_renamed", """
    SELECT DISTINCT m.tenant_id, m.household_id FROM after_update a
    JOIN before_update b ON b.tenant_id = a.tenant_id AND b.id = a.id
    JOIN household_membership m ON m.tenant_id = a.tenant_id AND m.person_id = a.id
    WHERE a.name_key IS DISTINCT FROM b.name_key OR a.kana_key IS DISTINCT FROM b.kana_key""")

TRIGGERS = (
    ("household_member_keys_added", "INSERT ON household_membership REFERENCING NEW TABLE AS changed",
     "household_member_keys_membership_changed"),
    ("household_member_keys_removed", "DELETE ON household_membership REFERENCING OLD TABLE AS changed",
     "household_member_keys_membership_changed"),
    ("household_member_keys_moved",
     "UPDATE ON household_membership REFERENCING OLD TABLE AS before_update NEW TABLE AS after_update",
     "household_member_keys_membership_moved"),
    ("household_member_keys_renamed",
     "UPDATE ON person REFERENCING OLD TABLE AS before_update NEW TABLE AS after_update",
     "household_member_keys_person_renamed"),
)

SOURCES = ("household", "person", "household_membership", "household_member_keys")


def upgrade() -> None:
    op.create_table(
        "household_member_keys",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("household_id", sa.Uuid(), nullable=False),
        sa.Column("keys", sa.Text(), nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("tenant_id", "household_id", name="pk_household_member_keys"),
        sa.ForeignKeyConstraint(["tenant_id", "household_id"], ["household.tenant_id", "household.id"],
                                name="fk_household_member_keys_household", ondelete="CASCADE"),
    )
    tenant_table("household_member_keys", "SELECT, INSERT, UPDATE")
    op.execute(REFRESH)
    op.execute(MEMBERSHIP_CHANGED)
    op.execute(MEMBERSHIP_MOVED)
    op.execute(PERSON_RENAMED)
    for name, when, function in TRIGGERS:
        op.execute(f"CREATE TRIGGER {name} AFTER {when} FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    # Every municipality's households at once: the migrating owner is behind the FORCEd wall like the app, so the
    # wall is lowered for the owner (not the app role) while the rows are computed, as migration 0016 did.
    for table in SOURCES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute("SELECT household_member_keys_refresh(array_agg(tenant_id), array_agg(id)) FROM household")
    for table in SOURCES:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute("ANALYZE household_member_keys")  # planned from its statistics at once, not from a guess


def downgrade() -> None:
    for name, when, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {when.split()[2]}")
    op.execute("DROP FUNCTION IF EXISTS household_member_keys_person_renamed()")
    op.execute("DROP FUNCTION IF EXISTS household_member_keys_membership_moved()")
    op.execute("DROP FUNCTION IF EXISTS household_member_keys_membership_changed()")
    op.execute("DROP FUNCTION IF EXISTS household_member_keys_refresh(text[], uuid[])")
    op.drop_table("household_member_keys")
