"""Who may see a case, and which of its items: the one home of the read rule (ARCHITECTURE "Rules that must have
one home"). Every read path — pages, JSON API, CSV, the meetings domain, plugin reads — builds on these.

A case is seen by:

- coordinators (包括化推進員) of the bound municipality: every case, every item (they run the core meeting that
  reviews every open case);
- its assigned staff (担当者): every item;
- staff of an agency the case is shared with, **while a consent is valid today** (given, not expired, not revoked)
  and names that agency — an expired or revoked consent stops access at the moment it ends, whatever the sharing
  row says. They see only the **items** the valid consents naming their agency allow (基本情報 always: a shared
  case cannot be shared without saying whose it is);
- anyone who broke the glass (緊急閲覧, 8 hours, reviewed by the tenant admin): every item.

Roles are those of the municipality the principal is bound to (``Principal.roles`` comes from the token's
organization claim for that organization only, see ``core.auth.oidc.roles_of``). Users of the prefecture never
see a case. Row-level security keeps every query inside the tenant.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Date, String, Uuid, and_, bindparam, exists, false, func, or_, select, true, union
from sqlalchemy.ext.asyncio import AsyncSession

from core.auth.principal import Principal, Role
from core.cases.models import AgencyStaff, CaseAccessGrant, CaseAgency, CaseAssignee, Consent, SupportCase
from core.cases.schemas import INFO_ITEM_LABELS
from core.tenancy.context import current_tenant_id
from core.wareki import today

ALL_ITEMS: frozenset[str] = frozenset(INFO_ITEM_LABELS)
ALWAYS_SHARED = "basic"  # 基本情報: implied by any sharing
# The columns of the case itself that are its 相談内容 (item ``consultation``): what was brought, by whom, and the
# plugin intake answers. A reader without that item gets the case without them, whatever carries the case.
CONSULTATION_COLUMNS: tuple[str, ...] = ("summary", "problems", "problem_other", "visitor_name", "visitor_relation",
                                         "extras")
# Free text written about the case outside its item tables, and the item that covers each (a reader without the
# item reads the row without the text, ``row_as_read``):
# - the reason of a status change (終結・中断の理由, a meeting's decision note carried to the case): 支援経過;
STATUS_REASON_ITEM = "records"
# - a referral's reason and the answering agency's comment: what the person brought, told to the next agency;
REFERRAL_REASON_ITEM = "consultation"
# - an agenda item's issues and decision note, read by someone who did not sit in the meeting: 支援経過, as the
#   decision note is the reason of the status change it made (``core.meetings.service.agenda``).
MEETING_NOTES_ITEM = "records"


@functools.cache
def _read_copy(model: type) -> type:
    return dataclasses.make_dataclass(f"{model.__name__}AsRead", [c.key for c in model.__table__.columns
                                                                  if c.key != "tenant_id"], frozen=True)


def row_as_read(row: Any, hidden: Iterable[str] = ()) -> Any:
    """A frozen copy of ``row``'s columns (the tenant id aside) with the columns ``hidden`` as None: a row as a
    reader may read it when part of it is outside their items. A copy, never the row itself: a value blanked on a
    loaded ORM object would be written back to the table by the next autoflush."""
    hidden = frozenset(hidden)
    view = _read_copy(type(row))
    return view(**{f.name: None if f.name in hidden else getattr(row, f.name) for f in dataclasses.fields(view)})


def consent_valid_clause(day: Any = None):
    """SQL: the ``Consent`` row is in force on ``day`` (today in Japan by default; a bind parameter standing for the
    day in a statement that is built once and kept, core.cases.search)."""
    day = today() if day is None else day
    return and_(Consent.given_on <= day, or_(Consent.expires_on.is_(None), Consent.expires_on >= day),
                or_(Consent.revoked_on.is_(None), Consent.revoked_on > day))


def consent_valid_on(consent: Consent, day: dt.date) -> bool:
    """The same rule for a loaded row."""
    return (consent.revoked_on is None or consent.revoked_on > day) and consent.given_on <= day and (
        consent.expires_on is None or consent.expires_on >= day)


def _consent_covers_share(day: Any = None):
    """EXISTS a consent in force for the shared case that names the shared agency."""
    return exists().where(Consent.tenant_id == CaseAgency.tenant_id, Consent.case_id == CaseAgency.case_id,
                          CaseAgency.agency_id == func.any(Consent.agency_ids), consent_valid_clause(day))


def _agency_shares(sub: Any, day: Any = None):
    """Shares of the cases with agencies ``sub`` acts for, that a consent in force (on ``day``) still covers."""
    return (select(CaseAgency.case_id)
            .join(AgencyStaff, and_(AgencyStaff.tenant_id == CaseAgency.tenant_id,
                                    AgencyStaff.agency_id == CaseAgency.agency_id))
            .where(CaseAgency.ended_at.is_(None), AgencyStaff.user_sub == sub, _consent_covers_share(day)))


def visible_clause(principal: Principal):
    """SQL condition on ``SupportCase`` for the cases ``principal`` may see without breaking the glass."""
    if principal.is_prefecture:
        return false()
    if principal.has_role(Role.COORDINATOR):
        return true()
    return staff_visible_clause(principal.sub)


def staff_visible_clause(sub: Any, day: Any = None):
    """``visible_clause`` of a staff member (neither coordinator nor prefecture) whose sub is ``sub``, consents
    judged on ``day`` (today by default). Both may be bind parameters standing for them, so that a statement
    built with it can be kept and run for anyone (core.cases.search); the rule is this one either way."""
    # The ids this person works on, gathered first (a few hundred through the user_sub indexes), so a list or a
    # search starts from them rather than testing every case of the municipality (three OR-ed EXISTS made the
    # planner walk all 25,000 cases of 高知市; docs/benchmarks.md, finding 2).
    visible_ids = union(
        select(CaseAssignee.case_id).where(CaseAssignee.user_sub == sub, CaseAssignee.ended_at.is_(None)),
        _agency_shares(sub, day),
        select(CaseAccessGrant.case_id).where(CaseAccessGrant.user_sub == sub, CaseAccessGrant.expires_at > func.now()),
    )
    return SupportCase.id.in_(visible_ids)


async def access_basis(session: AsyncSession, principal: Principal, case_id: uuid.UUID) -> str | None:
    """Why ``principal`` may see the case: coordinator, assignee, agency, break_glass; None: not without a reason."""
    if principal.is_prefecture:
        return None
    if principal.has_role(Role.COORDINATOR):
        return "coordinator"
    for basis, stmt in _basis_checks(principal.sub, case_id):
        if await session.scalar(stmt.limit(1)) is not None:
            return basis
    return None


STAFF_BASES = ("assignee", "break_glass", "agency")  # a staff member's bases for a case, the first that holds named


def _basis_checks(sub: Any, case_id: Any, day: Any = None):
    """(basis, the rows that establish it) for each of ``STAFF_BASES``."""
    return tuple(zip(STAFF_BASES, (
        select(CaseAssignee.id).where(CaseAssignee.case_id == case_id, CaseAssignee.user_sub == sub,
                                      CaseAssignee.ended_at.is_(None)),
        select(CaseAccessGrant.id).where(CaseAccessGrant.case_id == case_id, CaseAccessGrant.user_sub == sub,
                                         CaseAccessGrant.expires_at > func.now()),
        _agency_shares(sub, day).where(CaseAgency.case_id == case_id),
    ), strict=True))


_BASIS_CASE = bindparam("basis_case_id", type_=Uuid)
# The case and each staff basis for it in one statement, built once (the reader, the case and the day are
# parameters): opening a case page asked for the case and then for the basis, one round trip each.
_CASE_WITH_BASES = select(SupportCase, *(exists(stmt).label(basis) for basis, stmt in _basis_checks(
    bindparam("basis_sub", type_=String), _BASIS_CASE, bindparam("basis_day", type_=Date)))).where(
    SupportCase.id == _BASIS_CASE)


# The staff bases alone, for a statement that reads more besides them (the case page's opening,
# core.cases.file_query.read_case_opening): compiled once per dialect, the same rule as above.
_BASES = select(*(exists(stmt).label(basis) for basis, stmt in _basis_checks(
    bindparam("basis_sub", type_=String), _BASIS_CASE, bindparam("basis_day", type_=Date))))


@dataclasses.dataclass(frozen=True)
class CompiledBases:
    """``_BASES`` as SQL with ``$1``… parameters numbered from ``first``, and how to fill them."""

    sql: str
    names: tuple[str, ...]
    constants: dict[str, Any]

    def arguments(self, case_id: uuid.UUID, sub: str, day: dt.date) -> list[Any]:
        values = {**self.constants, "basis_case_id": case_id, "basis_sub": sub, "basis_day": day}
        return [values[name] for name in self.names]


@functools.cache
def compiled_bases(dialect: Any, first: int) -> CompiledBases:
    """``_BASES`` for the driver, its parameters numbered from ``$first`` (the caller's own come before)."""
    compiled = _BASES.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    sql = re.sub(r"\$(\d+)", lambda m: f"${int(m.group(1)) + first - 1}", str(compiled))
    return CompiledBases(sql, names, {n: compiled.params[n] for n in names if not compiled.binds[n].required})


def first_basis(held: dict[str, bool]) -> str | None:
    """The staff basis ``access_basis`` names, of those ``held`` (basis → whether it holds)."""
    return next((basis for basis in STAFF_BASES if held[basis]), None)


async def case_and_basis(session: AsyncSession, principal: Principal,
                         case_id: uuid.UUID) -> tuple[SupportCase | None, str | None]:
    """The case (None: not in this municipality) and ``access_basis`` for it, in one round trip for a staff
    member (a coordinator's basis needs no query; the prefecture has none)."""
    if principal.is_prefecture or principal.has_role(Role.COORDINATOR):
        case = await session.get(SupportCase, (current_tenant_id(), case_id))
        return case, (await access_basis(session, principal, case_id)) if case is not None else None
    row = (await session.execute(_CASE_WITH_BASES, {"basis_case_id": case_id, "basis_sub": principal.sub,
                                                    "basis_day": today()})).first()
    if row is None:
        return None, None
    return row[0], next((basis for basis in STAFF_BASES if row._mapping[basis]), None)


async def readable_items(session: AsyncSession, principal: Principal, case_id: uuid.UUID,
                         basis: str | None = None) -> frozenset[str]:
    """The items of the case ``principal`` may read (keys of ``INFO_ITEM_LABELS``): the item filter of the case
    file. Everything for coordinators, assignees and break-glass; for agency staff, what the consents in force
    naming their agencies allow; nothing without a basis."""
    basis = basis or await access_basis(session, principal, case_id)
    if basis is None:
        return frozenset()
    if basis != "agency":
        return ALL_ITEMS
    rows = await session.scalars(
        select(Consent.items)
        .join(CaseAgency, and_(CaseAgency.tenant_id == Consent.tenant_id, CaseAgency.case_id == Consent.case_id,
                               CaseAgency.agency_id == func.any(Consent.agency_ids), CaseAgency.ended_at.is_(None)))
        .join(AgencyStaff, and_(AgencyStaff.tenant_id == CaseAgency.tenant_id,
                                AgencyStaff.agency_id == CaseAgency.agency_id))
        .where(Consent.case_id == case_id, AgencyStaff.user_sub == principal.sub, consent_valid_clause()))
    return frozenset({ALWAYS_SHARED, *(item for items in rows for item in items)}) & ALL_ITEMS


class CaseLinkRefused(Exception):
    """A case another domain wants to link (a programme enrolment) is unknown, not visible, or lacks consent."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


async def linkable_case(session: AsyncSession, principal: Principal, reference: str, *, purpose: str) -> uuid.UUID:
    """The id of the case ``reference`` (a case number such as 2025-0001, or a case id) if ``principal`` may see it
    and a consent in force names ``purpose`` (a code of ``core.cases.consent_purposes``); ``CaseLinkRefused``
    otherwise. Another municipality's case is simply not found (the tenant wall), like a made-up number."""
    from core.cases.service import check_sharing  # the consent rule lives with sharing

    reference = (reference or "").strip()
    condition = SupportCase.case_number == reference
    try:
        condition = or_(condition, SupportCase.id == uuid.UUID(reference))
    except ValueError:
        pass
    case_id = await session.scalar(select(SupportCase.id).where(condition).limit(1))
    not_found = "そのケース番号の相談ケースは見つからないか、あなたが閲覧できるケースではありません。"
    if case_id is None or principal.is_prefecture:
        raise CaseLinkRefused(not_found)
    if await session.scalar(select(SupportCase.id).where(SupportCase.id == case_id, visible_clause(principal))) is None:
        raise CaseLinkRefused(not_found)
    decision = await check_sharing(session, case_id, purpose=purpose)
    if not decision.allowed:
        raise CaseLinkRefused(decision.reason_ja)
    return case_id


async def person_record_ids(session: AsyncSession, name: str, limit: int = 50) -> tuple[list[str], list[str]]:
    """For the audit viewer's person search: the ids (as text) of the residents whose name or kana contains
    ``name``, of their households and of their cases (as 本人 or as a household member), and the names matched.
    The names are shown to the auditor, so each resident matched is a READ of that person on the trail (by id,
    never the name typed): the report of who saw a resident's data lists the auditors who looked them up too."""
    from core.audit.trail import AuditAction, record
    from core.cases.models import HouseholdMembership, Person
    from core.text_rules import like_pattern, search_key

    # the case list's rule (core.cases.search): the query's search key against the stored keys, so the auditor
    # finds 髙橋 by 高橋 and カナ by かな, as staff find them
    key = search_key(name)
    if not key:
        return [], []
    pattern = like_pattern(key)
    people = list(await session.execute(select(Person.id, Person.name).where(
        or_(Person.name_key.like(pattern, escape="\\"), Person.kana_key.like(pattern, escape="\\"))).limit(limit)))
    if not people:
        return [], []
    person_ids = [p.id for p in people]
    for person_id in person_ids:
        await record(session, AuditAction.READ, "person", person_id, reason="audit viewer person search")
    households = list(await session.scalars(select(HouseholdMembership.household_id)
                                            .where(HouseholdMembership.person_id.in_(person_ids))))
    cases = list(await session.scalars(select(SupportCase.id).where(
        or_(SupportCase.person_id.in_(person_ids), SupportCase.household_id.in_(households)))))
    return sorted({str(i) for i in [*person_ids, *households, *cases]}), [p.name for p in people]


async def case_numbers(session: AsyncSession, ids) -> dict[str, str]:
    """case id (text) → case number, for ids that name cases (others are ignored)."""
    wanted = []
    for value in ids:
        try:
            wanted.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    if not wanted:
        return {}
    return {str(i): n for i, n in await session.execute(
        select(SupportCase.id, SupportCase.case_number).where(SupportCase.id.in_(wanted)))}
