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
    # roles of this municipality: its organization groups (created once, joined once, however often asked)
    groups = keycloak_admin.ensure_role_groups(first, code)
    assert keycloak_admin.ensure_role_groups(first, code) == groups
    for role in ("staff", "tenant-admin"):
        keycloak_admin.join_organization_group(first, groups[role], user)
        keycloak_admin.join_organization_group(first, groups[role], user)
    assert keycloak_admin.member_groups(first, user) == {"staff", "tenant-admin"}

    import jwt

    from core.auth.oidc import organizations_of, roles_of

    token = keycloak_admin.password_grant("nahari.admin", DEMO_PASSWORD, scope="openid organization:*")["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert organizations_of(claims) == (code,)
    assert roles_of(claims, "kyosei-web", code) == {"staff", "tenant-admin"}
    assert roles_of(claims, "kyosei-web", "394017") == set()  # nothing elsewhere
