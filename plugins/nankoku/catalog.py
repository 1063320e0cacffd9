"""南国市's activity hub: its programmes and weekly timetable, as in the prefecture's briefing (seed document).

Faithful to the source, nothing invented:

- Times are used only where the briefing's text states them: MORITO ROOM 月 10:00～16:00, カフェ・ド・ポム 火
  8:45～12:00, 独居高齢者の集い 水・金 14:00～18:00.
- Everything else is placed by the half-day cell of the briefing's weekly sheet (午前/午後) with
  ``time_confirmed=False``: people see 「時間は拠点で確認」, and the slot's times are only the half-day's bounds
  (午前 9:00～12:00, 午後 13:00～17:00) that put it in the right row. That is 子どもの学習の場 (土 午前 小学3～4年生,
  日 午前 小学3～4年生, 日 午後 小学5～6年生), つぐみアカデミー (水 午前), 個別支援 (木 午前, ※原則 拠点参加者 対象)
  and みんなの居場所 (火 午後).

Where the sheet and the text disagree (noted on the slot, shown with it):

- 独居高齢者の集い: the text says 水曜日・金曜日 14:00～18:00; the sheet puts it on 水 and **土** afternoons. The text
  is followed (it gives times); the Friday slot says so.
- MORITO ROOM: the text says 10:00～16:00; the sheet shows it only in the 月 morning cell.
- 子どもの学習支援: the text says 〈土曜日・日曜日〉 without times or grades per day; the sheet has 小学3～4年生 on both
  mornings and 小学5～6年生 only on the Sunday afternoon, which is what the slots follow.

「概ね18歳～50歳」 (MORITO ROOM) is guidance, not a condition: ``rules.py`` marks it so, and a coordinator can enrol
someone outside it with a recorded reason.

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


def _slots(weekdays: tuple[int, ...], start: str, end: str, label: str = "",
           note: str = "") -> tuple[TimetableSlot, ...]:
    return tuple(TimetableSlot(weekday=d, start=_t(start), end=_t(end), place=PLACE, label=label, note=note)
                 for d in weekdays)


# The half-day cells of the weekly sheet, for slots whose times the briefing does not give.
MORNING = ("09:00", "12:00")
AFTERNOON = ("13:00", "17:00")


def _half_day(weekdays: tuple[int, ...], half: tuple[str, str], label: str = "") -> tuple[TimetableSlot, ...]:
    """Placed by the sheet's 午前/午後 cell only: shown as 「時間は拠点で確認」."""
    return tuple(TimetableSlot(weekday=d, start=_t(half[0]), end=_t(half[1]), place=PLACE, label=label,
                               time_confirmed=False) for d in weekdays)


MON, TUE, WED, THU, FRI, SAT, SUN = range(7)

CATALOG: tuple[HubProgram, ...] = (
    HubProgram(
        code=MORITO_ROOM, name="MORITO ROOM（モリトルーム）", field="poverty", place=PLACE,
        description="ひきこもり・ニートの社会参加、対人関係構築及び親の不安解消",
        purpose="ひきこもり・ニートの社会参加、対人関係構築及び親の不安解消",
        target_group="ニート、ひきこもりの方、または経験者（概ね18歳～50歳）",
        content="やりがいを見つけるプログラムや生活能力の向上、運動、自由な活動など",
        slots=_slots((MON,), "10:00", "16:00", note="資料の週間表では午前の欄のみ。時間は本文による"),
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
        slots=_slots((WED,), "14:00", "18:00", "65歳以上")
        + _slots((FRI,), "14:00", "18:00", "65歳以上", note="資料の週間表では金曜ではなく土曜の午後。本文（水・金）に従う"),
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
        slots=_half_day((SAT, SUN), MORNING, "小学3～4年生（国語・算数）")
        + _half_day((SUN,), AFTERNOON, "小学5～6年生（国語・算数・理科・社会）"),
        eligibility=(EligibilityRule("grade_3_6", "小学3～6年生", asks=("school_grade",)),
                     EligibilityRule("no_cram_school", "塾に通っていない", asks=("attends_cram_school",))),
    ),
    HubProgram(
        code=TSUGUMI_ACADEMY, name="つぐみアカデミー", field="other", place=PLACE,
        description="", slots=_half_day((WED,), MORNING),
    ),
    HubProgram(
        code=INDIVIDUAL_SUPPORT, name="個別支援", field="other", place=PLACE,
        description="拠点参加者への個別の支援", purpose="拠点参加者への個別の支援",
        target_group="原則として拠点の参加者", slots=_half_day((THU,), MORNING),
        eligibility=(EligibilityRule("hub_member", "原則として拠点の参加者", asks=("program_member",)),),
    ),
    HubProgram(
        code=MINNA_NO_IBASHO, name="みんなの居場所", field="other", place=PLACE, kind="community", drop_in=True,
        description="誰でも気軽に立ち寄れる居場所", purpose="誰でも気軽に立ち寄れる居場所", target_group="どなたでも",
        slots=_half_day((TUE,), AFTERNOON),
    ),
)

HUB_PROGRAMS = {MORITO_ROOM, CAFE_DE_POMME, SENIORS_GATHERING, STUDY_SUPPORT, TSUGUMI_ACADEMY}
