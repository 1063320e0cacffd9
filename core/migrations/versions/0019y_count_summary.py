"""count summaries: each count of migration 0015 kept per municipality, 年度 and month, refreshed on write.

The prefecture's aggregates computed every count live (``prefecture_counts`` called the ``count_*`` functions over
every municipality's rows of the 年度), so they grew with the data: 4.1× from the small to the large benchmark data
(docs/benchmarks.md, finding 5). Now:

- ``count_summary (tenant_id, metric, fiscal_year, month, value)`` holds what ``count_*(first, last)`` returns for one
  municipality and 年度: one row per month (1–12) and one for the 年度 (``month = 0``; a distinct count of a 年度 is
  not the sum of its months). It is filled **only by the same count functions** (one definition per count stays).
- A write to a table a count reads (cases, plans, sessions, programmes, enrolments, attendances, the caseload ledger,
  expenditures) marks the (municipality, metric, 年度) it touches in ``count_summary_stale``, old and new values
  alike (a row trigger per table, SECURITY INVOKER: the writer's own rows).
- At commit, a deferred constraint trigger on each mark (``count_summary_refresh``, SECURITY DEFINER) recomputes that
  one (municipality, metric, 年度) with its count function and deletes the mark. A transaction pays one recount per
  mark, however many rows it wrote. Two transactions touching the same mark queue on the mark's primary key, so the
  later one counts after the earlier one committed (READ COMMITTED: each statement sees what is committed).
- ``prefecture_counts(年度)`` reads the summary instead of counting, with the same four groupings and the same
  primary suppression (``prefecture_suppress``); the complementary suppression (core/prefecture/disclosure.py) is
  unchanged. ``core.counts`` reads the summary for a 年度 or one of its months (grant reports, 実施計画 figures), and
  counts live when the caller's own transaction holds a mark of that count (its own writes are not summarised yet).

Who may do what. The app role may read its municipality's summary (tenant wall) and add marks; only the refresh
writes summaries. The owner reads every municipality's summary only while bound to the prefecture (policy
``prefecture_counts``, as for the tables of 0010/0015), inside ``prefecture_counts``. The refresh counts as the owner,
which is behind the wall too, so it binds the transaction to the mark's municipality for its own statements and puts
the previous binding back: a superuser's bulk load, a migration or an import are bound to no one, yet their marks
must be counted for the municipality whose rows they wrote. Counting cannot leak: it writes that municipality's
summary only.

Backfill: every municipality's 年度 that holds data gets a mark in this migration, counted when it commits.

Revision ID: 0019y
Revises: 0019x
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from core.tenancy.ddl import earlier_migration, tenant_table

revision = "0019y"
down_revision = "0019x"
branch_labels = None
depends_on = None

IS_PREFECTURE = "current_setting('app.tenant_id', true) = '390003'"

# metric (the prefecture's key) → the count function of 0015 that defines it
METRIC_FUNCTIONS = {
    "consultations": "count_consultations_received",
    "plans": "count_support_plans",
    "participation": "count_participation_participants",
    "hubs": "count_community_hubs",
    "community_participants": "count_community_participants",
    "caseload": "count_grant_caseload",
    "spending": "sum_grant_spending",
}
PLACES = ("hubs", "spending")  # not counts of people: never suppressed (as in 0015)
PROGRAMME = ("participation", "hubs", "community_participants")

SESSION_YEARS = ("ARRAY(SELECT DISTINCT fiscal_year_of(ps.held_on) FROM program_session ps "
                 "WHERE ps.tenant_id = r.tenant_id AND {where})")
# table → (metrics it feeds, the 年度 a row places them in (int[] over the row ``r``), columns whose update matters)
MARKED = {
    "support_case": (("consultations",), "ARRAY[fiscal_year_of(r.received_on)]", ("received_on",)),
    "support_plan": (("plans",), "ARRAY[fiscal_year_of((r.created_at AT TIME ZONE 'Asia/Tokyo')::date)]",
                     ("created_at",)),
    "program_session": (PROGRAMME, "ARRAY[fiscal_year_of(r.held_on)]",
                        ("held_on", "status", "anonymous_headcount", "program_id")),
    "program_attendance": (("participation", "community_participants"),
                           SESSION_YEARS.format(where="ps.id = r.session_id"), ("session_id", "enrolment_id")),
    # a programme or an enrolment carries no date: the 年度 of its sessions (inserts have none yet; deletes of
    # rows with sessions or attendances are refused by the foreign keys)
    "program": (PROGRAMME, SESSION_YEARS.format(where="ps.program_id = r.id"), ("kind", "hub_id")),
    "program_enrolment": (("participation",), SESSION_YEARS.format(
        where="ps.id IN (SELECT a.session_id FROM program_attendance a WHERE a.tenant_id = r.tenant_id "
              "AND a.enrolment_id = r.id)"), ("case_id", "person_name", "person_kana")),
    "grant_caseload_count": (("caseload",), "ARRAY[fiscal_year_of(r.period_month)]", ("period_month", "count")),
    "grant_expenditure": (("spending",), "ARRAY[fiscal_year_of(r.voucher_date)]", ("voucher_date", "amount")),
}

MARK = """
CREATE FUNCTION count_summary_mark_{table}() RETURNS trigger LANGUAGE plpgsql SECURITY INVOKER
SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    INSERT INTO count_summary_stale (tenant_id, metric, fiscal_year)
    SELECT OLD.tenant_id, m, y FROM unnest({metrics}::varchar[]) m, unnest({old_years}) y WHERE y IS NOT NULL
    ON CONFLICT DO NOTHING;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO count_summary_stale (tenant_id, metric, fiscal_year)
    SELECT NEW.tenant_id, m, y FROM unnest({metrics}::varchar[]) m, unnest({new_years}) y WHERE y IS NOT NULL
    ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$
"""

REFRESH = """
CREATE FUNCTION count_summary_refresh() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = public, pg_temp AS $$
DECLARE
  bound text := current_setting('app.tenant_id', true);
  counted text := CASE NEW.metric {cases} END;
BEGIN
  IF counted IS NULL THEN
    RAISE EXCEPTION 'no count is called %', NEW.metric USING ERRCODE = '22023';
  END IF;
  IF bound IS DISTINCT FROM NEW.tenant_id THEN
    PERFORM set_config('app.tenant_id', NEW.tenant_id, true);
  END IF;
  DELETE FROM count_summary_stale s
    WHERE s.tenant_id = NEW.tenant_id AND s.metric = NEW.metric AND s.fiscal_year = NEW.fiscal_year;
  DELETE FROM count_summary c
    WHERE c.tenant_id = NEW.tenant_id AND c.metric = NEW.metric AND c.fiscal_year = NEW.fiscal_year;
  EXECUTE format(
    'INSERT INTO count_summary (tenant_id, metric, fiscal_year, month, value) '
    'SELECT c.tenant_id, $1, $2, coalesce(extract(month FROM c.month)::smallint, 0), c.value '
    'FROM %I(make_date($2, 4, 1), make_date($2 + 1, 3, 31)) c WHERE c.tenant_id = $3', counted)
    USING NEW.metric, NEW.fiscal_year, NEW.tenant_id;
  IF bound IS DISTINCT FROM NEW.tenant_id THEN
    PERFORM set_config('app.tenant_id', coalesce(bound, ''), true);
  END IF;
  RETURN NULL;
END $$
"""

PREFECTURE_COUNTS = """
CREATE OR REPLACE FUNCTION prefecture_counts(p_fiscal_year integer)
RETURNS TABLE (metric varchar, tenant_id varchar, month date, value bigint)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF NOT %(is_prefecture)s THEN
    RAISE EXCEPTION 'only the prefecture (390003) may call this' USING ERRCODE = '42501';
  END IF;
  %(queries)s
END $$
"""


def _summary_query() -> str:
    """The four groupings of 0015's ``prefecture_counts`` for every metric at once, from the summary: one pass over
    the 年度's summary rows (a skip scan of the primary key over the municipalities) instead of seven."""
    places = ", ".join(f"'{m}'" for m in PLACES)
    shown = f"CASE WHEN c.metric IN ({places}) THEN {{v}} ELSE prefecture_suppress({{v}}) END"
    return f"""RETURN QUERY
    WITH c AS (
      SELECT s.metric, s.tenant_id::varchar AS tenant_id,
             CASE WHEN s.month = 0 THEN NULL ELSE make_date(p_fiscal_year + (s.month < 4)::int, s.month, 1) END AS month,
             s.value
      FROM count_summary s WHERE s.fiscal_year = p_fiscal_year)
    SELECT c.metric::varchar, c.tenant_id, c.month, {shown.format(v="c.value")} FROM c
    UNION ALL SELECT c.metric::varchar, NULL::varchar, c.month, {shown.format(v="sum(c.value)::bigint")} FROM c
      WHERE c.month IS NOT NULL GROUP BY c.metric, c.month
    UNION ALL SELECT c.metric::varchar, NULL::varchar, NULL::date, {shown.format(v="sum(c.value)::bigint")} FROM c
      WHERE c.month IS NULL GROUP BY c.metric;"""


def _array(values) -> str:
    return "ARRAY[" + ", ".join(f"'{v}'" for v in values) + "]"


def upgrade() -> None:
    op.execute("CREATE FUNCTION fiscal_year_of(d date) RETURNS integer LANGUAGE sql IMMUTABLE PARALLEL SAFE "
               "AS $$ SELECT extract(year FROM d)::int - (extract(month FROM d) < 4)::int $$")
    op.execute("GRANT EXECUTE ON FUNCTION fiscal_year_of(date) TO PUBLIC")
    op.create_table(
        "count_summary",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.Column("month", sa.SmallInteger, nullable=False),  # 1–12, or 0 for the whole 年度
        sa.Column("value", sa.BigInteger, nullable=False),
        # 年度 second: the prefecture reads one 年度 of every municipality (a skip scan over tenant_id)
        sa.PrimaryKeyConstraint("tenant_id", "fiscal_year", "metric", "month", name="pk_count_summary"),
        sa.CheckConstraint("month BETWEEN 0 AND 12", name="ck_count_summary_month"),
    )
    tenant_table("count_summary", "SELECT")
    op.execute(f"CREATE POLICY prefecture_counts ON count_summary FOR SELECT TO CURRENT_USER USING ({IS_PREFECTURE})")
    op.create_table(
        "count_summary_stale",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("metric", sa.String(32), nullable=False),
        sa.Column("fiscal_year", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "metric", "fiscal_year", name="pk_count_summary_stale"),
    )
    tenant_table("count_summary_stale", "SELECT, INSERT")

    cases = " ".join(f"WHEN '{m}' THEN '{f}'" for m, f in METRIC_FUNCTIONS.items())
    op.execute(REFRESH.format(cases=cases))
    op.execute("REVOKE ALL ON FUNCTION count_summary_refresh() FROM PUBLIC")
    op.execute("CREATE CONSTRAINT TRIGGER count_summary_refresh AFTER INSERT ON count_summary_stale "
               "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION count_summary_refresh()")
    for table, (metrics, years, columns) in MARKED.items():
        op.execute(MARK.format(table=table, metrics=_array(metrics), old_years=years.replace("r.", "OLD."),
                               new_years=years.replace("r.", "NEW.")))
        op.execute(f"CREATE TRIGGER count_summary_mark AFTER INSERT OR DELETE OR UPDATE OF {', '.join(columns)} "
                   f"ON {table} FOR EACH ROW EXECUTE FUNCTION count_summary_mark_{table}()")

    op.execute(PREFECTURE_COUNTS % {"is_prefecture": IS_PREFECTURE, "queries": _summary_query()})
    _backfill()


def _backfill() -> None:
    """A mark for every metric of every 年度 of every municipality holding data, counted at this migration's commit.
    The owner is behind the wall: it binds to each municipality in turn to see which 年度 it has."""
    bind = op.get_bind()
    years = " UNION ".join((
        "SELECT fiscal_year_of(received_on) FROM support_case",
        "SELECT fiscal_year_of((created_at AT TIME ZONE 'Asia/Tokyo')::date) FROM support_plan",
        "SELECT fiscal_year_of(held_on) FROM program_session",
        "SELECT fiscal_year_of(period_month) FROM grant_caseload_count",
        "SELECT fiscal_year_of(voucher_date) FROM grant_expenditure",
    ))
    for (tenant,) in bind.execute(sa.text("SELECT tenant_id FROM tenant ORDER BY tenant_id")).all():
        bind.execute(sa.text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant})
        bind.execute(sa.text(
            f"INSERT INTO count_summary_stale (tenant_id, metric, fiscal_year) SELECT :t, m, y "
            f"FROM unnest(CAST(:metrics AS varchar[])) m, ({years}) AS y(y) WHERE y IS NOT NULL ON CONFLICT DO NOTHING"),
            {"t": tenant, "metrics": list(METRIC_FUNCTIONS)})
    bind.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))


def downgrade() -> None:
    for table in MARKED:
        op.execute(f"DROP TRIGGER IF EXISTS count_summary_mark ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS count_summary_mark_{table}()")
    op.drop_table("count_summary_stale")
    op.execute("DROP FUNCTION IF EXISTS count_summary_refresh()")
    op.drop_table("count_summary")
    op.execute("DROP FUNCTION IF EXISTS fiscal_year_of(date)")
    # prefecture_counts as 0015 defined it, counting live again
    earlier = earlier_migration("0015_count_definitions.py")
    queries = "\n  ".join(earlier._metric_query(m, f) for m, f in earlier.METRIC_FUNCTIONS.items())
    op.execute((earlier.PREFECTURE_COUNTS % {"is_prefecture": earlier.IS_PREFECTURE, "queries": queries})
               .replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
