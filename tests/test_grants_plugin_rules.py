"""A plugin's apportionment rule (hook ``kyosei_apportionment_rules``) in the grants domain, end to end.

The rule appears only for the tenant that enabled the plugin, can be chosen for a year, splits the shared cost its
own way while Kyosei still explains every share by the time entries, and a rule whose parts do not sum to the pool
is refused with a Japanese message instead of a wrong report.
"""

from __future__ import annotations

from core.plugins.testing import kyosei_database, kyosei_plugin_app  # noqa: F401  (fixtures)
from tests.plugin_fixtures import bad_split, everything

NAKATOSA, NANKOKU = "394017", "392049"
ADMIN = ("staff", "tenant-admin")


def year_with_shared_cost(client, fiscal_year: int, rule: str) -> str:
    created = client.post("/api/grants/years", json={"fiscal_year": fiscal_year, "apportionment_rule": rule})
    assert created.status_code == 201, created.text
    year_id = created.json()["id"]
    spent = client.post(f"/api/grants/years/{year_id}/expenditures", json={
        "business": "multi_agency", "field": None, "category": "人件費", "amount": 1_000_001,
        "voucher_number": f"{fiscal_year}-001", "voucher_date": f"{fiscal_year}-04-30", "payee": "町職員",
        "description": "推進員の人件費"})
    assert spent.status_code == 201, spent.text
    for field in ("elderly", "disability", "poverty"):
        entry = client.post(f"/api/grants/years/{year_id}/time-entries", json={
            "staff_label": "推進員D", "period_month": f"{fiscal_year}-04", "business": "multi_agency",
            "field": field, "minutes": 40})
        assert entry.status_code == 201, entry.text
    return year_id


def multi_agency_split(client, year_id: str) -> dict[str, dict]:
    body = client.get(f"/api/grants/years/{year_id}/apportionment").json()
    multi = next(b for b in body["businesses"] if b["business"] == "multi_agency")
    return {f["field"]: f for f in multi["fields"]}


def test_plugin_rule_is_offered_only_to_the_enabling_tenant_and_splits_its_own_way(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app(everything, NAKATOSA)
    with plugin_app.client(roles=ADMIN) as client:
        rules = client.get("/api/grants/reference").json()["apportionment_rules"]
        assert rules["everything_minutes"] == "従事時間で按分" and "time_study" in rules
        year_id = year_with_shared_cost(client, 2061, "everything_minutes")
        shares = multi_agency_split(client, year_id)
        # the plugin floors every part and gives the remainder to the first field (largest remainder would give
        # 333,334 / 333,334 / 333,333): the plugin's split is the one used
        assert [shares[f]["apportioned_yen"] for f in ("elderly", "disability", "poverty")] == [333_335, 333_333, 333_333]
        assert shares["elderly"]["entries"][0]["description"] == "推進員D 2061年04月 40分"
        assert "従事時間で按分" in client.get(f"/grants/years/{year_id}").text

    with plugin_app.client(roles=ADMIN, tenant_id=NANKOKU) as other:
        assert "everything_minutes" not in other.get("/api/grants/reference").json()["apportionment_rules"]
        refused = other.post("/api/grants/years", json={"fiscal_year": 2061, "apportionment_rule": "everything_minutes"})
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "apportionment_rule"


def test_plugin_rule_whose_parts_do_not_sum_is_refused_in_japanese(kyosei_plugin_app):
    plugin_app = kyosei_plugin_app(bad_split, NAKATOSA)
    with plugin_app.client(roles=ADMIN) as client:
        year_id = year_with_shared_cost(client, 2062, "bad_split_half")
        response = client.get(f"/api/grants/years/{year_id}/apportionment")
        assert response.status_code == 409, response.text
        assert "按分方法「半分だけ按分」の計算に失敗しました" in response.json()["detail"]
        assert "計算に失敗しました" in client.get(f"/grants/years/{year_id}/apportionment").text
