"""A plugin whose apportionment rule breaks the contract: its parts do not add up to the pool."""

from __future__ import annotations

from core.hookspecs import hookimpl
from core.plugin_types import ApportionmentRule, PluginInfo

PLUGIN = PluginInfo(
    name="bad_split",
    version="0.1.0",
    vendor="test-vendor",
    api_versions=("1.0",),
    description_ja="合計が合わない按分ルールを返す試験用プラグイン",
    title_ja="按分不良",
)


@hookimpl
def kyosei_apportionment_rules():
    return [ApportionmentRule(code="bad_split_half", label="半分だけ按分",
                              apportion=lambda minutes, total: {field: 0 for field in minutes} | {"elderly": total // 2})]
