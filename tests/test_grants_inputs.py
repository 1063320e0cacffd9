"""Grant inputs computed by the system: the caseload comes from the case records, the cost shares from the
交付要綱's table per 事業 × 分野 (with 2号保険料 for 一般介護予防), the time study can come from a CSV.

The worked example, by hand (largest remainder, ties to the earlier payer):

包括的相談支援 shared cost ¥1,000,000 over the cases of the 年度 — 高齢 3, 障害 1, 生活困窮 2 (6 in all):
  高齢 1,000,000×3/6 = 500,000; 障害 166,666.67 → 166,666 (remainder 4/6); 生活困窮 333,333.33 → 333,333 (2/6);
  1 yen left → 障害 (largest remainder): 500,000 / 166,667 / 333,333.
地域づくり 高齢 (一般介護予防事業) charged directly ¥200,000.
負担区分 (国 / 県 / 市町村 / 1号 / 2号):
  相談×高齢 500,000 at 3850/1925/1925/2300/0 of 10000 → 192,500 / 96,250 / 96,250 / 115,000 / 0
  相談×障害 166,667 at 2/1/1 of 4 → 83,333.5 / 41,666.75 / 41,666.75 → floors 83,333 / 41,666 / 41,666, 2 yen
            left to the remainders ¾, ¾ (県, 市町村) → 83,333 / 41,667 / 41,667
  相談×困窮 333,333 at 3/0/1 of 4 → 249,999.75 / 83,333.25 → 249,999 / 83,333, 1 yen left → 国 250,000
  地域づくり×高齢 200,000 at 2500/1250/1250/2300/2700 → 50,000 / 25,000 / 25,000 / 46,000 / 54,000
  国 575,833; 県 162,917; 市町村 246,250; 1号 161,000; 2号 54,000; total 1,200,000.
"""

from __future__ import annotations

from core.wareki import fiscal_year_of, today
from tests.cases_support import intake_body, principal, unit_of_work

OTOYO = "393444"  # 大豊町: a tenant only this module uses, so its cases are exactly the ones made here
CASE_FIELDS = (["elderly"], ["elderly"], ["elderly", "poverty"], ["disability"], ["poverty"])
EXPECTED_BY_PAIR = {
    ("consultation", "elderly"): (500_000, {"state": 192_500, "prefecture": 96_250, "municipality": 96_250,
                                            "insurance": 115_000, "insurance_2": 0}),
    ("consultation", "disability"): (166_667, {"state": 83_333, "prefecture": 41_667, "municipality": 41_667,
                                               "insurance": 0, "insurance_2": 0}),
    ("consultation", "poverty"): (333_333, {"state": 250_000, "prefecture": 0, "municipality": 83_333,
                                            "insurance": 0, "insurance_2": 0}),
    ("community", "elderly"): (200_000, {"state": 50_000, "prefecture": 25_000, "municipality": 25_000,
                                         "insurance": 46_000, "insurance_2": 54_000}),
}
EXPECTED_PAYERS = {"state": 575_833, "prefecture": 162_917, "municipality": 246_250, "insurance": 161_000,
                   "insurance_2": 54_000}


def _spend(amount: int, business: str, field: str | None, day: str) -> dict:
    return {"business": business, "field": field, "category": "人件費", "amount": amount, "voucher_number": "V-1",
            "voucher_date": day, "payee": "大豊町社会福祉協議会", "description": "相談支援員 人件費"}


def test_a_year_is_apportioned_by_its_case_records_and_the_business_by_field_shares(database_urls):
    from core.grants import service
    from tenants.seed import seed_demo_tenants
    from tests.conftest import run

    run(seed_demo_tenants(database_urls.owner, codes=(OTOYO,)))
    fiscal_year = fiscal_year_of(today())

    async def work(s):
        from core.cases import service as cases

        for fields in CASE_FIELDS:
            await cases.create_intake(s, intake_body(fields=fields, received_on=today().isoformat()),
                                      principal(OTOYO))
        year = await service.create_year(s, {"fiscal_year": fiscal_year, "apportionment_rule": "case_records"})
        await service.add_entry(s, service.EXPENDITURE, year.id,
                                _spend(1_000_000, "consultation", None, today().isoformat()))
        await service.add_entry(s, service.EXPENDITURE, year.id,
                                _spend(200_000, "community", "elderly", today().isoformat()))
        result = await service.compute_apportionment(s, year)
        from core.grants.reports import build_report

        report = await build_report(s, year, "results", OTOYO, "大豊町")
        return (result, await service.compute_business_cost_shares(s, year, result),
                await service.compute_cost_shares(s, year, result), report)

    result, pairs, by_field, report = unit_of_work(database_urls, OTOYO, work)
    consultation = next(b for b in result.businesses if b.business == "consultation")
    weights = {f.field: f.weight for f in consultation.fields}
    assert weights == {"elderly": 3, "disability": 1, "child": 0, "poverty": 2, "new_functions": 0}
    assert {f.field: f.apportioned_yen for f in consultation.fields if f.apportioned_yen} == {
        "elderly": 500_000, "disability": 166_667, "poverty": 333_333}
    assert "ケース 3件" in consultation.fields[0].drivers[0].description
    got = {(r.business, r.field): (r.total_yen, r.parts) for r in pairs}
    assert got == EXPECTED_BY_PAIR
    assert all("交付要綱" in r.source for r in pairs)
    prevention = next(r for r in pairs if r.business == "community")
    assert prevention.rate_text == "国25%・県12.5%・市町村12.5%・1号保険料23%・2号保険料27%"  # as the 要綱 writes it
    payers = {p: sum(c.parts[p] for c in by_field) for p in EXPECTED_PAYERS}
    assert payers == EXPECTED_PAYERS and sum(payers.values()) == 1_200_000 == result.total_yen
    # the 実績報告（案） reports the 国 part as its amount, and prints the same 事業 × 分野 rows
    assert report.state_total == 575_833 and len(report.business_shares) == 4


def test_a_time_study_csv_is_imported_whole_or_refused_with_line_numbers(database_urls):
    import pytest

    from core.grants import service, time_study
    from core.grants.schemas import ValidationFailed

    good = ("従事者,対象月,事業,分野,分\r\n推進員A,2071-04,包括的相談支援事業,高齢,120\r\n"
            "推進員A,2071-05,参加支援事業,障害,90\r\n推進員B,2071-04,consultation,child,30\r\n").encode("cp932")
    bad = "従事者,対象月,事業,分野,時間\n推進員C,2071-04,福祉事業,高齢,1.5\n推進員C,2071-13,参加支援事業,高齢,2\n".encode()

    async def make_year(s):
        return (await service.create_year(s, {"fiscal_year": 2071})).id

    year_id = unit_of_work(database_urls, "394017", make_year)

    async def import_good(s):
        added = await time_study.import_csv(s, year_id, good)
        return added, await time_study.summary(s, await service.get_year(s, year_id))

    added, (months, staff) = unit_of_work(database_urls, "394017", import_good)
    assert added == 3 and months[0] == "2071-04" and months[-1] == "2072-03"
    a = next(x for x in staff if x.staff_label == "推進員A")
    assert a.minutes_by_month["2071-04"] == 120 and a.minutes_by_month["2071-05"] == 90 and a.total_minutes == 210

    async def import_bad(s):
        await time_study.import_csv(s, year_id, bad)

    with pytest.raises(ValidationFailed) as refused:
        unit_of_work(database_urls, "394017", import_bad)
    messages = [e["message"] for e in refused.value.errors]
    assert any(m.startswith("2行目") for m in messages) and any(m.startswith("3行目") for m in messages)

    async def count(s):
        return len(await service.list_entries(s, service.TIME, year_id))

    assert unit_of_work(database_urls, "394017", count) == 3  # the refused file added nothing


def test_the_time_study_page_imports_a_csv_and_shows_the_sums(client, database_urls):
    from tests.sessions import login, open_session

    session = login(client, open_session(database_urls, "394017", ("coordinator",)))
    year_id = client.post("/api/grants/years", json={"fiscal_year": 2072}, headers={"X-CSRF-Token": session.csrf})
    assert year_id.status_code == 403  # a coordinator may not open a year; the admin does
    admin = login(client, open_session(database_urls, "394017", ("tenant-admin",)))
    year_id = client.post("/api/grants/years", json={"fiscal_year": 2072},
                          headers={"X-CSRF-Token": admin.csrf}).json()["id"]
    csv_text = "従事者,対象月,事業,分野,時間\n相談支援員D,2072-07,多機関協働事業,生活困窮,2.5\n".encode()
    response = client.post(f"/grants/years/{year_id}/time-entries/import", data={"csrf_token": admin.csrf},
                           files={"file": ("study.csv", csv_text, "text/csv")}, headers={"accept": "text/html"},
                           follow_redirects=True)
    assert response.status_code == 200 and "1行取り込みました" in response.text
    assert "相談支援員D" in response.text and "150" in response.text
    refused = client.post(f"/grants/years/{year_id}/time-entries/import", data={"csrf_token": admin.csrf},
                          files={"file": ("study.csv", "名前,月\nx,y\n".encode(), "text/csv")},
                          headers={"accept": "text/html"})
    assert refused.status_code == 422 and "CSVの見出しに次の列がありません" in refused.text


def test_a_time_study_csv_with_a_cell_no_reader_takes_is_refused_by_line(database_urls):
    """A cell beyond the csv module's 131,072 characters stopped the reader (csv.Error), and 5,000 digits of 時間
    went to int(), which reads 4,300 at most: each import answered a server error instead of naming the line."""
    import pytest

    from core.grants import service, time_study
    from core.grants.schemas import ValidationFailed

    async def make_year(s):
        return (await service.create_year(s, {"fiscal_year": 2073})).id

    year_id = unit_of_work(database_urls, "394017", make_year)
    long_cell = ("従事者,対象月,事業,分野,分\n推進員A,2073-04,参加支援事業,高齢,60\n"
                 + "A" * 200_000 + ",2073-04,参加支援事業,高齢,60\n").encode()
    many_digits = ("従事者,対象月,事業,分野,時間\n推進員A,2073-04,参加支援事業,高齢," + "9" * 5_000 + ".5\n").encode()
    for raw, line in ((long_cell, "3行目"), (many_digits, "2行目")):
        async def attempt(s, raw=raw):
            await time_study.import_csv(s, year_id, raw)

        with pytest.raises(ValidationFailed) as refused:
            unit_of_work(database_urls, "394017", attempt)
        assert any(line in e["message"] for e in refused.value.errors), refused.value.errors

    async def count(s):
        return len(await service.list_entries(s, service.TIME, year_id))

    assert unit_of_work(database_urls, "394017", count) == 0
