"""The prefecture sees grant spending as sums per municipality, business and field, never a municipality's rows."""

from __future__ import annotations

from sqlalchemy import text

from core.grants import service
from tests.sessions import login, open_session
from tests.test_grants_service import add, expenditure, in_tenant, new_year

PREFECTURE, NAKATOSA, NANKOKU = "390003", "394017", "392049"
YEAR = 2050


def seed(urls):
    nakatosa = new_year(urls, YEAR, NAKATOSA)
    add(urls, service.EXPENDITURE, nakatosa, NAKATOSA, **expenditure(100_000, day="2050-04-10"))
    add(urls, service.EXPENDITURE, nakatosa, NAKATOSA, **expenditure(23_456, day="2050-04-11"))
    add(urls, service.EXPENDITURE, nakatosa, NAKATOSA, **expenditure(7_000, business="community", field="child", day="2050-05-01"))
    nankoku = new_year(urls, YEAR, NANKOKU)
    add(urls, service.EXPENDITURE, nankoku, NANKOKU, **expenditure(50_000, business="participation", field="disability", day="2050-06-01"))


def query(urls, tenant, sql):
    async def work(s):
        result = await s.execute(text(sql))
        return list(result.keys()), [tuple(r) for r in result]

    return in_tenant(urls, tenant, work)


def test_function_returns_sums_only_and_only_to_the_prefecture(database_urls, client):
    seed(database_urls)
    columns, rows = query(database_urls, PREFECTURE, f"SELECT * FROM grant_spending_by_municipality({YEAR})")
    assert columns == ["tenant_id", "business", "field", "amount"]
    assert rows == [
        (NANKOKU, "participation", "disability", 50_000),
        (NAKATOSA, "community", "child", 7_000),
        (NAKATOSA, "consultation", None, 123_456),
    ]
    # Not a single row of a municipality is readable by the prefecture directly.
    assert query(database_urls, PREFECTURE, "SELECT * FROM grant_expenditure")[1] == []
    # Anyone else gets nothing from the function.
    for tenant in (NAKATOSA, NANKOKU, ""):
        assert query(database_urls, tenant, f"SELECT * FROM grant_spending_by_municipality({YEAR})")[1] == []

    # The page and the API: prefecture-admin of the prefecture only.
    pref = login(client, open_session(database_urls, PREFECTURE, ("prefecture-admin",), display_name="高知 県子"))
    page = client.get(f"/prefecture/grants?fiscal_year={YEAR}")
    assert page.status_code == 200
    assert "中土佐町" in page.text and "123,456円" in page.text
    assert 'id="prefecture-total"><span class="yen">180,456円' in page.text
    assert "交付金（県集計）" in page.text
    api = client.get(f"/api/prefecture/grants?fiscal_year={YEAR}").json()
    assert {"tenant_id": NAKATOSA, "business": "consultation", "field": None, "amount": 123_456} in api["sums"]
    assert pref

    login(client, open_session(database_urls, PREFECTURE, ("staff",)))
    assert client.get("/prefecture/grants").status_code == 403
    login(client, open_session(database_urls, NAKATOSA, ("tenant-admin", "prefecture-admin")))
    refused = client.get("/prefecture/grants")
    assert refused.status_code == 403 and "高知県の県管理者だけ" in refused.text
    assert client.get("/api/prefecture/grants").status_code == 403
