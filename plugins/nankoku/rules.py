"""南国市's eligibility rules for the hub's programmes, as the briefing states them (対象者).

Each function takes the ``person`` facts the programs domain documents (``core.programs.eligibility``) and
returns an ``EligibilityResult`` with Japanese reasons. A fact that was not asked (``None``) is treated as
unknown: the rule refuses and says what to ask, rather than guessing. ``check(code, person)`` returns ``None`` for
programmes that are not this plugin's, so the hook leaves them to others.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from core.plugin_types import EligibilityResult
from plugins.nankoku import catalog

Person = Mapping[str, Any]


# Rules the briefing words as guidance (「概ね」): a coordinator may enrol someone outside them, giving a reason.
GUIDANCE = ("age_18_50",)


def _result(failures: list[tuple[str, str]], passed: tuple[str, ...]) -> EligibilityResult:
    if failures:
        codes = tuple(code for code, _ in failures)
        return EligibilityResult(False, codes, tuple(reason for _, reason in failures),
                                 guidance=tuple(c for c in codes if c in GUIDANCE))
    return EligibilityResult(True, passed)


def morito_room(person: Person) -> EligibilityResult:
    """ニート、ひきこもりの方、または経験者（概ね18歳～50歳）. "概ね" is guidance: outside 18–50 the answer is a
    refusal marked as guidance, which a coordinator may override with a recorded reason (the core keeps it)."""
    failures = []
    age = person.get("age")
    if age is None:
        failures.append(("age_18_50", "年齢を確認してください（対象は概ね18歳～50歳）。"))
    elif not 18 <= age <= 50:
        failures.append(("age_18_50", f"対象は概ね18歳～50歳の方です（{age}歳）。"))
    if person.get("withdrawal_history") is not True:
        failures.append(("withdrawal_history", "対象は、ニート・ひきこもりの状態にある方、またはその経験のある方です。"))
    return _result(failures, ("age_18_50", "withdrawal_history"))


def cafe_de_pomme(person: Person) -> EligibilityResult:
    """地域住民、モリトルーム、生活困窮者就労準備支援事業の利用者 — any one of them."""
    members = set(person.get("program_member") or ())
    if person.get("resident") is True or catalog.MORITO_ROOM in members or person.get("employment_prep_user") is True:
        return EligibilityResult(True, ("resident_or_member",))
    return EligibilityResult(False, ("resident_or_member",), (
        "対象は、地域住民、モリトルームの参加者、または生活困窮者就労準備支援事業の利用者です。",))


def seniors_gathering(person: Person) -> EligibilityResult:
    """65歳以上の要介護認定を受けていない方で、子どもがいない、または県外にいる方."""
    failures = []
    age = person.get("age")
    if age is None:
        failures.append(("age_65", "年齢を確認してください（対象は65歳以上）。"))
    elif age < 65:
        failures.append(("age_65", f"対象は65歳以上の方です（{age}歳）。"))
    care = person.get("care_certified")
    if care is None:
        failures.append(("no_care_certification", "要介護認定の有無を確認してください。"))
    elif care:
        failures.append(("no_care_certification", "要介護認定を受けている方は対象外です。"))
    has_children, nearby = person.get("has_children"), person.get("children_in_prefecture")
    if has_children is None:
        failures.append(("no_children_nearby", "お子さんの有無を確認してください。"))
    elif has_children and nearby is None:
        failures.append(("no_children_nearby", "お子さんが県内に住んでいるか確認してください。"))
    elif has_children and nearby:
        failures.append(("no_children_nearby", "お子さんが県内にいる方は対象外です（子どもがいない、または県外にいる方が対象）。"))
    return _result(failures, ("age_65", "no_care_certification", "no_children_nearby"))


def study_support(person: Person) -> EligibilityResult:
    """塾に通っていない小学3～6年生."""
    failures = []
    grade = person.get("school_grade")
    if grade is None:
        failures.append(("grade_3_6", "学年を確認してください（対象は小学3～6年生）。"))
    elif not 3 <= grade <= 6:
        failures.append(("grade_3_6", "対象は小学3～6年生です。"))
    cram = person.get("attends_cram_school")
    if cram is None:
        failures.append(("no_cram_school", "塾に通っているか確認してください。"))
    elif cram:
        failures.append(("no_cram_school", "塾に通っているお子さんは対象外です。"))
    return _result(failures, ("grade_3_6", "no_cram_school"))


def individual_support(person: Person) -> EligibilityResult:
    """原則 拠点参加者 対象: a member of one of the hub's programmes."""
    if set(person.get("program_member") or ()) & catalog.HUB_PROGRAMS:
        return EligibilityResult(True, ("hub_member",))
    return EligibilityResult(False, ("hub_member",), ("個別支援は、原則として拠点の事業に参加している方が対象です。",))


RULES: dict[str, Callable[[Person], EligibilityResult]] = {
    catalog.MORITO_ROOM: morito_room,
    catalog.CAFE_DE_POMME: cafe_de_pomme,
    catalog.SENIORS_GATHERING: seniors_gathering,
    catalog.STUDY_SUPPORT: study_support,
    catalog.INDIVIDUAL_SUPPORT: individual_support,
}


def check(program_code: str, person: Person) -> EligibilityResult | None:
    rule = RULES.get(program_code)
    return rule(person) if rule else None
