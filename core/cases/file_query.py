"""The rows of one case file in one round trip.

A case page used to ask PostgreSQL fourteen questions one after the other (household, members, assignees, consents,
assessments and their items, plans and their roles, records, evaluations, agencies, referrals, status history, the
agency names), each costing about half a millisecond of SQLAlchemy work in the app besides its round trip: most of
the page's time (docs/benchmarks.md, issue 23). Here they are one statement of ``ARRAY(SELECT row …)`` columns, which
asyncpg decodes into typed records, turned into the same model classes the ORM would give.

What is *not* decided here: who may read what. The statement runs in the request's transaction, behind the tenant
wall (RLS), and reads the consent-scoped parts only when the caller says the reader may see them
(``core.cases.service.case_file`` passes ``core.cases.access.readable_items``). The objects built are detached
copies: changing one writes nothing.

asyncpg learns each table's row type once per pooled connection and keeps it: a migration that changes one of these
tables must not run under a live app (requests on old connections could fail until they are replaced). Deployments
migrate before the app starts (``kyosei run``; the ``migrate`` init container of infra/deploy/k8s/kyosei.yaml).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.cases.access import STAFF_BASES, compiled_bases
from core.cases.models import (
    Agency,
    Assessment,
    AssessmentItem,
    CaseAgency,
    CaseAssignee,
    CaseStatusChange,
    Consent,
    Evaluation,
    Household,
    HouseholdMembership,
    Person,
    PlanRole,
    ProgressRecord,
    Referral,
    SupportCase,
    SupportPlan,
)
from core.database import detached_instance, request_driver

# What the 多機関協働 stage (core.meetings.flow.case_stage) needs besides the file, $1 being the case id: the number
# of progress records and of meetings that discussed the case, who decided support at a meeting and when (the
# latest agenda item that records it), and who recorded 支援決定 on the case page and when (the latest status change
# to it, by the name in the staff directory, retired staff included, or by the user's id when it has none: one
# question fewer for the page of every decided case). Counted whatever the reader's consent scope: the stage shows
# numbers and names of staff only. Read with the file for the case page, and alone (``read_stage_facts``) for a
# stage without a file.
_STAGE_FACT_COLUMNS = """
  (SELECT count(*) FROM progress_record r WHERE r.case_id = $1) AS contacts,
  (SELECT count(DISTINCT m.id) FROM meeting_agenda_item i JOIN meeting m ON m.id = i.meeting_id
   WHERE i.case_id = $1) AS discussed,
  (SELECT row(i.support_decided_by_name, i.support_decided_at) FROM meeting_agenda_item i
   WHERE i.case_id = $1 AND i.support_decided_at IS NOT NULL ORDER BY i.support_decided_at DESC LIMIT 1) AS decided,
  (SELECT row(coalesce(s.display_name, c.changed_by), c.changed_at) FROM case_status_change c
   LEFT JOIN staff_directory s ON s.tenant_id = c.tenant_id AND s.user_sub = c.changed_by
   WHERE c.case_id = $1 AND c.to_status = 'decided' ORDER BY c.changed_at DESC, c.id LIMIT 1) AS decided_on_page
"""

# The file's columns: {case} the case id, {household} its household's id, {assessments}, {plans} and {records}
# whether those consent-scoped parts are readable, {file} whether any of the file is (the case page's opening reads
# it in the same statement as the reader's bases: core.cases.service.open_case_and_file).
# Orders are the ones the case page always showed (tests/case_file_oracle.py keeps the old one-table readers), with
# the id last wherever they could tie, so that the paired arrays (person/membership, case_agency/agency) stay in step.
_FILE_COLUMNS = """
  (SELECT h FROM household h WHERE {file} AND h.id = {household}) AS household,
  ARRAY(SELECT p FROM person p JOIN household_membership m ON m.tenant_id = p.tenant_id AND m.person_id = p.id
        WHERE {file} AND m.household_id = {household}
        ORDER BY m.valid_to IS NOT NULL, m.valid_from, p.id, m.id) AS people,
  ARRAY(SELECT m FROM person p JOIN household_membership m ON m.tenant_id = p.tenant_id AND m.person_id = p.id
        WHERE {file} AND m.household_id = {household}
        ORDER BY m.valid_to IS NOT NULL, m.valid_from, p.id, m.id) AS memberships,
  ARRAY(SELECT a FROM case_assignee a WHERE {file} AND a.case_id = {case} AND a.ended_at IS NULL
        ORDER BY a.role, a.assigned_at, a.id) AS assignees,
  ARRAY(SELECT c FROM consent c WHERE {file} AND c.case_id = {case} ORDER BY c.given_on DESC, c.id DESC) AS consents,
  ARRAY(SELECT a FROM assessment a WHERE {assessments} AND a.case_id = {case}
        ORDER BY a.assessed_on, a.id) AS assessments,
  ARRAY(SELECT i FROM assessment_item i JOIN assessment a ON a.tenant_id = i.tenant_id AND a.id = i.assessment_id
        WHERE {assessments} AND a.case_id = {case} ORDER BY i.id) AS assessment_items,
  ARRAY(SELECT p FROM support_plan p WHERE {plans} AND p.case_id = {case} ORDER BY p.version DESC, p.id) AS plans,
  ARRAY(SELECT r FROM plan_role r JOIN support_plan p ON p.tenant_id = r.tenant_id AND p.id = r.plan_id
        WHERE {plans} AND p.case_id = {case} ORDER BY r.id) AS plan_roles,
  ARRAY(SELECT r FROM progress_record r WHERE {records} AND r.case_id = {case}
        ORDER BY r.recorded_on DESC, r.id DESC) AS records,
  ARRAY(SELECT e FROM evaluation e WHERE {records} AND e.case_id = {case}
        ORDER BY e.evaluated_on DESC, e.id DESC) AS evaluations,
  ARRAY(SELECT s FROM case_agency s JOIN agency g ON g.tenant_id = s.tenant_id AND g.id = s.agency_id
        WHERE {file} AND s.case_id = {case} ORDER BY s.shared_at, s.id) AS shares,
  ARRAY(SELECT g FROM case_agency s JOIN agency g ON g.tenant_id = s.tenant_id AND g.id = s.agency_id
        WHERE {file} AND s.case_id = {case} ORDER BY s.shared_at, s.id) AS shared_agencies,
  ARRAY(SELECT r FROM referral r WHERE {file} AND r.case_id = {case}
        ORDER BY r.referred_at DESC, r.id DESC) AS referrals,
  ARRAY(SELECT c FROM case_status_change c WHERE {file} AND c.case_id = {case}
        ORDER BY c.changed_at, c.id) AS history,
  ARRAY(SELECT g.id FROM agency g ORDER BY g.name, g.id) AS agency_ids,
  ARRAY(SELECT g.name FROM agency g ORDER BY g.name, g.id) AS agency_names,
"""
# $1 case id, $2 household id, $3 assessments readable, $4 plans readable, $5 records readable.
_STATEMENT = "SELECT" + _FILE_COLUMNS.format(case="$1", household="$2", assessments="$3", plans="$4", records="$5",
                                             file="TRUE") + _STAGE_FACT_COLUMNS


@functools.cache
def _opening_statement(bases: str) -> str:
    """The case page's opening (``read_case_opening``): $1 the case id, $2 whether the reader is a coordinator, then
    the parameters of ``bases`` (the staff bases, core.cases.access.compiled_bases, numbered from $3).

    The file is read in the same statement only when the reader may read all of it (``readable_items``): a
    coordinator, or staff on the case's team or holding a break-glass grant. For anyone else nothing of it is read
    here: agency staff, whose part depends on the consents in force, or a reader with no basis at all."""
    everything = "($2 OR b.assignee OR b.break_glass)"
    return (f"WITH b AS ({bases})\nSELECT (SELECT s FROM support_case s WHERE s.id = $1) AS support_case, "
            "b.assignee, b.break_glass, b.agency," + _FILE_COLUMNS.format(
                case="$1", household="(SELECT s.household_id FROM support_case s WHERE s.id = $1)",
                assessments=everything, plans=everything, records=everything, file=everything)
            + _STAGE_FACT_COLUMNS + "FROM b")


@dataclass(frozen=True)
class AgencyName:
    """``(id, name)`` of an agency, as ``core.cases.service.agency_names`` gives it."""

    id: uuid.UUID
    name: str


@dataclass
class CaseFileRows:
    household: Household | None
    members: list[tuple[Person, HouseholdMembership]]
    assignees: list[CaseAssignee]
    consents: list[Consent]
    assessments: list[tuple[Assessment, list[AssessmentItem]]]
    plans: list[tuple[SupportPlan, list[PlanRole]]]
    records: list[ProgressRecord]
    evaluations: list[Evaluation]
    agencies: list[tuple[CaseAgency, Agency]]
    referrals: list[Referral]
    history: list[CaseStatusChange]
    all_agencies: list[AgencyName]
    stage_facts: StageFacts


@dataclass(frozen=True)
class StageFacts:
    """What the 多機関協働 stage needs besides the file: progress records, meetings that discussed the case, who
    decided support at a meeting and when (the latest agenda item recording it; ``None`` when none did), and who
    recorded the status change to 支援決定 and when (``None`` when it never was)."""

    contacts: int
    discussed: int
    decided_by_name: str | None
    decided_at: Any
    decided_on_page_by: str | None = None  # the latest status change to 支援決定: who (directory name) and when
    decided_on_page_at: Any = None


def _stage_facts(row: Any) -> StageFacts:
    return StageFacts(row["contacts"], row["discussed"], *(row["decided"] or (None, None)),
                      *(row["decided_on_page"] or (None, None)))


async def read_stage_facts(session: AsyncSession, case_id: uuid.UUID) -> StageFacts:
    """The stage's facts of one case alone (``_STAGE_FACT_COLUMNS``), for a stage shown without its case file."""
    driver, _ = await request_driver(session)
    return _stage_facts(await driver.fetchrow("SELECT" + _STAGE_FACT_COLUMNS, case_id))


async def read_case_file_rows(session: AsyncSession, case_id: uuid.UUID, household_id: uuid.UUID, *,
                              assessments: bool, plans: bool, records: bool) -> CaseFileRows:
    driver, dialect = await request_driver(session)
    return _file_rows(await driver.fetchrow(_STATEMENT, case_id, household_id, assessments, plans, records), dialect)


@dataclass(frozen=True)
class CaseOpening:
    """What the case page's opening read: the case (None: not in this municipality), which staff bases the reader
    holds for it (core.cases.access.STAFF_BASES → bool), and the file's rows when the reader may read all of it
    (None: not read, for the caller to read what the reader may)."""

    case: SupportCase | None
    held: dict[str, bool]
    rows: CaseFileRows | None


async def read_case_opening(session: AsyncSession, case_id: uuid.UUID, sub: str, *, coordinator: bool,
                            day: dt.date) -> CaseOpening:
    """The case, the reader's staff bases (consents judged on ``day``) and, when those let the reader read all of
    it, the case file: one round trip where opening a case page took two."""
    driver, dialect = await request_driver(session)
    bases = compiled_bases(dialect, 3)
    row = await driver.fetchrow(_opening_statement(bases.sql), case_id, coordinator,
                                *bases.arguments(case_id, sub, day))
    case = detached_instance(SupportCase, row["support_case"], dialect) if row["support_case"] is not None else None
    held = {basis: bool(row[basis]) for basis in STAFF_BASES}
    everything = case is not None and (coordinator or held["assignee"] or held["break_glass"])
    return CaseOpening(case, held, _file_rows(row, dialect) if everything else None)


def _file_rows(row: Any, dialect: Any) -> CaseFileRows:
    def many(model: type, column: str) -> list[Any]:
        return [detached_instance(model, r, dialect) for r in row[column]]

    found_assessments = many(Assessment, "assessments")
    items = many(AssessmentItem, "assessment_items")
    found_plans = many(SupportPlan, "plans")
    roles = many(PlanRole, "plan_roles")
    return CaseFileRows(
        household=detached_instance(Household, row["household"], dialect) if row["household"] is not None else None,
        members=list(zip(many(Person, "people"), many(HouseholdMembership, "memberships"), strict=True)),
        assignees=many(CaseAssignee, "assignees"),
        consents=many(Consent, "consents"),
        assessments=[(a, [i for i in items if i.assessment_id == a.id]) for a in found_assessments],
        plans=[(p, [r for r in roles if r.plan_id == p.id]) for p in found_plans],
        records=many(ProgressRecord, "records"),
        evaluations=many(Evaluation, "evaluations"),
        agencies=list(zip(many(CaseAgency, "shares"), many(Agency, "shared_agencies"), strict=True)),
        referrals=many(Referral, "referrals"),
        history=many(CaseStatusChange, "history"),
        all_agencies=[AgencyName(i, n) for i, n in zip(row["agency_ids"], row["agency_names"], strict=True)],
        stage_facts=_stage_facts(row),
    )
