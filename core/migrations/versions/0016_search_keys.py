"""search keys: a normalised key beside each searchable name, trigram-indexed, backfilled (core/text_rules.py).

Names are stored exactly as typed; search compares ``search_key(stored)`` with ``search_key(query)``. The keys sit
in their own columns (``person.name_key`` …) because the key function is Python (NFKC, jaconv, the MJ縮退マップ
through jntajis), so PostgreSQL cannot compute it in a generated column. The ORM keeps them on every write
(``core.database``), the staff directory's Core upserts pass them, and the benchmark generator computes them.

Indexes: pg_trgm GIN with ``tenant_id`` leading (btree_gin), like 0004's, which served the raw columns and are
replaced here by the ones on the keys. The old ones are dropped: no query reads the raw columns by pattern now.

Backfill: every existing row, per table, computed in Python and written back through a temporary table. Row-level
security is FORCEd for the owner too, so the backfill lifts FORCE for its own statements inside this migration's
transaction and puts it back before the transaction ends (no other session can see the gap: DDL is transactional).

Revision ID: 0016
Revises: 0015c
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from core.text_rules import search_key

revision = "0016"
down_revision = "0015c"
branch_labels = None
depends_on = None

# table -> primary key columns, {key column: source column}
KEYED = {
    "person": (("tenant_id", "id"), {"name_key": "name", "kana_key": "kana"}),
    "staff_directory": (("tenant_id", "user_sub"), {"display_name_key": "display_name", "kana_key": "kana"}),
    "community_resource": (("tenant_id", "id"),
                           {"name_key": "name", "kana_key": "kana", "description_key": "description"}),
}
BATCH = 5000


def _backfill(table: str, primary_key: tuple[str, ...], keys: dict[str, str]) -> None:
    bind = op.get_bind()
    pk = ", ".join(primary_key)
    sources = ", ".join(dict.fromkeys(keys.values()))
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(f"CREATE TEMPORARY TABLE backfill_keys ON COMMIT DROP AS SELECT {pk}, "
               + ", ".join(f"''::text AS {k}" for k in keys) + f" FROM {table} WHERE false")
    rows = bind.execute(sa.text(f"SELECT {pk}, {sources} FROM {table}")).mappings().all()
    insert = sa.text(f"INSERT INTO backfill_keys ({pk}, {', '.join(keys)}) VALUES ("
                     + ", ".join(f":{c}" for c in (*primary_key, *keys)) + ")")
    for start in range(0, len(rows), BATCH):
        batch = [{**{c: r[c] for c in primary_key}, **{k: search_key(r[s]) for k, s in keys.items()}}
                 for r in rows[start:start + BATCH]]
        bind.execute(insert, batch)
    op.execute(f"UPDATE {table} t SET " + ", ".join(f"{k} = b.{k}" for k in keys)
               + f" FROM backfill_keys b WHERE " + " AND ".join(f"t.{c} = b.{c}" for c in primary_key))
    op.execute("DROP TABLE backfill_keys")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    for table, (primary_key, keys) in KEYED.items():
        for key in keys:
            op.add_column(table, sa.Column(key, sa.Text(), nullable=False, server_default=""))
        _backfill(table, primary_key, keys)
        for key in keys:
            op.execute(f"CREATE INDEX ix_{table}_tenant_id_{key}_trgm ON {table} USING gin (tenant_id, {key} gin_trgm_ops)")
    op.execute("DROP INDEX IF EXISTS ix_person_tenant_id_name_trgm")
    op.execute("DROP INDEX IF EXISTS ix_person_tenant_id_kana_trgm")


def downgrade() -> None:
    op.execute("CREATE INDEX ix_person_tenant_id_name_trgm ON person USING gin (tenant_id, name gin_trgm_ops)")
    op.execute("CREATE INDEX ix_person_tenant_id_kana_trgm ON person USING gin (tenant_id, kana gin_trgm_ops)")
    for table, (_, keys) in KEYED.items():
        for key in keys:
            op.execute(f"DROP INDEX ix_{table}_tenant_id_{key}_trgm")
            op.drop_column(table, key)
