"""The items of the national アセスメントシート, as fields (structured assessment).

Source of the item list: 厚生労働省「自立相談支援事業の手引き」別添 帳票類（アセスメントシート）and the
重層的支援体制整備事業 多機関協働事業 参考様式 (see docs/forms.md). Each item is free text on the paper form, so it
is free text here; 課題の整理 (the problems of each member, by field) stays in ``assessment_item`` rows, which a
plan refers to (``support_plan.addressed_item_ids``).

An assessment keeps its items in ``assessment.sections`` (JSON object, item code → text); items left empty are not
stored. The older free-text ``summary`` (見立て・総合所見) is kept as the sheet's last box.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# code → (heading on the sheet, what the box asks for); the order is the sheet's order
SECTIONS: dict[str, tuple[str, str]] = {
    "household": ("本人・世帯の状況", "家族構成、世帯の中での役割、キーパーソン、介護・養育の状況"),
    "life_history": ("生活歴", "生育歴、学歴・職歴、これまでの経過"),
    "health": ("健康", "心身の状態、通院・服薬、障害の有無、手帳・認定の状況"),
    "employment": ("就労", "就労状況、就労経験、就労への意向・阻害要因"),
    "finances": ("経済", "収入・支出、借金・滞納、公的給付の受給状況"),
    "housing": ("住まい", "住居の種類、家賃、住環境、居住の継続性"),
    "social": ("社会参加", "地域とのつながり、日中の過ごし方、相談できる人"),
    "strengths": ("本人の強み", "本人や世帯の得意なこと、意欲、活用できる資源"),
    "wishes": ("本人の思い・希望", "本人が望む暮らし、支援への意向"),
}
SECTION_MAX = 4000
FORM_PREFIX = "section."


def read_sections(reader, data: Mapping[str, Any]) -> dict[str, str]:
    """The sheet's items from ``data['sections']`` (JSON) or ``section.<code>`` form fields; unknown codes refused."""
    raw = data.get("sections")
    if raw is None:
        raw = {k.removeprefix(FORM_PREFIX): v for k, v in data.items() if k.startswith(FORM_PREFIX)}
    if not isinstance(raw, Mapping):
        reader.fail("sections", "アセスメント項目は項目コードと記述の組で指定してください。")
        return {}
    unknown = [k for k in raw if k not in SECTIONS]
    if unknown:
        reader.fail("sections", "アセスメント項目に知らない項目があります: " + "、".join(str(k) for k in unknown[:5]))
        return {}
    inner = type(reader)(dict(raw), "sections.", reader.errors)
    values = {code: inner.text(code, SECTIONS[code][0], SECTION_MAX, free=True) for code in SECTIONS if code in raw}
    return {code: text for code, text in values.items() if text}


def filled(sections: Mapping[str, str] | None) -> list[tuple[str, str, str]]:
    """(code, heading, text) of every item in sheet order, empty text where nothing was written."""
    sections = sections or {}
    return [(code, label, sections.get(code) or "") for code, (label, _hint) in SECTIONS.items()]
