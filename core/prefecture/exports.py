"""The aggregate tables as CSV and JSON: made from a protected ``MetricTable`` only, so a hidden cell is 「秘匿」
(CSV) or ``null`` with ``"suppressed": true`` beside it (JSON), exactly as on the page."""

from __future__ import annotations

import csv
import io
from typing import Any

from core.prefecture.aggregates import MetricTable
from core.wareki import fiscal_year_label
from tenants.registry import Municipality


def aggregate_csv(table: MetricTable, municipalities: list[Municipality]) -> str:
    """UTF-8 with a byte-order mark, so Excel opens the Japanese headings as they are."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([f"{table.metric.label}（{table.metric.unit}）", fiscal_year_label(table.fiscal_year)])
    writer.writerow(["市町村コード", "市町村", *[f"{d.month}月" for d in table.months], "年度計"])
    for m in municipalities:
        writer.writerow([m.code, m.name, *[table.show(table.cell(m.code, d)) for d in table.months],
                         table.show(table.tenant_total(m.code))])
    writer.writerow(["", "県内計", *[table.show(table.month_total(d)) for d in table.months], table.show(table.total)])
    return "\ufeff" + out.getvalue()


def aggregate_json(table: MetricTable, municipalities: list[Municipality]) -> dict[str, Any]:
    def figure(value: int | None) -> dict[str, Any]:
        return {"value": value, "suppressed": value is None}

    return {
        "fiscal_year": table.fiscal_year,
        "fiscal_year_label": fiscal_year_label(table.fiscal_year),
        "metric": table.metric.key,
        "label": table.metric.label,
        "unit": table.metric.unit,
        "municipalities": [
            {"tenant_id": m.code, "name": m.name,
             "months": {d.isoformat()[:7]: figure(table.cell(m.code, d)) for d in table.months},
             "total": figure(table.tenant_total(m.code))}
            for m in municipalities
        ],
        "month_totals": {d.isoformat()[:7]: figure(table.month_total(d)) for d in table.months},
        "total": figure(table.total),
    }
