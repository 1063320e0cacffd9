"""The tenant registry: Kochi's 34 municipalities plus the prefecture, with valid codes."""

import asyncio

import pytest

from infra.database.provision import connect
from tenants.registry import InvalidLocalGovernmentCode, Kind, find, load_registry, validate_code
from tenants.seed import seed_registry


def test_registry_has_34_municipalities_and_the_prefecture():
    registry = load_registry()
    municipalities = [m for m in registry if not m.is_prefecture]
    assert len(municipalities) == 34
    assert [m.code for m in registry if m.is_prefecture] == ["390003"]
    counts = {kind: sum(1 for m in municipalities if m.kind is kind) for kind in Kind}
    assert counts == {Kind.CITY: 11, Kind.TOWN: 17, Kind.VILLAGE: 6, Kind.PREFECTURE: 0}
    assert len({m.code for m in registry}) == 35


def test_every_code_has_a_valid_check_digit():
    for m in load_registry():
        assert validate_code(m.code) == m.code


def test_known_entries():
    assert find("394017").name == "中土佐町"
    assert find("392049").kana == "なんこくし"
    assert find("390003").kind is Kind.PREFECTURE


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("39401", "6桁"),
        ("3940170", "6桁"),
        ("39401A", "6桁"),
        ("", "6桁"),
        ("394018", "検査数字"),  # Nakatosa with the wrong check digit
        ("131016", "高知県の市町村ではありません"),  # Chiyoda-ku, Tokyo: valid code, not in Kochi
    ],
)
def test_bad_codes_are_refused_with_a_clear_message(code, fragment):
    with pytest.raises(InvalidLocalGovernmentCode) as excinfo:
        find(code)
    assert fragment in str(excinfo.value)


def test_seeded_database_holds_the_registry_and_seeding_is_idempotent(database_urls):
    async def scenario():
        assert await seed_registry(database_urls.owner) == 35
        assert await seed_registry(database_urls.owner) == 35
        conn = await connect(database_urls.owner)
        try:
            rows = await conn.fetch("SELECT code, name, kind FROM municipality ORDER BY code")
        finally:
            await conn.close()
        return rows

    rows = asyncio.run(scenario())
    assert len(rows) == 35
    assert {r["code"]: r["name"] for r in rows}["394017"] == "中土佐町"


def test_database_refuses_a_malformed_code(database_urls):
    import asyncpg

    async def insert_bad():
        conn = await connect(database_urls.owner)
        try:
            await conn.execute(
                "INSERT INTO municipality (code, name, kana, romaji, kind) VALUES ('39-017', 'x', 'x', 'x', 'town')"
            )
        finally:
            await conn.close()

    with pytest.raises(asyncpg.CheckViolationError):
        asyncio.run(insert_bad())


def test_registry_api_lists_and_finds(client, staff_session):
    from tests.sessions import login

    login(client, staff_session)
    listed = client.get("/api/registry/").json()
    assert len(listed) == 35
    assert client.get("/api/registry/392049").json()["name"] == "南国市"
    missing = client.get("/api/registry/394018")
    assert missing.status_code == 404
