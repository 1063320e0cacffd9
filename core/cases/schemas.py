"""Input and output of the case domain: code lists with their Japanese words, msgspec DTOs, and the checks.

Both doors (``core/cases/api.py`` for JSON, ``ui/cases`` for forms) hand a plain mapping to the same ``parse_*``
function, so a person sees the same Japanese words for the same mistake in problem+json
(``errors: [{field, message}]``) and on a re-rendered form. Every ``parse_*`` collects all mistakes, then raises
``ValidationFailed``; nothing is written before parsing succeeded.

Rules worth knowing:
- names (氏名, 世帯名, 機関名 …) refuse emoji and control characters; free text (相談内容, 記録) allows emoji;
- ふりがな takes hiragana/katakana, spaces and ー only (half-width kana and full-width spaces are normalised);
- dates are ISO ``YYYY-MM-DD``; birth dates and record dates cannot be in the future;
- every text has a maximum length (free text 4,000 characters).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec

from core.businesses import BUSINESS_NAMES as BUSINESS_LABELS
from core.cases.assessment_sheet import read_sections
from core.field_input import FieldReader, InputInvalid, parse_json_object
from core.text_rules import has_control_character, has_emoji
from core.wareki import DATE_FORMS, parse_date, today

# -- code lists -------------------------------------------------------------------------------------------------

STATUS_LABELS: dict[str, str] = {
    "intake": "受付",
    "assessment": "アセスメント",
    "planning": "プラン作成",
    "decided": "支援決定",
    "supporting": "支援中",
    "evaluation": "評価",
    "closed": "終結",
    "suspended": "中断",
}
FIELD_LABELS: dict[str, str] = {"elderly": "高齢", "disability": "障害", "child": "子ども", "poverty": "生活困窮"}
ROUTE_LABELS: dict[str, str] = {
    "counter": "窓口",
    "phone": "電話",
    "visit": "訪問",
    "outreach": "アウトリーチ",
    "referral": "関係機関からの紹介",
}
# The national intake form's checklist (相談受付・申込票), in its order.
PROBLEM_LABELS: dict[str, str] = {
    "health": "病気・けが・障害",
    "housing": "住まい",
    "income": "収入・生活費",
    "rent_loan": "家賃・ローン等の支払い",
    "tax_utility": "税金・公共料金等の支払い",
    "debt": "債務",
    "job_search": "仕事探し・就職",
    "work_trouble": "仕事上の不安・トラブル",
    "family": "家族との関係",
    "childrearing": "子育て",
    "care": "介護",
    "withdrawal": "ひきこもり・不登校",
    "abuse": "DV・虐待",
    "no_food": "食べるものがない",
    "other": "その他",
}
SEX_LABELS: dict[str, str] = {"female": "女性", "male": "男性", "other": "その他", "unknown": "不明・回答なし"}
SUGGESTED_TAGS: tuple[str, ...] = ("8050", "ダブルケア", "ひきこもり", "ごみ屋敷")
RECORD_KIND_LABELS: dict[str, str] = {
    "visit": "訪問",
    "interview": "面談",
    "phone": "電話",
    "meeting": "会議",
    "coordination": "関係機関との調整",
    "other": "その他",
}
ACHIEVEMENT_LABELS: dict[str, str] = {"achieved": "達成", "partly": "一部達成", "not_achieved": "未達成"}
NEXT_STEP_LABELS: dict[str, str] = {"continue": "支援継続", "replan": "プラン見直し", "close": "終結に向けて"}
# Meeting kinds a consent may name. Plugins' own kinds (e.g. Nakatosa's network meeting) are accepted by code.
MEETING_KIND_LABELS: dict[str, str] = {
    "support_meeting": "支援会議（社会福祉法第106条の6）",
    "multilayer_meeting": "重層的支援会議",
    "core_meeting": "コア会議",
    "network_meeting": "ネットワーク会議",
    "community_meeting": "地域づくりの会議",
}
# What a consent lets others see (the item scope applied at read time by core.cases.access). 基本情報 is always
# part of a consent: sharing a case at all says whose it is.
INFO_ITEM_LABELS: dict[str, str] = {
    "basic": "基本情報（氏名・連絡先・世帯）",
    "consultation": "相談内容",
    "assessment": "アセスメント",
    "plan": "プラン",
    "records": "支援経過記録・評価",
}
CONSENT_METHOD_LABELS: dict[str, str] = {"written": "書面", "oral": "口頭"}
REFERRAL_STATUS_LABELS: dict[str, str] = {"pending": "回答待ち", "accepted": "受諾", "declined": "辞退"}
ASSIGNEE_ROLE_LABELS: dict[str, str] = {"main": "主担当", "sub": "副担当"}

MAX_NAME = 100
MAX_SHORT = 200
MAX_REASON = 1000
MAX_FREE_TEXT = 4000
MAX_TAGS = 20
MAX_TAG = 40
MAX_MEMBERS = 20


# -- errors -----------------------------------------------------------------------------------------------------


class ValidationFailed(InputInvalid):
    """Bad input to the case domain (answered as problem+json 422, or 400 when the body is unreadable)."""


def parse_json_body(raw: bytes) -> dict[str, Any]:
    return parse_json_object(raw, ValidationFailed)


# -- characters -------------------------------------------------------------------------------------------------

_KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30fa\u30fc ]+")
_SLUG = re.compile(r"[a-z][a-z0-9_-]{0,39}")


# -- the reader -------------------------------------------------------------------------------------------------


class Reader(FieldReader):
    """Reads one mapping (JSON object or form) of the case domain, collecting every error."""

    invalid = ValidationFailed

    def text(self, name: str, label: str, max_length: int, *, required: bool = False, free: bool = False) -> str | None:
        """``free``: multi-line free text where emoji are allowed; otherwise a one-line name-like value."""
        return super().text(name, label, max_length, required=required, multiline=free, allow_emoji=free)

    def kana(self, name: str, label: str = "ふりがな", *, required: bool = True) -> str | None:
        value = self.text(name, label, MAX_NAME, required=required)
        if value is None:
            return None
        normal = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", value)).strip()
        if not _KANA.fullmatch(normal):
            if re.search(r"[\u4e00-\u9fff\u3400-\u4dbf\u3005\uf900-\ufaff]", normal):
                self.fail(name, f"{label}に漢字は使えません。ひらがなかカタカナで入力してください。")
            else:
                self.fail(name, f"{label}は、ひらがな・カタカナ・スペース・長音記号（ー）だけで入力してください。")
            return None
        return value  # stored as typed (ﾔﾏﾀﾞ stays ﾔﾏﾀﾞ); search compares keys (core.text_rules.search_key)

    # dates ------------------------------------------------------------------------------------------------------
    def date(self, name: str, label: str, *, required: bool = False, not_future: bool = False,
             earliest: dt.date | None = None) -> dt.date | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"{label}を入力してください。")
            return None
        try:
            day = parse_date(value)
        except ValueError:
            self.fail(name, f"{label}は {DATE_FORMS} の形で入力してください。")
            return None
        if day.year < 1900:
            self.fail(name, f"{label}は1900年以降の日付を入力してください。")
            return None
        if not_future and day > today():
            self.fail(name, f"{label}に未来の日付は入力できません。")
            return None
        if earliest is not None and day < earliest:
            self.fail(name, f"{label}は{earliest.isoformat()}以降の日付を入力してください。")
            return None
        return day

    # choices ----------------------------------------------------------------------------------------------------
    def _list(self, name: str, label: str) -> list[Any] | None:
        value = self.data.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, (str, int)) and not isinstance(value, bool):
            return [value]
        if not isinstance(value, list):
            self.fail(name, f"{label}は一覧（配列）で指定してください。")
            return None
        return value

    def choices(self, name: str, label: str, choices: Mapping[str, str]) -> list[str]:
        values = self._list(name, label)
        if values is None:
            return []
        bad = [v for v in values if not isinstance(v, str) or v not in choices]
        if bad:
            allowed = "、".join(f"{code}（{text}）" for code, text in choices.items())
            self.fail(name, f"{label}に選べない値があります。次から選んでください: {allowed}")
            return []
        return list(dict.fromkeys(values))

    def slugs(self, name: str, label: str) -> list[str]:
        """Codes such as meeting kinds: known ones or a plugin's own (lower-case letters, digits, _ and -)."""
        values = self._list(name, label)
        if values is None:
            return []
        if any(not isinstance(v, str) or not _SLUG.fullmatch(v) for v in values):
            self.fail(name, f"{label}の値が正しくありません（英小文字・数字・_・- のコードで指定してください）。")
            return []
        return list(dict.fromkeys(values))

    def tags(self, name: str = "tags", label: str = "タグ") -> list[str]:
        values = self._list(name, label)
        if values is None:
            return []
        # A form sends one text box of tags separated by commas or spaces; JSON sends a list.
        words: list[str] = []
        for v in values:
            if not isinstance(v, str):
                self.fail(name, f"{label}は文字で指定してください。")
                return []
            words.extend(w for w in re.split(r"[,、，\s]+", v) if w)
        cleaned: list[str] = []
        for word in words:
            word = unicodedata.normalize("NFKC", word).lstrip("#＃")
            if not word:
                continue
            if has_emoji(word) or has_control_character(word):
                self.fail(name, f"{label}に絵文字や制御文字は使えません。")
                return []
            if len(word) > MAX_TAG:
                self.fail(name, f"{label}は1つ{MAX_TAG}文字以内で入力してください。")
                return []
            cleaned.append(word)
        cleaned = list(dict.fromkeys(cleaned))
        if len(cleaned) > MAX_TAGS:
            self.fail(name, f"{label}は{MAX_TAGS}個までです。")
            return []
        return cleaned

    def boolean(self, name: str, label: str) -> bool | None:
        value = self.data.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "on", "yes", "1", "あり"):
            return True
        if isinstance(value, str) and value.lower() in ("false", "off", "no", "0", "なし"):
            return False
        self.fail(name, f"{label}は true か false で指定してください。")
        return None

    def uuid(self, name: str, label: str, *, required: bool = False) -> uuid.UUID | None:
        value = self.raw(name)
        if value is None:
            if required:
                self.fail(name, f"{label}を選んでください。")
            return None
        try:
            return uuid.UUID(str(value)) if isinstance(value, str) else _raise()
        except (ValueError, TypeError):
            self.fail(name, f"{label}の指定が正しくありません。")
            return None

    def uuids(self, name: str, label: str) -> list[uuid.UUID]:
        values = self._list(name, label)
        if values is None:
            return []
        try:
            return list(dict.fromkeys(uuid.UUID(v) for v in values if isinstance(v, str) or _raise()))
        except (ValueError, TypeError):
            self.fail(name, f"{label}の指定が正しくありません。")
            return []

    def objects(self, name: str, label: str, maximum: int) -> list[Mapping[str, Any]]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or any(not isinstance(v, Mapping) for v in value):
            self.fail(name, f"{label}はオブジェクトの一覧で指定してください。")
            return []
        if len(value) > maximum:
            self.fail(name, f"{label}は{maximum}件までです。")
            return []
        return value


def _raise():
    raise TypeError


# -- DTOs (validated input) -------------------------------------------------------------------------------------


class PersonIn(msgspec.Struct, kw_only=True):
    """個人 (世帯員): 氏名 and ふりがな are required."""

    name: str
    kana: str
    relationship: str = "本人"
    birth_date: dt.date | None = None
    sex: str | None = None
    address: str | None = None
    phone: str | None = None
    contact_note: str | None = None


class IntakeIn(msgspec.Struct, kw_only=True):
    """相談受付・申込票. ``members[0]`` is the resident the consultation is about (本人) unless ``person_id`` names an
    existing person; ``household_id`` adds the case to an existing household."""

    received_on: dt.date
    receiving_staff: str
    route: str
    receiving_agency_id: uuid.UUID | None = None
    household_id: uuid.UUID | None = None
    household_label: str | None = None
    household_address: str | None = None
    person_id: uuid.UUID | None = None
    members: list[PersonIn] = []
    visitor_name: str | None = None
    visitor_relation: str | None = None
    problems: list[str] = []
    problem_other: str | None = None
    fields: list[str] = []
    tags: list[str] = []
    summary: str | None = None
    consent_given: bool = False
    lead_business: str = "consultation"  # the 事業 that took the case up (core.grants.reference.Business)
    businesses: list[str] = []  # every 事業 involved, the lead one included


class ConsentIn(msgspec.Struct, kw_only=True):
    given_on: dt.date
    purposes: list[str]  # codes of core.cases.consent_purposes (checked against the tenant's list when recorded)
    purpose: str = ""  # a note in the resident's own words, beside the codes
    expires_on: dt.date | None = None
    person_id: uuid.UUID | None = None
    agency_ids: list[uuid.UUID] = []
    meeting_kinds: list[str] = []
    items: list[str] = []
    method: str | None = None


class AssessmentItemIn(msgspec.Struct, kw_only=True):
    person_id: uuid.UUID
    problem: str
    field: str | None = None


class AssessmentIn(msgspec.Struct, kw_only=True):
    assessed_on: dt.date
    summary: str | None = None
    items: list[AssessmentItemIn] = []
    sections: dict[str, str] = {}  # the national sheet's items (core.cases.assessment_sheet.SECTIONS)


class PlanRoleIn(msgspec.Struct, kw_only=True):
    role: str
    agency_id: uuid.UUID | None = None
    actions: str | None = None


class PlanIn(msgspec.Struct, kw_only=True):
    goals: str
    review_on: dt.date | None = None
    roles: list[PlanRoleIn] = []
    issue_ids: list[uuid.UUID] = []  # the assessment items (課題) the plan addresses


class RecordIn(msgspec.Struct, kw_only=True):
    recorded_on: dt.date
    kind: str
    body: str
    agency_id: uuid.UUID | None = None


class EvaluationIn(msgspec.Struct, kw_only=True):
    evaluated_on: dt.date
    achievement: str
    summary: str
    next_step: str


class AgencyIn(msgspec.Struct, kw_only=True):
    name: str
    kind: str | None = None
    field: str | None = None
    contact: str | None = None


class ReferralIn(msgspec.Struct, kw_only=True):
    to_agency_id: uuid.UUID
    reason: str
    from_agency_id: uuid.UUID | None = None


# -- parsers ----------------------------------------------------------------------------------------------------


def _person(r: Reader, *, relationship_required: bool) -> PersonIn | None:
    name = r.text("name", "氏名", MAX_NAME, required=True)
    kana = r.kana("kana")
    relationship = r.text("relationship", "続柄", 40, required=relationship_required) or "本人"
    birth = r.date("birth_date", "生年月日", not_future=True)
    sex = r.choice("sex", "性別", SEX_LABELS)
    address = r.text("address", "住所", MAX_SHORT)
    phone = r.text("phone", "電話番号", 40)
    if phone is not None and not re.fullmatch(r"[0-9０-９()（）\-‐－ +＋]+", phone):
        r.fail("phone", "電話番号は数字と - ( ) + だけで入力してください。")
    contact = r.text("contact_note", "その他の連絡先", MAX_SHORT)
    if name is None or kana is None:
        return None
    return PersonIn(name=name, kana=kana, relationship=relationship, birth_date=birth, sex=sex, address=address,
                    phone=phone, contact_note=contact)


def parse_person(data: Mapping[str, Any], *, relationship_required: bool = True) -> PersonIn:
    r = Reader(data)
    person = _person(r, relationship_required=relationship_required)
    r.done()
    assert person is not None
    return person


def parse_intake(data: Mapping[str, Any]) -> IntakeIn:
    r = Reader(data)
    received_on = r.date("received_on", "受付日", required=True, not_future=True)
    staff = r.text("receiving_staff", "受付者", MAX_NAME, required=True)
    route = r.choice("route", "相談経路", ROUTE_LABELS, required=True)
    agency_id = r.uuid("receiving_agency_id", "受付機関")
    household_id = r.uuid("household_id", "世帯")
    person_id = r.uuid("person_id", "本人")
    label = r.text("household_label", "世帯の呼び名", MAX_NAME)
    household_address = r.text("household_address", "世帯の住所", MAX_SHORT)
    members: list[PersonIn] = []
    raw_members = r.objects("members", "世帯員", MAX_MEMBERS)
    if not raw_members and person_id is None:
        r.fail("members", "相談者本人（氏名・ふりがな）を入力してください。")
    for i, raw in enumerate(raw_members):
        member = _person(Reader(raw, f"members[{i}].", r.errors), relationship_required=i > 0)
        if member is not None:
            members.append(member)
    visitor = r.text("visitor_name", "来談者の氏名", MAX_NAME)
    relation = r.text("visitor_relation", "来談者と本人の関係", 40)
    if visitor and not relation:
        r.fail("visitor_relation", "本人以外の方が来談したときは、本人との関係を入力してください。")
    problems = r.choices("problems", "相談内容（チェック項目）", PROBLEM_LABELS)
    other = r.text("problem_other", "その他の内容", MAX_SHORT)
    fields = r.choices("fields", "分野", FIELD_LABELS)
    tags = r.tags()
    summary = r.text("summary", "相談内容", MAX_FREE_TEXT, free=True)
    consent = r.boolean("consent_given", "情報共有への同意")
    lead_business = r.choice("lead_business", "受け付けた事業", BUSINESS_LABELS) or "consultation"
    businesses = r.choices("businesses", "関わる事業", BUSINESS_LABELS)
    r.done()
    return IntakeIn(
        received_on=received_on, receiving_staff=staff, route=route, receiving_agency_id=agency_id,  # type: ignore[arg-type]
        household_id=household_id, household_label=label, household_address=household_address, person_id=person_id,
        members=members, visitor_name=visitor, visitor_relation=relation, problems=problems, problem_other=other,
        fields=fields, tags=tags, summary=summary, consent_given=bool(consent),
        lead_business=lead_business, businesses=list(dict.fromkeys([lead_business, *businesses])),
    )


def parse_consent(data: Mapping[str, Any]) -> ConsentIn:
    r = Reader(data)
    given = r.date("given_on", "同意日", required=True, not_future=True)
    expires = r.date("expires_on", "有効期限")
    if given and expires and expires < given:
        r.fail("expires_on", "有効期限は同意日以降の日付にしてください。")
    purposes = r.slugs("purposes", "利用目的")
    purpose = r.text("purpose", "利用目的の補足", 500, free=True) or ""
    if not purposes and purpose:
        purposes = ["information_sharing"]  # a client of API 1.0 sends only the text: 関係機関との情報共有
    if not purposes:
        r.fail("purposes", "利用目的を、少なくとも1つ選んでください。")
    person_id = r.uuid("person_id", "同意した方")
    agencies = r.uuids("agency_ids", "共有先の機関")
    kinds = r.slugs("meeting_kinds", "共有してよい会議")
    items = r.choices("items", "共有してよい情報", INFO_ITEM_LABELS)
    method = r.choice("method", "同意の方法", CONSENT_METHOD_LABELS)
    if not agencies and not kinds:
        r.fail("agency_ids", "共有先の機関か会議を、少なくとも1つ選んでください。")
    r.done()
    items = list(dict.fromkeys(["basic", *items])) if items else list(INFO_ITEM_LABELS)
    return ConsentIn(given_on=given, purposes=purposes, purpose=purpose, expires_on=expires,  # type: ignore[arg-type]
                     person_id=person_id, agency_ids=agencies, meeting_kinds=kinds, items=items, method=method)


def parse_assessment(data: Mapping[str, Any]) -> AssessmentIn:
    r = Reader(data)
    day = r.date("assessed_on", "アセスメント日", required=True, not_future=True)
    summary = r.text("summary", "見立て・総合所見", MAX_FREE_TEXT, free=True)
    items: list[AssessmentItemIn] = []
    for i, raw in enumerate(r.objects("items", "世帯員ごとの課題", 50)):
        ir = Reader(raw, f"items[{i}].", r.errors)
        person = ir.uuid("person_id", "世帯員", required=True)
        problem = ir.text("problem", "課題", MAX_REASON, required=True, free=True)
        field = ir.choice("field", "分野", FIELD_LABELS)
        if person and problem:
            items.append(AssessmentItemIn(person_id=person, problem=problem, field=field))
    sections = read_sections(r, data)
    if not items and not summary and not sections:
        r.fail("items", "世帯員ごとの課題か総合所見を、少なくとも1つ入力してください。")
    r.done()
    return AssessmentIn(assessed_on=day, summary=summary, items=items, sections=sections)  # type: ignore[arg-type]


def parse_plan(data: Mapping[str, Any]) -> PlanIn:
    r = Reader(data)
    goals = r.text("goals", "目標", MAX_FREE_TEXT, required=True, free=True)
    review = r.date("review_on", "見直し予定日")
    roles: list[PlanRoleIn] = []
    for i, raw in enumerate(r.objects("roles", "機関の役割", 30)):
        rr = Reader(raw, f"roles[{i}].", r.errors)
        agency = rr.uuid("agency_id", "機関")
        role = rr.text("role", "役割", MAX_SHORT, required=True)
        actions = rr.text("actions", "具体的な支援内容", 2000, free=True)
        if role:
            roles.append(PlanRoleIn(role=role, agency_id=agency, actions=actions))
    issue_ids = r.uuids("issue_ids", "このプランで取り組む課題")
    r.done()
    return PlanIn(goals=goals, review_on=review, roles=roles, issue_ids=issue_ids)  # type: ignore[arg-type]


def parse_record(data: Mapping[str, Any]) -> RecordIn:
    r = Reader(data)
    day = r.date("recorded_on", "日付", required=True, not_future=True)
    kind = r.choice("kind", "種別", RECORD_KIND_LABELS, required=True)
    body = r.text("body", "内容", MAX_FREE_TEXT, required=True, free=True)
    agency = r.uuid("agency_id", "機関")
    r.done()
    return RecordIn(recorded_on=day, kind=kind, body=body, agency_id=agency)  # type: ignore[arg-type]


def parse_evaluation(data: Mapping[str, Any]) -> EvaluationIn:
    r = Reader(data)
    day = r.date("evaluated_on", "評価日", required=True, not_future=True)
    achievement = r.choice("achievement", "目標の達成状況", ACHIEVEMENT_LABELS, required=True)
    summary = r.text("summary", "評価の内容", MAX_FREE_TEXT, required=True, free=True)
    next_step = r.choice("next_step", "今後の方針", NEXT_STEP_LABELS, required=True)
    r.done()
    return EvaluationIn(evaluated_on=day, achievement=achievement, summary=summary, next_step=next_step)  # type: ignore[arg-type]


def parse_agency(data: Mapping[str, Any]) -> AgencyIn:
    r = Reader(data)
    name = r.text("name", "機関名", MAX_NAME, required=True)
    kind = r.text("kind", "種別", MAX_NAME)
    field = r.choice("field", "分野", FIELD_LABELS)
    contact = r.text("contact", "連絡先", MAX_SHORT)
    r.done()
    return AgencyIn(name=name, kind=kind, field=field, contact=contact)  # type: ignore[arg-type]


def parse_referral(data: Mapping[str, Any]) -> ReferralIn:
    r = Reader(data)
    to = r.uuid("to_agency_id", "紹介先の機関", required=True)
    frm = r.uuid("from_agency_id", "紹介元の機関")
    reason = r.text("reason", "紹介の理由", MAX_REASON, required=True, free=True)
    if to and frm and to == frm:
        r.fail("to_agency_id", "紹介元と紹介先が同じ機関です。")
    r.done()
    return ReferralIn(to_agency_id=to, reason=reason, from_agency_id=frm)  # type: ignore[arg-type]


def parse_reason(data: Mapping[str, Any], label: str = "理由", *, required: bool = True) -> str | None:
    r = Reader(data)
    reason = r.text("reason", label, MAX_REASON, required=required, free=True)
    r.done()
    return reason


# -- DTOs (output) ----------------------------------------------------------------------------------------------


class ConsentDecision(msgspec.Struct, frozen=True):
    """The answer of ``check_sharing``: may this be shared now, and why (in Japanese, for the person deciding)."""

    allowed: bool
    reason_ja: str
    consent_id: uuid.UUID | None = None


class CaseSummary(msgspec.Struct, kw_only=True):
    """One line of the case list (支援ケース一覧)."""

    id: str
    case_number: str
    status: str
    status_label: str
    received_on: str
    household_label: str
    person_name: str
    person_kana: str
    fields: list[str]
    field_labels: list[str]
    tags: list[str]
    review_on: str | None
    assignees: list[str]
