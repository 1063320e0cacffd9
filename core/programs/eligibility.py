"""Who may join a programme: the applicant's facts, the rules, and where the rules come from.

The facts (``Applicant``) are entered on the enrolment form; they are not read from the cases domain. Only the
facts go to a rule, never a name or contact: ``Applicant.facts()`` is the ``person`` mapping that
``kyosei_check_eligibility(tenant_id, program_code, person)`` receives. Its keys (all optional, ``None`` = not
asked / unknown):

==========================  ======  ==========================================================================
key                         type    meaning
==========================  ======  ==========================================================================
``age``                     int     age in whole years on the enrolment day (from the birth date when given)
``resident``                bool    市内在住 (lives in the municipality)
``care_certified``          bool    要介護認定を受けている (certified as needing long-term care)
``has_children``            bool    子どもがいる
``children_in_prefecture``  bool    子どもが県内に住んでいる (only meaningful with ``has_children``)
``school_grade``            int     小学校の学年 1–6 (7–9 for 中学1–3年)
``attends_cram_school``     bool    塾に通っている
``withdrawal_history``      bool    ひきこもり・ニートの状態にある、または経験がある
``program_member``          list    codes of programmes the person already belongs to (e.g. ``morito_room``)
``employment_prep_user``    bool    生活困窮者就労準備支援事業の利用者
==========================  ======  ==========================================================================

Where rules come from, in order; every rule that answers must allow:

1. the programme's own age range (``Program.min_age``/``max_age``), a core rule any tenant can set;
2. the tenant's plugins through the hook ``kyosei_check_eligibility`` (first answer wins), reached through
   ``RuleSource``. ``core.programs`` depends only on this small seam: ``hook_rule_source(plugins)`` adapts the
   plugin platform's per-tenant caller, and ``LocalRules`` holds rules registered in-process (tests, or a
   deployment without the platform).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from core import wareki
from core.plugin_types import EligibilityResult


@dataclass(frozen=True)
class Applicant:
    """The facts an enrolment form asks, for the eligibility rules only (no name here)."""

    birth_date: dt.date | None = None
    age: int | None = None
    resident: bool | None = None
    care_certified: bool | None = None
    has_children: bool | None = None
    children_in_prefecture: bool | None = None
    school_grade: int | None = None
    attends_cram_school: bool | None = None
    withdrawal_history: bool | None = None
    program_member: tuple[str, ...] = ()
    employment_prep_user: bool | None = None

    def age_on(self, day: dt.date) -> int | None:
        if self.birth_date is not None:
            b = self.birth_date
            return day.year - b.year - ((day.month, day.day) < (b.month, b.day))
        return self.age

    def facts(self, on: dt.date) -> dict[str, Any]:
        """The ``person`` mapping handed to rules: facts only, never the birth date itself."""
        return {
            "age": self.age_on(on),
            "resident": self.resident,
            "care_certified": self.care_certified,
            "has_children": self.has_children,
            "children_in_prefecture": self.children_in_prefecture,
            "school_grade": self.school_grade,
            "attends_cram_school": self.attends_cram_school,
            "withdrawal_history": self.withdrawal_history,
            "program_member": list(self.program_member),
            "employment_prep_user": self.employment_prep_user,
        }

    def stored(self) -> dict[str, Any]:
        """What the enrolment keeps of the facts (JSONB), for showing why a person was accepted."""
        data = {k: v for k, v in self.facts(wareki.today()).items() if v not in (None, [], ())}
        data.pop("age", None)
        if self.birth_date is None and self.age is not None:
            data["age_at_enrolment"] = self.age
        return data


class EligibilityRule(Protocol):
    """One rule: answers for the programmes it knows, ``None`` for the others (same shape as the hook)."""

    def __call__(self, tenant_id: str, program_code: str, person: Mapping[str, Any]) -> EligibilityResult | None: ...


class RuleSource(Protocol):
    """Where a tenant's rules are looked up: returns the first answer for the programme, or None."""

    async def check(self, tenant_id: str, program_code: str, person: Mapping[str, Any]) -> EligibilityResult | None: ...


@dataclass
class LocalRules:
    """Rules registered in-process, per tenant (a tenant never sees another tenant's rules)."""

    rules: dict[str, list[EligibilityRule]] = field(default_factory=dict)

    def register(self, tenant_id: str, rule: EligibilityRule) -> None:
        self.rules.setdefault(tenant_id, []).append(rule)

    async def check(self, tenant_id: str, program_code: str, person: Mapping[str, Any]) -> EligibilityResult | None:
        for rule in self.rules.get(tenant_id, []):
            answer = rule(tenant_id, program_code, person)
            if answer is not None:
                return answer
        return None


class NoRules:
    async def check(self, tenant_id: str, program_code: str, person: Mapping[str, Any]) -> EligibilityResult | None:
        return None


def hook_rule_source(plugins: Any) -> RuleSource:
    """Adapt the plugin platform's ``PluginHost`` (``app.state.plugins``, dependency ``plugins``) to ``RuleSource``.

    ``host.call_first(tenant_id, "kyosei_check_eligibility", ...)`` reaches only the plugins the tenant enabled,
    contains their failures (a broken rule is skipped and reported to the tenant admin), and returns the first
    answer. ``None`` (no host) means no plugin rules.
    """
    if plugins is None:
        return NoRules()
    return _HookRules(plugins)


@dataclass(frozen=True)
class _HookRules:
    host: Any

    async def check(self, tenant_id: str, program_code: str, person: Mapping[str, Any]) -> EligibilityResult | None:
        result = await self.host.call_first(tenant_id, "kyosei_check_eligibility", program_code=program_code,
                                            person=dict(person))
        return result if isinstance(result, EligibilityResult) else None


@dataclass(frozen=True)
class Decision:
    eligible: bool
    reasons: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    overridable: bool = False  # refused only by guidance (概ね…): a coordinator may enrol with a recorded reason


def age_range_rule(min_age: int | None, max_age: int | None, age: int | None) -> Decision | None:
    if min_age is None and max_age is None:
        return None
    if age is None:
        return Decision(False, ("この事業には年齢の条件があります。生年月日または年齢を入力してください。",), ("age_range",))
    if min_age is not None and age < min_age:
        return Decision(False, (f"対象は{min_age}歳以上です（{age}歳）。",), ("age_range",))
    if max_age is not None and age > max_age:
        return Decision(False, (f"対象は{max_age}歳以下です（{age}歳）。",), ("age_range",))
    return Decision(True, (), ("age_range",))


async def decide(
    source: RuleSource,
    tenant_id: str,
    program_code: str | None,
    applicant: Applicant,
    on: dt.date,
    *,
    min_age: int | None = None,
    max_age: int | None = None,
) -> Decision:
    """Every rule that answers must allow; the reasons of all refusing rules are returned (Japanese)."""
    facts = applicant.facts(on)
    decisions = [d for d in (age_range_rule(min_age, max_age, facts["age"]),) if d is not None]
    if program_code:
        answer = await source.check(tenant_id, program_code, facts)
        if answer is not None:
            guidance_only = bool(answer.rules) and set(answer.rules) <= set(getattr(answer, "guidance", ()) or ())
            decisions.append(Decision(answer.eligible, tuple(answer.reasons), tuple(answer.rules),
                                      overridable=not answer.eligible and guidance_only))
    refused = [d for d in decisions if not d.eligible]
    if refused:
        return Decision(False, tuple(r for d in refused for r in d.reasons) or ("参加の条件を満たしていません。",),
                        tuple(c for d in refused for c in d.rules), overridable=all(d.overridable for d in refused))
    return Decision(True, tuple(r for d in decisions for r in d.reasons), tuple(c for d in decisions for c in d.rules))
