"""The plugin platform: discovery, per-tenant enablement, contained hook calls, governance.

For domain code the whole API is the ``PluginHost`` at ``app.state.plugins`` (Litestar dependency ``plugins``)::

    entries = await plugins.call(tenant_id, "kyosei_meeting_kinds")
    result = await plugins.call_first(tenant_id, "kyosei_check_eligibility", program_code="hub", person=facts)

See docs/plugins.md.
"""

from core.plugins.manager import PluginHost, build_host

__all__ = ["PluginHost", "build_host"]
