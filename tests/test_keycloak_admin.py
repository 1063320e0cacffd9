"""The onboarding side of Keycloak: organizations, first admin users and roles, idempotently, via the Admin API."""

import pytest

from tests.conftest import DEMO_PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.keycloak]


def test_onboarding_calls_are_idempotent_and_yield_a_working_login(keycloak_admin):
    code, name = "393029", "奈半利町"
    existing = keycloak_admin.find_organization(code)
    if existing:  # the demo realm ships every municipality; onboarding must also work from nothing
        keycloak_admin.request("DELETE", f"/organizations/{existing['id']}")
    assert keycloak_admin.find_organization(code) is None
    first = keycloak_admin.ensure_organization(code, name, kind="town", kana="なはりちょう", romaji="Nahari")
    again = keycloak_admin.ensure_organization(code, name, kind="town", kana="なはりちょう", romaji="Nahari")
    assert first == again
    user = keycloak_admin.ensure_user("nahari.admin", "nahari.admin@example.jp", "管理", "奈半利", password=DEMO_PASSWORD)
    assert keycloak_admin.ensure_user("nahari.admin", "nahari.admin@example.jp", "管理", "奈半利") == user
    keycloak_admin.add_member(first, user)
    keycloak_admin.add_member(first, user)
    keycloak_admin.grant_client_roles(user, roles=["staff", "tenant-admin"])
    keycloak_admin.grant_client_roles(user, roles=["staff", "tenant-admin"])
    assert {"staff", "tenant-admin"} <= keycloak_admin.client_roles_of(user)

    import jwt

    token = keycloak_admin.password_grant("nahari.admin", DEMO_PASSWORD, scope="openid organization:*")["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["organization"] == [code]
