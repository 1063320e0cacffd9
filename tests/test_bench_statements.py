"""The benchmarks time the app's own list statement (infra/bench/bare.py, infra/bench/name_search.py): when the
list's query builder changes, they must still build a statement PostgreSQL runs, or a benchmark measures nothing."""

from __future__ import annotations

import uuid

from core.auth.principal import Principal
from infra.bench import bare, name_search
from tests.db import fetch

TENANT = "394017"


def test_the_bare_floor_runs_the_list_statement_of_the_app(database_urls):
    for explicit in (False, True):
        sql, params = bare.case_list_statement(str(uuid.uuid4()), TENANT, "やまだ", explicit_tenant=explicit)
        assert "support_case" in sql and "$1" in sql
        assert fetch(database_urls.app, sql, *params, tenant=TENANT) == []  # nobody's cases: a new staff member


def test_the_name_search_benchmark_explains_the_app_s_statements(database_urls):
    coordinator = Principal(sub="bench", username="bench", display_name="bench", tenant_id=TENANT, tenant_name=None,
                            roles=frozenset({"staff", "coordinator"}))
    for sql in (name_search.statement(coordinator, "たかはし"), name_search.walled_statement(coordinator, "高橋")):
        assert "%たかはし%" in sql or "%高橋%" in sql
        fetch(database_urls.app, sql, tenant=TENANT)  # runs as written: parameters filled in
    # a two-character key goes through the pair lookup (migration 0023)
    sql = name_search.statement(coordinator, "高橋")
    assert "household_ids_by_member_name_pair('高橋')" in sql
    fetch(database_urls.app, sql, tenant=TENANT)


def test_the_wrk_script_asks_for_the_terms_as_a_coordinator_types_them():
    """wrk sends the paths as the script spells them: percent-encoded once (twice, the app would search for
    「%E9%AB%98…」 and answer an empty list at once, which measured nothing)."""
    import json
    import re
    from types import SimpleNamespace
    from urllib.parse import parse_qs, urlsplit

    from infra.bench import throughput

    coordinator = SimpleNamespace(session="s")
    requests = throughput.requests_for("search_coordinator", [coordinator], coordinator, None, [])
    script = throughput.lua_script(requests)
    paths = [json.loads(p) for p in re.findall(r'^\{("[^"]*")', script, re.MULTILINE)]
    typed = {parse_qs(urlsplit(p).query)["q"][0] for p in paths}
    assert typed == set(throughput.COORDINATOR_TERMS)


def test_the_floor_is_asked_for_the_same_staff_members_lists_as_the_app(database_urls):
    """The wrk floor (infra.bench.bare behind infra.bench.throughput) lists each benchmark user's own cases, so the
    app's case list is compared with the same SQL for the same people, and the bare app answers that address."""
    import asyncio
    from types import SimpleNamespace

    from infra.bench import throughput

    users = [SimpleNamespace(session=f"s{n}", sub=str(uuid.uuid4()), case_ids=[]) for n in range(3)]
    floor = throughput.requests_for("floor", users, users[0], None, [])
    app = throughput.requests_for("case_list", users, users[0], None, [])
    assert [p for p, _ in floor[:3]] == [f"/cases?user={u.sub}" for u in users] and floor[0][1] == {}
    assert [h["Cookie"] for _, h in app[:3]] == [f"{throughput.COOKIE}=s{n}" for n in range(3)]
    partial = throughput.requests_for("list_partial", users, users[0], None, [])  # the same list, its table alone
    assert [(p, h["Cookie"]) for p, h in partial] == [(p, h["Cookie"]) for p, h in app]
    assert all(h["HX-Request"] == "true" and h["HX-Target"] == "case-results" for _, h in partial)
    searched = throughput.requests_for("search_partial", users, users[0], None, [])
    floor_searched = throughput.requests_for("floor_search", users, users[0], None, [])
    assert [p.split("q=")[1] for p, _ in floor_searched] == [p.split("q=")[1] for p, _ in searched]
    assert [p.split("&")[0] for p, _ in floor_searched[:3]] == [p for p, _ in floor[:3]]

    async def ask(path: str) -> tuple[int, str]:
        page = bare.BareCaseList(database_urls.app, TENANT, rls=True)
        import asyncpg
        page.pool = await asyncpg.create_pool(database_urls.app, min_size=1, max_size=1)
        try:
            html = await page.case_list(path.split("=", 1)[1], None)
        finally:
            await page.pool.close()
        return html.count("<tr>"), html

    rows, html = asyncio.run(ask(floor[0][0]))
    assert rows == 1 and "支援ケース一覧" in html  # the header row only: a new staff member has no cases
