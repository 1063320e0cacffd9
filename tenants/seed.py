"""Idempotent seeding of the registry and of the demo tenants."""

from __future__ import annotations

import asyncpg

from core.text_rules import search_key
from infra.database.provision import connect
from tenants.registry import load_registry

# Tenants that exist in a demo or development database: the two model municipalities, the capital, the prefecture.
DEMO_TENANTS = ("394017", "392049", "392014", "390003")


async def seed_registry(owner_url: str) -> int:
    """Upsert all 35 registry entries; returns how many rows the table holds afterwards."""
    conn: asyncpg.Connection = await connect(owner_url)
    try:
        async with conn.transaction():
            await conn.executemany(
                """
                INSERT INTO municipality (code, name, kana, romaji, kind) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (code) DO UPDATE
                   SET name = EXCLUDED.name, kana = EXCLUDED.kana, romaji = EXCLUDED.romaji, kind = EXCLUDED.kind
                """,
                [(m.code, m.name, m.kana, m.romaji, m.kind.value) for m in load_registry()],
            )
        return await conn.fetchval("SELECT count(*) FROM municipality")
    finally:
        await conn.close()


async def seed_demo_tenants(owner_url: str, codes: tuple[str, ...] = DEMO_TENANTS) -> list[str]:
    """Make the demo municipalities tenants (existing tenants keep their status). Returns the codes added."""
    conn = await connect(owner_url)
    try:
        added = await conn.fetch(
            "INSERT INTO tenant (tenant_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING RETURNING tenant_id",
            list(codes),
        )
        return [r["tenant_id"] for r in added]
    finally:
        await conn.close()


# Bundled plugins the demo municipalities run: approved by the prefecture, enabled by their own municipality.
from tenants.onboarding import MUNICIPALITY_PLUGINS  # noqa: E402  (one map: onboarding's defaults)

DEMO_PLUGINS = MUNICIPALITY_PLUGINS
DEMO_VENDOR = ("vendor.kimura", "kyosei")  # (Keycloak user name, vendor id of plugins/nakatosa and plugins/nankoku)


async def seed_demo_plugins(owner_url: str) -> list[str]:
    """Approve and enable the bundled municipality plugins for the demo tenants (idempotent). Returns what ran."""
    import importlib

    from core.plugins import operator

    enabled = []
    for tenant_id, names in DEMO_PLUGINS.items():
        for name in names:
            try:
                module = importlib.import_module(f"plugins.{name}")
            except ImportError:
                continue  # not bundled in this build
            await operator.approve(owner_url, module.PLUGIN)
            await operator.set_enabled(owner_url, tenant_id, name, True)
            enabled.append(f"{name}@{tenant_id}")
    # the demo vendor account speaks for the vendor of the bundled plugins in the vendor seat
    await operator.add_vendor_user(owner_url, DEMO_VENDOR[1], DEMO_VENDOR[0])
    return enabled


# Readings of the demo users' names (Keycloak's demo realm carries none), so the member picker finds them by かな.
DEMO_STAFF_KANA = {
    "nakatosa.yamamoto": "やまもと はなこ",
    "nakatosa.admin": "なかとさ かんりしゃ",
    "nakatosa.staff2": "なかむら けん",
    "nankoku.tanaka": "たなか みさき",
    "nankoku.admin": "なんこく かんりしゃ",
    "kochi.suzuki": "すずき いちろう",
    "multi.sato": "さとう まこと",
}


async def seed_demo_staff(owner_url: str, codes: tuple[str, ...] = DEMO_TENANTS) -> int:
    """List the demo realm's users in their municipalities' staff directories (職員名簿), so the meeting member
    picker has names before anyone has signed in. Idempotent: an existing row (a real sign-in) keeps its names;
    only a missing reading (the demo realm sends none at sign-in) is filled in. Returns how many rows were added."""
    from infra.keycloak.realm import DEMO_USERS, stable_id
    from tenants.registry import PREFECTURE_CODE

    added = 0
    conn = await connect(owner_url)
    try:
        for code in codes:
            if code == PREFECTURE_CODE:
                continue
            rows = [(code, stable_id("user", username), f"{family} {given}", DEMO_STAFF_KANA.get(username), username)
                    for username, family, given, orgs, _ in DEMO_USERS if code in orgs]
            # with their search keys (core.text_rules.search_key), as the app's own writes keep them
            rows = [(*row, search_key(row[2]), search_key(row[3])) for row in rows]
            async with conn.transaction():
                # staff_directory is behind the tenant wall (FORCEd for the owner too): bind the tenant first.
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", code)
                for row in rows:
                    status = await conn.fetchrow(
                        "INSERT INTO staff_directory (tenant_id, user_sub, display_name, kana, username, "
                        "display_name_key, kana_key) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, user_sub) "
                        "DO UPDATE SET kana = EXCLUDED.kana, kana_key = EXCLUDED.kana_key WHERE staff_directory.kana IS NULL "
                        "RETURNING (xmax = 0) AS inserted", *row)
                    added += status is not None and status["inserted"]
        return added
    finally:
        await conn.close()
