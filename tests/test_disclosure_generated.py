"""The checker over every protected table of generated data (infra/bench/generate, small scale, all 34
municipalities, its own database so no other test sees these rows): no hidden cell can be narrowed."""

from __future__ import annotations

import asyncio

import pytest

from core.prefecture.aggregates import METRICS
from core.prefecture.service import municipalities
from infra.bench.disclosure_check import check_year, exact_counts
from infra.database.embedded import EmbeddedPostgres, free_port
from infra.database.provision import DATABASE, provision_embedded, with_database

SCALE = 0.01  # 高知市 about 250 cases: many small cells, which is the hard part


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from core import migrate
    from infra.bench.generate import generate
    from tenants.seed import seed_registry

    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg-generated") / "data", free_port())
    server.start()
    try:
        urls = asyncio.run(provision_embedded(server.superuser_url, "generated-app-password"))
        migrate.upgrade(urls)
        asyncio.run(seed_registry(urls.owner))
        asyncio.run(generate(with_database(server.superuser_url, DATABASE), seed=7, scale=SCALE, quiet=True))
        yield urls
    finally:
        server.destroy()


@pytest.mark.parametrize("fiscal_year", [2024, 2025, 2026])
def test_no_table_of_generated_data_has_a_recoverable_cell(generated, fiscal_year):
    codes = [m.code for m in municipalities()]
    counts = asyncio.run(exact_counts(generated.app, fiscal_year))
    assert counts.get("consultations"), "the generator wrote no cases for this 年度"
    checked = check_year(counts, fiscal_year, codes)
    assert [(key, leaked) for key, _, _, leaked in checked if leaked] == []
    assert len(checked) == len(METRICS)
    assert sum(hidden for _, _, hidden, _ in checked) > 0  # small municipalities do give small counts: the test exercises the control
