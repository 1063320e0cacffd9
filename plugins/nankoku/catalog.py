"""南国市's activity hub: its programmes and weekly timetable, as in the prefecture's briefing (seed document).

Times the briefing states are used as they are: MORITO ROOM 月 10:00–16:00, カフェ・ド・ポム 火 8:45–12:00,
独居高齢者の集い 水・金 14:00–18:00. The briefing's weekly sheet places the rest only by half-day (午前/午後); for
those the times below are this plugin's assumptions, which the municipality edits after installing:

- 子どもの学習支援 土・日: 午前 小学3～4年生（国語・算数） 10:00–12:00, 午後 小学5～6年生（国語・算数・理科・社会）
  13:00–15:00 (the sheet shows 3–4年 on both mornings and 5–6年 in the afternoon);
- つぐみアカデミー 水 午前 10:00–12:00 (on the sheet; the briefing gives no description);
- 個別支援 木 午前 10:00–12:00, normally for the hub's members (※原則 拠点参加者 対象);
- みんなの居場所 火 午後 13:00–16:00, a drop-in place counted by anonymous headcount.

Besides the public ``ProgramDefinition`` fields, ``HubProgram`` carries the programme's kind (参加支援/地域づくり),
purpose, target group, content, whether it is a drop-in place, and its hub; the core catalog installer reads
those attributes when present.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.plugin_types import EligibilityRule, ProgramDefinition, TimetableSlot

HUB_CODE = "nankoku_hub"
HUB_NAME = "南国市 活動拠点"
PLACE = HUB_NAME

# Program codes (stable; the eligibility rules answer for these).
MORITO_ROOM = "morito_room"
CAFE_DE_POMME = "cafe_de_pomme"
SENIORS_GATHERING = "seniors_gathering"
STUDY_SUPPORT = "study_support"
TSUGUMI_ACADEMY = "tsugumi_academy"
INDIVIDUAL_SUPPORT = "individual_support"
MINNA_NO_IBASHO = "minna_no_ibasho"


@dataclass(frozen=True)
class HubProgram(ProgramDefinition):
    kind: str = "participation"  # participation (参加支援) | community (地域づくり)
    purpose: str = ""
    target_group: str = ""
    content: str = ""
    drop_in: bool = False
    hub_code: str = HUB_CODE
    hub_name: str = HUB_NAME
    hub_kind: str = "activity_hub"


def _t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def _slots(weekdays: tuple[int, ...], start: str, end: str, label: str = "") -> tuple[TimetableSlot, ...]:
    return tuple(TimetableSlot(weekday=d, start=_t(start), end=_t(end), place=PLACE, label=label) for d in weekdays)


MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

CATALOG: tuple[HubProgram, ...] = (
    HubProgram(
        code=MORITO_ROOM, name="MORITO ROOM（モリトルーム）", field="poverty", place=PLACE,
        description="ひきこもり・ニートの社会参加、対人関係構築及び親の不安解消",
        purpose="ひきこもり・ニートの社会参加、対人関係構築及び親の不安解消",
        target_group="ニート、ひきこもりの方、または経験者（概ね18歳～50歳）",
        content="やりがいを見つけるプログラムや生活能力の向上、運動、自由な活動など",
        slots=_slots((MON,), "10:00", "16:00"),
        eligibility=(EligibilityRule("age_18_50", "概ね18歳～50歳", asks=("age",)),
                     EligibilityRule("withdrawal_history", "ニート、ひきこもりの方、または経験者", asks=("withdrawal_history",))),
    ),
    HubProgram(
        code=CAFE_DE_POMME, name="カフェ・ド・ポム（カフェ就労）", field="poverty", place=PLACE,
        description="他のプログラムと連動し、労働に対する対価を得ることにより就労への意欲をもってもらう",
        purpose="他のプログラムと連動し、労働に対する対価を得ることにより就労への意欲をもってもらう",
        target_group="地域住民、モリトルーム、生活困窮者就労準備支援事業の利用者",
        content="トースト、デザート、コーヒーなどを提供",
        slots=_slots((TUE,), "08:45", "12:00"),
        eligibility=(EligibilityRule("resident_or_member", "地域住民、モリトルームの参加者、就労準備支援事業の利用者",
                                     asks=("resident", "program_member", "employment_prep_user")),),
    ),
    HubProgram(
        code=SENIORS_GATHERING, name="独居高齢者の集い", field="elderly", place=PLACE,
        description="南国市の独居高齢者の交流場作り、相互関係を結ぶことで孤立を防ぐ",
        purpose="南国市の独居高齢者の交流場作り、相互関係を結ぶことで孤立を防ぐ",
        target_group="65歳以上の要介護認定を受けていない方で、子どもがいない、または県外にいる方",
        content="買い物、生活支援、夕食を一緒に食べる等、孤立を防ぐ",
        slots=_slots((WED, FRI), "14:00", "18:00", "65歳以上"),
        eligibility=(EligibilityRule("age_65", "65歳以上", asks=("age",)),
                     EligibilityRule("no_care_certification", "要介護認定を受けていない", asks=("care_certified",)),
                     EligibilityRule("no_children_nearby", "子どもがいない、または県外にいる",
                                     asks=("has_children", "children_in_prefecture"))),
    ),
    HubProgram(
        code=STUDY_SUPPORT, name="子どもの学習支援", field="child", place=PLACE,
        description="家庭学習の定着、学習を通して、自信や意欲を育む",
        purpose="家庭学習の定着、学習を通して、自信や意欲を育む",
        target_group="塾に通っていない小学3～6年生",
        content="小学3～4年生（国語・算数）、小学5～6年生（国語・算数・理科・社会）、課外学習の実施（不定期）",
        slots=_slots((SAT, SUN), "10:00", "12:00", "小学3～4年生（国語・算数）")
        + _slots((SAT, SUN), "13:00", "15:00", "小学5～6年生（国語・算数・理科・社会）"),
        eligibility=(EligibilityRule("grade_3_6", "小学3～6年生", asks=("school_grade",)),
                     EligibilityRule("no_cram_school", "塾に通っていない", asks=("attends_cram_school",))),
    ),
    HubProgram(
        code=TSUGUMI_ACADEMY, name="つぐみアカデミー", field="other", place=PLACE,
        description="", slots=_slots((WED,), "10:00", "12:00"),
    ),
    HubProgram(
        code=INDIVIDUAL_SUPPORT, name="個別支援", field="other", place=PLACE,
        description="拠点参加者への個別の支援", purpose="拠点参加者への個別の支援",
        target_group="原則として拠点の参加者", slots=_slots((THU,), "10:00", "12:00"),
        eligibility=(EligibilityRule("hub_member", "原則として拠点の参加者", asks=("program_member",)),),
    ),
    HubProgram(
        code=MINNA_NO_IBASHO, name="みんなの居場所", field="other", place=PLACE, kind="community", drop_in=True,
        description="誰でも気軽に立ち寄れる居場所", purpose="誰でも気軽に立ち寄れる居場所", target_group="どなたでも",
        slots=_slots((TUE,), "13:00", "16:00"),
    ),
)

HUB_PROGRAMS = {MORITO_ROOM, CAFE_DE_POMME, SENIORS_GATHERING, STUDY_SUPPORT, TSUGUMI_ACADEMY}
