"""交付金 pages (HTML forms) and the CSV reports."""

from __future__ import annotations

import csv
import io
import re

import pytest

from tests.sessions import login, open_session

NAKATOSA = "394017"


@pytest.fixture()
def admin(client, database_urls):
    session = login(client, open_session(database_urls, NAKATOSA, ("staff", "tenant-admin")))
    client.csrf = session.csrf
    return client


def form_year(client, fiscal_year: int) -> str:
    response = client.post("/grants/years", data={"csrf_token": client.csrf, "fiscal_year": str(fiscal_year),
                                                  "scheme": "integrated", "apportionment_rule": "time_study"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"].rsplit("/", 1)[-1]


def spend(client, year_id, amount, **extra):
    data = {"csrf_token": client.csrf, "business": "consultation", "field": "", "category": "人件費",
            "amount": amount, "voucher_number": "R7-0001", "voucher_date": "2045-04-15",
            "payee": "中土佐町社会福祉協議会", "description": "包括化推進員の人件費（4月分）", **extra}
    return client.post(f"/grants/years/{year_id}/expenditures", data=data, follow_redirects=False)


def test_entering_an_expenditure_through_the_form(admin):
    year_id = form_year(admin, 2045)
    assert "令和27年度（2045年度）" in admin.get(f"/grants/years/{year_id}").text
    assert "交付金" in admin.get("/grants").text

    ok = spend(admin, year_id, "1,200,000")
    assert ok.status_code == 303
    page = admin.get(ok.headers["location"]).text
    assert "支出を登録しました" in page
    assert "1,200,000円" in page

    bad = spend(admin, year_id, "-3", description="あ" * 10_000, voucher_date="2046-04-01")
    assert bad.status_code == 422
    assert "支出額にマイナスの金額は入力できません" in bad.text
    assert "摘要は500文字以内で入力してください" in bad.text
    assert "支出日は令和27年度（2045年度）の期間" in bad.text
    assert 'value="R7-0001"' in bad.text  # what the person typed is kept
    assert admin.get(f"/grants/years/{year_id}/expenditures").text.count("R7-0001") == 1


def test_a_closed_year_refuses_the_form_with_a_flash(admin):
    year_id = form_year(admin, 2046)
    assert admin.post(f"/grants/years/{year_id}/close", data={"csrf_token": admin.csrf}, follow_redirects=False).status_code == 303
    refused = spend(admin, year_id, "1000", voucher_date="2046-05-01")
    assert refused.status_code == 303
    page = admin.get(refused.headers["location"]).text
    assert "令和28年度（2046年度）は締め済みのため、登録・訂正・取消はできません。" in page
    assert "0円" in page


def test_correcting_in_the_page_adds_a_reversing_row(admin):
    year_id = form_year(admin, 2047)
    spend(admin, year_id, "5000", voucher_date="2047-05-01")
    listing = admin.get(f"/grants/years/{year_id}/expenditures").text
    entry_path = re.search(r'href="(/grants/expenditures/[0-9a-f-]+)"', listing).group(1)
    form = admin.get(entry_path).text
    assert "訂正する" in form and 'value="5000"' in form
    missing = admin.post(f"{entry_path}/correct", data={"csrf_token": admin.csrf, "business": "consultation",
                         "category": "人件費", "amount": "5500", "voucher_number": "R7-0001",
                         "voucher_date": "2047-05-01", "payee": "社協", "description": "訂正"}, follow_redirects=False)
    assert missing.status_code == 422 and "訂正理由を入力してください" in missing.text
    done = admin.post(f"{entry_path}/correct", data={"csrf_token": admin.csrf, "business": "consultation",
                      "category": "人件費", "amount": "5500", "voucher_number": "R7-0001",
                      "voucher_date": "2047-05-01", "payee": "社協", "description": "訂正", "reason": "金額誤り"},
                      follow_redirects=False)
    assert done.status_code == 303
    page = admin.get(done.headers["location"]).text
    assert "訂正済み" in page and "取消行" in page and "-5,000円" in page
    assert 'id="ledger-total"><span class="yen">5,500円' in page


def test_staff_read_only_in_pages(client, database_urls):
    admin = open_session(database_urls, NAKATOSA, ("tenant-admin",))
    login(client, admin)
    client.csrf = admin.csrf
    year_id = form_year(client, 2048)
    staff = login(client, open_session(database_urls, NAKATOSA, ("staff",)))
    page = client.get(f"/grants/years/{year_id}/expenditures")
    assert page.status_code == 200 and "支出を登録する" not in page.text
    client.csrf = staff.csrf
    refused = spend(client, year_id, "1", voucher_date="2048-05-01")
    assert refused.status_code == 403
    assert "コーディネーターまたは団体管理者" in refused.text


def test_results_report_csv_reads_back_in_japanese(admin):
    year_id = form_year(admin, 2049)
    spend(admin, year_id, "1000001", voucher_date="2049-05-01")
    for field in ("elderly", "disability", "child"):
        admin.post(f"/grants/years/{year_id}/time-entries", data={
            "csrf_token": admin.csrf, "business": "consultation", "field": field, "staff_label": "推進員A",
            "period_month": "2049-05", "minutes": "45"})
    admin.post(f"/grants/years/{year_id}/budget-lines", data={
        "csrf_token": admin.csrf, "business": "consultation", "field": "elderly", "category": "人件費", "amount": "900000"})

    explained = admin.get(f"/grants/years/{year_id}/apportionment").text
    assert "推進員A 2049年05月 45分" in explained and "333,334円" in explained and "33.33%" in explained
    budget_view = admin.get(f"/grants/years/{year_id}/apportionment?source=budget")
    assert budget_view.status_code == 200 and "900,000円" in budget_view.text
    time_list = admin.get(f"/grants/years/{year_id}/time-entries").text
    time_entry = re.search(r'href="(/grants/time-entries/[0-9a-f-]+)"', time_list).group(1)
    assert 'value="2049-05"' in admin.get(time_entry).text

    page = admin.get(f"/grants/years/{year_id}/reports").text
    assert 'id="actual-total"><span class="yen">1,000,001円' in page
    assert "相談受付件数" in page

    response = admin.get(f"/grants/years/{year_id}/reports/results.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"  # one charset, not two
    # saved under its Japanese name (RFC 6266 filename*), with an ASCII name for older clients
    from urllib.parse import quote, unquote

    disposition = response.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="grant-results-2049-394017.csv"; filename*=UTF-8\'\'')
    assert unquote(disposition.split("''", 1)[1]).startswith("中土佐町_令和31年度（2049年度）_")
    assert quote("中土佐町") in disposition
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["令和31年度（2049年度） 重層的支援体制整備事業交付金 実績報告書（案）"]
    assert rows[1] == ["団体", "中土佐町（394017）"]
    shares = {(r[0], r[1]): r for r in rows if len(r) == 7}
    assert shares[("包括的相談支援", "高齢")][3:5] == ["333334", "333334"]
    assert shares[("包括的相談支援", "子ども")][3:5] == ["333333", "333333"]
    assert ["合計", "", "", "", "1000001", "", ""] in rows
    assert ["相談受付件数", "0"] in rows
    assert ["参加支援事業 協力事業者数", "0"] in rows
    elderly_share = next(r for r in rows if r[:1] == ["高齢"] and len(r) == 8)  # five payers now
    assert sum(int(x) for x in elderly_share[3:]) == int(elderly_share[2])

    application = admin.get(f"/grants/years/{year_id}/reports/application.csv").content.decode("utf-8-sig")
    assert "交付申請書（案）予算内訳" in application and "900000" in application
