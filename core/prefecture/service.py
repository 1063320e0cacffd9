"""Rules of the prefecture console: roadmap board, back-office schedule, 実態調査 surveys (both sides), tenants.

Prefecture writes run in transactions bound to 390003; the database refuses them otherwise (policies
``prefecture_writes`` and the functions of migration 0009). Tenant-side survey calls run in the tenant's own
transaction and touch only its rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from core import wareki
from core.database import utc_now
from core.prefecture.models import (
    EVENT_KIND_LABELS,
    PHASE_LABELS,
    SUPPORT_KIND_LABELS,
    BackofficeEvent,
    Phase,
    PrefectureSurvey,
    QuestionKind,
    RoadmapPhase,
    RoadmapPlan,
    SurveyAnswer,
    SurveyInvitation,
    SurveyQuestion,
    SupportLogEntry,
    SurveyRecipient,
)
from core.prefecture.seed import ROADMAP_YEARS, event_id, yearly_cycle
from core.prefecture.aggregates import reported_figures
from core.prefecture.survey_items import COUNTS, STANDARD_ITEMS, prefilled
from core.wareki import DATE_FORMS, parse_date, read_fiscal_year
from tenants.registry import Municipality, load_registry


class InputError(Exception):
    """Bad input, with a Japanese message per field."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(errors.values()))
        self.errors = errors


class NotFound(Exception):
    pass


def municipalities() -> list[Municipality]:
    return [m for m in load_registry() if not m.is_prefecture]


def _year(value: str | None, field: str, *, optional: bool = False) -> int | None:
    value = (value or "").strip()
    if not value and optional:
        return None
    year = read_fiscal_year(value)
    if year is None:
        raise InputError({field: "年度を一覧から選んでください。"})
    return year


def _date(value: str | None, field: str, *, optional: bool = False) -> dt.date | None:
    value = (value or "").strip()
    if not value and optional:
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise InputError({field: f"日付は {DATE_FORMS} の形で入力してください。"}) from None


def _text(value: str | None, field: str, label: str, limit: int, *, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InputError({field: f"{label}を入力してください。"})
    if len(value) > limit:
        raise InputError({field: f"{label}は{limit}文字以内で入力してください。"})
    return value


def _uuid(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound() from None


# -- tenants --------------------------------------------------------------------------------------------------
async def tenant_statuses(session: AsyncSession) -> dict[str, str]:
    rows = await session.execute(text("SELECT tenant_id, status FROM tenant"))
    return {code: status for code, status in rows}


# -- roadmap --------------------------------------------------------------------------------------------------
# Phases in which a municipality counts as having its 包括的支援体制 in place (the goal: all 34).
GOAL_PHASES = (Phase.PREPARATION, Phase.IMPLEMENTATION)


@dataclass(frozen=True)
class SupportSummary:
    """What the board shows of a municipality's 後方支援 log."""

    last: SupportLogEntry | None
    entries_this_year: int
    open_follow_ups: int


@dataclass
class Board:
    years: tuple[int, ...]
    phases: dict[tuple[str, int], str]
    plans: dict[str, int | None]
    municipalities: list[Municipality]
    support: dict[str, SupportSummary] = field(default_factory=dict)

    def phase(self, code: str, year: int) -> str:
        return self.phases.get((code, year), Phase.NOT_STARTED)

    def phase_counts(self, year: int) -> Counter:
        return Counter(self.phase(m.code, year) for m in self.municipalities)

    def plan_counts(self) -> Counter:
        return Counter(self.plans.get(m.code) for m in self.municipalities)

    def goal_reached(self, year: int) -> int:
        """Municipalities with a 包括的支援体制 (移行準備事業 or 重層的支援体制整備事業) in ``year``."""
        return sum(1 for m in self.municipalities if self.phase(m.code, year) in GOAL_PHASES)


async def roadmap_board(session: AsyncSession) -> Board:
    """Phases and plan years, with each municipality's 後方支援 read from the log. A phase recorded with a log entry
    is the phase of that entry's 年度 (the log writes it to the board when it is entered)."""
    phases = {(r.municipality_code, r.fiscal_year): r.phase for r in await session.scalars(select(RoadmapPhase))}
    plans = {r.municipality_code: r.revision_fiscal_year for r in await session.scalars(select(RoadmapPlan))}
    years = tuple(sorted({y for _, y in phases} | set(ROADMAP_YEARS) | {fiscal_year_of(wareki.today())}))
    current = fiscal_year_of(wareki.today())
    by_code: dict[str, list[SupportLogEntry]] = {}
    for entry in await support_log(session):
        by_code.setdefault(entry.municipality_code, []).append(entry)
    support = {
        code: SupportSummary(entries[0], sum(1 for e in entries if e.fiscal_year == current),
                             sum(1 for e in entries if e.follow_up_open))
        for code, entries in by_code.items()
    }
    return Board(years, phases, plans, municipalities(), support)


def _known_code(code: str) -> str:
    if code not in {m.code for m in municipalities()}:
        raise NotFound()
    return code


async def set_phase(session: AsyncSession, code: str, year: int, phase: str, actor: str | None) -> None:
    _known_code(code)
    if phase not in PHASE_LABELS:
        raise InputError({"phase": "段階を選んでください。"})
    if not 2000 <= year <= 2100:
        raise InputError({"year": "年度が正しくありません。"})
    row = await session.get(RoadmapPhase, (code, year))
    if row is None:
        session.add(RoadmapPhase(municipality_code=code, fiscal_year=year, phase=phase, updated_by=actor))
    else:
        row.phase, row.updated_by, row.updated_at = phase, actor, utc_now()
    await session.flush()


async def set_plan_year(session: AsyncSession, code: str, value: str | None, actor: str | None) -> int | None:
    _known_code(code)
    year = _year(value, "plan", optional=True)
    row = await session.get(RoadmapPlan, code)
    if row is None:
        session.add(RoadmapPlan(municipality_code=code, revision_fiscal_year=year, updated_by=actor))
    else:
        row.revision_fiscal_year, row.updated_by, row.updated_at = year, actor, utc_now()
    await session.flush()
    return year


# -- 後方支援 log -----------------------------------------------------------------------------------------------
async def support_log(session: AsyncSession, code: str | None = None,
                      fiscal_year: int | None = None) -> list[SupportLogEntry]:
    """Entries, newest first (the prefecture's own rows: only a transaction bound to 390003 sees any)."""
    query = select(SupportLogEntry).order_by(SupportLogEntry.held_on.desc(), SupportLogEntry.created_at.desc())
    if code:
        query = query.where(SupportLogEntry.municipality_code == code)
    if fiscal_year:
        query = query.where(SupportLogEntry.fiscal_year == fiscal_year)
    return list(await session.scalars(query))


async def add_support_entry(session: AsyncSession, form: dict[str, str], actor: str | None) -> SupportLogEntry:
    errors: dict[str, str] = {}
    code = (form.get("municipality_code") or "").strip()
    if code not in {m.code for m in municipalities()}:
        errors["municipality_code"] = "市町村を一覧から選んでください。"
    kind = (form.get("kind") or "").strip()
    if kind not in SUPPORT_KIND_LABELS:
        errors["kind"] = "種類を選んでください。"
    phase = (form.get("phase_after") or "").strip() or None
    if phase is not None and phase not in PHASE_LABELS:
        errors["phase_after"] = "段階を一覧から選んでください。"
    values = {}
    for name, read in (("held_on", lambda: _date(form.get("held_on"), "held_on")),
                       ("topic", lambda: _text(form.get("topic"), "topic", "テーマ", 200)),
                       ("content", lambda: _text(form.get("content"), "content", "内容", 4000, required=False)),
                       ("follow_up", lambda: _text(form.get("follow_up"), "follow_up", "フォローアップ", 2000,
                                                   required=False)),
                       ("follow_up_due", lambda: _date(form.get("follow_up_due"), "follow_up_due", optional=True))):
        try:
            values[name] = read()
        except InputError as exc:
            errors.update(exc.errors)
    if errors:
        raise InputError(errors)
    year = fiscal_year_of(values["held_on"])
    entry = SupportLogEntry(municipality_code=code, kind=kind, fiscal_year=year, phase_after=phase, created_by=actor,
                            **values)
    session.add(entry)
    if phase is not None:  # the board reads the progress from the log: the phase of that 年度 follows the entry
        await set_phase(session, code, year, phase, actor)
    await session.flush()
    return entry


async def complete_follow_up(session: AsyncSession, entry_id: str) -> SupportLogEntry:
    entry = await session.scalar(select(SupportLogEntry).where(SupportLogEntry.id == _uuid(entry_id)))
    if entry is None:
        raise NotFound()
    if entry.follow_up_done_at is None:
        entry.follow_up_done_at = utc_now()
        await session.flush()
    return entry


# -- back-office schedule -------------------------------------------------------------------------------------
async def events(session: AsyncSession, fiscal_year: int) -> list[BackofficeEvent]:
    return list(await session.scalars(
        select(BackofficeEvent).where(BackofficeEvent.fiscal_year == fiscal_year)
        .order_by(BackofficeEvent.starts_on, BackofficeEvent.title)
    ))


async def event_years(session: AsyncSession) -> list[int]:
    return sorted(set(await session.scalars(select(BackofficeEvent.fiscal_year).distinct())))


def _event_values(form: dict[str, str]) -> dict:
    kind = (form.get("kind") or "").strip()
    if kind not in EVENT_KIND_LABELS:
        raise InputError({"kind": "種類を選んでください。"})
    starts_on = _date(form.get("starts_on"), "starts_on")
    ends_on = _date(form.get("ends_on"), "ends_on", optional=True)
    if ends_on and ends_on < starts_on:
        raise InputError({"ends_on": "終了日は開始日以降にしてください。"})
    return dict(
        kind=kind,
        title=_text(form.get("title"), "title", "名称", 200),
        starts_on=starts_on,
        ends_on=ends_on,
        participants=_text(form.get("participants"), "participants", "参加者", 2000, required=False),
        materials=_text(form.get("materials"), "materials", "資料", 4000, required=False),
        note=_text(form.get("note"), "note", "内容", 4000, required=False),
    )


def fiscal_year_of(day: dt.date) -> int:
    return day.year if day.month >= 4 else day.year - 1


async def add_event(session: AsyncSession, form: dict[str, str]) -> BackofficeEvent:
    values = _event_values(form)
    event = BackofficeEvent(fiscal_year=fiscal_year_of(values["starts_on"]), **values)
    session.add(event)
    await session.flush()
    return event


async def get_event(session: AsyncSession, event_id_: str) -> BackofficeEvent:
    event = await session.get(BackofficeEvent, _uuid(event_id_))
    if event is None:
        raise NotFound()
    return event


async def update_event(session: AsyncSession, event_id_: str, form: dict[str, str]) -> BackofficeEvent:
    event = await get_event(session, event_id_)
    values = _event_values(form)
    for key, value in values.items():
        setattr(event, key, value)
    event.fiscal_year = fiscal_year_of(values["starts_on"])
    event.updated_at = utc_now()
    await session.flush()
    return event


async def delete_event(session: AsyncSession, event_id_: str) -> None:
    event = await get_event(session, event_id_)
    await session.delete(event)
    await session.flush()


async def copy_yearly_cycle(session: AsyncSession, fiscal_year: int) -> int:
    """Add the standard yearly cycle to ``fiscal_year``; events already there are kept. Returns how many added."""
    added = 0
    for position, values in enumerate(yearly_cycle(fiscal_year)):
        key = event_id(fiscal_year, position)
        if await session.get(BackofficeEvent, key) is None:
            session.add(BackofficeEvent(id=key, fiscal_year=fiscal_year, **values))
            added += 1
    await session.flush()
    return added


# -- surveys: the prefecture's side ---------------------------------------------------------------------------
async def surveys(session: AsyncSession) -> list[PrefectureSurvey]:
    return list(await session.scalars(select(PrefectureSurvey).order_by(PrefectureSurvey.created_at.desc())))


async def create_survey(session: AsyncSession, form: dict[str, str], actor: str | None) -> PrefectureSurvey:
    survey = PrefectureSurvey(
        title=_text(form.get("title"), "title", "調査名", 200),
        description=_text(form.get("description"), "description", "説明", 4000, required=False),
        fiscal_year=_year(form.get("fiscal_year"), "fiscal_year"),
        due_on=_date(form.get("due_on"), "due_on", optional=True),
        status="draft",
        created_by=actor,
    )
    session.add(survey)
    await session.flush()
    return survey


async def get_survey(session: AsyncSession, survey_id: str) -> PrefectureSurvey:
    survey = await session.get(PrefectureSurvey, _uuid(survey_id))
    if survey is None:
        raise NotFound()
    return survey


async def questions(session: AsyncSession, survey_id: uuid.UUID) -> list[SurveyQuestion]:
    return list(await session.scalars(
        select(SurveyQuestion).where(SurveyQuestion.survey_id == survey_id).order_by(SurveyQuestion.position)
    ))


async def add_question(session: AsyncSession, survey: PrefectureSurvey, form: dict[str, str]) -> SurveyQuestion:
    if survey.status != "draft":
        raise InputError({"label": "送付済みの調査には設問を追加できません。"})
    kind = (form.get("kind") or "").strip()
    if kind not in {k.value for k in QuestionKind}:
        raise InputError({"kind": "設問の種類を選んでください。"})
    choices = [c.strip() for c in (form.get("choices") or "").splitlines() if c.strip()]
    if kind == QuestionKind.CHOICE and len(choices) < 2:
        raise InputError({"choices": "選択肢を2つ以上、1行に1つずつ入力してください。"})
    existing = await questions(session, survey.id)
    question = SurveyQuestion(
        survey_id=survey.id,
        position=len(existing) + 1,
        kind=kind,
        label=_text(form.get("label"), "label", "設問", 300),
        choices=choices if kind == QuestionKind.CHOICE else [],
        required=form.get("required") in ("1", "on", "true"),
    )
    session.add(question)
    await session.flush()
    return question


async def send_survey(session: AsyncSession, survey: PrefectureSurvey, codes: list[str]) -> int:
    """Deliver to the given active tenants (all active municipalities when ``codes`` is empty)."""
    if not await questions(session, survey.id):
        raise InputError({"send": "設問のない調査は送付できません。"})
    if survey.status == "closed":
        raise InputError({"send": "締め切った調査は送付できません。"})
    active = [c for c, s in (await tenant_statuses(session)).items() if s == "active"]
    unknown = [c for c in codes if c not in active]
    if unknown:  # typed or tampered codes never reach the database function
        raise InputError({"codes": "送付先には、利用中の市町村を一覧から選んでください。"})
    codes = codes or active
    added = (await session.execute(
        text("SELECT survey_send(:id, CAST(:codes AS varchar[]))"), {"id": survey.id, "codes": codes}
    )).scalar_one()
    await session.refresh(survey)
    return added


async def close_survey(session: AsyncSession, survey: PrefectureSurvey) -> None:
    survey.status = "closed"
    await session.flush()


async def add_standard_items(session: AsyncSession, survey: PrefectureSurvey) -> int:
    """Add the yearly 実態調査's standard items (those not there yet). Returns how many were added."""
    if survey.status != "draft":
        raise InputError({"label": "送付済みの調査には設問を追加できません。"})
    existing = await questions(session, survey.id)
    have = {q.label for q in existing}
    added = 0
    for item in STANDARD_ITEMS:
        if item.label in have:
            continue
        session.add(SurveyQuestion(survey_id=survey.id, position=len(existing) + added + 1, kind=item.kind,
                                   label=item.label, choices=list(item.choices), required=False, prefill=item.prefill))
        added += 1
    await session.flush()
    return added


def link_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def invitations(session: AsyncSession, survey: PrefectureSurvey) -> list[SurveyInvitation]:
    return list(await session.scalars(
        select(SurveyInvitation).where(SurveyInvitation.survey_id == survey.id)
        .order_by(SurveyInvitation.municipality_code)))


async def invite_by_link(session: AsyncSession, survey: PrefectureSurvey, code: str, actor: str | None) -> str:
    """A one-time link for a municipality that has no account here. Returns the link's secret: shown once, only
    its hash is kept. A new link for the same municipality replaces an unanswered one (the old stops working)."""
    if survey.status != "sent":
        raise InputError({"link_code": "回答用リンクは、調査を送付してから発行できます。"})
    names = {m.code: m.name for m in municipalities()}
    if code not in names:
        raise InputError({"link_code": "市町村を一覧から選んでください。"})
    if (await tenant_statuses(session)).get(code) == "active":
        raise InputError({"link_code": f"{names[code]}は利用中の団体です。送付先に選んでください（画面から回答します）。"})
    token = secrets.token_urlsafe(32)
    existing = await session.scalar(select(SurveyInvitation).where(
        SurveyInvitation.survey_id == survey.id, SurveyInvitation.municipality_code == code))
    if existing is not None and existing.answered_at is not None:
        raise InputError({"link_code": f"{names[code]}はすでに回答しています。"})
    if existing is None:
        session.add(SurveyInvitation(survey_id=survey.id, municipality_code=code, token_hash=link_hash(token),
                                     created_by=actor))
    else:
        existing.token_hash, existing.created_by, existing.created_at = link_hash(token), actor, utc_now()
    await session.flush()
    return token


# -- surveys: a municipality answering by one-time link (no account, no tenant bound) -------------------------
@dataclass
class LinkSurvey:
    survey: PrefectureSurvey
    questions: list[SurveyQuestion]
    municipality: str
    answered_at: dt.datetime | None
    answers: dict[str, str]

    @property
    def open(self) -> bool:
        return self.answered_at is None and self.survey.status == "sent" and not past_due(self.survey)


def past_due(survey: PrefectureSurvey) -> bool:
    return survey.due_on is not None and wareki.today() > survey.due_on


async def open_link(session: AsyncSession, token: str) -> LinkSurvey:
    row = (await session.execute(
        text("SELECT survey_id, municipality_code, answered_at, answers FROM survey_link_open(:token)"),
        {"token": token[:200]})).first()
    if row is None:
        raise NotFound()
    survey = await get_survey(session, str(row.survey_id))
    names = {m.code: m.name for m in municipalities()}
    return LinkSurvey(survey, await questions(session, survey.id), names.get(row.municipality_code, ""),
                      row.answered_at, dict(row.answers or {}))


class LinkClosed(Exception):
    """The link was answered already, or the survey is closed or past its deadline."""


async def answer_link(session: AsyncSession, token: str, form: dict[str, str]) -> LinkSurvey:
    link = await open_link(session, token)
    if not link.open:
        raise LinkClosed()
    errors: dict[str, str] = {}
    answers: dict[str, str] = {}
    for question in link.questions:
        try:
            answers[str(question.id)] = _answer_value(question, form.get(f"q-{question.id}"))
        except InputError as exc:
            errors.update(exc.errors)
    try:
        responder = _text(form.get("responder"), "responder", "回答者（担当課）", 100)
    except InputError as exc:
        errors.update(exc.errors)
    if errors:
        raise InputError(errors)
    try:
        async with session.begin_nested():
            await session.execute(text("SELECT survey_link_answer(:token, CAST(:answers AS jsonb), :responder)"),
                                  {"token": token, "answers": json.dumps(answers), "responder": responder})
    except DBAPIError as exc:  # answered or closed in the meantime (the function decides, under a row lock)
        raise LinkClosed() from exc
    return link


@dataclass
class Results:
    recipients: list[dict]  # tenant_id, name, sent_at, submitted_at
    answers: dict[uuid.UUID, dict[str, str | None]]  # question -> tenant -> value (None: hidden, a small count)

    @property
    def submitted(self) -> int:
        return sum(1 for r in self.recipients if r["submitted_at"])


async def survey_results(session: AsyncSession, survey: PrefectureSurvey) -> Results:
    """Who was asked and what they answered: tenants (through ``survey_responses``/``survey_answers``, submitted
    answers only) and municipalities asked by one-time link (the prefecture's own rows). An answer that is a count
    of people (a standard item pre-filled by a protected count definition) is disclosure-controlled like the
    aggregates (``core.prefecture.aggregates.reported_figures``): ``None`` where hidden."""
    names = {m.code: m.name for m in municipalities()}
    recipients = [
        {"tenant_id": t, "name": names.get(t, t), "sent_at": sent, "submitted_at": submitted, "by_link": False}
        for t, sent, submitted in await session.execute(
            text("SELECT tenant_id, sent_at, submitted_at FROM survey_responses(:id)"), {"id": survey.id}
        )
    ]
    answers: dict[uuid.UUID, dict[str, str]] = {}
    for t, question_id, value in await session.execute(
        text("SELECT tenant_id, question_id, value FROM survey_answers(:id)"), {"id": survey.id}
    ):
        answers.setdefault(question_id, {})[t] = value
    for invitation in await invitations(session, survey):
        recipients.append({"tenant_id": invitation.municipality_code, "name": names.get(invitation.municipality_code),
                           "sent_at": invitation.created_at, "submitted_at": invitation.answered_at, "by_link": True})
        if invitation.answered_at:
            for question_id, value in invitation.answers.items():
                answers.setdefault(uuid.UUID(question_id), {})[invitation.municipality_code] = value
    codes = [m.code for m in municipalities()]
    for question in await questions(session, survey.id):
        if question.kind == QuestionKind.NUMBER and question.prefill in COUNTS and question.id in answers:
            given = {code: float(v) for code, v in answers[question.id].items() if v}
            shown = await reported_figures(session, survey.fiscal_year, question.prefill, codes, given)
            answers[question.id] = {code: v if shown.get(code, 0) is not None else None
                                    for code, v in answers[question.id].items()}
    return Results(recipients, answers)


def summarise(question: SurveyQuestion, values: dict[str, str | None]) -> dict:
    """Per question: choice → how many municipalities; number → sum, mean, min, max; text → the answers. A number
    question with a hidden answer (``None``) gets only how many answered: a sum, mean, minimum or maximum would
    give the hidden figure back."""
    given = [v for v in values.values() if v != ""]
    if question.kind == QuestionKind.CHOICE:
        counts = Counter(given)
        return {"counts": [(c, counts.get(c, 0)) for c in question.choices]}
    if question.kind == QuestionKind.NUMBER:
        if any(v is None for v in given):
            return {"n": len(given), "hidden": True}
        numbers = [float(v) for v in given if v is not None]
        if not numbers:
            return {"n": 0}
        return {"n": len(numbers), "sum": sum(numbers), "mean": sum(numbers) / len(numbers),
                "min": min(numbers), "max": max(numbers)}
    return {"n": len(given)}


# -- surveys: the municipality's side -------------------------------------------------------------------------
async def delivered_surveys(session: AsyncSession) -> list[tuple[PrefectureSurvey, SurveyRecipient]]:
    """Surveys sent to the caller's tenant (row-level security limits the deliveries to its own)."""
    rows = await session.execute(
        select(PrefectureSurvey, SurveyRecipient)
        .join(SurveyRecipient, SurveyRecipient.survey_id == PrefectureSurvey.id)
        .order_by(SurveyRecipient.sent_at.desc())
    )
    return [(s, r) for s, r in rows]


async def delivered_survey(session: AsyncSession, survey_id: str) -> tuple[PrefectureSurvey, SurveyRecipient]:
    key = _uuid(survey_id)
    recipient = await session.scalar(select(SurveyRecipient).where(SurveyRecipient.survey_id == key))
    if recipient is None:  # not sent to this municipality (or someone else's id): does not exist for it
        raise NotFound()
    return await get_survey(session, survey_id), recipient


async def prefill(session: AsyncSession, survey: PrefectureSurvey, survey_questions: list[SurveyQuestion],
                  code: str) -> dict[uuid.UUID, str]:
    """Values from the municipality's own records for the pre-fillable questions (its transaction, its rows)."""
    return await prefilled(session, survey_questions, survey.fiscal_year, code)


async def my_answers(session: AsyncSession, survey_id: uuid.UUID) -> dict[uuid.UUID, str]:
    return {a.question_id: a.value for a in await session.scalars(
        select(SurveyAnswer).where(SurveyAnswer.survey_id == survey_id))}


def _answer_value(question: SurveyQuestion, raw: str | None) -> str:
    value = (raw or "").strip()
    field = f"q-{question.id}"
    if not value:
        if question.required:
            raise InputError({field: f"「{question.label}」は必須です。"})
        return ""
    if question.kind == QuestionKind.NUMBER:
        try:
            number = float(value.replace(",", ""))
        except ValueError:
            number = math.nan
        if not math.isfinite(number):  # float() reads "nan", "inf" and "1e999" too, which no count is
            raise InputError({field: f"「{question.label}」には数値を入力してください。"})
        return f"{number:g}" if number != int(number) else str(int(number))
    if question.kind == QuestionKind.CHOICE and value not in question.choices:
        raise InputError({field: f"「{question.label}」の選択肢から選んでください。"})
    if len(value) > 4000:
        raise InputError({field: f"「{question.label}」は4000文字以内で入力してください。"})
    return value


async def save_answers(session: AsyncSession, survey_id: str, form: dict[str, str], actor: str | None,
                       *, submit: bool) -> None:
    survey, recipient = await delivered_survey(session, survey_id)
    if survey.status == "closed":
        raise InputError({"survey": "この調査は締め切られました。"})
    existing = {a.question_id: a for a in await session.scalars(
        select(SurveyAnswer).where(SurveyAnswer.survey_id == survey.id))}
    errors: dict[str, str] = {}
    for question in await questions(session, survey.id):
        try:
            value = _answer_value(question, form.get(f"q-{question.id}")) if submit else (
                (form.get(f"q-{question.id}") or "").strip()[:4000])
            if not submit and question.kind != QuestionKind.TEXT and value:
                value = _answer_value(question, value)
        except InputError as exc:
            errors.update(exc.errors)
            continue
        row = existing.get(question.id)
        if row is None:
            session.add(SurveyAnswer(survey_id=survey.id, question_id=question.id, value=value, answered_by=actor))
        else:
            row.value, row.answered_by, row.updated_at = value, actor, utc_now()
    if errors:
        raise InputError(errors)
    if submit:
        await session.execute(
            update(SurveyRecipient).where(SurveyRecipient.survey_id == survey.id)
            .values(submitted_at=utc_now(), submitted_by=actor)
        )
    await session.flush()

