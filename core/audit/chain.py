"""Recompute the audit hash chain, tenant by tenant, and name the first row that does not match."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from infra.database.provision import connect

GENESIS = "0" * 64
SEPARATOR = "\x1f"


def canonical(row) -> str:
    """Must equal audit_event_canonical() in migration 0003."""
    utc = row["occurred_at"].astimezone(dt.UTC)
    return SEPARATOR.join(
        [
            row["tenant_id"],
            str(row["seq"]),
            utc.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z",
            row["actor_sub"],
            row["action"],
            row["object_type"],
            row["object_id"] or "",
            row["reason"] or "",
            row["request_id"] or "",
            row["prev_hash"],
        ]
    )


def row_hash(row) -> str:
    return hashlib.sha256(canonical(row).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    tenant_id: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"tenant {self.tenant_id} row seq={self.seq}: {self.problem}"


@dataclass(frozen=True)
class ChainReport:
    rows_checked: int
    tenants_checked: int
    breaks: list[ChainBreak]

    @property
    def intact(self) -> bool:
        return not self.breaks


async def verify_chain(owner_url: str) -> ChainReport:
    """Walk every tenant's chain in seq order; report the first broken row of each tenant."""
    conn = await connect(owner_url)
    rows_checked = 0
    breaks: list[ChainBreak] = []
    try:
        tenants = [r["tenant_id"] for r in await conn.fetch("SELECT tenant_id FROM tenant ORDER BY tenant_id")]
        for tenant_id in tenants:
            async with conn.transaction():
                # The owner is also behind FORCEd row-level security: state the tenant like the app does.
                await conn.execute("SELECT set_config('app.tenant_id', $1, true)", tenant_id)
                expected_prev, expected_seq = GENESIS, 1
                async for row in conn.cursor("SELECT * FROM audit_event WHERE tenant_id = $1 ORDER BY seq", tenant_id):
                    rows_checked += 1
                    problem = None
                    if row["seq"] != expected_seq:
                        problem = f"sequence gap (expected seq={expected_seq})"
                    elif row["prev_hash"] != expected_prev:
                        problem = "prev_hash does not match the previous row (a row was removed or changed)"
                    elif row_hash(row) != row["hash"]:
                        problem = "content does not match its hash (the row was changed)"
                    if problem:
                        breaks.append(ChainBreak(tenant_id, row["seq"], problem))
                        break
                    expected_prev, expected_seq = row["hash"], row["seq"] + 1
    finally:
        await conn.close()
    return ChainReport(rows_checked, len(tenants), breaks)
