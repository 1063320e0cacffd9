"""南国市 (392049): the activity hub's programme catalog and eligibility rules, as a Kyosei plugin.

Enable it for 南国市 only (``/admin/plugins`` as its tenant admin, or ``kyosei plugins enable 392049 nankoku``).
It implements two hooks of the public plugin API (``core.hookspecs``):

- ``kyosei_program_catalog``: the hub and its programmes with their weekly slots (``catalog.CATALOG``). The tenant
  admin installs them into the tenant's programmes with 「事業カタログを取り込む」 on ``/programs``; installing
  again updates the same rows (idempotent), so later edits of this catalog reach the tenant the same way.
- ``kyosei_check_eligibility``: the briefing's 対象者 rules (``rules.RULES``), called at enrolment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.hookspecs import hookimpl
from core.plugin_types import EligibilityResult, PluginInfo, ProgramDefinition
from plugins.nankoku import catalog, rules

PLUGIN = PluginInfo(
    name="nankoku",
    version="1.0.0",
    vendor="kyosei",
    api_versions=("1.0",),
    title_ja="南国市 活動拠点",
    description_ja="南国市の活動拠点の事業（MORITO ROOM、カフェ・ド・ポム、独居高齢者の集い、子どもの学習支援ほか）の"
                   "週間予定と参加条件",
)


@hookimpl
def kyosei_program_catalog(tenant_id: str) -> list[ProgramDefinition]:
    return list(catalog.CATALOG)


@hookimpl
def kyosei_check_eligibility(tenant_id: str, program_code: str, person: Mapping[str, Any]) -> EligibilityResult | None:
    return rules.check(program_code, person)
