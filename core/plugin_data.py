"""The plugin data interface: how a plugin page reads cases, people, households and consents (public API).

Plugins import only ``core.hookspecs``, ``core.plugin_types`` and this module (``tests/test_plugin_boundaries.py``
holds them to it). Everything here applies the same rules as Kyosei's own pages:

- **who sees which case**: the signed-in user's visibility (coordinators: every case of the municipality; other
  staff: the cases they are assigned to, the cases shared with their agency, and the cases they opened with a
  reason); the prefecture and vendors see none;
- **consent**: ``purpose=`` keeps only cases with a consent naming that purpose code that is valid today (given,
  not expired, not revoked); staff who see a case through their agency see only the items (基本情報, 相談内容…)
  that the consents in force naming their agency allow — ``CaseView.items`` says which, and what is outside them
  is left empty;
- **audit**: every case returned is one READ entry in the municipality's audit trail, with the plugin's name as
  the reason, exactly as when a person opens the case page;
- **the tenant wall**: the unit of work is bound to the user's municipality; PostgreSQL's row-level security
  makes any other municipality's rows invisible whatever the query.

Values are frozen dataclasses of plain types (``str``, ``datetime.date``, tuples), never ORM objects: keep them,
render them, pass them to templates. Use it from a plugin page::

    from core.plugin_data import case_data

    @get("/")
    async def index(request: Request) -> Template:
        async with case_data(request) as data:
            page = await data.open_cases(purpose="participation_support", limit=20)
        ...

.. versionadded:: 1.1
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, any_, exists, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit.trail import AuditAction, record
from core.auth.principal import Principal
from core.cases import access as case_access
from core.cases import consent_purposes as purposes_registry
from core.cases import schemas as case_schemas
from core.cases.models import Consent, Household, HouseholdMembership, Person, SupportCase
from core.cases.workflow import OPEN_STATUSES

__all__ = [
    "CaseData",
    "CaseNotVisible",
    "CaseView",
    "ConsentView",
    "HouseholdView",
    "Page",
    "PersonView",
    "case_data",
    "consent_purposes",
]

MAX_PAGE = 100  # one page of a plugin list; a plugin that needs more pages through ``offset``

T = TypeVar("T")


class CaseNotVisible(LookupError):
    """The case does not exist in this municipality, or the signed-in user may not see it (the same answer for
    both, so a plugin cannot probe for ids)."""


@dataclass(frozen=True)
class PersonView:
    """A member of a household (世帯員). ``relationship`` is the 続柄 to the household (本人, 母, 長男 …)."""

    id: str
    name: str  # 氏名, exactly as recorded
    kana: str  # ふりがな
    relationship: str
    birth_date: dt.date | None


@dataclass(frozen=True)
class HouseholdView:
    """A household (世帯) and its current members, 本人 first."""

    id: str
    label: str  # what staff call it: 「山田さん世帯」
    members: tuple[PersonView, ...]


@dataclass(frozen=True)
class ConsentView:
    """A consent to share information (情報共有への同意), valid on the day it was read."""

    id: str
    purposes: tuple[str, ...]  # purpose codes (see ``consent_purposes()``)
    purpose_labels: tuple[str, ...]  # the same, in Japanese
    note: str  # the purpose in the resident's words, as recorded
    given_on: dt.date
    expires_on: dt.date | None
    items: tuple[str, ...]  # what may be shared (基本情報, 相談内容 …), as codes
    agency_ids: tuple[str, ...]
    meeting_kinds: tuple[str, ...]


@dataclass(frozen=True)
class CaseView:
    """An open case (相談ケース) the signed-in user may see."""

    id: str
    case_number: str  # 2026-0001
    status: str  # code: intake, assessment, planning, decided, supporting, evaluation
    status_label: str  # 受付, アセスメント …
    received_on: dt.date
    fields: tuple[str, ...]  # elderly, disability, child, poverty
    person: PersonView  # 本人
    household: HouseholdView
    extras: Mapping[str, Any]  # values of plugin intake fields (``kyosei_extra_intake_fields``); item 相談内容
    consents: tuple[ConsentView, ...]  # valid today; only those naming ``purpose`` when one was asked for
    items: tuple[str, ...]  # the items this user may read: basic, consultation, plan, records


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: ``items``, where it starts, its size, and how many there are in all."""

    items: tuple[T, ...]
    offset: int
    limit: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.offset + len(self.items) < self.total


def consent_purposes() -> Mapping[str, str]:
    """Kyosei's own consent purposes, code → Japanese label (a municipality's plugins may add more:
    ``await data.consent_purposes()`` lists those too)."""
    return dict(purposes_registry.CORE_PURPOSE_LABELS)


def _consent_view(c: Consent, labels: Mapping[str, str]) -> ConsentView:
    codes = tuple(c.purposes or ())
    return ConsentView(id=str(c.id), purposes=codes, purpose_labels=tuple(labels.get(x, x) for x in codes),
                       note=c.purpose or "", given_on=c.given_on, expires_on=c.expires_on, items=tuple(c.items or ()),
                       agency_ids=tuple(str(a) for a in c.agency_ids or ()),
                       meeting_kinds=tuple(c.meeting_kinds or ()))


class CaseData:
    """Reads for one signed-in user inside one unit of work (get it from ``case_data(request)``)."""

    def __init__(self, session: AsyncSession, principal: Principal, plugin: str) -> None:
        self._session = session
        self._principal = principal
        self._plugin = plugin

    @property
    def principal(self) -> Principal:
        """The signed-in user (``tenant_id``, ``roles``, ``has_role()``)."""
        return self._principal

    def _visible(self):
        if self._principal.tenant_id is None or self._principal.is_prefecture:
            return False
        return case_access.visible_clause(self._principal)

    async def consent_purposes(self) -> Mapping[str, str]:
        """Every purpose a consent of this municipality may name: Kyosei's, then its plugins', code → label."""
        return await purposes_registry.purpose_labels(self._session)

    async def open_cases(self, *, purpose: str | None = None, offset: int = 0, limit: int = 20) -> Page[CaseView]:
        """Open cases the user may see, newest consultation first; with ``purpose``, only those with a consent
        for it that is valid today. ``limit`` is at most 100."""
        if offset < 0 or not 1 <= limit <= MAX_PAGE:
            raise ValueError(f"offset must be >= 0 and limit between 1 and {MAX_PAGE}")
        visible = self._visible()
        if visible is False:
            return Page(items=(), offset=offset, limit=limit, total=0)
        conditions = [visible, SupportCase.status.in_(OPEN_STATUSES)]
        if purpose is not None:
            conditions.append(exists().where(Consent.tenant_id == SupportCase.tenant_id,
                                             Consent.case_id == SupportCase.id, literal(purpose) == any_(Consent.purposes),
                                             case_access.consent_valid_clause()))
        total = await self._session.scalar(select(func.count()).select_from(SupportCase).where(*conditions))
        cases = list(await self._session.scalars(
            select(SupportCase).where(*conditions)
            .order_by(SupportCase.received_on.desc(), SupportCase.case_number.desc())
            .offset(offset).limit(limit)))
        items = tuple([await self._view(case, purpose) for case in cases])
        return Page(items=items, offset=offset, limit=limit, total=int(total or 0))

    async def case(self, case_id: str | uuid.UUID) -> CaseView:
        """One case the user may see (open or not); ``CaseNotVisible`` otherwise."""
        try:
            wanted = uuid.UUID(str(case_id))
        except ValueError:
            raise CaseNotVisible("ケースが見つかりません。") from None
        visible = self._visible()
        if visible is False:
            raise CaseNotVisible("ケースが見つかりません。")
        case = await self._session.scalar(select(SupportCase).where(SupportCase.id == wanted, visible))
        if case is None:
            raise CaseNotVisible("ケースが見つかりません。")
        return await self._view(case, None)

    async def consents(self, case_id: str | uuid.UUID, *, purpose: str | None = None) -> tuple[ConsentView, ...]:
        """The consents of a visible case that are valid today (of ``purpose`` only, when given)."""
        found = (await self.case(case_id)).consents
        return found if purpose is None else tuple(c for c in found if purpose in c.purposes)

    async def _view(self, case: SupportCase, purpose: str | None) -> CaseView:
        session = self._session
        items = await case_access.readable_items(session, self._principal, case.id)
        await record(session, AuditAction.READ, "case", case.id, reason=f"plugin={self._plugin}")
        household = await session.get(Household, (case.tenant_id, case.household_id))
        rows = (await session.execute(
            select(Person, HouseholdMembership.relationship)
            .join(HouseholdMembership, and_(HouseholdMembership.tenant_id == Person.tenant_id,
                                            HouseholdMembership.person_id == Person.id))
            .where(HouseholdMembership.household_id == case.household_id, HouseholdMembership.valid_to.is_(None))
            .order_by(Person.id))).all()
        members = [PersonView(id=str(p.id), name=p.name, kana=p.kana, relationship=rel, birth_date=p.birth_date)
                   for p, rel in rows]
        members.sort(key=lambda m: (m.id != str(case.person_id), m.kana))
        person = next((m for m in members if m.id == str(case.person_id)), None)
        if person is None:  # 本人 has left the household since: still the case's person
            p = await session.get(Person, (case.tenant_id, case.person_id))
            person = PersonView(id=str(p.id), name=p.name, kana=p.kana, relationship="本人", birth_date=p.birth_date)
        stmt = select(Consent).where(Consent.case_id == case.id, case_access.consent_valid_clause())
        if purpose is not None:
            stmt = stmt.where(literal(purpose) == any_(Consent.purposes))
        labels = await self.consent_purposes()
        consents = tuple(_consent_view(c, labels)
                         for c in await session.scalars(stmt.order_by(Consent.given_on.desc())))
        return CaseView(
            id=str(case.id), case_number=case.case_number, status=case.status,
            status_label=case_schemas.STATUS_LABELS.get(case.status, case.status), received_on=case.received_on,
            fields=tuple(case.fields or ()), person=person,
            household=HouseholdView(id=str(household.id), label=household.label, members=tuple(members)),
            extras=dict(case.extras or {}) if "consultation" in items else {}, consents=consents,
            items=tuple(sorted(items)))


def _plugin_of(path: str) -> str:
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "plugins" and parts[2] else "unknown"


@contextlib.asynccontextmanager
async def case_data(request: Any) -> AsyncIterator[CaseData]:
    """A unit of work for the signed-in user of ``request`` (a plugin page's ``Request``).

    The READ audit entries are committed when the block ends normally; an exception rolls everything back and
    propagates. Do not keep the ``CaseData`` past the block.
    """
    principal = request.scope.get("user")
    if not isinstance(principal, Principal):
        raise PermissionError("case_data() needs a signed-in user")
    async with request.app.state.sessions() as session, session.begin():
        yield CaseData(session, principal, _plugin_of(request.url.path))
