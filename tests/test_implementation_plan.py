"""実施計画: written per 年度 in versions, figures filled from the system's counts (equal to what the prefecture
sees for the same 年度), printable, and sent to the prefecture's page; refused for the wrong roles."""

from __future__ import annotations

import re

import pytest

from core.wareki import fiscal_year_of, today
from tests.cases_support import intake_body, principal, unit_of_work
from tests.conftest import saved_as
from tests.sessions import login, open_session

MUNICIPALITY = "394106"  # a tenant only this module uses: its cases are exactly the ones made here
PREFECTURE = "390003"
HTML = {"accept": "text/html"}


@pytest.fixture()
def six_cases(database_urls):
    from core.cases import service as cases
    from tenants.seed import seed_demo_tenants
    from tests.conftest import run

    run(seed_demo_tenants(database_urls.owner, codes=(MUNICIPALITY,)))

    async def work(s):
        for _ in range(6):
            await cases.create_intake(s, intake_body(received_on=today().isoformat()), principal(MUNICIPALITY))

    unit_of_work(database_urls, MUNICIPALITY, work)


def test_a_plan_is_versioned_counted_printed_and_sent_to_the_prefecture(client, database_urls, six_cases):
    year = fiscal_year_of(today())
    staff = login(client, open_session(database_urls, MUNICIPALITY, ("staff",)))
    refused = client.post("/grants/plans", data={"csrf_token": staff.csrf, "fiscal_year": year, "policy": "x"},
                          headers=HTML)
    assert refused.status_code == 403

    admin = login(client, open_session(database_urls, MUNICIPALITY, ("tenant-admin",), display_name="高橋 誠"))
    empty = client.post("/grants/plans", data={"csrf_token": admin.csrf, "fiscal_year": year, "policy": ""},
                        headers=HTML)
    assert empty.status_code == 422 and "少なくとも1つの項目" in empty.text
    for text in ("断らない相談を町全体で", "断らない相談を町全体で進める"):
        saved = client.post("/grants/plans", headers=HTML, follow_redirects=False, data={
            "csrf_token": admin.csrf, "fiscal_year": year, "policy": text, "structure": "福祉課に包括化推進員1名",
            "method_participation": "社協と協力事業者の開拓", "targets": "相談受付 年60件"})
        assert saved.status_code == 303
    page = client.get(f"/grants/plans?fiscal_year={year}", headers=HTML).text
    assert "第2版" in page and "第1版" in page and "断らない相談を町全体で進める" in page
    second = re.findall(r'href="/grants/plan-versions/([0-9a-f-]+)/pdf"', page)[0]  # newest version first

    pdf = client.get(f"/grants/plan-versions/{second}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert saved_as(pdf).endswith("重層的支援体制整備事業実施計画_第2版.pdf")
    from tests.pdf_support import assert_fonts_embedded, pdf_text

    assert_fonts_embedded(pdf.content)
    text = pdf_text(pdf.content)
    for heading in ("重層的支援体制整備事業実施計画", "基本方針", "実施体制", "参加支援事業の実施方法", "目標",
                    "相談受付件数", "包括的相談支援事業"):
        assert heading in text, heading
    assert re.search(r"相談受付件数\s*6", text)
    missing = "00000000-0000-0000-0000-000000000000"
    assert client.get(f"/grants/plan-versions/{missing}/pdf", headers=HTML).status_code == 404

    sent = client.post(f"/grants/plan-versions/{second}/send", data={"csrf_token": admin.csrf}, headers=HTML,
                       follow_redirects=False)
    assert sent.status_code == 303

    prefecture = login(client, open_session(database_urls, PREFECTURE, ("prefecture-admin",)))
    console = client.get(f"/prefecture/grants/plans?fiscal_year={year}", headers=HTML)
    assert console.status_code == 200
    assert "断らない相談を町全体で進める" in console.text and "第2版" in console.text

    # one definition per count: the plan's figure is the count the prefecture's aggregate shows for the 年度
    from core.grants import implementation_plan as plans
    from core.prefecture import service as prefecture
    from core.prefecture.aggregates import exact_counts, monthly_aggregates

    async def both(s):
        # the prefecture's count for the 年度 (prefecture_counts: the one definition) and the table its console
        # publishes from it (issue 17: over every municipality, with complementary suppression)
        counted = dict(((t, m), v) for t, m, v in (await exact_counts(s, year))["consultations"])
        codes = [m.code for m in prefecture.municipalities()]
        tables = await monthly_aggregates(s, year, codes, ["consultations"])
        return (counted.get((MUNICIPALITY, None)), tables["consultations"].tenant_total(MUNICIPALITY),
                await plans.sent_to_prefecture(s, year))

    aggregate, published, sent_plans = unit_of_work(database_urls, PREFECTURE, both)
    mine = next(p for p in sent_plans if p.tenant_id == MUNICIPALITY)
    assert mine.figures["implementation"]["consultations_received"] == 6 == aggregate
    assert published in (6, None)  # shown as counted, or hidden to protect a small cell elsewhere: never different
    assert mine.figures["businesses"]["cases"]["consultation"] == 6

    # a municipality reads no other municipality's plans through the prefecture's function
    assert unit_of_work(database_urls, MUNICIPALITY, lambda s: plans.sent_to_prefecture(s, year)) == []


def test_the_prefecture_sees_a_plan_s_small_counts_hidden_like_the_aggregates(client, database_urls):
    """A 実施計画's figures are the counts the aggregates publish (issue 17): the prefecture's page shows a count of
    3 consultations as 秘匿 (in the 実施計画 counts and in the cases per 事業), never as 3."""
    from core.cases import service as cases
    from tenants.seed import seed_demo_tenants
    from tests.conftest import run

    ino = "393860"  # いの町: a tenant only this test makes; its cases are exactly these three
    run(seed_demo_tenants(database_urls.owner, codes=(ino,)))

    async def work(s):
        for _ in range(3):
            await cases.create_intake(s, intake_body(received_on=today().isoformat()), principal(ino))

    unit_of_work(database_urls, ino, work)
    year = fiscal_year_of(today())
    admin = login(client, open_session(database_urls, ino, ("tenant-admin",)))
    assert client.post("/grants/plans", headers=HTML, follow_redirects=False, data={
        "csrf_token": admin.csrf, "fiscal_year": year, "policy": "いの町の基本方針"}).status_code == 303
    page = client.get(f"/grants/plans?fiscal_year={year}", headers=HTML).text
    version = re.findall(r'href="/grants/plan-versions/([0-9a-f-]+)/pdf"', page)[0]
    assert re.search(r"相談受付件数</td><td class=\"num\">3<", page)  # the town's own page: its own exact figures
    assert client.post(f"/grants/plan-versions/{version}/send", data={"csrf_token": admin.csrf}, headers=HTML,
                       follow_redirects=False).status_code == 303

    login(client, open_session(database_urls, PREFECTURE, ("prefecture-admin",)))
    console = client.get(f"/prefecture/grants/plans?fiscal_year={year}", headers=HTML).text
    section = console[console.index("いの町の基本方針"):]
    section = section[:section.index("</section>")]
    assert re.search(r"相談受付件数</td><td class=\"num\">秘匿<", section)
    assert re.search(r"包括的相談支援事業</td><td class=\"num\">秘匿<", section)
    assert ">3<" not in section
