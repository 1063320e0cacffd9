"""The grant reports' implementation-plan counts come from what cases and programmes recorded."""

from core.cases import service as cases
from core.grants.counts import implementation_counts
from core.wareki import fiscal_year_of
from tests.cases_support import intake_body, principal, unit_of_work

TENANT = "392014"  # 高知市: no other test writes cases there


def test_consultations_received_are_counted_for_the_fiscal_year(database_urls):
    body = intake_body()
    year = fiscal_year_of(body["received_on"])
    before = unit_of_work(database_urls, TENANT, lambda s: implementation_counts(s, year))
    other_before = unit_of_work(database_urls, "393011", lambda s: implementation_counts(s, year))
    for _ in range(3):
        unit_of_work(database_urls, TENANT, lambda s: cases.create_intake(s, intake_body(), principal(TENANT)))
    after = unit_of_work(database_urls, TENANT, lambda s: implementation_counts(s, year))
    assert after["consultations_received"] == before["consultations_received"] + 3
    assert set(after) == {"consultations_received", "participation_participants", "participation_cooperating_businesses",
                          "community_hubs", "community_participants", "community_agencies"}
    # Another tenant's count does not move.
    assert unit_of_work(database_urls, "393011", lambda s: implementation_counts(s, year)) == other_before
