"""The identity side of tenant lifecycle: what onboarding and suspension need from Keycloak.

``KeycloakAdmin`` (infra/keycloak/admin.py) satisfies ``IdentityDirectory``; the tests use the real server
(the test session's Keycloak), never a stand-in.
"""

from __future__ import annotations

from typing import Any, Protocol

from infra.keycloak.admin import KeycloakAdmin
from infra.keycloak.realm import WEB_CLIENT_ID


class IdentityDirectory(Protocol):
    def find_organization(self, code: str) -> dict | None: ...
    def ensure_organization(self, code: str, name: str, *, kind: str | None = None, kana: str | None = None,
                            romaji: str | None = None, enabled: bool = True) -> str: ...
    def get_organization(self, org_id: str) -> dict: ...
    def disable_organization(self, org_id: str) -> None: ...
    def enable_organization(self, org_id: str) -> None: ...
    def members(self, org_id: str) -> list[dict]: ...
    def add_member(self, org_id: str, user_id: str) -> None: ...
    def find_user(self, username: str) -> dict | None: ...
    def user_organizations(self, user_id: str) -> list[dict]: ...
    def ensure_user(self, username: str, email: str, first: str, last: str, password: str | None = None,
                    required_actions: list[str] | None = None) -> str: ...
    def set_password(self, user_id: str, password: str, temporary: bool = False) -> None: ...
    def grant_client_roles(self, user_id: str, client_id: str = ..., roles: Any = ()) -> None: ...
    def revoke_client_roles(self, user_id: str, client_id: str = ..., roles: Any = ()) -> None: ...
    def client_roles_of(self, user_id: str, client_id: str = ...) -> set[str]: ...
    def logout_user(self, user_id: str) -> None: ...
    def missing_client_roles(self, roles: list[str]) -> list[str]: ...
    def create_client_role(self, role: str, description: str) -> None: ...


def keycloak_directory(settings) -> "KeycloakDirectory":
    """The Keycloak of these settings, through the onboarding service account (``kyosei-admin``)."""
    return KeycloakDirectory(
        settings.keycloak_url or f"http://127.0.0.1:{settings.keycloak_port}",
        settings.keycloak_realm,
        settings.admin_client_id,
        settings.admin_client_secret,
        timeout=10,
    )


class KeycloakDirectory(KeycloakAdmin):
    """``KeycloakAdmin`` plus the two role calls onboarding needs (client roles of ``kyosei-web``)."""

    def missing_client_roles(self, roles: list[str]) -> list[str]:
        uuid = self.client_uuid(WEB_CLIENT_ID)
        have = {r["name"] for r in self._get(f"/clients/{uuid}/roles")}
        return [r for r in roles if r not in have]

    def create_client_role(self, role: str, description: str) -> None:
        uuid = self.client_uuid(WEB_CLIENT_ID)
        self.request("POST", f"/clients/{uuid}/roles", json={"name": role, "description": description}, ok=(409,))
