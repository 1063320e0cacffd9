"""The realm file Keycloak imports at the first start (``make run``, the test session's Keycloak): a member's
organization groups must exist in that organization, or the import stops and Keycloak does not start."""

import json

from infra.keycloak.realm import GLOBAL_ROLES, REALM_JSON, WEB_CLIENT_ID, build_realm


def test_every_member_group_named_by_the_realm_file_exists_in_its_organization():
    realm = build_realm()
    for org in realm["organizations"]:
        groups = {g["id"] for g in org["groups"]}
        for member in org.get("members", []):
            missing = set(member["groups"]) - groups
            assert not missing, (org["alias"], member["username"], missing)


def test_a_vendor_is_a_member_of_the_prefecture_without_a_group_and_keeps_the_global_role():
    realm = build_realm()
    prefecture = next(o for o in realm["organizations"] if o["alias"] == "390003")
    vendor = next(m for m in prefecture["members"] if m["username"] == "vendor.kimura")
    assert vendor["groups"] == []
    user = next(u for u in realm["users"] if u["username"] == "vendor.kimura")
    assert user["clientRoles"][WEB_CLIENT_ID] == [r for r in GLOBAL_ROLES]


def test_the_committed_realm_file_is_the_one_the_builder_writes():
    """Keycloak imports the committed JSON, not the builder: a change to realm.py needs
    ``python -m infra.keycloak.realm``."""
    assert json.loads(REALM_JSON.read_text(encoding="utf-8")) == json.loads(json.dumps(build_realm()))
