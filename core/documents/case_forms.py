"""The case forms a 相談支援員 prints: what each one shows, gathered from the case file (the layout is a template).

Five forms, each in the layout of a national reference form (参考様式; sources named in docs/forms.md):

- ``intake``     相談受付・申込票     (自立相談支援事業 帳票「相談受付・申込票」)
- ``assessment`` アセスメントシート   (同「アセスメントシート」, 課題の整理 by the four fields)
- ``plan``       支援プラン          (同「プラン兼事業等利用申込書」/ 多機関協働事業「支援プラン」, with 本人同意欄)
- ``evaluation`` 評価シート          (同「評価シート」)
- ``closure``    終結記録            (同「終結記録票」)

This module decides *what* a form says (``CaseForm``); ``ui/templates/forms/<kind>.html`` lays it out and
``core.documents.pdf`` prints it. Printing is audited by the caller as an EXPORT of the case with the form's kind,
because the paper carries 要配慮個人情報 out of the system.

The plan's 本人同意欄 reads the case's consents through ``core.cases.service`` (``CaseFile.consents`` and
``consent_valid``): a consent in force today that covers the plan. Without one the box says so in words, so a plan
without consent can never look like a consented one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.businesses import business_name
from core.cases import assessment_sheet, schemas
from core.cases.models import Assessment, AssessmentItem, Consent, Evaluation, PlanRole, SupportPlan
from core.cases.service import CaseFile

FORM_TITLES: dict[str, str] = {
    "intake": "相談受付・申込票",
    "assessment": "アセスメントシート",
    "plan": "支援プラン",
    "evaluation": "評価シート",
    "closure": "終結記録",
}

# The item of the case file (core.cases.schemas.INFO_ITEM_LABELS) each form carries out of the system: a reader
# whose consent scope leaves it out (agency staff under a consent for 基本情報・プラン only) may not print that form,
# as the case page and the JSON document leave the item out for them.
FORM_ITEMS: dict[str, str] = {
    "intake": "consultation",
    "assessment": "assessment",
    "plan": "plan",
    "evaluation": "records",
    "closure": "records",
}

SENSITIVE_FOOTER = "要配慮個人情報を含みます。取扱いに注意し、目的外の利用・複写・持ち出しをしないでください。"
NO_CONSENT = "本人同意の記録がありません。同意を得るまで、このプランの内容を関係機関と共有できません。"


def age_on(birth: dt.date | None, day: dt.date) -> int | None:
    if birth is None:
        return None
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass
class ConsentBox:
    """One consent as the plan's 本人同意欄 prints it."""

    given_on: dt.date
    method: str
    purpose: str
    agencies: list[str]
    items: list[str]
    person: str
    expires_on: dt.date | None


@dataclass
class CaseForm:
    kind: str
    file: CaseFile
    tenant_name: str
    printed_on: dt.date
    assessment: tuple[Assessment, list[AssessmentItem]] | None = None
    plan: tuple[SupportPlan, list[PlanRole]] | None = None
    evaluations: list[Evaluation] = field(default_factory=list)
    consents: list[ConsentBox] = field(default_factory=list)

    @property
    def title(self) -> str:
        return FORM_TITLES[self.kind]

    @property
    def case(self):
        return self.file.case

    @property
    def person_age(self) -> int | None:
        p = self.file.person
        return age_on(p.birth_date if p else None, self.case.received_on)

    @property
    def problems(self) -> list[tuple[str, bool]]:
        """Every 相談内容 of the paper form with whether it was ticked (the form prints ■ and □)."""
        return [(label, code in self.case.problems) for code, label in schemas.PROBLEM_LABELS.items()]

    @property
    def lead_business(self) -> str:
        return business_name(self.case.lead_business)

    @property
    def businesses(self) -> list[str]:
        return [business_name(b) for b in self.case.businesses]

    @property
    def sections(self) -> list[tuple[str, str, str]]:
        return assessment_sheet.filled(self.assessment[0].sections if self.assessment else None)

    def issues_by_field(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """課題の整理: the latest assessment's problems under each of the four fields (and 分野なし), by member."""
        items = self.assessment[1] if self.assessment else []
        groups = [(label, [(self.file.person_name(i.person_id), i.problem) for i in items if i.field == code])
                  for code, label in schemas.FIELD_LABELS.items()]
        groups.append(("分野の指定なし", [(self.file.person_name(i.person_id), i.problem) for i in items if not i.field]))
        return groups

    def addressed_issues(self) -> list[tuple[str, str, str]]:
        """(member, field, problem) of the assessment items the plan addresses."""
        if not self.plan:
            return []
        wanted = set(self.plan[0].addressed_item_ids or [])
        return [(self.file.person_name(i.person_id), schemas.FIELD_LABELS.get(i.field or "", "—"), i.problem)
                for _a, items in self.file.assessments for i in items if i.id in wanted]

    @property
    def closing_change(self):
        """The status change that closed the case (its date, reason and who), if the case is closed."""
        return next((h for h in reversed(self.file.history) if h.to_status == "closed"), None) \
            if self.case.status == "closed" else None


def _consent_box(file: CaseFile, consent: Consent) -> ConsentBox:
    return ConsentBox(
        given_on=consent.given_on,
        method=schemas.CONSENT_METHOD_LABELS.get(consent.method or "", "（方法の記録なし）"),
        purpose=consent.purpose,
        agencies=[file.agency_name(a) for a in consent.agency_ids] or ["（機関の指定なし）"],
        items=[schemas.INFO_ITEM_LABELS.get(i, i) for i in consent.items] or ["（項目の指定なし）"],
        person=file.person_name(consent.person_id) if consent.person_id else "—",
        expires_on=consent.expires_on,
    )


def plan_consents(file: CaseFile) -> list[ConsentBox]:
    """Consents in force today that let the plan be shared (they name the plan, or name no item at all)."""
    return [_consent_box(file, c) for c in file.consents
            if file.consent_valid(c) and (not c.items or "plan" in c.items)]


class FormOutsideConsent(Exception):
    """The form carries an item of the case outside the reader's consent scope (``CaseFile.items``)."""

    def __init__(self, kind: str):
        item = schemas.INFO_ITEM_LABELS[FORM_ITEMS[kind]]
        super().__init__(f"本人の同意の範囲外の情報（{item}）を含むため、「{FORM_TITLES[kind]}」は印刷できません。")
        self.message = str(self)


def printable_forms(file: CaseFile) -> dict[str, str]:
    """kind → title of the forms the reader of ``file`` may print (the case page links only these)."""
    return {kind: title for kind, title in FORM_TITLES.items() if file.shows(FORM_ITEMS[kind])}


def build_form(kind: str, file: CaseFile, tenant_name: str, printed_on: dt.date) -> CaseForm:
    """The form ``kind`` filled from ``file``; ``FormOutsideConsent`` when the reader's consent scope leaves out
    the item it carries (an empty sheet would read as "no assessment was made")."""
    if kind not in FORM_TITLES:
        raise KeyError(kind)
    if not file.shows(FORM_ITEMS[kind]):
        raise FormOutsideConsent(kind)
    form = CaseForm(kind=kind, file=file, tenant_name=tenant_name, printed_on=printed_on)
    form.assessment = file.assessments[-1] if file.assessments else None  # ordered oldest first
    form.plan = file.plans[0] if file.plans else None  # ordered newest version first
    form.evaluations = list(file.evaluations)  # newest first
    if kind == "plan":
        form.consents = plan_consents(file)
    return form
