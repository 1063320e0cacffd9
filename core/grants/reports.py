"""The two reports a municipality files for the grant, as drafts: 交付申請 (budget) and 実績報告 (results).

One function gathers a report's figures (``build_report``); the CSV writer and the printable HTML (turned into PDF
by ``core.documents.pdf``) only lay them out, so screen, CSV and paper always show the same numbers.

CSV is written for Excel on a Japanese desktop: UTF-8 with a BOM (so Excel does not guess Shift_JIS), CRLF line
ends, plain integers for yen (so cells sum), one section after another separated by an empty row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from core.grants import service
from core.grants.apportionment import Apportionment, BusinessCostShare, CostShare
from core.grants.counts import COUNT_LABELS, implementation_counts
from core.grants.models import GrantFiscalYear
from core.grants.reference import PAYER_LABELS, PAYERS, SCHEME_LABELS, STATUS_LABELS, Field, field_label
from core.wareki import fiscal_year_label

REPORT_TITLES = {
    "application": "交付申請書（案）予算内訳",
    "results": "実績報告書（案）",
}


@dataclass
class Report:
    kind: str  # application | results
    year: GrantFiscalYear
    tenant_id: str
    tenant_name: str
    budget: Apportionment
    budget_shares: list[CostShare]
    actual: Apportionment | None  # results only
    actual_shares: list[CostShare] | None
    counts: dict[str, int]
    business_shares: list[BusinessCostShare] = field(default_factory=list)  # 事業 × 分野, of the main figures

    @property
    def title(self) -> str:
        return REPORT_TITLES[self.kind]

    @property
    def year_label(self) -> str:
        return fiscal_year_label(self.year.fiscal_year)

    @property
    def scheme_label(self) -> str:
        return SCHEME_LABELS.get(self.year.scheme, self.year.scheme)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.year.status, self.year.status)

    @property
    def main(self) -> Apportionment:
        return self.actual if self.actual is not None else self.budget

    @property
    def main_shares(self) -> list[CostShare]:
        return self.actual_shares if self.actual_shares is not None else self.budget_shares

    @property
    def state_total(self) -> int:
        """国の負担分 of the main figures: the amount the cover of the 申請書/報告書 asks for or reports."""
        return sum(c.parts.get("state", 0) for c in self.main_shares)

    @property
    def download_name(self) -> str:
        """What the saved file is called: 中土佐町_令和8年度（2026年度）_実績報告書."""
        return f"{self.tenant_name}_{self.year_label}_{self.title}"

    @property
    def filename(self) -> str:
        return f"grant-{self.kind}-{self.year.fiscal_year}-{self.tenant_id}"


async def build_report(session: AsyncSession, year: GrantFiscalYear, kind: str, tenant_id: str, tenant_name: str) -> Report:
    budget = await service.compute_apportionment(session, year, "budget")
    budget_shares = await service.compute_cost_shares(session, year, budget)
    actual = actual_shares = None
    if kind == "results":
        actual = await service.compute_apportionment(session, year, "expenditure")
        actual_shares = await service.compute_cost_shares(session, year, actual)
    counts = await implementation_counts(session, year.fiscal_year)
    main = actual if actual is not None else budget
    business_shares = await service.compute_business_cost_shares(session, year, main)
    return Report(kind, year, tenant_id, tenant_name, budget, budget_shares, actual, actual_shares, counts,
                  business_shares)


def report_csv(report: Report) -> bytes:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([f"{report.year_label} {report.scheme_label} {report.title}"])
    w.writerow(["団体", f"{report.tenant_name}（{report.tenant_id}）"])
    w.writerow(["年度の状態", report.status_label])
    w.writerow(["按分方法", report.main.rule_label])
    w.writerow([])
    heading = "支出額" if report.actual is not None else "予算額"
    w.writerow(["事業", "分野", f"直接計上{heading}（円）", "按分額（円）", f"{heading}合計（円）",
                f"按分根拠（{report.main.unit}）", "按分割合"])
    for b in report.main.businesses:
        for s in b.fields:
            if s.total_yen or s.weight:
                w.writerow([b.label, s.label, s.direct_yen, s.apportioned_yen, s.total_yen, s.weight, s.share])
        if b.unapportioned_yen:
            w.writerow([b.label, "未按分（按分根拠なし）", "", "", b.unapportioned_yen, 0, ""])
        w.writerow([b.label, "事業計", "", "", b.total_yen, b.weight_total, ""])
    w.writerow(["合計", "", "", "", report.main.total_yen, "", ""])
    w.writerow([])
    if report.business_shares:
        w.writerow(["事業・分野", "財源", "負担割合", f"{heading}（円）", *[f"{PAYER_LABELS[p]}（円）" for p in PAYERS], "出典"])
        for c in report.business_shares:
            w.writerow([c.label, c.funding_stream, c.rate_text, c.total_yen, *[c.parts[p] for p in PAYERS], c.source])
        w.writerow([])
    w.writerow(["分野", "財源", f"{heading}（円）", *[f"{PAYER_LABELS[p]}（円）" for p in PAYERS]])
    for c in report.main_shares:
        w.writerow([c.label, c.funding_stream, c.total_yen, *[c.parts[p] for p in PAYERS]])
    if report.actual is not None:
        w.writerow([])
        w.writerow(["分野", "予算額（円）", "支出額（円）", "差額（円）"])
        budget_by_field, actual_by_field = report.budget.by_field, report.actual.by_field
        for f in Field:
            w.writerow([field_label(f.value), budget_by_field[f.value], actual_by_field[f.value],
                        budget_by_field[f.value] - actual_by_field[f.value]])
        w.writerow(["合計", report.budget.total_yen, report.actual.total_yen,
                    report.budget.total_yen - report.actual.total_yen])
    w.writerow([])
    w.writerow(["実施計画の件数", "件数"])
    for key, label in COUNT_LABELS.items():
        w.writerow([label, report.counts.get(key, 0)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
