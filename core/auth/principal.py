"""Who is asking: the authenticated user, the tenant they act for, and their roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """Client roles of ``kyosei-web`` in Keycloak."""

    STAFF = "staff"  # 職員
    COORDINATOR = "coordinator"  # 包括化推進員・コーディネーター
    TENANT_ADMIN = "tenant-admin"  # 団体管理者
    PREFECTURE_ADMIN = "prefecture-admin"  # 県管理者
    AUDITOR = "auditor"  # 監査担当
    VENDOR = "vendor"  # プラグイン事業者


@dataclass(frozen=True)
class Principal:
    sub: str  # Keycloak user id: what logs and the audit trail record, never the name
    username: str
    display_name: str
    tenant_id: str | None  # None until a user of several organizations picks one
    tenant_name: str | None
    roles: frozenset[str] = field(default_factory=frozenset)
    organizations: tuple[str, ...] = ()
    via: str = "session"  # "session" (browser) or "bearer" (API token)
    session_id: str | None = None

    def has_role(self, *roles: str) -> bool:
        return any(r in self.roles for r in roles)

    @property
    def is_prefecture(self) -> bool:
        from tenants.registry import PREFECTURE_CODE

        return self.tenant_id == PREFECTURE_CODE
