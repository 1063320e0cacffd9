"""Seed data from the prefecture's briefing (令和3年度の地域共生社会の実現に向けた高知県の取組).

The briefing's R3–R6 table gives *groups*, not names:

- 7市町 ran the 移行準備事業 in R3 and move to the 重層的支援体制整備事業 from R4;
- 27市町村 were 検討中 in R3; one row shows them starting the 移行準備事業 in R4, the next row starting it in R5
  and the 重層的支援体制整備事業 in R6;
- 地域福祉計画 revisions: 15 municipalities in R4, 10 in R5, 6 in R6 (the remaining 3: not in R4–R6).

What the text does not say, and is therefore an assumption of this seed (the prefecture corrects it on the board):
which municipalities form each group; how the 27 split between the R4 and R5 starts (here 14 and 13); that the R4
starters run the 重層的支援体制整備事業 from R5 (the prefecture's goal: every municipality by R5); and which
municipalities revise their plan in which year (assigned in code order). ``tests/test_prefecture_roadmap.py``
checks that the board reproduces the table's group counts.
"""

from __future__ import annotations

import datetime as dt
import uuid

R3, R4, R5, R6 = 2021, 2022, 2023, 2024
ROADMAP_YEARS = (R3, R4, R5, R6)

# 7市町: 令和3年度 移行準備事業 実施 (cities and towns only, as the table says 市町).
PREPARATION_IN_R3 = ("392014", "392049", "392065", "392111", "393631", "394017", "394289")
# 27市町村 検討中, split: 移行準備事業 from R4 …
PREPARATION_FROM_R4 = (
    "392022", "392031", "392057", "392081", "392090", "392103", "392120",
    "393410", "393860", "394025", "394033", "394050", "394076", "394114",
)
# … and 移行準備事業 in R5, 重層的支援体制整備事業 in R6.
PREPARATION_FROM_R5 = (
    "393011", "393029", "393037", "393045", "393053", "393061", "393070",
    "393444", "393649", "393878", "394106", "394246", "394271",
)

GROUP_PHASES = {
    PREPARATION_IN_R3: ("preparation", "implementation", "implementation", "implementation"),
    PREPARATION_FROM_R4: ("considering", "preparation", "implementation", "implementation"),
    PREPARATION_FROM_R5: ("considering", "considering", "preparation", "implementation"),
}

# 地域福祉計画 改定予定: R4 15, R5 10, R6 6 (briefing); 3 without a revision in R4–R6.
PLAN_REVISIONS = {R4: 15, R5: 10, R6: 6}


def roadmap_phases() -> dict[tuple[str, int], str]:
    phases = {}
    for codes, per_year in GROUP_PHASES.items():
        for code in codes:
            for year, phase in zip(ROADMAP_YEARS, per_year, strict=True):
                phases[(code, year)] = phase
    return phases


def plan_revision_years() -> dict[str, int | None]:
    codes = sorted(PREPARATION_IN_R3 + PREPARATION_FROM_R4 + PREPARATION_FROM_R5)
    years: list[int | None] = []
    for year, count in PLAN_REVISIONS.items():
        years += [year] * count
    years += [None] * (len(codes) - len(years))
    return dict(zip(codes, years, strict=True))


_NAMESPACE = uuid.UUID("0a5d8f0e-9a55-4b8e-8c55-3f7c1e0d9b21")


def yearly_cycle(fiscal_year: int) -> list[dict]:
    """後方支援事業 年間スケジュール, as in the briefing's 令和3年度 table, for any 年度 (April–March)."""
    y, n = fiscal_year, fiscal_year + 1

    def d(year: int, month: int, day: int) -> dt.date:
        return dt.date(year, month, day)

    return [
        dict(kind="block_meeting", title="ブロック別市町村連携推進会議", starts_on=d(y, 4, 1), ends_on=d(y, 6, 30),
             participants="各ブロックの市町村 地域福祉・重層的支援体制担当課", materials="",
             note="重層的支援体制整備事業等の説明"),
        dict(kind="survey", title="包括的支援体制実態調査", starts_on=d(y, 6, 1), ends_on=d(y, 8, 31),
             participants="県内全34市町村", materials="", note="各市町村の状況把握"),
        dict(kind="four_party", title="四者協議", starts_on=d(y, 6, 1), ends_on=d(y, 9, 30),
             participants="県・市町村ほか関係者", materials="", note="体制構築に向けた働きかけ"),
        dict(kind="info_exchange", title="第1回 重層的支援体制整備事業実施に向けた情報交換会",
             starts_on=d(y, 9, 1), ends_on=d(y, 9, 30), participants="移行準備事業実施市町村（7市町）等",
             materials="", note="移行準備事業実施市町村等による取り組みの情報共有"),
        dict(kind="seminar", title="地域福祉推進セミナー", starts_on=d(y, 10, 1), ends_on=d(y, 12, 31),
             participants="県内全市町村", materials="", note="各市町村への先進事例紹介等"),
        dict(kind="info_exchange", title="第2回 重層的支援体制整備事業実施に向けた情報交換会",
             starts_on=d(n, 1, 1), ends_on=d(n, 3, 31), participants="移行準備事業実施市町村（7市町）",
             materials="", note="重層的支援体制を実施するための具体的な取り組み内容の協議"),
        dict(kind="guide", title="体制構築の手引書の作成", starts_on=d(n, 3, 1), ends_on=d(n, 3, 31),
             participants="県", materials="", note="体制構築のノウハウを各市町村へ共有"),
        dict(kind="visit", title="訪問支援（市町村地域福祉計画改定に向けた助言等）", starts_on=d(y, 4, 1),
             ends_on=d(n, 3, 31), participants="計画改定予定の市町村", materials="", note=""),
    ]


def event_id(fiscal_year: int, position: int) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"backoffice:{fiscal_year}:{position}")


def seed_statements() -> list[tuple[str, dict]]:
    """Idempotent inserts for the migration (runs as the owner; these tables are not FORCEd)."""
    statements: list[tuple[str, dict]] = []
    for (code, year), phase in sorted(roadmap_phases().items()):
        statements.append((
            "INSERT INTO roadmap_phase (municipality_code, fiscal_year, phase) VALUES (:code, :year, :phase) "
            "ON CONFLICT DO NOTHING",
            {"code": code, "year": year, "phase": phase},
        ))
    for code, year in sorted(plan_revision_years().items()):
        statements.append((
            "INSERT INTO roadmap_plan (municipality_code, revision_fiscal_year) VALUES (:code, :year) "
            "ON CONFLICT DO NOTHING",
            {"code": code, "year": year},
        ))
    for position, event in enumerate(yearly_cycle(R3)):
        statements.append((
            "INSERT INTO backoffice_event (id, fiscal_year, kind, title, starts_on, ends_on, participants, materials,"
            " note) VALUES (:id, :fiscal_year, :kind, :title, :starts_on, :ends_on, :participants, :materials, :note)"
            " ON CONFLICT DO NOTHING",
            {"id": event_id(R3, position), "fiscal_year": R3, **event},
        ))
    return statements
