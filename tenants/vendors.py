"""Vendor accounts in Keycloak: members of 高知県 (the prefecture's organization) with the ``vendor`` role only.

A vendor logs in like everyone else, through the real Keycloak, and lands in the prefecture's organization, where
no case, person or meeting exists; the ``vendor`` role opens only the vendor seat (``/vendor/plugins``). An account
that is a municipality's member, or holds any other role, is not a vendor account: ``seat_vendor_account`` refuses
the first (one person must not be both) and removes the other roles.
"""

from __future__ import annotations

from tenants.directory import IdentityDirectory
from tenants.registry import PREFECTURE_CODE

VENDOR_ROLE = "vendor"


class VendorSeatRefused(RuntimeError):
    """The account cannot be a vendor account (missing, or a municipality's member)."""


def seat_vendor_account(directory: IdentityDirectory, username: str) -> list[str]:
    """Make ``username`` a vendor account (idempotent). Returns what changed, one line each."""
    user = directory.find_user(username)
    if user is None:
        raise VendorSeatRefused(f"Keycloak にユーザー {username} がいません（先にアカウントを作成してください）")
    memberships = {org["alias"] for org in directory.user_organizations(user["id"])}
    municipal = sorted(memberships - {PREFECTURE_CODE})
    if municipal:
        raise VendorSeatRefused(f"{username} は市町村（{', '.join(municipal)}）の職員アカウントです。"
                                "事業者には別のアカウントを用意してください。")
    changes = []
    if PREFECTURE_CODE not in memberships:
        org = directory.find_organization(PREFECTURE_CODE)
        if org is None:
            raise VendorSeatRefused(f"Keycloak に高知県の組織（{PREFECTURE_CODE}）がありません")
        directory.add_member(org["id"], user["id"])
        changes.append(f"{username} joined organization {PREFECTURE_CODE}")
    roles = directory.client_roles_of(user["id"])
    if VENDOR_ROLE not in roles:
        directory.grant_client_roles(user["id"], roles=[VENDOR_ROLE])
        changes.append(f"{username} was given the role {VENDOR_ROLE}")
    others = sorted(roles - {VENDOR_ROLE})
    if others:
        directory.revoke_client_roles(user["id"], roles=others)
        changes.append(f"{username} lost the roles {', '.join(others)}")
    return changes
