"""Labels and input parsing of the programs domain: forms and JSON bodies become checked values or Japanese
field messages (``ValidationFailed.errors = [{"field", "message"}]``). Nothing is written before parsing passes.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.businesses import read_businesses
from core.field_input import FieldReader, InputInvalid
from core.programs.eligibility import Applicant
from core.text_rules import text_problem
from core.wareki import DATE_FORMS, parse_date

HUB_KINDS = {
    "attaka_fureai": "あったかふれあいセンター",
    "activity_hub": "活動拠点",
    "ibasho": "居場所",
    "venue": "会場",
    "other": "その他",
}
PROGRAM_KINDS = {"participation": "参加支援", "community": "地域づくり"}
FIELDS = {"elderly": "高齢", "disability": "障害", "child": "子ども", "poverty": "生活困窮", "other": "その他"}
PARTNER_KINDS = {"volunteer": "ボランティア", "business": "協力事業者", "agency": "連携団体"}
WEEKDAYS = ["月", "火", "水", "木", "金", "土", "日"]
SESSION_STATUSES = {"scheduled": "開催予定", "cancelled": "中止"}
ACTIVITY_STATUSES = {"active": "活動中", "ended": "終了"}
MAX_RANGE_DAYS = 400  # one generation request covers at most about a year


class ValidationFailed(InputInvalid):
    """Bad input to the programmes domain (a 422 page or problem+json)."""


class Fields(FieldReader):
    """Reads one form of the programmes pages (or the same fields as JSON); ``done()`` raises all messages.

    Unlike the base reader, a missing value reads as ``""``: these forms store empty text as empty, not NULL.
    """

    invalid = ValidationFailed

    def raw(self, key: str) -> str:
        value = self.data.get(key)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (list, tuple)):
            return ""
        return str(value).strip()

    def text(self, key: str, label: str, max_len: int, required: bool = True) -> str:  # type: ignore[override]
        value = self.raw(key)
        if required and not value:
            self.fail(key, f"{label}を入力してください。")
        elif problem := text_problem(value, label, max_len, multiline=True):
            self.fail(key, problem)
            return ""
        return value

    def integer(self, key: str, label: str, low: int, high: int, required: bool = False) -> int | None:
        value = unicodedata.normalize("NFKC", self.raw(key)).replace(",", "")
        if not value:
            if required:
                self.fail(key, f"{label}を入力してください。")
            return None
        if not re.fullmatch(r"-?\d{1,9}", value):
            self.fail(key, f"{label}は半角の整数で入力してください。")
            return None
        number = int(value)
        if not low <= number <= high:
            self.fail(key, f"{label}は{low}から{high}までの数で入力してください。")
            return None
        return number

    def date(self, key: str, label: str, required: bool = True) -> dt.date | None:
        value = unicodedata.normalize("NFKC", self.raw(key))
        if not value:
            if required:
                self.fail(key, f"{label}を入力してください。")
            return None
        try:
            day = parse_date(value)
        except ValueError:
            self.fail(key, f"{label}は {DATE_FORMS} の形で正しい日付を入力してください。")
            return None
        if not 1900 <= day.year <= 2099:
            self.fail(key, f"{label}は1900年から2099年までの日付を入力してください。")
            return None
        return day

    def time(self, key: str, label: str) -> dt.time | None:
        value = unicodedata.normalize("NFKC", self.raw(key))
        if not value:
            self.fail(key, f"{label}を入力してください。")
            return None
        if not re.fullmatch(r"\d{1,2}:\d{2}", value):
            self.fail(key, f"{label}は 10:00 の形で入力してください。")
            return None
        hours, minutes = (int(p) for p in value.split(":"))
        if hours > 23 or minutes > 59:
            self.fail(key, f"{label}は 00:00 から 23:59 までで入力してください。")
            return None
        return dt.time(hours, minutes)

    def choice(self, key: str, label: str, options: Mapping[str, str],  # type: ignore[override]
               required: bool = True) -> str | None:
        value = self.raw(key)
        if not value:
            if required:
                self.fail(key, f"{label}を選んでください。")
            return None
        if value not in options:
            self.fail(key, f"{label}は一覧から選んでください。")
            return None
        return value

    def flag(self, key: str) -> bool:
        return self.raw(key).lower() in ("1", "true", "on", "yes")  # an unchecked box sends nothing

    def tristate(self, key: str, label: str) -> bool | None:
        """はい / いいえ / 未確認 (``yes``/``no``/empty)."""
        value = self.raw(key).lower()
        if value in ("", "unknown"):
            return None
        if value in ("yes", "true", "1", "on"):
            return True
        if value in ("no", "false", "0", "off"):
            return False
        self.fail(key, f"{label}は「はい」「いいえ」「未確認」から選んでください。")
        return None

    def uuid(self, key: str, label: str, required: bool = False) -> uuid.UUID | None:
        value = self.raw(key)
        if not value:
            if required:
                self.fail(key, f"{label}を選んでください。")
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.fail(key, f"{label}の指定が正しくありません。")
            return None

def form_list(data: Any, key: str) -> list[str]:
    """All values of a repeated form field (checkboxes), from a Litestar FormMultiDict, a dict or JSON."""
    if hasattr(data, "getall"):
        return [v for v in data.getall(key, []) if isinstance(v, str)]
    value = data.get(key) if isinstance(data, Mapping) else None
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)] if value not in (None, "") else []


# -- one parser per form ---------------------------------------------------------------------------------------


def parse_hub(data: Mapping[str, Any]) -> dict[str, Any]:
    f = Fields(data)
    values = {
        "name": f.text("name", "拠点名", 100),
        "kind": f.choice("kind", "拠点の種類", HUB_KINDS),
        "area": f.text("area", "地区", 60, required=False),
        "address": f.text("address", "所在地", 200, required=False),
        "description": f.text("description", "説明", 1000, required=False),
    }
    f.done()
    return values


def _businesses(f: Fields, data: Mapping[str, Any], default: str | None) -> list[str]:
    """The five 事業 the record belongs to; by default the one its kind names (参加支援 or 地域づくり)."""
    businesses, error = read_businesses(data)
    if error:
        f.fail("businesses", error)
    return businesses or ([default] if default else [])


def parse_program(data: Mapping[str, Any]) -> dict[str, Any]:
    f = Fields(data)
    values = {
        "hub_id": f.uuid("hub_id", "拠点", required=True),
        "name": f.text("name", "事業名", 100),
        "kind": f.choice("kind", "事業の種類", PROGRAM_KINDS),
        "field": f.choice("field", "分野", FIELDS, required=False) or "other",
        "purpose": f.text("purpose", "目的", 1000, required=False),
        "target_group": f.text("target_group", "対象者", 1000, required=False),
        "content": f.text("content", "内容", 1000, required=False),
        "drop_in": f.flag("drop_in"),
        "min_age": f.integer("min_age", "対象年齢（下限）", 0, 120),
        "max_age": f.integer("max_age", "対象年齢（上限）", 0, 120),
        "capacity": f.integer("capacity", "定員", 1, 10000),
    }
    if values["min_age"] is not None and values["max_age"] is not None and values["min_age"] > values["max_age"]:
        f.fail("max_age", "対象年齢の上限は下限以上にしてください。")
    values["businesses"] = _businesses(f, data, values["kind"])
    f.done()
    return values


WEEKDAY_VALUES = frozenset("0123456")  # the form's 曜日 boxes: 0 = Monday … 6 = Sunday


def parse_slot(data: Any) -> dict[str, Any]:
    f = Fields(data)
    weekdays: list[int] = []
    for raw in form_list(data, "weekdays"):
        if raw in WEEKDAY_VALUES:  # not isdigit(): "²" and 5,000 digits passed it and failed int()
            weekdays.append(int(raw))
        else:
            f.fail("weekdays", "曜日は一覧から選んでください。")
            break
    if not weekdays and not any(e["field"] == "weekdays" for e in f.errors):
        f.fail("weekdays", "曜日を1つ以上選んでください。")
    start = f.time("start_time", "開始時刻")
    end = f.time("end_time", "終了時刻")
    if start and end and start >= end:
        f.fail("end_time", "終了時刻は開始時刻より後にしてください。")
    values = {
        "weekdays": sorted(set(weekdays)),
        "start_time": start,
        "end_time": end,
        "band_label": f.text("band_label", "対象の区分（学年・年齢など）", 100, required=False),
        "note": f.text("note", "内容のメモ", 200, required=False),
        "valid_from": f.date("valid_from", "開始日", required=False),
        "valid_until": f.date("valid_until", "終了日", required=False),
    }
    if values["valid_from"] and values["valid_until"] and values["valid_from"] > values["valid_until"]:
        f.fail("valid_until", "終了日は開始日以降にしてください。")
    f.done()
    return values


def parse_range(data: Mapping[str, Any]) -> tuple[dt.date, dt.date]:
    f = Fields(data)
    start = f.date("date_from", "開始日")
    end = f.date("date_to", "終了日")
    if start and end:
        if start > end:
            f.fail("date_to", "終了日は開始日以降にしてください。")
        elif (end - start).days > MAX_RANGE_DAYS:
            f.fail("date_to", f"一度に作成できる期間は{MAX_RANGE_DAYS}日までです。")
    f.done()
    return start, end  # type: ignore[return-value]


def parse_cancel(data: Mapping[str, Any]) -> str:
    f = Fields(data)
    reason = f.text("reason", "中止の理由", 500)
    f.done()
    return reason


@dataclass(frozen=True)
class EnrolmentInput:
    person_name: str
    person_kana: str
    case_ref: str | None  # a case number (or id) as typed; ``service.enrol`` resolves and checks it
    enrolled_on: dt.date
    applicant: Applicant
    override_reason: str | None = None  # why a coordinator enrols despite guidance (「概ね」) the person is outside


KANA = re.compile(r"^[\u3041-\u3096\u30a1-\u30fa\u30fc\u30fb\s・ー]*$")


def parse_enrolment(data: Any, today: dt.date) -> EnrolmentInput:
    f = Fields(data)
    name = f.text("person_name", "氏名", 100)
    kana = f.text("person_kana", "ふりがな", 100, required=False)
    if kana and not KANA.match(kana):
        f.fail("person_kana", "ふりがなは、ひらがなまたはカタカナで入力してください。")
    # 相談ケース by its number (2025-0001) or, from API clients of 1.0, its id; checked by the service (visible to
    # the user, consent for 参加支援), so here only its length
    case_ref = f.text("case_number", "相談ケース番号", 40, required=False) or f.text("case_id", "相談ケース番号", 40,
                                                                                   required=False)
    enrolled_on = f.date("enrolled_on", "登録日", required=False) or today
    birth_date = f.date("birth_date", "生年月日", required=False)
    if birth_date and birth_date > today:
        f.fail("birth_date", "生年月日に未来の日付は入力できません。")
    age = f.integer("age", "年齢", 0, 120)
    grade = f.integer("school_grade", "学年", 1, 9)
    members = [m for m in form_list(data, "program_member") if re.fullmatch(r"[a-z0-9_]{1,60}", m)]
    applicant = Applicant(
        birth_date=birth_date,
        age=age,
        resident=f.tristate("resident", "市内在住"),
        care_certified=f.tristate("care_certified", "要介護認定"),
        has_children=f.tristate("has_children", "子どもの有無"),
        children_in_prefecture=f.tristate("children_in_prefecture", "子どもが県内に住んでいるか"),
        school_grade=grade,
        attends_cram_school=f.tristate("attends_cram_school", "塾通い"),
        withdrawal_history=f.tristate("withdrawal_history", "ひきこもり・ニートの経験"),
        program_member=tuple(members),
        employment_prep_user=f.tristate("employment_prep_user", "就労準備支援事業の利用"),
    )
    override = f.text("override_reason", "目安を外れて登録する理由", 500, required=False) or None
    f.done()
    return EnrolmentInput(name, kana, case_ref or None, enrolled_on, applicant, override)


@dataclass(frozen=True)
class AttendanceInput:
    present: set[uuid.UUID]
    anonymous_headcount: int


def parse_attendance(data: Any) -> AttendanceInput:
    f = Fields(data)
    present: set[uuid.UUID] = set()
    for raw in form_list(data, "present"):
        try:
            present.add(uuid.UUID(raw))
        except ValueError:
            f.fail("present", "出席者の指定が正しくありません。")
            break
    headcount = f.integer("anonymous_headcount", "名前を記録しない参加者数", 0, 10000)
    f.done()
    return AttendanceInput(present, headcount or 0)


def parse_partner(data: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    f = Fields(data)
    values = {
        "kind": f.choice("kind", "種別", PARTNER_KINDS),
        "pillar": f.choice("pillar", "関わる事業", PROGRAM_KINDS),
        "name": f.text("name", "名称・氏名", 100),
        "kana": f.text("kana", "ふりがな", 100, required=False),
        "field": f.choice("field", "分野", FIELDS, required=False) or "other",
        "area": f.text("area", "地区", 60, required=False),
        "contact": f.text("contact", "連絡先", 200, required=False),
        "note": f.text("note", "メモ", 1000, required=False),
        "hub_id": f.uuid("hub_id", "拠点"),
        "program_id": f.uuid("program_id", "事業"),
        "since": f.date("since", "協力開始日", required=False) or today,
        "until": f.date("until", "協力終了日", required=False),
    }
    if values["until"] and values["until"] < values["since"]:
        f.fail("until", "協力終了日は開始日以降にしてください。")
    f.done()
    return values


def parse_activity(data: Mapping[str, Any]) -> dict[str, Any]:
    f = Fields(data)
    values = {
        "name": f.text("name", "活動名", 100),
        "field": f.choice("field", "分野", FIELDS, required=False) or "other",
        "area": f.text("area", "地区", 60, required=False),
        "started_by": f.text("started_by", "始めた人・団体", 200, required=False),
        "started_on": f.date("started_on", "開始日", required=False),
        "origin_hub_id": f.uuid("origin_hub_id", "きっかけの拠点"),
        "origin_program_id": f.uuid("origin_program_id", "きっかけの事業"),
        "grew_from_id": f.uuid("grew_from_id", "元になった活動"),
        "description": f.text("description", "内容", 2000, required=False),
    }
    values["businesses"] = _businesses(f, data, "community")
    f.done()
    return values


def parse_note(data: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    f = Fields(data)
    values = {"noted_on": f.date("noted_on", "日付", required=False) or today, "note": f.text("note", "経過", 2000)}
    f.done()
    return values


def parse_resource(data: Mapping[str, Any]) -> dict[str, Any]:
    f = Fields(data)
    values = {
        "name": f.text("name", "名称", 100),
        "kana": f.text("kana", "ふりがな", 100, required=False),
        "field": f.choice("field", "分野", FIELDS),
        "area": f.text("area", "地区", 60, required=False),
        "address": f.text("address", "所在地", 200, required=False),
        "contact": f.text("contact", "連絡先", 200, required=False),
        "description": f.text("description", "内容", 2000, required=False),
    }
    f.done()
    return values


def parse_period(data: Mapping[str, Any], today: dt.date) -> tuple[int, int | None]:
    f = Fields(data)
    # The 実施計画 counts by 年度 (April–March), like the grant reports: ``year`` is the 年度.
    year = f.integer("year", "年度", 2000, 2099) or (today.year if today.month >= 4 else today.year - 1)
    month = f.integer("month", "月", 1, 12)
    f.done()
    return year, month
