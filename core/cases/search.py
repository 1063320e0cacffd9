"""The case list (支援ケース一覧): search, keyset pages, the CSV export, and the monthly national counts.

Name search matches any member of the case's household, in 漢字 or かな, as a partial match (LIKE ``%key%``) of the
query's search key in the stored keys ``person.name_key``/``person.kana_key`` (core.text_rules.search_key: one key
function for the stored name and the query). The trigram GIN indexes of migration 0016 serve it from three
characters on (for coordinators through ``household_ids_by_member_name_key``, migration 0019x, so row-level
security does not keep the index from the pattern), and for a coordinator's key of two characters the index of
two-character runs (``household_ids_by_member_name_pair``, migration 0023); one character still works, by walking
the cases.

Pages are keyset pages on the case id (UUIDv7, so newest first): ``after`` is the last id of the previous page.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import re
import unicodedata
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field as dataclass_field
from typing import Any, NamedTuple

from sqlalchemy import ARRAY, Date, String, Text, Uuid, and_, bindparam, exists, false, func, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Bundle

from core.businesses import count_by_business, fiscal_year_bounds
from core.audit.trail import AuditAction, record
from core.auth.principal import Principal, Role
from core.cases import schemas
from core.cases.models import CaseAssignee, Household, HouseholdMemberKeys, Person, SupportCase
from core.cases.access import staff_visible_clause
from core.text_rules import like_pattern, search_key
from core.wareki import today

PAGE_SIZE = 50
_CASE_NUMBER_PART = re.compile(r"[0-9-]+")
TRIGRAM = 3  # pg_trgm serves a LIKE '%key%' from three characters of key on
PAIR = 2  # a key of two characters has no trigram: the index of two-character runs serves it (migration 0023)
EXPORT_LIMIT = 10_000
MAX_QUERY = 100


@dataclass
class CaseQuery:
    q: str | None = None
    status: str | None = None
    field: str | None = None
    tag: str | None = None
    assignee: str | None = None  # "me" or a Keycloak sub
    review_due: str | None = None  # "overdue" or "30" (within 30 days)
    after: uuid.UUID | None = None
    limit: int = PAGE_SIZE
    errors: list[dict[str, str]] = dataclass_field(default_factory=list)

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> "CaseQuery":
        """From query parameters; an unusable value is dropped with a message rather than failing the list."""
        query = cls()
        q = (params.get("q") or "").strip()
        if q:
            if len(q) > MAX_QUERY:
                query.errors.append({"field": "q", "message": f"検索語は{MAX_QUERY}文字以内で入力してください。"})
            else:
                query.q = q
        for name, choices in (("status", schemas.STATUS_LABELS), ("field", schemas.FIELD_LABELS)):
            value = params.get(name) or None
            if value is not None and value not in choices and not (name == "status" and value == "open"):
                query.errors.append({"field": name, "message": "選べない値です。"})
            else:
                setattr(query, name, value)
        tag = (params.get("tag") or "").strip().lstrip("#")
        query.tag = unicodedata.normalize("NFKC", tag)[:schemas.MAX_TAG] or None
        assignee = (params.get("assignee") or "").strip()
        query.assignee = assignee[:64] or None
        review = params.get("review_due") or None
        if review not in (None, "overdue", "30"):
            query.errors.append({"field": "review_due", "message": "選べない値です。"})
        else:
            query.review_due = review
        after = params.get("after") or None
        if after:
            try:
                query.after = uuid.UUID(str(after))
            except ValueError:
                query.errors.append({"field": "after", "message": "ページの指定が正しくありません。"})
        return query

    def params(self, **override: Any) -> dict[str, str]:
        values = {"q": self.q, "status": self.status, "field": self.field, "tag": self.tag,
                  "assignee": self.assignee, "review_due": self.review_due, **override}
        return {k: str(v) for k, v in values.items() if v}


@dataclass
class CaseRow:
    case: Any  # the columns of LIST_COLUMNS (the CSV export reads whole entities)
    person: Any
    household: Any
    assignees: list[str]

    def summary(self) -> schemas.CaseSummary:
        c = self.case
        return schemas.CaseSummary(
            id=str(c.id), case_number=c.case_number, status=c.status, status_label=schemas.STATUS_LABELS[c.status],
            received_on=c.received_on.isoformat(), household_label=self.household.label, person_name=self.person.name,
            person_kana=self.person.kana, fields=list(c.fields),
            field_labels=[schemas.FIELD_LABELS.get(f, f) for f in c.fields], tags=list(c.tags),
            review_on=c.review_on.isoformat() if c.review_on else None, assignees=self.assignees,
        )


@dataclass
class CasePage:
    rows: list[CaseRow]
    next_after: uuid.UUID | None


def _name_way(principal: Principal, key: str) -> str:
    """How the members' names are matched for ``principal`` and the search key ``key`` (``_name_condition``)."""
    if principal.has_role(Role.COORDINATOR):
        if len(key) >= TRIGRAM:
            return "lookup"
        if len(key) == PAIR:
            return "pair"
    return "members"


def _name_condition(way: str):
    """The case's household has a member (past or present) whose name or kana contains the query's search key:
    the LIKE pattern of the key in the parameter ``name_pattern``, or the key itself in ``name_key`` (``_shape_of``).

    Compared by search key (core.text_rules.search_key) on both sides: the stored keys ``person.name_key`` and
    ``person.kana_key`` (trigram-indexed, migration 0016) against the key of the query, so width, spaces, かな
    script, separate voiced marks, zero-width characters, variation selectors and 異体字 do not matter.

    Two ways to the same answer, by which set is smaller:

    - a coordinator sees every case of the municipality (25,000 in 高知市), so the households are found from the
      name: ``household_ids_by_member_name_key`` (``lookup``, migration 0019x) returns the ids of the bound
      municipality's households with such a member through the trigram indexes (under row-level security ``LIKE``
      cannot be an index condition; inside that function it can), and for a key of two characters, which has no
      trigram (高橋, most surnames), ``household_ids_by_member_name_pair`` (``pair``, migration 0023) through the
      index of the keys' two-character runs. They only narrow: the cases are still read here through RLS and the
      visibility rule. Uncorrelated, so each runs once per search (a hashed subplan).
    - anyone else sees a few hundred cases at most (the visibility rule gathers their ids first), so the members
      of those cases' households are compared case by case (``members``): cheaper than finding every match in the
      municipality. Each household's members' keys are in one row of ``household_member_keys``, kept by triggers
      (migration 0024): one row read per case instead of the household's memberships and each member's person.
      A coordinator's key of one character takes this way too: no index serves it, and walking the newest cases
      until a page is full beats collecting every match (docs/benchmarks.md, issue 23).
    """
    if way == "lookup":
        return SupportCase.household_id.in_(select(func.household_ids_by_member_name_key(_NAME_PATTERN)))
    if way == "pair":
        return SupportCase.household_id.in_(select(func.household_ids_by_member_name_pair(_NAME_KEY)))
    return exists().where(
        HouseholdMemberKeys.tenant_id == SupportCase.tenant_id,
        HouseholdMemberKeys.household_id == SupportCase.household_id,
        HouseholdMemberKeys.keys.like(_NAME_PATTERN, escape="\\"),
    )


# What a list row shows, and nothing else: plain column rows (``row.case.status``) instead of three full entities
# per row, which the ORM built, tracked and threw away (a quarter of the list's time, docs/benchmarks.md).
LIST_COLUMNS = (
    Bundle("case", SupportCase.id, SupportCase.case_number, SupportCase.received_on, SupportCase.status,
           SupportCase.fields, SupportCase.tags, SupportCase.review_on),
    Bundle("person", Person.id, Person.name, Person.kana),
    Bundle("household", Household.label),
    # the current assignees' names in the same row (主担当 first), instead of a second statement for the page
    select(func.array_agg(aggregate_order_by(func.coalesce(CaseAssignee.display_name, "—"),
                                             CaseAssignee.role, CaseAssignee.assigned_at)))
    .where(CaseAssignee.case_id == SupportCase.id, CaseAssignee.ended_at.is_(None))
    .correlate(SupportCase).scalar_subquery().label("assignee_names"),
)


# A list query is built once per shape (which filters, which way the name is matched, whose visibility rule) and
# kept; what the user typed and who they are go in as these parameters. Building the statement anew for every
# request (the visibility rule alone is three sub-selects) and computing its cache key was about a third of the
# list's own work in the app (docs/benchmarks.md, issue 23).
_VIEWER = bindparam("viewer_sub", type_=String)
_CONSENT_DAY = bindparam("consent_day", type_=Date)
_NAME_PATTERN = bindparam("name_pattern", type_=Text)
_NAME_KEY = bindparam("name_key", type_=Text)
_NUMBER_PATTERN = bindparam("number_pattern", type_=Text)
_STATUS = bindparam("status", type_=String)
_FIELD = bindparam("field", type_=ARRAY(String))
_TAG = bindparam("tag", type_=ARRAY(String))
_ASSIGNEE = bindparam("assignee_sub", type_=String)
_REVIEW_DAY = bindparam("review_day", type_=Date)
_AFTER = bindparam("after", type_=Uuid)
_CASE_IDS = bindparam("case_ids", type_=ARRAY(Uuid))
FULL_ROWS = (SupportCase, Person, Household)


@dataclass(frozen=True)
class _Shape:
    """What decides the SQL of a list query (never a value the user typed)."""

    reader: str  # "prefecture" (nothing), "coordinator" (every case), "staff" (their own, by the visibility rule)
    name: str | None = None  # None, "nothing" (a query of spaces only), or _name_way's "lookup", "pair", "members"
    case_number: bool = False  # the query may also be part of a case number
    status: str | None = None  # None, "open" or "one"
    field: bool = False
    tag: bool = False
    assignee: bool = False
    review_due: bool = False


def _shape_of(principal: Principal, query: CaseQuery) -> tuple[_Shape, dict[str, Any]]:
    """The shape of ``query`` for ``principal``, and the parameters that fill it in."""
    params: dict[str, Any] = {}
    if principal.is_prefecture:
        reader = "prefecture"
    elif principal.has_role(Role.COORDINATOR):
        reader = "coordinator"
    else:
        reader = "staff"
        params.update(viewer_sub=principal.sub, consent_day=today())
    name, case_number = None, False
    if query.q:
        # a case number typed in part (2026-00) or a name in kanji or kana
        typed = unicodedata.normalize("NFKC", query.q).strip()
        key = search_key(query.q)
        name = _name_way(principal, key) if key else "nothing"
        lookup = name in ("lookup", "pair")
        if name == "pair":
            params["name_key"] = key
        elif key:
            params["name_pattern"] = like_pattern(key)
        # Case numbers are <年度>-<running number> (core.cases.service._next_case_number): a coordinator's query with
        # any other character is a name only, and without the OR the planner starts from the households the lookup
        # found instead of walking every case of the municipality newest first (197 → 20 ms for 山本 花).
        case_number = not (lookup and not _CASE_NUMBER_PART.fullmatch(typed))
        if case_number:
            params["number_pattern"] = like_pattern(typed)
    status = None
    if query.status == "open":
        status = "open"
    elif query.status:
        status = "one"
        params["status"] = query.status
    if query.field:
        params["field"] = [query.field]
    if query.tag:
        params["tag"] = [query.tag]
    if query.assignee:
        params["assignee_sub"] = principal.sub if query.assignee == "me" else query.assignee
    if query.review_due:
        params["review_day"] = today() if query.review_due == "overdue" else today() + dt.timedelta(days=30)
    return _Shape(reader, name, case_number, status, bool(query.field), bool(query.tag), bool(query.assignee),
                  bool(query.review_due)), params


# Not an IN list: its values would be an "expanding" parameter, filled in only when the statement is sent, and the
# list is sent compiled once as plain SQL (_for_driver).
_STILL_OPEN = and_(SupportCase.status != "closed", SupportCase.status != "suspended")


@functools.lru_cache(maxsize=512)
def _statement(shape: _Shape, columns: tuple, after: bool = False, limit: int | None = None):
    """The list query of ``shape`` (newest first, ``limit`` rows, after the parameter ``after`` when asked)."""
    visible = {"prefecture": false(), "coordinator": true()}.get(shape.reader)
    # The page's case ids first (newest first, up to the limit), then their people and households: joined before
    # the limit, PostgreSQL looked up the person and household of every visible case (a staff member's few
    # hundred) to keep 51. Every case has both (NOT NULL foreign keys), so the join drops none after the limit.
    ids = select(SupportCase.id).where(staff_visible_clause(_VIEWER, _CONSENT_DAY) if visible is None else visible)
    if shape.name is not None:
        names = false() if shape.name == "nothing" else _name_condition(shape.name)
        ids = ids.where(or_(SupportCase.case_number.ilike(_NUMBER_PATTERN, escape="\\"), names)
                        if shape.case_number else names)
    if shape.status == "open":
        ids = ids.where(_STILL_OPEN)
    elif shape.status == "one":
        ids = ids.where(SupportCase.status == _STATUS)
    if shape.field:
        ids = ids.where(SupportCase.fields.contains(_FIELD))
    if shape.tag:
        ids = ids.where(SupportCase.tags.contains(_TAG))
    if shape.assignee:
        ids = ids.where(exists().where(CaseAssignee.case_id == SupportCase.id, CaseAssignee.user_sub == _ASSIGNEE,
                                       CaseAssignee.ended_at.is_(None)))
    if shape.review_due:
        ids = ids.where(SupportCase.review_on.is_not(None), SupportCase.review_on <= _REVIEW_DAY,
                        _STILL_OPEN)
    if after:
        ids = ids.where(SupportCase.id < _AFTER)
    if limit is not None:
        ids = ids.order_by(SupportCase.id.desc()).limit(limit)
    return (
        select(*columns)
        .join(Person, and_(Person.tenant_id == SupportCase.tenant_id, Person.id == SupportCase.person_id))
        .join(Household, and_(Household.tenant_id == SupportCase.tenant_id, Household.id == SupportCase.household_id))
        .where(SupportCase.id.in_(ids.correlate(None)))  # a query of its own, not one about the outer row
        .order_by(SupportCase.id.desc())
    )


def _filtered(principal: Principal, query: CaseQuery, columns: tuple = FULL_ROWS, *, limit: int | None = None):
    """The list query for ``principal`` and its parameters: ``session.execute(*_filtered(...))``."""
    shape, params = _shape_of(principal, query)
    if query.after is not None:
        params["after"] = query.after
    return _statement(shape, columns, query.after is not None, limit), params


_ASSIGNEE_NAMES = (select(CaseAssignee.case_id, CaseAssignee.display_name)
                   .where(CaseAssignee.case_id == func.any(_CASE_IDS), CaseAssignee.ended_at.is_(None))
                   .order_by(CaseAssignee.role, CaseAssignee.assigned_at))


async def _assignee_names(session: AsyncSession, case_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    names: dict[uuid.UUID, list[str]] = defaultdict(list)
    if case_ids:
        # one array parameter, not an IN list of up to 201 parameters that made every page a different statement
        for a in await session.execute(_ASSIGNEE_NAMES, {"case_ids": case_ids}):
            names[a.case_id].append(a.display_name or "—")
    return names


class ListedCase(NamedTuple):
    """The columns of a case the list shows (``LIST_COLUMNS``' "case")."""

    id: uuid.UUID
    case_number: str
    received_on: dt.date
    status: str
    fields: list[str]
    tags: list[str]
    review_on: dt.date | None


class ListedPerson(NamedTuple):
    id: uuid.UUID
    name: str
    kana: str


class ListedHousehold(NamedTuple):
    label: str


# A row of the list is these three and the assignees' names, in LIST_COLUMNS' order: checked here, at import, so a
# column added to one and not the other cannot shift every value into its neighbour's place.
_LISTED = (ListedCase, ListedPerson, ListedHousehold)
if [t._fields for t in _LISTED] != [tuple(c.key for c in b.exprs) for b in LIST_COLUMNS[:3]]:
    raise RuntimeError("ListedCase, ListedPerson and ListedHousehold no longer match LIST_COLUMNS")
_PERSON_AT = len(ListedCase._fields)
_HOUSEHOLD_AT = _PERSON_AT + len(ListedPerson._fields)


@dataclass(frozen=True)
class _DriverStatement:
    """A list statement compiled once for the driver: its SQL, and where each parameter goes."""

    sql: str
    names: tuple[str, ...]  # the bound parameters' names, in the order of $1, $2, …
    constants: dict[str, Any]  # the values written into the statement itself (the dash, the page size, …)

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The values of $1, $2, …; a parameter the shape needs and ``params`` lacks is an error (KeyError), as in
        the ORM, never a NULL that would quietly list nothing."""
        values = {**self.constants, **params}
        return [values[name] for name in self.names]


@functools.lru_cache(maxsize=512)
def _for_driver(shape: _Shape, after: bool, limit: int, dialect: Any) -> _DriverStatement:
    compiled = _statement(shape, LIST_COLUMNS, after, limit).compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    constants = {name: compiled.params[name] for name in names if not compiled.binds[name].required}
    return _DriverStatement(str(compiled), names, constants)


async def _list_rows(session: AsyncSession, principal: Principal, query: CaseQuery, limit: int) -> list[Any]:
    """The rows of one page of the list: the very statement of ``_filtered``, compiled once per shape and sent as
    it is (``exec_driver_sql``: the request's transaction, tenant and RLS, no compilation, no result processing).
    Through the ORM, turning 51 rows into bundles and their ARRAY columns into lists again was about a tenth of the
    list's CPU (docs/benchmarks.md, issue 23)."""
    shape, params = _shape_of(principal, query)
    if query.after is not None:
        params["after"] = query.after
    await session.flush()  # what this unit of work wrote is listed, as an ORM query would have flushed it first
    connection = await session.connection()
    statement = _for_driver(shape, query.after is not None, limit, connection.dialect)
    return (await connection.exec_driver_sql(statement.sql, tuple(statement.arguments(params)))).all()


async def search_cases(session: AsyncSession, principal: Principal, query: CaseQuery) -> CasePage:
    """One page of the cases ``principal`` may see, newest first. Audited as a READ of the list (no terms)."""
    if principal.is_prefecture:
        return CasePage([], None)
    limit = max(1, min(query.limit, 200))
    rows = await _list_rows(session, principal, query, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    await record(session, AuditAction.READ, "case_list", None, reason=f"rows={len(rows)}")
    page = [CaseRow(ListedCase(*r[:_PERSON_AT]), ListedPerson(*r[_PERSON_AT:_HOUSEHOLD_AT]),
                    ListedHousehold(r[_HOUSEHOLD_AT]), r[_HOUSEHOLD_AT + 1] or []) for r in rows]
    return CasePage(page, rows[-1][0] if more and rows else None)


# -- CSV export -------------------------------------------------------------------------------------------------

BASE_COLUMNS = ("ケース番号", "受付日", "状態", "世帯", "本人氏名", "ふりがな", "分野", "タグ", "相談経路", "担当者", "次回見直し日")
# Birth date and address identify a person beyond the name: only coordinators (who see every case anyway) get them.
COORDINATOR_COLUMNS = ("生年月日", "住所")


def export_columns(principal: Principal) -> tuple[str, ...]:
    return BASE_COLUMNS + (COORDINATOR_COLUMNS if principal.has_role(Role.COORDINATOR) else ())


async def export_csv(session: AsyncSession, principal: Principal, query: CaseQuery) -> bytes:
    """支援ケース一覧 as CSV, UTF-8 with a BOM (Excel opens it as UTF-8). Audited as EXPORT."""
    columns = export_columns(principal)
    rows = [] if principal.is_prefecture else (
        await session.execute(*_filtered(principal, query, limit=EXPORT_LIMIT))).all()
    names = await _assignee_names(session, [c.id for c, _, _ in rows])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for case, person, household in rows:
        line = [
            case.case_number, case.received_on.isoformat(), schemas.STATUS_LABELS[case.status], household.label,
            person.name, person.kana, "・".join(schemas.FIELD_LABELS.get(f, f) for f in case.fields),
            " ".join(case.tags), schemas.ROUTE_LABELS.get(case.route, case.route), "・".join(names.get(case.id, [])),
            case.review_on.isoformat() if case.review_on else "",
        ]
        if COORDINATOR_COLUMNS[0] in columns:
            line += [person.birth_date.isoformat() if person.birth_date else "", person.address or household.address or ""]
        writer.writerow([_csv_safe(v) for v in line])
    await record(session, AuditAction.EXPORT, "case_list", None, reason=f"csv rows={len(rows)}")
    return "\ufeff".encode() + out.getvalue().encode("utf-8")


def _csv_safe(value: str) -> str:
    """Cells starting with = + - @ would run as formulas in a spreadsheet: prefix them with an apostrophe."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


# -- national counts --------------------------------------------------------------------------------------------

COUNT_LABELS = {"new": "新規相談受付件数", "plans": "プラン作成件数", "closed": "終結件数"}


@dataclass
class MonthlyCounts:
    """Counts of one fiscal year per month (April–March) and field; ``"all"`` counts each case once."""

    fiscal_year: int
    months: list[dt.date]
    counts: dict[tuple[dt.date, str, str], int]  # (month, field or "all" or "none", metric) → count

    def get(self, month: dt.date, field_key: str, metric: str) -> int:
        return self.counts.get((month, field_key, metric), 0)

    def total(self, field_key: str, metric: str) -> int:
        return sum(self.get(m, field_key, metric) for m in self.months)


_COUNTS_SQL = text(
    """
    WITH events AS (
      SELECT c.id AS case_id, c.fields, date_trunc('month', c.received_on)::date AS month, 'new' AS metric
      FROM support_case c WHERE c.received_on >= :start AND c.received_on < :stop
      UNION ALL
      SELECT c.id, c.fields, date_trunc('month', (p.created_at AT TIME ZONE 'Asia/Tokyo'))::date, 'plans'
      FROM support_plan p JOIN support_case c ON c.tenant_id = p.tenant_id AND c.id = p.case_id
      WHERE (p.created_at AT TIME ZONE 'Asia/Tokyo')::date >= :start AND (p.created_at AT TIME ZONE 'Asia/Tokyo')::date < :stop
      UNION ALL
      SELECT c.id, c.fields, date_trunc('month', (s.changed_at AT TIME ZONE 'Asia/Tokyo'))::date, 'closed'
      FROM case_status_change s JOIN support_case c ON c.tenant_id = s.tenant_id AND c.id = s.case_id
      WHERE s.to_status = 'closed'
        AND (s.changed_at AT TIME ZONE 'Asia/Tokyo')::date >= :start AND (s.changed_at AT TIME ZONE 'Asia/Tokyo')::date < :stop
    )
    SELECT month, f AS field, metric, count(*) AS n
    FROM events, unnest(CASE WHEN cardinality(fields) = 0 THEN ARRAY['none']::varchar[] ELSE fields END) AS f
    GROUP BY month, f, metric
    UNION ALL
    SELECT month, 'all', metric, count(*) FROM events GROUP BY month, metric
    """
)


async def monthly_counts(session: AsyncSession, fiscal_year: int) -> MonthlyCounts:
    """New consultations (by received date), plans made (each plan version, by creation), closures (終結), per month
    of the 年度 and per field (a case touching two fields counts in both; ``all`` counts it once)."""
    start = dt.date(fiscal_year, 4, 1)
    stop = dt.date(fiscal_year + 1, 4, 1)
    months = [dt.date(fiscal_year + (m < 4), m, 1) for m in (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)]
    rows = (await session.execute(_COUNTS_SQL, {"start": start, "stop": stop})).all()
    return MonthlyCounts(fiscal_year, months, {(r.month, r.field, r.metric): int(r.n) for r in rows})


async def consultations_received(session: AsyncSession, fiscal_year: int) -> int:
    """相談受付件数 of a 年度 (what the grant reports count); the tenant is the session's. Defined once, in
    ``core.counts`` (shared with the prefecture's aggregates)."""
    from core import counts

    return await counts.consultations_received(session, *counts.fiscal_year_period(fiscal_year))


async def cases_by_business(session: AsyncSession, fiscal_year: int) -> dict[str, int]:
    """Cases received in the 年度, under each of the five 事業 involved (the same cases 相談受付件数 counts)."""

    start, end = fiscal_year_bounds(fiscal_year)
    return await count_by_business(session, SupportCase, SupportCase.received_on >= start, SupportCase.received_on < end)


async def caseload_by_business_field(session: AsyncSession, fiscal_year: int) -> dict[tuple[str, str], int]:
    """Cases handled in the 年度 (received before its end, not closed before its start), counted once under each
    pair of a 事業 involved and a 分野 of the case; a case with no 分野 counts under ``new_functions`` (the
    cross-field work the grant's 新たな機能 pays for). What the grant's case-record apportionment weighs by."""
    start, end = fiscal_year_bounds(fiscal_year)
    rows = await session.execute(select(SupportCase.businesses, SupportCase.fields).where(
        SupportCase.received_on < end, or_(SupportCase.closed_on.is_(None), SupportCase.closed_on >= start)))
    counts: dict[tuple[str, str], int] = {}
    for businesses, fields in rows:
        for business in businesses or ["consultation"]:
            for field in fields or ["new_functions"]:
                counts[(business, field)] = counts.get((business, field), 0) + 1
    return counts
