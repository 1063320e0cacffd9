"""Benchmark and demo data: the 34 municipalities filled with households, cases and everything around them.

    .venv/bin/python -m infra.bench.generate [--database-url URL] [--seed 42] [--scale 1.0]
                                             [--tenants 394017,392049,392014] [--as-of 2026-11-26]

What it writes, per municipality and sized like the municipality (高知市 about 25,000 cases at scale 1.0, 大川村
a few dozen): staff (職員名簿), agencies and their staff; households with their members over time; cases in every
status of the workflow with the status history, assignees, consents, assessments, plans, progress records,
evaluations, sharing with agencies, referrals and a few break-the-glass openings; 支援会議 and 重層的支援会議 with
members and agenda items; hubs, programmes, weekly slots, sessions (holidays skipped), enrolments and attendance,
partners, community activities and resources; grant years with budget, spending, time study and caseload ledgers.
At scale 1.0 that is about 1.6 million rows. The audit trail is left alone: its hash chain is the app's to write.

Deterministic: each municipality draws from its own ``random.Random(f"{seed}:{code}")``, and every id is a UUIDv7
whose time is the row's own moment (so the app's newest-first order by id holds) and whose random bits come from
that generator. The same seed, scale, tenants and ``--as-of`` give the same rows.

Loading uses COPY (asyncpg ``copy_records_to_table``) in one transaction, then ANALYZE. Row-level security is
FORCEd for the owner too, and PostgreSQL refuses COPY into a table whose policies apply to the copying role, so:

- with a role that bypasses RLS (the embedded server's superuser, or ``DATABASE_BACKUP_URL``) it copies directly;
- with the owner, it copies into temporary tables and moves each tenant's rows with ``INSERT … SELECT`` while
  bound to that tenant (slower, same result).

Into an existing database (the demo of ``make run``): municipalities that are not tenants yet become tenants,
case numbers continue after the numbers a tenant already has (the app's own rule, ``<年度>-<count + 1>``),
years that already have a grant ledger and staff already in the directory are left as they are, and a tenant that
already holds generated cases (``created_by = 'kyosei-generator'``) is skipped, so running it twice adds nothing.
Without ``--database-url`` it uses the running embedded server of ``KYOSEI_DATA_DIR`` (its superuser) or
``DATABASE_BACKUP_URL``, else ``DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import asyncpg

from core.auth.staff_directory import StaffEntry
from core.cases.models import Person
from core.programs.holidays import is_holiday
from core.programs.models import Resource
from core.text_rules import search_key
from core.wareki import fiscal_year_of
from infra.database.provision import connect
from tenants.registry import Municipality, load_registry

GENERATOR = "kyosei-generator"  # support_case.created_by of every generated case: how a re-run recognises them
AS_OF = dt.date(2026, 11, 26)  # the "today" of the data (fixed, so the rows do not depend on the day it runs)
FIRST_DAY = dt.date(2021, 4, 1)  # 令和3年度: the integrated grant began
SESSIONS_FROM = dt.date(2024, 4, 1)  # programme sessions are generated for the last two and a half years
KOCHI_CITY = "392014"
KOCHI_CITY_CASES = 25_000  # at scale 1.0
JST = dt.timezone(dt.timedelta(hours=9))

# Population (2020 census, rounded to the hundred): only the proportions matter, to skew the sizes like reality.
POPULATION = {
    "392014": 326_500, "392022": 12_300, "392031": 16_200, "392049": 46_400, "392057": 25_700, "392065": 20_600,
    "392081": 19_000, "392090": 12_400, "392103": 32_700, "392111": 32_200, "392120": 25_300, "393011": 2_200,
    "393029": 3_000, "393037": 2_500, "393045": 2_300, "393053": 1_100, "393061": 800, "393070": 3_600,
    "393410": 3_200, "393444": 3_300, "393631": 3_700, "393649": 400, "393860": 21_400, "393878": 4_900,
    "394017": 6_300, "394025": 12_200, "394033": 5_200, "394050": 3_300, "394076": 4_800, "394106": 5_400,
    "394114": 15_600, "394246": 4_400, "394271": 1_400, "394289": 10_300,
}

# -- names: common surnames of Kochi and given names, each with its reading ---------------------------------------

SURNAMES = (
    ("山本", "やまもと"), ("山崎", "やまさき"), ("小松", "こまつ"), ("浜田", "はまだ"), ("西村", "にしむら"),
    ("岡林", "おかばやし"), ("中村", "なかむら"), ("田中", "たなか"), ("川村", "かわむら"), ("山中", "やまなか"),
    ("和田", "わだ"), ("森", "もり"), ("岡村", "おかむら"), ("竹内", "たけうち"), ("吉村", "よしむら"),
    ("松本", "まつもと"), ("高橋", "たかはし"), ("坂本", "さかもと"), ("宮地", "みやじ"), ("片岡", "かたおか"),
    ("池田", "いけだ"), ("松岡", "まつおか"), ("野村", "のむら"), ("伊藤", "いとう"), ("佐藤", "さとう"),
    ("鈴木", "すずき"), ("中山", "なかやま"), ("公文", "くもん"), ("筒井", "つつい"), ("北村", "きたむら"),
    ("橋本", "はしもと"), ("安岡", "やすおか"), ("岡本", "おかもと"), ("谷", "たに"), ("上田", "うえだ"),
    ("横山", "よこやま"), ("弘田", "ひろた"), ("山下", "やました"), ("門田", "かどた"), ("近森", "ちかもり"),
    ("西岡", "にしおか"), ("大石", "おおいし"), ("明神", "みょうじん"), ("武田", "たけだ"), ("土居", "どい"),
    ("秋山", "あきやま"), ("野中", "のなか"), ("井上", "いのうえ"),
)
FEMALE_NAMES = (
    ("花子", "はなこ"), ("美咲", "みさき"), ("陽子", "ようこ"), ("恵子", "けいこ"), ("幸子", "さちこ"),
    ("和子", "かずこ"), ("節子", "せつこ"), ("久美子", "くみこ"), ("真由美", "まゆみ"), ("直美", "なおみ"),
    ("由美", "ゆみ"), ("愛", "あい"), ("結衣", "ゆい"), ("陽菜", "ひな"), ("さくら", "さくら"), ("美香", "みか"),
    ("千尋", "ちひろ"), ("明美", "あけみ"), ("トミ", "とみ"), ("文子", "ふみこ"),
)
MALE_NAMES = (
    ("太郎", "たろう"), ("一郎", "いちろう"), ("健", "けん"), ("誠", "まこと"), ("翔太", "しょうた"),
    ("大輔", "だいすけ"), ("浩二", "こうじ"), ("修", "おさむ"), ("隆", "たかし"), ("茂", "しげる"),
    ("勇", "いさむ"), ("博", "ひろし"), ("正", "ただし"), ("和夫", "かずお"), ("拓海", "たくみ"),
    ("蓮", "れん"), ("悠真", "ゆうま"), ("龍馬", "りょうま"), ("清", "きよし"), ("実", "みのる"),
)
AREAS = ("本町", "栄町", "中央", "東町", "西町", "旭町", "新町", "上町", "下町", "港町", "朝日町", "山田")

# -- households: who lives together decides the fields, problems and tags of the consultation -------------------


@dataclass(frozen=True)
class Member:
    relationship: str
    ages: tuple[int, int]
    sex: str | None  # None: either


@dataclass(frozen=True)
class Pattern:
    weight: int
    members: tuple[Member, ...]  # the first is the person consulting (本人)
    fields: tuple[str, ...]
    problems: tuple[str, ...]
    tags: tuple[str, ...]
    summary: str


PATTERNS = (
    Pattern(18, (Member("本人", (46, 60), None), Member("母", (76, 92), "female")), ("elderly", "poverty"),
            ("withdrawal", "care", "income"), ("8050", "ひきこもり"),
            "80代の母と50代の本人の二人暮らし。本人は長くひきこもりの状態で、母の介護と今後の生活費に不安がある。"),
    Pattern(22, (Member("本人", (75, 95), None),), ("elderly",), ("care", "health", "housing"), (),
            "一人暮らしの高齢者。物忘れが増え、近所の方や民生委員から心配の声が寄せられた。"),
    Pattern(8, (Member("本人", (36, 50), "female"), Member("夫", (38, 54), "male"), Member("父", (72, 90), "male"),
                Member("長男", (3, 12), "male")), ("elderly", "child"), ("care", "childrearing", "work_trouble"),
            ("ダブルケア",), "父の介護と子育てが重なり、本人が仕事を続けられるか悩んでいる。"),
    Pattern(14, (Member("本人", (24, 45), "female"), Member("長女", (0, 15), "female"), Member("長男", (0, 12), "male")),
            ("child", "poverty"), ("income", "childrearing", "job_search"), (),
            "ひとり親世帯。パートの収入だけでは家賃と学用品の支払いが厳しく、転職も考えている。"),
    Pattern(10, (Member("本人", (20, 45), None), Member("母", (48, 75), "female")), ("disability",),
            ("health", "job_search", "family"), (),
            "障害のある本人と母の二人暮らし。母が高齢になり、将来の暮らしの場と就労について相談したい。"),
    Pattern(12, (Member("本人", (30, 65), "male"), Member("妻", (30, 65), "female")), ("poverty",),
            ("debt", "rent_loan", "tax_utility"), (),
            "失業をきっかけに家賃と税金の滞納が続き、消費者金融からの借入れもある。"),
    Pattern(9, (Member("本人", (14, 25), None), Member("父", (42, 60), "male"), Member("母", (40, 58), "female")),
            ("child", "disability"), ("withdrawal", "family"), ("ひきこもり",),
            "中学校から不登校が続き、現在は自室にこもりがち。両親は関わり方に悩んでいる。"),
    Pattern(7, (Member("本人", (24, 40), "female"), Member("長男", (0, 10), "male")), ("child",),
            ("abuse", "family", "housing"), (),
            "配偶者からの暴力があり、子どもを連れて家を出たい。当面の住まいと生活費に不安がある。"),
)
PATTERN_WEIGHTS = [p.weight for p in PATTERNS]

ROUTES = ("counter", "phone", "visit", "outreach", "referral")
ROUTE_WEIGHTS = (35, 25, 10, 10, 20)
ORDER = ("intake", "assessment", "planning", "decided", "supporting", "evaluation")
RECORD_BODIES = {
    "visit": ("自宅を訪問。家族の体調は落ち着いている。本人とは玄関先で10分ほど話せた。",
              "訪問したが不在。不在票を投函し、後日電話することにした。",
              "自宅を訪問し、室内の片付けについて本人と相談。次回はごみの搬出を一緒に行う予定。"),
    "interview": ("窓口で面談。家計の状況を確認し、家計改善支援の利用を提案した。",
                  "本人と面談。就労への不安が強く、まずは居場所への参加から始めることで合意。",
                  "面談で今後の生活について話し合った。本人は今の家で暮らし続けたい意向。"),
    "phone": ("本人から電話。体調がすぐれず、予定していた面談を延期したいとのこと。",
              "家族に電話し近況を確認。大きな変化はない。", "民生委員から電話。最近姿を見かけないとの連絡があった。"),
    "meeting": ("支援会議で状況を共有し、関係機関の役割分担を確認した。", "重層的支援会議でプランの進み具合を確認した。"),
    "coordination": ("地域包括支援センターと連絡調整。介護保険の申請手続きを進める。",
                     "社会福祉協議会と調整し、生活福祉資金の相談につないだ。", "学校と情報共有し、登校の状況を確認した。"),
    "other": ("関係書類を郵送した。", "記録を整理し、次回の面談の準備をした。"),
}
RECORD_KINDS = tuple(RECORD_BODIES)
RECORD_WEIGHTS = (30, 25, 25, 5, 12, 3)
AGENCY_KINDS = (
    ("地域包括支援センター", "elderly"), ("社会福祉協議会", None), ("障害者相談支援事業所", "disability"),
    ("子ども家庭支援センター", "child"), ("自立相談支援機関", "poverty"), ("保健福祉センター", None),
    ("民生委員児童委員協議会", None), ("ハローワーク", "poverty"), ("病院 地域連携室", None), ("小中学校", "child"),
)
HUB_KINDS = (("attaka_fureai", "あったかふれあいセンター"), ("activity_hub", "地域活動拠点"), ("ibasho", "みんなの居場所"),
             ("venue", "公民館"))
PROGRAMS = (  # name, kind, field, (min_age, max_age), drop_in
    ("いきいき百歳体操", "community", "elderly", (65, None), False), ("ふれあいサロン", "community", "elderly", (None, None), True),
    ("ひきこもり当事者の居場所", "participation", "disability", (15, 64), False),
    ("こども食堂", "community", "child", (None, 18), True), ("学習支援教室", "participation", "child", (9, 18), False),
    ("就労体験（農作業）", "participation", "poverty", (18, 64), False), ("手芸クラブ", "community", "other", (None, None), False),
    ("認知症カフェ", "community", "elderly", (None, None), True), ("障害者の就労準備講座", "participation", "disability", (18, 64), False),
)
SLOT_TIMES = ((dt.time(10, 0), dt.time(12, 0), "午前"), (dt.time(13, 30), dt.time(15, 30), "午後"),
              (dt.time(18, 0), dt.time(20, 0), "夜"))
GRANT_BUSINESSES = ("consultation", "participation", "community", "outreach", "multi_agency")
GRANT_FIELDS = ("elderly", "disability", "child", "poverty", "new_functions")

# search-key columns (key: source), appended last to their tables' columns below and computed in ``TenantData.add``
SEARCH_KEYS = {"staff_directory": StaffEntry.__search_keys__, "person": Person.__search_keys__,
               "community_resource": Resource.__search_keys__}

# -- the tables, in the order their foreign keys need -------------------------------------------------------------

_STAMPS = ("created_at", "updated_at")
TABLES: dict[str, tuple[str, ...]] = {
    "staff_directory": ("tenant_id", "user_sub", "display_name", "kana", "username", "last_seen_at",
                        "display_name_key", "kana_key"),
    "agency": ("tenant_id", "id", "name", "kind", "field", "contact", "active", *_STAMPS),
    "agency_staff": ("tenant_id", "id", "agency_id", "user_sub", "display_name"),
    "household": ("tenant_id", "id", "label", "address", "note", *_STAMPS),
    "person": ("tenant_id", "id", "name", "kana", "birth_date", "sex", "address", "phone", "contact_note", *_STAMPS,
               "name_key", "kana_key"),
    "household_membership": ("tenant_id", "id", "household_id", "person_id", "relationship", "valid_from", "valid_to"),
    "support_case": ("tenant_id", "id", "case_number", "household_id", "person_id", "status", "received_on",
                     "receiving_agency_id", "receiving_staff", "route", "visitor_name", "visitor_relation", "problems",
                     "problem_other", "fields", "tags", "summary", "consent_at_intake", "review_on", "status_reason",
                     "closed_on", "created_by", *_STAMPS),
    "case_status_change": ("tenant_id", "id", "case_id", "from_status", "to_status", "reason", "changed_by",
                           "changed_at"),
    "case_assignee": ("tenant_id", "id", "case_id", "user_sub", "display_name", "role", "assigned_at", "ended_at"),
    "consent": ("tenant_id", "id", "case_id", "person_id", "given_on", "expires_on", "purpose", "agency_ids",
                "meeting_kinds", "items", "method", "recorded_by", "revoked_on", "revoked_reason", *_STAMPS),
    "case_agency": ("tenant_id", "id", "case_id", "agency_id", "role", "consent_id", "shared_by", "shared_at",
                    "ended_at", "ended_reason"),
    "assessment": ("tenant_id", "id", "case_id", "assessed_on", "summary", "recorded_by", "created_at"),
    "assessment_item": ("tenant_id", "id", "assessment_id", "person_id", "field", "problem"),
    "support_plan": ("tenant_id", "id", "case_id", "version", "goals", "review_on", "agreed_on", "agreed_note",
                     "recorded_by", "created_at"),
    "plan_role": ("tenant_id", "id", "plan_id", "agency_id", "role", "actions"),
    "progress_record": ("tenant_id", "id", "case_id", "recorded_on", "kind", "agency_id", "body", "recorded_by",
                        "created_at"),
    "evaluation": ("tenant_id", "id", "case_id", "evaluated_on", "achievement", "summary", "next_step", "recorded_by",
                   "created_at"),
    "referral": ("tenant_id", "id", "case_id", "from_agency_id", "to_agency_id", "reason", "status", "response_reason",
                 "referred_by", "referred_at", "responded_by", "responded_at"),
    "case_access_grant": ("tenant_id", "id", "case_id", "user_sub", "display_name", "reason", "granted_at",
                          "expires_at"),
    "meeting": ("tenant_id", "id", "kind", "title", "starts_at", "ends_at", "place", "online_url", "minutes",
                "minutes_updated_at", "minutes_updated_by", "created_by", *_STAMPS),
    "meeting_member": ("tenant_id", "id", "meeting_id", "user_sub", "name", "organisation", "member_role", "duty_role",
                       "confidentiality_ack_at"),
    "meeting_agenda_item": ("tenant_id", "id", "meeting_id", "case_id", "position", "issues", "sharing_basis",
                            "decision", "decision_note", "decided_at", "decided_by", "added_at"),
    "program_hub": ("tenant_id", "id", "name", "kind", "area", "address", "description", "source", "code", "active",
                    *_STAMPS),
    "program": ("tenant_id", "id", "hub_id", "name", "kind", "field", "purpose", "target_group", "content", "drop_in",
                "min_age", "max_age", "capacity", "source", "code", "active", *_STAMPS),
    "program_slot": ("tenant_id", "id", "program_id", "weekdays", "start_time", "end_time", "band_label", "note",
                     "valid_from", "valid_until", "code", *_STAMPS),
    "program_session": ("tenant_id", "id", "program_id", "slot_id", "held_on", "start_time", "end_time", "band_label",
                        "status", "cancel_reason", "anonymous_headcount", "attendance_recorded_at",
                        "attendance_recorded_by", *_STAMPS),
    "program_enrolment": ("tenant_id", "id", "program_id", "person_name", "person_kana", "case_id", "applicant",
                          "eligibility_rules", "enrolled_on", "ended_on", "enrolled_by", *_STAMPS),
    "program_attendance": ("tenant_id", "id", "session_id", "enrolment_id", "created_at"),
    "program_partner": ("tenant_id", "id", "kind", "pillar", "name", "kana", "field", "area", "contact", "note",
                        "hub_id", "program_id", "since", "until", *_STAMPS),
    "community_activity": ("tenant_id", "id", "name", "field", "area", "started_by", "started_on", "origin_hub_id",
                           "origin_program_id", "grew_from_id", "description", "status", *_STAMPS),
    "community_activity_note": ("tenant_id", "id", "activity_id", "noted_on", "note", "recorded_by", "created_at"),
    "community_resource": ("tenant_id", "id", "name", "kana", "field", "area", "address", "contact", "description",
                           "active", *_STAMPS, "name_key", "kana_key", "description_key"),
    "grant_fiscal_year": ("tenant_id", "id", "fiscal_year", "scheme", "status", "apportionment_rule", "closed_at",
                          "closed_by", *_STAMPS),
    "grant_budget_line": ("tenant_id", "id", "fiscal_year_id", "business", "field", "category", "amount", "note",
                          "recorded_by", "created_at"),
    "grant_expenditure": ("tenant_id", "id", "fiscal_year_id", "business", "field", "category", "amount",
                          "voucher_number", "voucher_date", "payee", "description", "recorded_by", "created_at"),
    "grant_time_entry": ("tenant_id", "id", "fiscal_year_id", "business", "staff_label", "period_month", "field",
                         "minutes", "recorded_by", "created_at"),
    "grant_caseload_count": ("tenant_id", "id", "fiscal_year_id", "business", "period_month", "field", "count", "note",
                             "recorded_by", "created_at"),
}


def case_counts(scale: float, codes: Iterable[str] | None = None) -> dict[str, int]:
    """Cases per municipality: proportional to population, 高知市 = 25,000 × scale, at least 5 each."""
    per_person = KOCHI_CITY_CASES / POPULATION[KOCHI_CITY]
    wanted = set(codes) if codes is not None else set(POPULATION)
    return {code: max(5, round(population * per_person * scale))
            for code, population in POPULATION.items() if code in wanted}


# -- one tenant's rows ---------------------------------------------------------------------------------------------


@dataclass
class Staff:
    sub: str
    name: str
    kana: str
    username: str = ""


@dataclass
class Existing:
    """What the database already holds for a tenant (a demo database): generation works around it."""

    case_numbers: dict[int, int] = field(default_factory=dict)  # fiscal year → how many case numbers it has
    grant_years: set[int] = field(default_factory=set)
    staff_subs: set[str] = field(default_factory=set)
    already_generated: bool = False


@dataclass
class CaseFacts:
    """What later tables (meetings, programmes, grants) need to know about a generated case."""

    id: uuid.UUID
    received_on: dt.date
    status: str
    fields: tuple[str, ...]
    person_name: str
    person_kana: str
    birth_date: dt.date
    multilayer_consent: bool
    ended_on: dt.date | None


class TenantData:
    """Draws one municipality's rows from its own random generator; ``rows[table]`` are tuples in TABLES order."""

    def __init__(self, municipality: Municipality, cases: int, seed: int, as_of: dt.date, existing: Existing,
                 demo_staff: Sequence[Staff] = (), detail: float = 1.0):
        self.m = municipality
        self.detail = detail  # below 1: sessions, meetings and ledgers reach back only that share of the years
        self.code = municipality.code
        self.n_cases = cases
        self.rng = random.Random(f"{seed}:{municipality.code}")
        self.as_of = as_of
        self.existing = existing
        self.rows: dict[str, list[tuple]] = defaultdict(list)
        self.demo_staff = list(demo_staff)
        self.cases: list[CaseFacts] = []
        self.closable_years: list[uuid.UUID] = []  # generated grant years before as_of's year

    # -- small draws ----------------------------------------------------------------------------------------------

    def uuid7(self, moment: dt.datetime) -> uuid.UUID:
        """A UUIDv7 of ``moment`` (milliseconds) with random bits from this tenant's generator."""
        ms = int(moment.timestamp() * 1000)
        rand = self.rng.getrandbits(74)
        return uuid.UUID(int=(ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1)))

    def at(self, day: dt.date, hour_from: int = 9, hour_to: int = 17) -> dt.datetime:
        """A moment of office hours (Japan time) on ``day``."""
        seconds = self.rng.randrange(hour_from * 3600, hour_to * 3600)
        return dt.datetime(day.year, day.month, day.day, tzinfo=JST) + dt.timedelta(seconds=seconds)

    def day_between(self, start: dt.date, end: dt.date) -> dt.date:
        if end <= start:
            return start
        return start + dt.timedelta(days=self.rng.randrange((end - start).days + 1))

    def since(self, start: dt.date, at_least: dt.timedelta) -> dt.date:
        """How far back time-driven detail goes: from ``start`` at full detail, a recent slice below it."""
        return max(start, self.as_of - max((self.as_of - start) * self.detail, at_least))

    def person_name(self, sex: str | None = None, surname: tuple[str, str] | None = None) -> tuple[str, str, str]:
        sex = sex or self.rng.choice(("female", "male"))
        family = surname or self.rng.choice(SURNAMES)
        given = self.rng.choice(FEMALE_NAMES if sex == "female" else MALE_NAMES)
        return f"{family[0]} {given[0]}", f"{family[1]} {given[1]}", sex

    def address(self) -> str:
        return (f"高知県{self.m.name}{self.rng.choice(AREAS)}{self.rng.randint(1, 5)}丁目"
                f"{self.rng.randint(1, 30)}-{self.rng.randint(1, 20)}")

    def add(self, table: str, *values) -> None:
        row = (self.code, *values)
        if keys := SEARCH_KEYS.get(table):  # the app's own key function, as an ORM write would store them
            columns = TABLES[table]
            row += tuple(search_key(row[columns.index(source)]) for source in keys.values())
        self.rows[table].append(row)

    # -- the whole tenant -----------------------------------------------------------------------------------------

    def generate(self) -> dict[str, list[tuple]]:
        self.staff = self._staff()
        self.agencies = self._agencies()
        self._cases()
        self._meetings()
        self._programmes()
        self._grants()
        return self.rows

    def _staff(self) -> list[Staff]:
        count = max(3, self.n_cases // 200)
        staff = []
        for i in range(count):
            name, kana, _ = self.person_name()
            member = Staff(str(self.uuid7(self.at(FIRST_DAY))), name, kana)
            staff.append(member)
            if member.sub not in self.existing.staff_subs:
                self.add("staff_directory", member.sub, name, kana, f"{self.m.romaji.lower()}.staff{i + 1:03d}",
                         self.at(self.day_between(self.as_of - dt.timedelta(days=30), self.as_of)))
        for member in self.demo_staff:  # the demo realm's users of this municipality carry cases too
            if member.sub not in self.existing.staff_subs:
                self.add("staff_directory", member.sub, member.name, member.kana, member.username, None)
        return staff + self.demo_staff

    def _agencies(self) -> list[tuple[uuid.UUID, str, str | None]]:
        count = max(len(AGENCY_KINDS) // 2, min(40, self.n_cases // 700 + len(AGENCY_KINDS) // 2))
        agencies = []
        for i in range(count):
            kind, field_ = AGENCY_KINDS[i % len(AGENCY_KINDS)]
            area = self.rng.choice(AREAS) if i >= len(AGENCY_KINDS) else ""
            name = f"{self.m.name}{area}{kind}"
            created = self.at(FIRST_DAY)
            agency_id = self.uuid7(created)
            self.add("agency", agency_id, name[:100], kind, field_,
                     f"088-{self.rng.randint(800, 899)}-{self.rng.randint(1000, 9999)}", True, created, created)
            agencies.append((agency_id, name[:100], field_))
            for _ in range(self.rng.randint(1, 3)):
                person, _, _ = self.person_name()
                self.add("agency_staff", self.uuid7(created), agency_id, str(self.uuid7(created)), person)
        return agencies

    # -- households and cases -------------------------------------------------------------------------------------

    def _received_days(self) -> list[dt.date]:
        span = (self.as_of - FIRST_DAY).days
        # more consultations in later years: the system grew as more services joined
        return sorted(FIRST_DAY + dt.timedelta(days=int(self.rng.random() ** 0.7 * span)) for _ in range(self.n_cases))

    def _final_status(self, age: int) -> str:
        r = self.rng.random()
        table = (
            (14, (("intake", .7), ("assessment", 1))),
            (45, (("intake", .1), ("assessment", .45), ("planning", .75), ("decided", .9), ("supporting", 1))),
            (180, (("assessment", .05), ("planning", .15), ("decided", .25), ("supporting", .7), ("evaluation", .8),
                   ("closed", .95), ("suspended", 1))),
            (540, (("supporting", .35), ("evaluation", .5), ("closed", .9), ("suspended", 1))),
            (10**6, (("supporting", .1), ("evaluation", .15), ("closed", .9), ("suspended", 1))),
        )
        for limit, choices in table:
            if age < limit:
                return next(status for status, bound in choices if r < bound)
        raise AssertionError("unreachable")

    def _cases(self) -> None:
        numbers: dict[int, int] = dict(self.existing.case_numbers)
        households: list[tuple[uuid.UUID, list[tuple[uuid.UUID, str, str, dt.date, str]], str]] = []
        for received in self._received_days():
            fy = fiscal_year_of(received)
            numbers[fy] = numbers.get(fy, 0) + 1
            case_number = f"{fy}-{numbers[fy]:04d}"
            pattern = self.rng.choices(PATTERNS, PATTERN_WEIGHTS)[0]
            if households and self.rng.random() < 0.05:
                # a household that came before: a second consultation, about another member or the same one
                household_id, members, address = self.rng.choice(households)
                person_id, name, kana, birth, _ = self.rng.choice(members)
            else:
                household_id, members, address = self._household(pattern, received)
                households.append((household_id, members, address))
                person_id, name, kana, birth, _ = members[0]
            self._case(case_number, household_id, person_id, name, kana, birth, members, pattern, received)

    def _household(self, pattern: Pattern, received: dt.date):
        created = self.at(received)
        household_id = self.uuid7(created)
        surname = self.rng.choice(SURNAMES)
        address = self.address()
        self.add("household", household_id, f"{surname[0]}さん世帯", address, None, created, created)
        members = []
        for i, member in enumerate(pattern.members):
            name, kana, sex = self.person_name(member.sex, surname)
            age = self.rng.randint(*member.ages)
            birth = received - dt.timedelta(days=age * 365 + self.rng.randrange(365))
            person_id = self.uuid7(created)
            phone = (f"090-{self.rng.randint(1000, 9999)}-{self.rng.randint(1000, 9999)}"
                     if i == 0 and self.rng.random() < .7 else None)
            self.add("person", person_id, name, kana, birth, sex, address if i == 0 else None, phone, None, created,
                     created)
            self.add("household_membership", self.uuid7(created), household_id, person_id, member.relationship,
                     received, None)
            members.append((person_id, name, kana, birth, member.relationship))
        if self.rng.random() < 0.04:  # a grown child who has since moved out: membership history
            name, kana, sex = self.person_name(None, surname)
            person_id = self.uuid7(created)
            birth = received - dt.timedelta(days=self.rng.randint(18, 35) * 365)
            self.add("person", person_id, name, kana, birth, sex, None, None, "転出済み", created, created)
            left = self.day_between(received, self.as_of)
            self.add("household_membership", self.uuid7(created), household_id, person_id,
                     "長男" if sex == "male" else "長女", received, left)
        return household_id, members, address

    def _timeline(self, received: dt.date, final: str) -> list[tuple[str, dt.date]]:
        """The statuses the case went through, each with the day it got there (the last one ≤ as_of)."""
        if final in ("closed", "suspended"):
            reached = self.rng.choice((0, 0, 1, 2, 4, 4, 5, 5))  # many end after intake (相談のみ) or after support
            path = [*ORDER[:reached + 1], final]
        else:
            path = list(ORDER[:ORDER.index(final) + 1])
        available = max(1, (self.as_of - received).days)
        steps = sorted(self.rng.randrange(available) for _ in range(len(path) - 1))
        return [(status, received + dt.timedelta(days=offset)) for status, offset in zip(path, [0, *steps])]

    def _case(self, case_number: str, household_id: uuid.UUID, person_id: uuid.UUID, name: str, kana: str,
              birth: dt.date, members: list, pattern: Pattern, received: dt.date) -> None:
        rng = self.rng
        created = self.at(received)
        case_id = self.uuid7(created)
        age = (self.as_of - received).days
        timeline = self._timeline(received, self._final_status(age))
        status, status_day = timeline[-1]
        main = rng.choice(self.staff)
        route = rng.choices(ROUTES, ROUTE_WEIGHTS)[0]
        visitor = None
        if route in ("counter", "phone") and len(members) > 1 and rng.random() < .3:
            visitor = members[1]
        receiving_agency = rng.choice(self.agencies)[0] if route == "referral" else None
        consent_given = rng.random() < .85
        tags = list(pattern.tags) + (["ごみ屋敷"] if "housing" in pattern.problems and rng.random() < .2 else [])
        open_ = status not in ("closed", "suspended")
        review_on = self.day_between(self.as_of - dt.timedelta(days=20), self.as_of + dt.timedelta(days=90)) \
            if status in ("decided", "supporting", "evaluation") else None
        reason = {"closed": "目標を達成し、見守りに移行したため終結。", "suspended": "本人の希望により支援を中断。"}.get(status)
        self.add("support_case", case_id, case_number, household_id, person_id, status, received, receiving_agency,
                 main.name, route, visitor[1] if visitor else None, visitor[4] if visitor else None,
                 list(pattern.problems), None, list(pattern.fields), tags, pattern.summary, consent_given, review_on,
                 reason, status_day if status == "closed" else None, GENERATOR, created, self.at(status_day))
        # status history: the first entry is the intake itself (from_status NULL), as the app records it
        previous = None
        for step, day in timeline:
            changed = created if previous is None else self.at(day)
            step_reason = "相談受付" if previous is None else (reason if step in ("closed", "suspended") else None)
            self.add("case_status_change", self.uuid7(changed), case_id, previous, step, step_reason, main.sub, changed)
            previous = step
        # team: the receiver is 主担当; some cases have a 副担当, some changed hands on the way
        self.add("case_assignee", self.uuid7(created), case_id, main.sub, main.name, "main", created, None)
        if rng.random() < .35:
            sub = rng.choice(self.staff)
            if sub is not main:
                self.add("case_assignee", self.uuid7(created), case_id, sub.sub, sub.name, "sub", created, None)
        reached = {s for s, _ in timeline}
        consent_id = None
        multilayer = False
        shared: list[uuid.UUID] = []
        if consent_given:
            shared = [a[0] for a in rng.sample(self.agencies, min(len(self.agencies), rng.randint(1, 3)))]
            kinds = ["multilayer_meeting", "support_meeting"] if rng.random() < .8 else ["support_meeting"]
            multilayer = "multilayer_meeting" in kinds
            revoked = received + dt.timedelta(days=rng.randint(30, 400)) if rng.random() < .02 else None
            if revoked and revoked > self.as_of:
                revoked = None
            consent_id = self.uuid7(created)
            self.add("consent", consent_id, case_id, person_id, received, received + dt.timedelta(days=730),
                     "包括的な支援のため、関係機関と情報を共有すること", shared, kinds,
                     ["basic", "consultation", "plan", "records"][:rng.randint(2, 4)], rng.choice(("written", "oral")),
                     main.sub, revoked, "本人の申出により撤回" if revoked else None, created, created)
            multilayer = multilayer and revoked is None
            for agency_id in shared:
                ended = self.at(status_day) if not open_ and rng.random() < .5 else None
                self.add("case_agency", self.uuid7(created), case_id, agency_id, "見守りと情報提供", consent_id,
                         main.sub, created, ended, "支援終結のため" if ended else None)
        day_of = dict(timeline)
        if "planning" in reached or status == "assessment" and rng.random() < .5:
            assessed = day_of["assessment"]
            at = self.at(assessed)
            assessment_id = self.uuid7(at)
            self.add("assessment", assessment_id, case_id, assessed, "世帯全体の状況を聞き取り、課題を整理した。", main.sub, at)
            for member in rng.sample(members, min(len(members), rng.randint(1, 3))):
                problem = rng.choice(pattern.problems)
                self.add("assessment_item", self.uuid7(at), assessment_id, member[0], rng.choice(pattern.fields),
                         f"{member[4]}: {problem} に関する課題")
        if "planning" in reached:
            versions = 2 if "evaluation" in reached and rng.random() < .3 else 1
            for version in range(1, versions + 1):
                made = day_of["planning"] if version == 1 else day_of["evaluation"]
                at = self.at(made)
                agreed = day_of.get("decided") if version == 1 else (made if status != "planning" else None)
                plan_id = self.uuid7(at)
                self.add("support_plan", plan_id, case_id, version, "本人の意向に沿い、生活の安定と社会参加を目指す。",
                         made + dt.timedelta(days=180), agreed, "重層的支援会議で合意" if agreed else None, main.sub, at)
                for _ in range(rng.randint(1, 3)):
                    agency_id = rng.choice(self.agencies)[0] if rng.random() < .7 else None
                    self.add("plan_role", self.uuid7(at), plan_id, agency_id, "定期的な見守りと連絡", "月1回の訪問と電話連絡")
        # progress records: about one a month while the case is worked on
        end = status_day if not open_ else self.as_of
        worked = max(0, (end - received).days)
        count = min(18, int(worked / 45 * rng.uniform(.2, .8))) + rng.randint(0, 2)
        for _ in range(count):
            day = self.day_between(received, end)
            at = self.at(day)
            kind = rng.choices(RECORD_KINDS, RECORD_WEIGHTS)[0]
            agency_id = rng.choice(self.agencies)[0] if kind == "coordination" else None
            self.add("progress_record", self.uuid7(at), case_id, day, kind, agency_id, rng.choice(RECORD_BODIES[kind]),
                     rng.choice((main, main, rng.choice(self.staff))).sub, at)
        if "evaluation" in reached:
            day = day_of["evaluation"]
            at = self.at(day)
            self.add("evaluation", self.uuid7(at), case_id, day,
                     rng.choice(("achieved", "partly", "partly", "not_achieved")),
                     "プランの目標の達成状況を本人と確認した。", "close" if status == "closed" else rng.choice(("continue", "replan")),
                     main.sub, at)
        if rng.random() < .05 and len(self.agencies) > 1:
            frm, to = rng.sample(self.agencies, 2)
            at = self.at(self.day_between(received, end))
            answer = rng.choice(("accepted", "accepted", "declined", "pending"))
            answered = at + dt.timedelta(days=rng.randint(1, 10)) if answer != "pending" else None
            self.add("referral", self.uuid7(at), case_id, frm[0], to[0], "専門的な支援が必要なため紹介", answer,
                     "対応できる職員がいないため" if answer == "declined" else None, main.sub, at,
                     str(self.uuid7(at)) if answered else None, answered)
        if rng.random() < .005:
            other = rng.choice(self.staff)
            at = self.at(self.day_between(received, end), 18, 23)
            self.add("case_access_grant", self.uuid7(at), case_id, other.sub, other.name,
                     "夜間に緊急の連絡があり、担当者不在のため閲覧", at, at + dt.timedelta(hours=8))
        self.cases.append(CaseFacts(case_id, received, status, pattern.fields, name, kana, birth, multilayer,
                                    status_day if not open_ else None))

    # -- meetings -----------------------------------------------------------------------------------------------

    def _meetings(self) -> None:
        rng = self.rng
        big = self.n_cases >= 300
        by_month: dict[tuple[int, int], list[CaseFacts]] = defaultdict(list)
        for case in self.cases:
            by_month[(case.received_on.year, case.received_on.month)].append(case)
        month = self.since(FIRST_DAY, dt.timedelta(days=90)).replace(day=1)
        while month <= self.as_of:
            recent = [c for back in range(6) for c in by_month.get(_month_back(month, back), ())]
            # a large municipality meets monthly; a small one every other month (支援会議) and quarterly (重層的)
            kinds = [kind for kind, every in (("support_meeting", 2), ("multilayer_meeting", 3))
                     if big or month.month % every == 0]
            for kind in kinds:
                day = month.replace(day=rng.randint(5, 25))
                if day > self.as_of:
                    continue
                self._meeting(kind, day, recent)
            month = _month_back(month, -1, as_date=True)

    def _meeting(self, kind: str, day: dt.date, recent: list[CaseFacts]) -> None:
        rng = self.rng
        starts = dt.datetime(day.year, day.month, day.day, rng.choice((10, 13, 14)), 0, tzinfo=JST)
        meeting_id = self.uuid7(starts - dt.timedelta(days=7))
        past = day < self.as_of
        leader = rng.choice(self.staff)
        label = "支援会議" if kind == "support_meeting" else "重層的支援会議"
        self.add("meeting", meeting_id, kind, f"{day.month}月 {label}", starts, starts + dt.timedelta(hours=1, minutes=30),
                 f"{self.m.name}役場 会議室", None, "各ケースの状況を共有し、次の対応を確認した。" if past else None,
                 starts + dt.timedelta(hours=3) if past else None, leader.sub if past else None, leader.sub,
                 starts - dt.timedelta(days=7), starts)
        members = [leader, *rng.sample(self.staff, min(len(self.staff), rng.randint(2, 5)))]
        seen = set()
        for i, member in enumerate(members):
            if member.sub in seen:
                continue
            seen.add(member.sub)
            role = "leader" if i == 0 else ("deputy" if i == 1 else rng.choice(("required", "required", "by_topic")))
            ack = starts if kind == "support_meeting" and past else None
            self.add("meeting_member", self.uuid7(starts), meeting_id, member.sub, member.name, f"{self.m.name}役場",
                     role, None, ack)
        agency_id, agency_name, _ = rng.choice(self.agencies)
        self.add("meeting_member", self.uuid7(starts), meeting_id, None, self.person_name()[0], agency_name,
                 "by_topic", None, starts if kind == "support_meeting" and past else None)
        eligible = [c for c in recent if c.received_on <= day and (c.ended_on is None or c.ended_on >= day)
                    and (kind == "support_meeting" or c.multilayer_consent)]
        for position, case in enumerate(rng.sample(eligible, min(len(eligible), rng.randint(2, 8))), start=1):
            if kind == "support_meeting":
                basis = "支援会議（社会福祉法第106条の6）では、本人の同意がなくても情報を共有できます。参加者には守秘義務があります。"
                decision = rng.choice(("continue", "refer_next", "start_support")) if past else None
            else:
                basis = f"{case.received_on.isoformat()}に得た同意（目的: 包括的な支援のため、関係機関と情報を共有すること）の範囲内です。"
                decision = rng.choice(("plan_agreed", "continue", "continue", "closed")) if past else None
            self.add("meeting_agenda_item", self.uuid7(starts), meeting_id, case.id, position, "現状の課題と役割分担の確認",
                     basis, decision, "次回の会議で経過を確認する。" if decision else None,
                     starts + dt.timedelta(hours=1) if decision else None, leader.sub if decision else None,
                     starts - dt.timedelta(days=3))

    # -- programmes and community -------------------------------------------------------------------------------

    def _programmes(self) -> None:
        rng = self.rng
        hubs = 1 + self.n_cases // 1800  # 高知市 at scale 1.0: 14 hubs; a village: one
        self.enrollable = [c for c in self.cases if c.status in ("supporting", "evaluation", "decided")]
        created = self.at(FIRST_DAY)
        hub_ids = []
        program_ids = []
        for h in range(hubs):
            kind, label = HUB_KINDS[h % len(HUB_KINDS)]
            area = AREAS[h % len(AREAS)]
            hub_id = self.uuid7(created)
            hub_ids.append(hub_id)
            self.add("program_hub", hub_id, f"{area}{label}", kind, area, self.address(), "地域の誰もが集える場所", "", None,
                     True, created, created)
            for name, kind_, field_, (min_age, max_age), drop_in in rng.sample(PROGRAMS, rng.randint(1, 3)):
                program_id = self.uuid7(created)
                program_ids.append(program_id)
                self.add("program", program_id, hub_id, f"{area} {name}", kind_, field_, "孤立を防ぎ、役割と出番をつくる",
                         "地域の住民", "体操、茶話会、季節の行事", drop_in, min_age, max_age, rng.choice((10, 15, 20, None)),
                         "", None, True, created, created)
                self._slots(program_id, drop_in, created)
        for _ in range(rng.randint(3, 10)):
            name, kana, _ = self.person_name()
            pillar = rng.choice(("participation", "community"))
            self.add("program_partner", self.uuid7(created), rng.choice(("volunteer", "business", "agency")), pillar,
                     name, kana, rng.choice(("elderly", "child", "other")), rng.choice(AREAS), "", "",
                     rng.choice(hub_ids), None, self.day_between(FIRST_DAY, self.as_of), None, created, created)
        activities: list[uuid.UUID] = []
        for i in range(rng.randint(2, 8)):
            started = self.day_between(FIRST_DAY, self.as_of)
            at = self.at(started)
            activity_id = self.uuid7(at)
            grew_from = rng.choice(activities) if activities and rng.random() < .3 else None
            self.add("community_activity", activity_id, f"{rng.choice(AREAS)}の見守りサークル{i + 1}",
                     rng.choice(("elderly", "other")),
                     rng.choice(AREAS), "住民有志", started, rng.choice(hub_ids), rng.choice(program_ids), grew_from,
                     "サロンの参加者が始めた見守り活動", rng.choice(("active", "active", "ended")), at, at)
            activities.append(activity_id)
            for _ in range(rng.randint(1, 5)):
                noted = self.day_between(started, self.as_of)
                note_at = self.at(noted)
                self.add("community_activity_note", self.uuid7(note_at), activity_id, noted, "参加者が増え、月2回の開催になった。",
                         rng.choice(self.staff).sub, note_at)
        for i in range(rng.randint(5, 10 + self.n_cases // 500)):
            name, kana, _ = self.person_name()
            self.add("community_resource", self.uuid7(created), f"{name.split()[0]}商店", f"{kana.split()[0]}しょうてん",
                     rng.choice(("elderly", "disability", "child", "poverty", "other")), rng.choice(AREAS), self.address(),
                     "", "買い物の配達と見守りに協力", True, created, created)

    def _slots(self, program_id: uuid.UUID, drop_in: bool, created: dt.datetime) -> None:
        rng = self.rng
        enrolments = []
        if not drop_in:
            linked = self.enrollable
            for _ in range(rng.randint(6, 18)):
                enrolled = self.day_between(SESSIONS_FROM - dt.timedelta(days=180), self.as_of)
                case = rng.choice(linked) if linked and rng.random() < .2 else None
                name, kana = (case.person_name, case.person_kana) if case else self.person_name()[:2]
                ended = self.day_between(enrolled, self.as_of) if rng.random() < .15 else None
                at = self.at(enrolled)
                enrolment_id = self.uuid7(at)
                self.add("program_enrolment", enrolment_id, program_id, name, kana, case.id if case else None,
                         json.dumps({"resident": True}), [], enrolled, ended, rng.choice(self.staff).sub, at, at)
                enrolments.append((enrolment_id, enrolled, ended))
        for _ in range(rng.choice((1, 1, 2))):
            start, end, band = rng.choice(SLOT_TIMES)
            weekdays = sorted(rng.sample(range(5), rng.choice((1, 1, 2))))
            slot_id = self.uuid7(created)
            self.add("program_slot", slot_id, program_id, weekdays, start, end, band, "", SESSIONS_FROM, None, None,
                     created, created)
            day = self.since(SESSIONS_FROM, dt.timedelta(weeks=4))
            last = self.as_of + dt.timedelta(days=28)  # the next four weeks are scheduled already
            seen_days = set()
            while day <= last:
                if day.weekday() in weekdays and not is_holiday(day) and day not in seen_days:
                    seen_days.add(day)
                    self._session(program_id, slot_id, day, start, end, band, drop_in, enrolments)
                day += dt.timedelta(days=1)

    def _session(self, program_id, slot_id, day, start, end, band, drop_in, enrolments) -> None:
        rng = self.rng
        made = self.at(day - dt.timedelta(days=30))
        session_id = self.uuid7(made)
        cancelled = rng.random() < .02
        past = day < self.as_of and not cancelled
        recorded = dt.datetime.combine(day, end, tzinfo=JST) if past else None
        self.add("program_session", session_id, program_id, slot_id, day, start, end, band,
                 "cancelled" if cancelled else "scheduled", "台風接近のため中止" if cancelled else None,
                 rng.randint(3, 25) if drop_in and past else 0, recorded, rng.choice(self.staff).sub if past else None,
                 made, recorded or made)
        if past:
            for enrolment_id, enrolled, ended in enrolments:
                if enrolled <= day and (ended is None or ended >= day) and rng.random() < .6:
                    self.add("program_attendance", self.uuid7(recorded), session_id, enrolment_id, recorded)

    # -- grants -------------------------------------------------------------------------------------------------

    def _grants(self) -> None:
        rng = self.rng
        counts: dict[tuple[int, int, str], int] = defaultdict(int)  # (year, month, field) → new consultations
        for case in self.cases:
            for f in case.fields:
                counts[(case.received_on.year, case.received_on.month, f)] += 1
        scheme = "integrated" if self.n_cases >= 500 else "transition"
        staff_labels = [f"包括化推進員{chr(ord('A') + i)}" for i in range(min(5, 1 + self.n_cases // 3000))]
        for fy in range(fiscal_year_of(self.since(FIRST_DAY, dt.timedelta(days=1))), fiscal_year_of(self.as_of) + 1):
            if fy in self.existing.grant_years:
                continue
            opened = self.at(dt.date(fy, 4, 1))
            year_id = self.uuid7(opened)
            # loaded open (the ledger trigger refuses rows in a closed year); past years are closed after loading
            self.add("grant_fiscal_year", year_id, fy, scheme, "open", rng.choice(("time_study", "caseload")), None,
                     None, opened, opened)
            if fy < fiscal_year_of(self.as_of):
                self.closable_years.append(year_id)
            recorder = rng.choice(self.staff).sub
            size = max(1, self.n_cases // 100)
            for business in GRANT_BUSINESSES:
                self.add("grant_budget_line", self.uuid7(opened), year_id, business, None, "人件費",
                         size * rng.randint(300_000, 600_000), None, recorder, opened)
            voucher = 0
            for month in _fiscal_months(fy):
                if month > self.as_of:
                    break
                for business in GRANT_BUSINESSES:
                    for _ in range(rng.randint(1, 2) if rng.random() < max(self.detail, .2) else 0):
                        voucher += 1
                        paid = month.replace(day=rng.randint(1, 28))
                        if paid > self.as_of:
                            continue
                        at = self.at(paid)
                        field_ = rng.choice((None, *GRANT_FIELDS))
                        self.add("grant_expenditure", self.uuid7(at), year_id, business, field_,
                                 rng.choice(("人件費", "委託料", "需用費", "役務費")), size * rng.randint(20_000, 120_000),
                                 f"{fy}-{voucher:05d}", paid, f"{self.m.name}社会福祉協議会", "事業の実施に係る経費",
                                 recorder, at)
                at = self.at(month)
                for label in staff_labels:
                    for field_ in GRANT_FIELDS:
                        self.add("grant_time_entry", self.uuid7(at), year_id, rng.choice(GRANT_BUSINESSES), label, month,
                                 field_, rng.randint(600, 4800), recorder, at)
                for field_ in GRANT_FIELDS[:4]:
                    self.add("grant_caseload_count", self.uuid7(at), year_id, "consultation", month, field_,
                             counts.get((month.year, month.month, field_), 0), None, recorder, at)


def _month_back(month: dt.date, back: int, as_date: bool = False):
    index = month.year * 12 + month.month - 1 - back
    if as_date:
        return dt.date(index // 12, index % 12 + 1, 1)
    return index // 12, index % 12 + 1


def _fiscal_months(fy: int) -> list[dt.date]:
    return [dt.date(fy + (m < 4), m, 1) for m in (*range(4, 13), 1, 2, 3)]


def demo_staff_of(code: str) -> list[Staff]:
    """The demo realm's users of ``code`` who do case work (same subs as Keycloak's import, see infra/keycloak)."""
    from infra.keycloak.realm import DEMO_USERS, stable_id
    from tenants.seed import DEMO_STAFF_KANA

    return [Staff(stable_id("user", username), f"{family} {given}", DEMO_STAFF_KANA.get(username, ""), username)
            for username, family, given, orgs, roles in DEMO_USERS if code in orgs and "staff" in roles]


# -- loading --------------------------------------------------------------------------------------------------------


class Loader:
    """COPY into the tables: directly when the role bypasses RLS, else via temporary tables per tenant.

    Rows are buffered over tenants and written table by table in foreign-key order once enough have piled up:
    one COPY per table and flush instead of one per table and tenant (the 33 small municipalities share one).
    """

    FLUSH_ROWS = 400_000

    def __init__(self, conn: asyncpg.Connection, bypasses_rls: bool, tables: set[str]):
        self.conn = conn
        self.bypasses_rls = bypasses_rls
        self.tables = tables  # the tables this schema has (an older one may lack staff_directory)
        self.buffer: dict[str, list[tuple]] = defaultdict(list)
        self.buffered_tenants: list[str] = []
        self.buffered = 0

    async def add(self, tenant_id: str, rows: dict[str, list[tuple]]) -> None:
        for table, records in rows.items():
            if table in self.tables:
                self.buffer[table].extend(records)
                self.buffered += len(records)
        self.buffered_tenants.append(tenant_id)
        if self.buffered >= self.FLUSH_ROWS:
            await self.flush()

    async def flush(self) -> None:
        for table, columns in TABLES.items():
            records = self.buffer.get(table)
            if not records:
                continue
            if self.bypasses_rls:
                await self.conn.copy_records_to_table(table, records=records, columns=list(columns))
                continue
            # The owner is behind the FORCEd wall and may not COPY into these tables: stage, then move each
            # tenant's rows with the tenant bound (the policy's WITH CHECK sees its own tenant only).
            stage = f"stage_{table}"
            await self.conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
            await self.conn.execute(f"TRUNCATE {stage}")
            await self.conn.copy_records_to_table(stage, records=records, columns=list(columns))
            names = ", ".join(columns)
            for tenant_id in self.buffered_tenants:
                await self.conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_id)
                await self.conn.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} WHERE tenant_id = $1",
                                        tenant_id)
        self.buffer.clear()
        self.buffered_tenants.clear()
        self.buffered = 0


async def _existing(conn: asyncpg.Connection, code: str, tables: set[str], bypasses_rls: bool) -> Existing:
    if not bypasses_rls:
        await conn.execute("SELECT set_config('app.tenant_id', $1, true)", code)
    found = Existing()
    found.already_generated = bool(await conn.fetchval(
        "SELECT 1 FROM support_case WHERE tenant_id = $1 AND created_by = $2 LIMIT 1", code, GENERATOR))
    for row in await conn.fetch(
            "SELECT split_part(case_number, '-', 1) AS fy, count(*) AS n FROM support_case "
            "WHERE tenant_id = $1 AND case_number ~ '^[0-9]{4}-' GROUP BY 1", code):
        found.case_numbers[int(row["fy"])] = row["n"]
    found.grant_years = {r["fiscal_year"] for r in await conn.fetch(
        "SELECT fiscal_year FROM grant_fiscal_year WHERE tenant_id = $1", code)}
    if "staff_directory" in tables:
        found.staff_subs = {r["user_sub"] for r in await conn.fetch(
            "SELECT user_sub FROM staff_directory WHERE tenant_id = $1", code)}
    return found


async def generate(owner_database_url: str, seed: int = 42, scale: float = 1.0, *, tenants: Sequence[str] | None = None,
                   as_of: dt.date = AS_OF, quiet: bool = False) -> dict[str, int]:
    """Fill the database at ``owner_database_url`` (a role that bypasses RLS, or the owner: see the module doc).

    Returns the rows written per table. Municipalities in ``tenants`` (default: all 34) become tenants if they
    are not; one that already holds generated cases is skipped.
    """
    say = (lambda *a: None) if quiet else print  # noqa: E731 (one switch for every progress line)
    registry = {m.code: m for m in load_registry() if not m.is_prefecture}
    codes = list(tenants) if tenants else list(registry)
    unknown = [c for c in codes if c not in registry]
    if unknown:
        raise ValueError(f"not municipalities of Kochi: {', '.join(unknown)}")
    sizes = case_counts(scale, codes)
    began = time.perf_counter()
    conn = await connect(owner_database_url)
    totals: dict[str, int] = defaultdict(int)
    try:
        bypasses = await conn.fetchval("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        tables = {r["table_name"] for r in await conn.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
        missing = [t for t in TABLES if t not in tables]
        if missing:
            say(f"this schema has no {', '.join(missing)}: skipped")
        loader = Loader(conn, bypasses, tables)
        closing: list[tuple[str, list[uuid.UUID], str]] = []
        async with conn.transaction():
            # The tenant rows themselves are global: the owner (or a superuser) adds the missing municipalities.
            await conn.execute("INSERT INTO tenant (tenant_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING", codes)
            for code in codes:
                existing = await _existing(conn, code, tables, bypasses)
                if existing.already_generated:
                    say(f"{code} {registry[code].name}: already holds generated cases, skipped")
                    continue
                tenant = TenantData(registry[code], sizes[code], seed, as_of, existing, demo_staff_of(code),
                                    detail=min(1.0, scale))
                rows = tenant.generate()
                await loader.add(code, rows)
                for table, records in rows.items():
                    if table in tables:
                        totals[table] += len(records)
                closing.append((code, tenant.closable_years, tenant.staff[0].sub))
                say(f"{code} {registry[code].name}: {sizes[code]:,} cases, {sum(len(r) for r in rows.values()):,} rows "
                    f"({time.perf_counter() - began:.1f} s)")
            await loader.flush()
            # Past years are closed now that their ledgers are in (the trigger refuses rows in closed years).
            for code, years, closer in closing:
                if not bypasses:
                    await conn.execute("SELECT set_config('app.tenant_id', $1, true)", code)
                await conn.execute(
                    "UPDATE grant_fiscal_year SET status = 'closed', closed_at = make_date(fiscal_year + 1, 5, 31), "
                    "closed_by = $3 WHERE tenant_id = $1 AND id = ANY($2::uuid[])", code, years, closer)
        loaded = time.perf_counter() - began
        await conn.execute("ANALYZE")
        say(f"ANALYZE {time.perf_counter() - began - loaded:.1f} s")
    finally:
        await conn.close()
    elapsed = time.perf_counter() - began
    say("\n| table | rows |\n|---|---|")
    for table in TABLES:
        if totals.get(table):
            say(f"| {table} | {totals[table]:,} |")
    say(f"| **total** | **{sum(totals.values()):,}** |")
    say(f"\n{sum(totals.values()):,} rows in {elapsed:.1f} s ({sum(totals.values()) / elapsed:,.0f} rows/s)")
    return dict(totals)


def _default_url() -> str:
    """The running embedded server's superuser (as ``kyosei backup`` uses), else DATABASE_BACKUP_URL or DATABASE_URL."""
    from core.settings import get_settings
    from infra.database.embedded import EmbeddedPostgres
    from infra.database.provision import DATABASE, with_database

    settings = get_settings()
    if settings.embedded_database:
        server = EmbeddedPostgres(settings.data_dir / "pg", settings.embedded_pg_port)
        if server.running_pid() is None:
            raise SystemExit("the embedded PostgreSQL is not running: start it with `kyosei db start` or `make run`")
        server.port = server.running_port() or server.port
        return with_database(server.superuser_url, DATABASE)
    return settings.database_backup_url or settings.database_url  # type: ignore[return-value]


async def has_generated_cases(url: str) -> bool:
    """Whether the database already holds this generator's cases (benchmarks keep their data between runs)."""
    conn = await connect(url)
    try:
        return bool(await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM support_case WHERE created_by = 'kyosei-generator')"))
    finally:
        await conn.close()


def fill_once(urls, superuser_url: str, scale: float, seed: int = 42) -> float | None:
    """The registry seeded and, unless the database already holds generated cases, the data of ``scale`` written
    (as ``superuser_url``: the generator writes without the app's triggers). Seconds spent generating, or None."""
    from core.cli import _seed

    _seed(urls, demo=False)
    if asyncio.run(has_generated_cases(superuser_url)):
        return None
    started = time.monotonic()
    asyncio.run(generate(superuser_url, seed, scale))
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="a role that bypasses RLS, or the owner (default: see module doc)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0: 高知市 25,000 cases, about 1.6 million rows")
    parser.add_argument("--tenants", help="comma-separated municipality codes (default: all 34)")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF, help=f"the data's today (default {AS_OF})")
    args = parser.parse_args()
    url = args.database_url or _default_url()
    tenants = [c.strip() for c in args.tenants.split(",") if c.strip()] if args.tenants else None
    asyncio.run(generate(url, args.seed, args.scale, tenants=tenants, as_of=args.as_of))


if __name__ == "__main__":
    main()
