"""prefecture_counts(年度, metrics): the summary rows of the metrics asked for, not every metric's.

Why. A page of the prefecture console shows one metric (or a few), but ``prefecture_counts(年度)`` (0019y) built
all seven metrics' four groupings, with the primary suppression on every cell, and the caller threw most away
(``WHERE metric = ANY(…)`` outside a set-returning function filters after it has run). Its cost grew with the
number of non-empty cells of every metric: 2.9 ms per call on the large benchmark data against 1.7 on the small,
and the prefecture users' p95 1.36× from the small to the large data (docs/benchmarks.md, issue 23, fifth round).

What changes. The function takes the metrics as a second argument (``NULL``, its default: every metric, so a call
with the 年度 alone answers as before) and reads only their summary rows, through the summary's primary key
(``tenant_id, fiscal_year, metric, month``). The same SECURITY DEFINER rules as 0019y: the prefecture only (42501
for anyone else), pinned ``search_path``, the same groupings and suppression.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-01
"""

from alembic import op

from core.tenancy.ddl import app_role, earlier_migration

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

OLD = "prefecture_counts(integer)"
NEW = "prefecture_counts(integer, text[])"


def _function(narrowed: bool) -> str:
    summary = earlier_migration("0019y_count_summary.py")
    text = summary.PREFECTURE_COUNTS % {"is_prefecture": summary.IS_PREFECTURE, "queries": summary._summary_query()}
    if not narrowed:
        return text
    rows = "FROM count_summary s WHERE s.fiscal_year = p_fiscal_year"
    signature = "prefecture_counts(p_fiscal_year integer)"
    assert rows in text and signature in text, "0019y's prefecture_counts changed: narrow it here again"
    return (text.replace(signature, "prefecture_counts(p_fiscal_year integer, p_metrics text[] DEFAULT NULL)")
            .replace(rows, rows + " AND (p_metrics IS NULL OR s.metric = ANY (p_metrics))"))


def _install(function: str, signature: str) -> None:
    op.execute(function)
    op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {app_role()}")


def upgrade() -> None:
    # Dropped, not overloaded: with both, a call with the 年度 alone would be ambiguous.
    op.execute(f"DROP FUNCTION {OLD}")
    _install(_function(narrowed=True), NEW)


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {NEW}")
    _install(_function(narrowed=False), OLD)
