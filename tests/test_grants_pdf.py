"""The grant reports print to PDF with their Japanese text intact."""

from __future__ import annotations

import io
import unicodedata

import pytest
from pypdf import PdfReader

from tests.sessions import login, open_session

pytestmark = pytest.mark.slow


def test_results_report_pdf_carries_the_japanese_text(client, database_urls):
    session = login(client, open_session(database_urls, "394017", ("tenant-admin",)))
    headers = {"X-CSRF-Token": session.csrf}
    year_id = client.post("/api/grants/years", json={"fiscal_year": 2051}, headers=headers).json()["id"]
    client.post(f"/api/grants/years/{year_id}/expenditures", headers=headers, json={
        "business": "community", "field": "child", "category": "委託料", "amount": 654_321,
        "voucher_number": "P-1", "voucher_date": "2051-07-01", "payee": "子ども食堂", "description": "居場所運営"})
    for kind, title in (("results", "実績報告書"), ("application", "交付申請書")):
        response = client.get(f"/grants/years/{year_id}/reports/{kind}.pdf")
        assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
        reader = PdfReader(io.BytesIO(response.content))
        text = unicodedata.normalize("NFKC", "".join(p.extract_text() for p in reader.pages))
        for words in (title, "令和33年度", "重層的支援体制整備事業交付金", "中土佐町", "相談受付件数", "地域づくり",
                      "厚生労働大臣", "別紙"):
            assert words in text, words
        if kind == "results":
            assert "654,321円" in text
