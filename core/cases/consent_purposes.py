"""利用目的 of a consent (同意の利用目的): the documented codes every read of case data checks.

A consent names one or more purposes by code. The core list below follows the uses the national guidance
(重層的支援体制整備事業) names for sharing a resident's information; a municipality's plugins may add their own
through the ``kyosei_consent_purposes`` hook (``core.plugin_types.ConsentPurpose``). A plugin purpose never
replaces a core code: the first definition of a code wins, and core comes first.

Who reads these codes:

- ``core.cases.service.check_sharing(..., purpose=...)`` — sharing with an agency or a meeting for a purpose;
- ``core.programs`` — an enrolment linking a case needs a valid consent with ``participation_support`` (参加支援);
- plugins (through the data interface) ask by code, e.g. ``disaster_evacuation`` for a 避難行動要支援者 list.

The codes are stored in ``consent.purposes`` (migration 0014); existing consents, whose purpose was free text,
were given ``information_sharing`` and keep their text as ``purpose`` (the note shown beside the codes).
"""

from __future__ import annotations

import re

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from core.plugin_types import ConsentPurpose
from core.plugins.unit_of_work import ask_plugins

log = structlog.get_logger("kyosei.cases.consent_purposes")

INFORMATION_SHARING = "information_sharing"
MULTILAYER_MEETING = "multilayer_meeting"
PARTICIPATION_SUPPORT = "participation_support"
DISASTER_EVACUATION = "disaster_evacuation"
OUTREACH = "outreach"
SUPPORT_PLAN = "support_plan"

CORE_PURPOSES: tuple[ConsentPurpose, ...] = (
    ConsentPurpose(INFORMATION_SHARING, "関係機関との情報共有",
                   "支援方針を検討し役割を分担するため、同意の範囲の機関と情報を共有する。"),
    ConsentPurpose(MULTILAYER_MEETING, "重層的支援会議での検討",
                   "プランの適切性・終結の判断を重層的支援会議で検討する。"),
    ConsentPurpose(SUPPORT_PLAN, "支援プランの作成", "プランを作成し、関係機関の役割を定める。"),
    ConsentPurpose(PARTICIPATION_SUPPORT, "参加支援", "就労体験・居場所などの参加支援プログラムにつなぐ。"),
    ConsentPurpose(OUTREACH, "アウトリーチ等を通じた継続的支援", "訪問などで継続的に関わる。"),
    ConsentPurpose(DISASTER_EVACUATION, "防災・避難支援", "避難行動要支援者として、災害時の避難支援に使う。"),
)
CORE_PURPOSE_LABELS: dict[str, str] = {p.code: p.label for p in CORE_PURPOSES}

_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


async def purposes(session: AsyncSession) -> list[ConsentPurpose]:
    """The purposes a consent of the bound tenant may name: the core ones, then its plugins' own."""
    found: dict[str, ConsentPurpose] = {p.code: p for p in CORE_PURPOSES}
    for plugin, answer in await ask_plugins(session, "kyosei_consent_purposes"):
        for item in answer if isinstance(answer, (list, tuple)) else ():
            if not isinstance(item, ConsentPurpose) or not _CODE.fullmatch(item.code) or not item.label:
                log.warning("plugin consent purpose skipped", plugin=plugin)
                continue
            found.setdefault(item.code, item)
    return list(found.values())


async def purpose_labels(session: AsyncSession) -> dict[str, str]:
    """code → 日本語の表示名, in the order of ``purposes``."""
    return {p.code: p.label for p in await purposes(session)}


def label_of(code: str, labels: dict[str, str] | None = None) -> str:
    """The Japanese label of a code (a plugin code no longer offered shows as itself)."""
    return (labels or CORE_PURPOSE_LABELS).get(code, code)
