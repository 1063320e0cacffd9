"""Meeting kinds: the two the law defines (core) plus those the tenant's plugins add (``kyosei_meeting_kinds``).

- 支援会議 (``support_meeting``, 社会福祉法第106条の6): any case, no consent needed; members are bound to secrecy
  and acknowledge it; its minutes are for its members and the tenant's coordinators only.
- 重層的支援会議 (``multilayer_meeting``): only cases whose consent covers it (``check_sharing``); it agrees the plan
  and decides closure (終結) or suspension (中断); 支援決定 follows as the municipality's act.

What each kind may decide is ``core.meetings.decisions`` (one table, one check).

A plugin kind that is ``confidential`` and does not ``require_consent`` is held as a 支援会議 under art. 106-6
(e.g. 中土佐町's コア会議): sharing is checked as ``support_meeting`` and its minutes are confidential too.
"""

from __future__ import annotations

from core.plugin_types import MeetingKindDefinition, RoleDefinition

SUPPORT_MEETING = "support_meeting"
MULTILAYER_MEETING = "multilayer_meeting"

CORE_KINDS: tuple[MeetingKindDefinition, ...] = (
    MeetingKindDefinition(
        code=SUPPORT_MEETING, label="支援会議", legal_basis="社会福祉法第106条の6",
        confidential=True, requires_consent=False, next_kinds=(MULTILAYER_MEETING,),
        description="本人の同意がない段階でも情報を共有できる会議。参加者には守秘義務があり、漏らすと罰則があります。",
    ),
    MeetingKindDefinition(
        code=MULTILAYER_MEETING, label="重層的支援会議", legal_basis="社会福祉法第106条の4",
        confidential=False, requires_consent=True,
        description="本人の同意を得たケースについて、プランの適切性を協議して合意し、終結・中断を判断する会議。"
                    "支援決定はその後に市町村が行います。",
    ),
)

JST_NOTE = "日時は日本時間です。"

MEMBER_ROLE_LABELS = {"leader": "進行（リーダー）", "deputy": "副（サブリーダー）", "required": "必須出席",
                      "by_topic": "議題に応じて出席"}



def merge(extra: list[MeetingKindDefinition] | None) -> dict[str, MeetingKindDefinition]:
    """Core kinds first, then each plugin kind whose code is not taken (a plugin cannot redefine a legal kind)."""
    kinds = {k.code: k for k in CORE_KINDS}
    for kind in extra or ():
        if isinstance(kind, MeetingKindDefinition) and kind.code not in kinds:
            kinds[kind.code] = kind
    return kinds


def sharing_kind(kind: MeetingKindDefinition) -> str:
    """The meeting kind check_sharing is asked about."""
    if kind.confidential and not kind.requires_consent:
        return SUPPORT_MEETING
    return kind.code


async def tenant_kinds(host, tenant_id: str) -> dict[str, MeetingKindDefinition]:
    extra = await host.call(tenant_id, "kyosei_meeting_kinds") if host is not None else []
    return merge(extra)


async def tenant_roles(host, tenant_id: str) -> dict[str, RoleDefinition]:
    roles = await host.call(tenant_id, "kyosei_roles") if host is not None else []
    return {r.code: r for r in roles if isinstance(r, RoleDefinition)}
